//! Promotions: discounts a code unlocks or that apply by themselves, and how they price a basket.
//!
//! The definitions are one settings item (`SETTINGS#PROMOTIONS`, edited whole under its
//! revision like the shipping zones), so checkout reads them in its one batch read. What a
//! promotion has been used for is counted apart, per promotion and per customer, by the
//! checkout's own transaction: each count moves with a condition that it is still under its
//! limit, so concurrent checkouts can never pass a limit together, and a cancelled or expired
//! order gives its uses back in its own transaction.
//!
//! **How they combine.** Every automatic promotion that applies, in the order of their ids, then
//! the one code of the cart or checkout. Each takes its share of what the lines (and the
//! shipping) still cost after the ones before it, so a line never costs less than nothing. A
//! percentage comes off each line it targets, rounded half up per line; a fixed amount comes off
//! the lines it targets in proportion to what they cost (the cents that do not divide go to the
//! largest remainders), never more than they cost; free shipping waives the shipping's price.
//! A promotion that would take nothing off is not applied, and not counted as used.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::domain::{Basket, CategorySlug, Handle, Invalid, Money, Name, Percent, ProductId, UserId};
use crate::guests::Guest;
use crate::keys;
use crate::table::{Condition, Item, Key, Update, Write};
use crate::time::Timestamp;

/// The most promotions a shop holds at once.
pub const MAX_PROMOTIONS: usize = 100;
/// The most products or categories one promotion targets.
pub const MAX_TARGETS: usize = 100;

/// A discount code as shoppers type it: 3 to 32 letters, digits, `-` or `_`, compared upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PromoCode(String);

impl PromoCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim().to_ascii_uppercase();
        if (3..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Self(code))
        } else {
            Err(Invalid::new("a code is 3 to 32 letters, digits, '-' or '_'"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PromoCode {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<PromoCode> for String {
    fn from(code: PromoCode) -> String {
        code.0
    }
}

impl std::fmt::Display for PromoCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl utoipa::PartialSchema for PromoCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("3 to 32 letters, digits, '-' or '_' (compared upper-case)"))
            .pattern(Some(r"^ *[A-Za-z0-9_-]{3,32} *$"))
            .examples(["SUMMER10"])
            .into()
    }
}

impl utoipa::ToSchema for PromoCode {}

/// What a promotion takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Discount {
    /// A share of each line it targets.
    Percentage { percent: Percent },
    /// An amount off the lines it targets together.
    Fixed { amount: Money },
    /// The shipping's price.
    FreeShipping,
}

/// What a promotion applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Every line.
    Order,
    /// The lines of these products.
    Products {
        #[schema(value_type = Vec<ProductId>)]
        products: Vec<ProductId>,
    },
    /// The lines of products in these categories.
    Categories {
        #[schema(value_type = Vec<CategorySlug>)]
        categories: Vec<CategorySlug>,
    },
}

/// A promotion as the back office defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    #[schema(value_type = Handle)]
    pub id: Handle,
    #[schema(value_type = Name)]
    pub name: Name,
    /// The code that unlocks it; none: it applies by itself to every basket it fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PromoCode>,
    pub discount: Discount,
    pub applies_to: Target,
    /// The basket's subtotal (before discounts) it needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_subtotal: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// Orders it may be used for in all (cancelled ones give theirs back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub usage_limit: Option<u32>,
    /// Orders one customer may use it for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub per_customer_limit: Option<u32>,
    pub active: bool,
}

impl Promotion {
    fn check(&self) -> Result<(), Invalid> {
        let id = &self.id;
        let refuse = |reason: &str| Err(Invalid::new(format!("promotion {id}: {reason}")));
        match &self.discount {
            Discount::Percentage { percent } if percent.hundredths() == 0 => return refuse("a percentage above 0"),
            Discount::Fixed { amount } if amount.amount <= 0 || amount.amount > Money::MAX_AMOUNT => {
                return refuse("an amount above 0");
            }
            _ => {}
        }
        let targets = match &self.applies_to {
            Target::Order => 1,
            Target::Products { products } => products.len(),
            Target::Categories { categories } => categories.len(),
        };
        if !(1..=MAX_TARGETS).contains(&targets) {
            return refuse(&format!("1 to {MAX_TARGETS} products or categories"));
        }
        if let (Discount::Fixed { amount }, Some(min)) = (&self.discount, &self.min_subtotal)
            && amount.currency != min.currency
        {
            return refuse("the amount and min_subtotal in one currency");
        }
        if self.min_subtotal.is_some_and(|m| m.amount < 0) {
            return refuse("a min_subtotal of 0 or more");
        }
        if let (Some(start), Some(end)) = (self.starts_at, self.ends_at)
            && start >= end
        {
            return refuse("starts_at before ends_at");
        }
        if self.usage_limit == Some(0) || self.per_customer_limit == Some(0) {
            return refuse("limits of at least 1");
        }
        Ok(())
    }

    /// Whether it may be used at `now` at all (active, within its dates).
    fn running(&self, now: Timestamp) -> bool {
        self.active && self.starts_at.is_none_or(|s| s <= now) && self.ends_at.is_none_or(|e| now < e)
    }

    fn targets(&self, line: &crate::domain::BasketLine) -> bool {
        match &self.applies_to {
            Target::Order => true,
            Target::Products { products } => products.contains(&line.product),
            Target::Categories { categories } => categories.contains(&line.category),
        }
    }
}

/// The shop's promotions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Promotions {
    pub promotions: Vec<Promotion>,
    /// Its revision (the ETag), 0 before it was first saved.
    #[serde(default)]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl Promotions {
    /// Whether the promotions are ones a checkout can use: within the bounds, ids and codes
    /// unique, each promotion sound.
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        let refuse = |reason: String| Err(("promotions", Invalid::new(reason)));
        if self.promotions.len() > MAX_PROMOTIONS {
            return refuse(format!("at most {MAX_PROMOTIONS} promotions"));
        }
        let (mut ids, mut codes) = (BTreeSet::new(), BTreeSet::new());
        for promotion in &self.promotions {
            if !ids.insert(promotion.id.as_str()) {
                return refuse(format!("promotion {} is named twice", promotion.id));
            }
            if let Some(code) = &promotion.code
                && !codes.insert(code.as_str())
            {
                return refuse(format!("code {code} belongs to two promotions"));
            }
            promotion.check().or_else(|e| refuse(e.0))?;
        }
        Ok(())
    }

    /// The promotion a code unlocks.
    pub fn by_code(&self, code: &PromoCode) -> Option<&Promotion> {
        self.promotions.iter().find(|p| p.code.as_ref() == Some(code))
    }

    pub fn get(&self, id: &Handle) -> Option<&Promotion> {
        self.promotions.iter().find(|p| p.id == *id)
    }
}

/// Why a code cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromotionError {
    #[error("there is no promotion with code {0}")]
    UnknownCode(String),
    #[error("code {0} is not valid now")]
    NotRunning(String),
    /// Used as often as it may be, in all or by this customer.
    #[error("code {0} has been used as often as it may be")]
    UsedUp(String),
    /// Limited per customer, so for signed-in customers only.
    #[error("code {0} is for signed-in customers: sign in or create an account to use it")]
    AccountRequired(String),
}

/// A promotion an order got, and what it took off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppliedPromotion {
    #[schema(value_type = Handle)]
    pub id: Handle,
    #[schema(value_type = Name)]
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PromoCode>,
    pub amount: Money,
}

/// What the promotions take off a basket: from each line (in the basket's order), from the
/// shipping, and by which promotion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discounts {
    pub lines: Vec<i64>,
    pub shipping: i64,
    pub applied: Vec<AppliedPromotion>,
}

/// How often promotions were used, as read with the checkout's other reads ([`Usage::keys`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Orders each promotion was used for, in all and by the customer.
    counts: Vec<(Handle, i64, i64)>,
    /// Promotions a checkout's counter found used up when it wrote.
    exhausted: Vec<Handle>,
    /// The customer is a guest, who may mint a new id at will: no promotion limited per
    /// customer is theirs.
    guest: bool,
}

impl Usage {
    /// No uses yet, for `customer`.
    pub fn of(customer: &UserId) -> Self {
        Self { guest: Guest::is(customer), ..Self::default() }
    }

    /// The counters a checkout of `customer` reads: the promotions with limits that it may use
    /// (the automatic ones running, and `code`'s).
    pub fn keys(promotions: &Promotions, code: Option<&PromoCode>, customer: &UserId, now: Timestamp) -> Vec<Key> {
        promotions
            .promotions
            .iter()
            .filter(|p| p.running(now) && (p.code.is_none() || p.code.as_ref() == code))
            .filter(|p| p.usage_limit.is_some() || p.per_customer_limit.is_some())
            .flat_map(|p| [keys::promotion_uses(&p.id), keys::promotion_uses_by(&p.id, customer)])
            .collect()
    }

    /// The counts among `items` (read by [`Usage::keys`] for `customer`); the others are left
    /// in `items`.
    pub fn from_items(items: &mut Vec<Item>, customer: &UserId) -> Self {
        let mut counts: Vec<(Handle, i64, i64)> = Vec::new();
        items.retain(|item| {
            let key = item.key();
            let Some(id) = key.pk.strip_prefix("PROMOTION#").and_then(|id| Handle::parse(id).ok()) else {
                return true;
            };
            let uses = item.int("uses").unwrap_or(0);
            let at = counts.iter().position(|(i, _, _)| *i == id).unwrap_or_else(|| {
                counts.push((id, 0, 0));
                counts.len() - 1
            });
            if key.sk == "USES" {
                counts[at].1 = uses
            } else {
                counts[at].2 = uses
            }
            false
        });
        Self { counts, ..Self::of(customer) }
    }

    /// Also counting `id` as used up.
    pub fn exhaust(&mut self, id: Handle) {
        self.exhausted.push(id);
    }

    /// Whether `promotion` was used as often as it may be, in all or by the customer.
    fn used_up(&self, promotion: &Promotion) -> bool {
        let (total, mine) =
            self.counts.iter().find(|(id, _, _)| *id == promotion.id).map_or((0, 0), |(_, t, m)| (*t, *m));
        self.exhausted.contains(&promotion.id)
            || (self.guest && promotion.per_customer_limit.is_some())
            || promotion.usage_limit.is_some_and(|limit| total >= i64::from(limit))
            || promotion.per_customer_limit.is_some_and(|limit| mine >= i64::from(limit))
    }
}

/// The writes that count an order of `customer` among the uses of the promotions it got
/// (`sign` 1), each refused past its limits, or give them back (`sign` -1: cancelled).
pub fn counting(applied: &[AppliedPromotion], promotions: &Promotions, customer: &UserId, sign: i64) -> Vec<Write> {
    let mut writes = Vec::new();
    for used in applied {
        let limits = promotions.get(&used.id).map_or((None, None), |p| (p.usage_limit, p.per_customer_limit));
        let counted = |key: Key, limit: Option<u32>| {
            let write = Write::update(key, Update::default().add("uses", sign));
            match limit {
                Some(limit) if sign > 0 => write.when(Condition::Under("uses".into(), i64::from(limit))),
                _ => write,
            }
        };
        writes.push(counted(keys::promotion_uses(&used.id), limits.0));
        writes.push(counted(keys::promotion_uses_by(&used.id, customer), limits.1));
    }
    writes
}

/// Whether `promotion` may be used at `now` by the customer whose `usage` this is.
pub fn usable(promotion: &Promotion, usage: &Usage, now: Timestamp) -> Result<(), PromotionError> {
    let code = || promotion.code.as_ref().map_or(promotion.id.to_string(), ToString::to_string);
    if !promotion.running(now) {
        return Err(PromotionError::NotRunning(code()));
    }
    if usage.guest && promotion.per_customer_limit.is_some() {
        return Err(PromotionError::AccountRequired(code()));
    }
    if usage.used_up(promotion) {
        return Err(PromotionError::UsedUp(code()));
    }
    Ok(())
}

/// The writes that give back the uses of a cancelled order of `customer`.
pub fn giving_back(applied: &[AppliedPromotion], customer: &UserId) -> Vec<Write> {
    counting(applied, &Promotions::default(), customer, -1)
}

/// The discounts of the automatic promotions and of `code` on `basket` (whose shipping costs
/// `shipping`) at `now`, with the promotions `usage` says are used up left out. An unknown
/// code, or one not running or used up, is an error; a code that fits the basket but takes
/// nothing off is not applied.
pub fn discounts(
    promotions: &Promotions,
    usage: &Usage,
    code: Option<&PromoCode>,
    basket: &Basket,
    shipping: i64,
    now: Timestamp,
) -> Result<Discounts, PromotionError> {
    let coded = match code {
        None => None,
        Some(code) => {
            let promotion = promotions.by_code(code).ok_or_else(|| PromotionError::UnknownCode(code.to_string()))?;
            usable(promotion, usage, now)?;
            Some(promotion)
        }
    };
    let mut automatic: Vec<&Promotion> =
        promotions.promotions.iter().filter(|p| p.code.is_none() && p.running(now) && !usage.used_up(p)).collect();
    automatic.sort_by(|a, b| a.id.cmp(&b.id));
    let mut left: Vec<i64> = basket.lines.iter().map(|l| l.unit_price.times(l.quantity).amount).collect();
    let mut shipping_left = shipping;
    let mut out = Discounts { lines: vec![0; left.len()], ..Discounts::default() };
    let subtotal = basket.subtotal();
    for promotion in automatic.into_iter().chain(coded) {
        if promotion.min_subtotal.is_some_and(|m| m.currency != basket.currency || subtotal.amount < m.amount) {
            continue;
        }
        let targeted: Vec<usize> = (0..left.len()).filter(|&i| promotion.targets(&basket.lines[i])).collect();
        let mut taken = vec![0; left.len()];
        let mut from_shipping = 0;
        match &promotion.discount {
            Discount::Percentage { percent } => {
                for &i in &targeted {
                    taken[i] = percent.of(left[i]).min(left[i]);
                }
            }
            Discount::Fixed { amount } if amount.currency == basket.currency => {
                let base: i64 = targeted.iter().map(|&i| left[i]).sum();
                let off = amount.amount.min(base);
                if off > 0 {
                    share(off, &targeted, &left, &mut taken);
                }
            }
            Discount::Fixed { .. } => {}
            Discount::FreeShipping if !targeted.is_empty() => from_shipping = shipping_left,
            Discount::FreeShipping => {}
        }
        let amount = taken.iter().sum::<i64>() + from_shipping;
        if amount == 0 {
            continue;
        }
        for (i, t) in taken.into_iter().enumerate() {
            left[i] -= t;
            out.lines[i] += t;
        }
        shipping_left -= from_shipping;
        out.shipping += from_shipping;
        out.applied.push(AppliedPromotion {
            id: promotion.id.clone(),
            name: promotion.name.clone(),
            code: promotion.code.clone(),
            amount: Money { amount, currency: basket.currency },
        });
    }
    Ok(out)
}

/// Shares `off` among the `targeted` lines in proportion to what they cost (`left`), the cents
/// that do not divide going to the largest remainders, into `taken`.
fn share(off: i64, targeted: &[usize], left: &[i64], taken: &mut [i64]) {
    let base: i128 = targeted.iter().map(|&i| i128::from(left[i])).sum();
    let mut remainders: Vec<(i128, usize)> = Vec::new();
    for &i in targeted {
        let exact = i128::from(off) * i128::from(left[i]);
        taken[i] = i64::try_from(exact / base).expect("a share of the amount");
        remainders.push((exact % base, i));
    }
    let mut rest = off - targeted.iter().map(|&i| taken[i]).sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if rest == 0 {
            break;
        }
        taken[i] += 1;
        rest -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BasketLine;
    use crate::domain::{Currency, Quantity, TaxClass};
    use serde_json::json;

    fn basket(lines: &[(i64, u32, &str)]) -> Basket {
        Basket {
            currency: Currency::EUR,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, &(price, quantity, category))| BasketLine {
                    product: ProductId::parse(&format!("01JD00000000000000000000{i:02}")).unwrap(),
                    category: CategorySlug::parse(category).unwrap(),
                    unit_price: Money { amount: price, currency: Currency::EUR },
                    quantity: Quantity::new(i64::from(quantity)).unwrap(),
                    weight_grams: 0,
                    tax_class: TaxClass::Standard,
                })
                .collect(),
        }
    }

    fn promotions(list: Value) -> Promotions {
        let promotions: Promotions = serde_json::from_value(json!({"promotions": list})).unwrap();
        promotions.check().unwrap();
        promotions
    }

    use serde_json::Value;

    fn code(c: &str) -> PromoCode {
        PromoCode::parse(c).unwrap()
    }

    #[test]
    fn a_percentage_rounds_per_line_and_targets_categories() {
        let p = promotions(json!([{"id": "books10", "name": "Books -10 %", "code": "books10",
            "discount": {"type": "percentage", "percent": "10"},
            "applies_to": {"type": "categories", "categories": ["books"]}, "active": true}]));
        let b = basket(&[(1995, 1, "books"), (1000, 2, "home"), (505, 1, "books")]);
        let d = discounts(&p, &Usage::default(), Some(&code("Books10")), &b, 490, Timestamp::now()).unwrap();
        // 199.5 -> 200 and 50.5 -> 51 cents: half up, per line.
        assert_eq!(d.lines, [200, 0, 51]);
        assert_eq!((d.shipping, d.applied[0].amount.amount), (0, 251));
        assert_eq!(
            discounts(&p, &Usage::default(), Some(&code("NOPE")), &b, 0, Timestamp::now()),
            Err(PromotionError::UnknownCode("NOPE".into()))
        );
    }

    #[test]
    fn a_fixed_amount_is_shared_and_never_more_than_the_lines() {
        let p = promotions(json!([{"id": "five", "name": "5 off", "code": "FIVE",
            "discount": {"type": "fixed", "amount": {"amount": 500, "currency": "EUR"}},
            "applies_to": {"type": "order"}, "active": true}]));
        let b = basket(&[(1000, 1, "home"), (1000, 1, "home"), (1000, 1, "home")]);
        let d = discounts(&p, &Usage::default(), Some(&code("FIVE")), &b, 0, Timestamp::now()).unwrap();
        assert_eq!(d.lines, [167, 167, 166], "500 in three: the cents to the first remainders");
        let small = basket(&[(300, 1, "home")]);
        assert_eq!(
            discounts(&p, &Usage::default(), Some(&code("FIVE")), &small, 0, Timestamp::now()).unwrap().lines,
            [300]
        );
    }

    #[test]
    fn automatic_ones_come_first_and_each_takes_from_what_is_left() {
        let p = promotions(json!([
            {"id": "a-half", "name": "Half off", "discount": {"type": "percentage", "percent": "50"},
             "applies_to": {"type": "order"}, "active": true},
            {"id": "ship", "name": "Free shipping over 30", "discount": {"type": "free_shipping"},
             "applies_to": {"type": "order"}, "min_subtotal": {"amount": 3000, "currency": "EUR"}, "active": true},
            {"id": "code", "name": "10 off", "code": "TEN",
             "discount": {"type": "fixed", "amount": {"amount": 1000, "currency": "EUR"}},
             "applies_to": {"type": "order"}, "active": true},
            {"id": "later", "name": "Not yet", "discount": {"type": "percentage", "percent": "90"},
             "applies_to": {"type": "order"}, "starts_at": "2999-01-01T00:00:00Z", "active": true},
            {"id": "off", "name": "Off", "discount": {"type": "percentage", "percent": "90"},
             "applies_to": {"type": "order"}, "active": false}
        ]));
        let b = basket(&[(2400, 1, "home")]);
        let d = discounts(&p, &Usage::default(), Some(&code("ten")), &b, 490, Timestamp::now()).unwrap();
        // Half of 24.00 is 12.00; 10.00 off the 12.00 left; shipping waived (subtotal 24 < 30: not).
        assert_eq!((d.lines.as_slice(), d.shipping), ([2200].as_slice(), 0));
        let ids: Vec<&str> = d.applied.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a-half", "code"]);
        let big = basket(&[(4000, 1, "home")]);
        let d = discounts(&p, &Usage::default(), None, &big, 490, Timestamp::now()).unwrap();
        assert_eq!((d.lines.as_slice(), d.shipping), ([2000].as_slice(), 490));
        let not_yet: Promotions =
            serde_json::from_value(json!({"promotions": [{"id": "x", "name": "X", "code": "SOON",
            "discount": {"type": "free_shipping"}, "applies_to": {"type": "order"},
            "starts_at": "2999-01-01T00:00:00Z", "active": true}]}))
            .unwrap();
        assert_eq!(
            discounts(&not_yet, &Usage::default(), Some(&code("SOON")), &big, 490, Timestamp::now()),
            Err(PromotionError::NotRunning("SOON".into()))
        );
    }

    #[test]
    fn promotions_that_cannot_work_are_refused() {
        let one = |extra: Value| {
            let mut p = json!({"id": "p", "name": "P", "code": "CODE", "discount": {"type": "percentage", "percent": "10"},
                               "applies_to": {"type": "order"}, "active": true});
            p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            serde_json::from_value::<Promotions>(json!({"promotions": [p]})).map(|p| p.check())
        };
        assert!(one(json!({})).unwrap().is_ok());
        assert!(one(json!({"discount": {"type": "percentage", "percent": "0"}})).unwrap().is_err());
        assert!(one(json!({"usage_limit": 0})).unwrap().is_err());
        assert!(one(json!({"starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"})).unwrap().is_err());
        assert!(one(json!({"applies_to": {"type": "products", "products": []}})).unwrap().is_err());
        assert!(one(json!({"code": "a b"})).is_err());
        let twice: Promotions = serde_json::from_value(json!({"promotions": [
            {"id": "a", "name": "A", "code": "SAME", "discount": {"type": "free_shipping"}, "applies_to": {"type": "order"}, "active": true},
            {"id": "b", "name": "B", "code": "same", "discount": {"type": "free_shipping"}, "applies_to": {"type": "order"}, "active": true}
        ]})).unwrap();
        assert_eq!(twice.check().unwrap_err().1.to_string(), "code SAME belongs to two promotions");
    }
}
