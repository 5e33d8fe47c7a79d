//! Carts: one line per variant under the user, and a header item counting the lines. A new
//! line and the count move together in one transaction whose condition keeps the count under
//! [`MAX_LINES`], so a cart always fits the single checkout transaction.
//!
//! A cart shows today's catalogue: unit prices come from the variants when it is read, and
//! lines whose product or variant is gone, inactive or short of stock say so.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{Handle, Money, OptionValues, Product, ProductId, Quantity, UserId, VariantId};
use crate::guests::Guest;
use crate::keys;
use crate::pricing::{self, Basket, BasketLine, Destination, Pricer, Pricing, QuoteError, ShippingCharge, Totals};
use crate::promotions::{self, AppliedPromotion, PromoCode, PromotionError, Usage};
use crate::table::{Condition, Item, Query, Table, Update, Write, WriteError, committed, retrying};
use crate::time::Timestamp;

/// Why a cart could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// The cart already holds [`MAX_LINES`] products.
    #[error("a cart holds at most {MAX_LINES} products")]
    Full,
    /// Lost every race for the cart; the caller may retry.
    #[error("the cart kept changing meanwhile; retry")]
    Contention,
    /// Not shipped to the destination asked about, or not by the option named; or a code that
    /// cannot be used.
    #[error(transparent)]
    Pricing(#[from] QuoteError),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for CartError {
    fn from(e: WriteError) -> Self {
        e.into_domain(Self::Contention)
    }
}

type Result<T, E = CartError> = std::result::Result<T, E>;

/// The most lines a cart holds: with a stock update and a cart clean-up per line, an order,
/// its event and an idempotency record, checkout stays within one 100-write transaction.
pub const MAX_LINES: i64 = 40;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LineRecord {
    product_id: ProductId,
    /// Absent on a line added before products had variants: the product's one variant, which
    /// has the product's id (and so the line's key).
    #[serde(default)]
    variant_id: Option<VariantId>,
    quantity: Quantity,
    added_at: Timestamp,
}

/// A line of a cart: how many of one variant of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub product: ProductId,
    pub variant: VariantId,
    pub quantity: Quantity,
}

/// Why a line cannot be bought as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineProblem {
    /// The product, or the variant, no longer exists.
    Gone,
    /// The product is not on sale.
    Inactive,
    /// Fewer in stock than the line asks for.
    ShortOfStock,
    /// Priced in another currency than the rest of the cart.
    OtherCurrency,
}

/// A cart line priced from the catalogue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartLine {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub quantity: Quantity,
    pub name: Option<String>,
    pub sku: Option<String>,
    /// The variant's option values (`{"Size": "M"}`).
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub options: OptionValues,
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
    /// What promotions take off the line total.
    pub discount: Option<Money>,
    /// Units in stock now.
    pub stock: Option<u32>,
    /// Set when the line cannot be bought as it is.
    pub problem: Option<LineProblem>,
}

/// The caller's cart.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartView {
    pub lines: Vec<CartLine>,
    /// The sum of the lines without problems (before discounts); absent for an empty cart.
    pub total: Option<Money>,
    /// The discount code applied to the cart.
    #[schema(value_type = Option<String>)]
    pub promotion_code: Option<PromoCode>,
    /// Why the code gives nothing now (unknown, ended, used up), if it does not.
    pub promotion_problem: Option<String>,
    /// The promotions the cart gets, and what each takes off.
    pub promotions: Vec<AppliedPromotion>,
    /// Subtotal, discount, shipping, tax and total of the lines without problems, for the
    /// destination asked about (absent when none was, or the cart is empty).
    pub totals: Option<Totals>,
    /// The shipping option asked about, priced for this cart.
    pub shipping: Option<ShippingCharge>,
    /// True when every line can be bought as it is.
    pub ready_for_checkout: bool,
}

/// A shipping option that applies to a cart, priced for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShippingQuote {
    #[schema(value_type = Handle)]
    pub id: Handle,
    #[schema(value_type = crate::domain::Name)]
    pub name: crate::domain::Name,
    /// As prices are entered: with tax if they include it.
    pub price: Money,
    pub min_days: u16,
    pub max_days: u16,
}

/// What a cart holds: its lines and its discount code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    pub lines: Vec<Line>,
    pub promotion_code: Option<PromoCode>,
    /// The shop reminded its shopper of it, or it was restored from a reminder's link: an
    /// order placed from it is a recovered one (abandoned-cart recovery).
    pub reminded: bool,
}

/// Where a guest's cart reminders go, and whether they may be sent (accounts say so in their
/// profile's preferences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CartContact {
    #[schema(value_type = crate::domain::Email)]
    pub email: crate::domain::Email,
    /// Agreed to marketing email: a reminder of the cart left behind.
    pub marketing: bool,
}

/// A change to the cart's lines: the cart is idle from now, in the index the reminders are
/// found by ([`keys::idle_cart`]).
fn touched(user: &UserId, update: Update) -> Update {
    let idle = keys::idle_cart(&Timestamp::now(), user);
    update.set(keys::GSI1PK, idle.pk).set(keys::GSI1SK, idle.sk)
}

/// The cart repository over the table port.
#[derive(Clone)]
pub struct Carts {
    table: Arc<dyn Table>,
}

impl Carts {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    /// The lines, oldest first.
    pub async fn lines(&self, user: &UserId) -> anyhow::Result<Vec<Line>> {
        Ok(self.contents(user).await?.lines)
    }

    /// The lines, oldest first, and the discount code: the header and the lines, in one query.
    pub async fn contents(&self, user: &UserId) -> anyhow::Result<Contents> {
        let query =
            Query::partition(keys::user_partition(user)).prefix(keys::CART_PREFIX).limit(MAX_LINES as usize + 2);
        let page = self.table.query(&query).await?;
        let header = keys::cart(user);
        let mut lines: Vec<LineRecord> = Vec::new();
        let (mut promotion_code, mut reminded) = (None, false);
        for item in &page.items {
            if item.key() == header {
                promotion_code = item.str("promotion_code").and_then(|c| PromoCode::parse(c).ok());
                reminded = item.int("reminders").unwrap_or(0) > 0 || item.0.get("restored").is_some();
            } else {
                lines.push(item.decode()?);
            }
        }
        lines.sort_by_key(|l| l.added_at);
        let lines = lines
            .into_iter()
            .map(|l| Line {
                product: l.product_id,
                variant: l.variant_id.unwrap_or(l.product_id.into()),
                quantity: l.quantity,
            })
            .collect();
        Ok(Contents { lines, promotion_code, reminded })
    }

    /// Sets a line's quantity, adding the line if it is new.
    pub async fn set(&self, user: &UserId, line: Line) -> Result<()> {
        if !self.put(user, line).await? {
            self.table.write(Write::update(keys::cart(user), touched(user, Update::default()))).await?;
        }
        Ok(())
    }

    /// Sets a line's quantity, adding the line if it is new: answers whether it was added, which
    /// marks the header idle from now in the same transaction.
    async fn put(&self, user: &UserId, line: Line) -> Result<bool> {
        let key = keys::cart_line(user, &line.variant);
        let update = Update::default().set("quantity", i64::from(line.quantity));
        match self.table.write(Write::update(key.clone(), update.clone()).when(Condition::Exists)).await {
            Ok(()) => return Ok(false),
            Err(WriteError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let record = LineRecord {
            product_id: line.product,
            variant_id: Some(line.variant),
            quantity: line.quantity,
            added_at: Timestamp::now(),
        };
        let (mut item, mut header) = (Item::new(&key, &record), touched(user, Update::default().add("lines", 1)));
        // A guest's lines and header end with the guest, all at one instant.
        if let Some(at) = Guest::ends_at(user) {
            (item, header) = (item.expiring_at(at), header.set(keys::EXPIRES_AT, at));
        }
        let writes = vec![
            Write::create(item),
            Write::update(keys::cart(user), header).when(Condition::Under("lines".into(), MAX_LINES)),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(true),
            // Added meanwhile by another request: set its quantity instead.
            Err(WriteError::ConditionFailed { index: Some(0) }) => {
                self.table.write(Write::update(key, update).when(Condition::Exists)).await?;
                Ok(false)
            }
            Err(WriteError::ConditionFailed { .. }) => Err(CartError::Full),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a variant's line; answers whether there was one.
    pub async fn remove(&self, user: &UserId, variant: &VariantId) -> Result<bool> {
        let writes = vec![
            Write::delete(keys::cart_line(user, variant)).when(Condition::Exists),
            Write::update(keys::cart(user), touched(user, Update::default().add("lines", -1))),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(true),
            Err(WriteError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The writes that take these variants' lines out of the cart (for checkout's transaction
    /// too). Each line must still be there, and the header's count goes down by as many, so a
    /// line added meanwhile keeps its place in the count.
    pub fn clearing(user: &UserId, variants: &[VariantId]) -> Vec<Write> {
        let mut writes: Vec<Write> =
            variants.iter().map(|v| Write::delete(keys::cart_line(user, v)).when(Condition::Exists)).collect();
        // Ordered: nothing left behind to be reminded of, and the next cart starts afresh.
        let header = Update::default()
            .add("lines", -(variants.len() as i64))
            .remove("promotion_code")
            .remove(keys::GSI1PK)
            .remove(keys::GSI1SK)
            .remove("reminders")
            .remove("restored");
        writes.push(Write::update(keys::cart(user), header));
        writes
    }

    /// Empties the cart.
    pub async fn clear(&self, user: &UserId) -> Result<()> {
        retrying(
            || CartError::Contention,
            move || async move {
                let variants: Vec<VariantId> = self.lines(user).await?.into_iter().map(|l| l.variant).collect();
                if variants.is_empty() {
                    return Ok(Some(()));
                }
                // A line went meanwhile: read the cart again.
                Ok(committed(self.table.transact(Self::clearing(user, &variants)).await)?.then_some(()))
            },
        )
        .await
    }

    /// Where a guest's reminders go; `None` for a cart without one.
    pub async fn contact(&self, user: &UserId) -> anyhow::Result<Option<CartContact>> {
        let header = self.table.get(&keys::cart(user)).await?;
        Ok(header.and_then(|h| serde_json::from_value(h.0.get("contact")?.clone()).ok()))
    }

    /// Sets where a guest's reminders go (with the guest's cart, it ends with the guest). The
    /// cart is idle from now: one let go for want of an address is looked at again.
    pub async fn set_contact(&self, user: &UserId, contact: &CartContact) -> anyhow::Result<()> {
        let mut update = touched(user, Update::default().set("contact", serde_json::to_value(contact)?));
        if let Some(at) = Guest::ends_at(user) {
            update = update.set(keys::EXPIRES_AT, at);
        }
        self.table.write(Write::update(keys::cart(user), update)).await?;
        Ok(())
    }

    /// Adds `lines` to the cart (a quantity already there is replaced), as restored from a
    /// reminder's link: an order placed from the cart counts as recovered. Answers how many
    /// lines were set; a full cart takes what fits.
    pub async fn restore(&self, user: &UserId, lines: &[Line]) -> Result<usize> {
        let mut set = 0;
        for line in lines {
            match self.put(user, *line).await {
                Ok(_) => set += 1,
                Err(CartError::Full) => break,
                Err(e) => return Err(e),
            }
        }
        // One mark for them all; nothing copied, nothing recovered.
        if set > 0 {
            let marks = touched(user, Update::default().set("restored", true));
            self.table.write(Write::update(keys::cart(user), marks)).await?;
        }
        Ok(set)
    }

    /// The cart's lines as the catalogue has them now, without settings or promotions: what a
    /// reminder of the cart lists.
    pub async fn as_they_are(&self, user: &UserId) -> Result<Vec<CartLine>> {
        let lines = self.lines(user).await?;
        let read = pricing::read_products(&*self.table, lines.iter().map(|l| l.product), false, &[]).await?;
        Ok(Self::lines_of(&lines, &read.products).0)
    }

    /// Each line as the catalogue has it (or its problem), and the total of those that can be
    /// bought, in the currency of the first line found.
    fn lines_of(lines: &[Line], products: &HashMap<ProductId, Product>) -> (Vec<CartLine>, Option<Money>) {
        let found = |l: &Line| products.get(&l.product).and_then(|p| Some((p, p.variant(&l.variant)?)));
        let currency = lines.iter().find_map(found).map(|(_, v)| v.price.currency);
        let mut total = currency.map(|currency| Money { amount: 0, currency });
        let priced = lines
            .iter()
            .map(|line| {
                let Some((product, variant)) = found(line) else {
                    return CartLine {
                        product_id: line.product,
                        variant_id: line.variant,
                        quantity: line.quantity,
                        name: None,
                        sku: None,
                        options: OptionValues::new(),
                        unit_price: None,
                        line_total: None,
                        discount: None,
                        stock: None,
                        problem: Some(LineProblem::Gone),
                    };
                };
                let line_total = variant.price.times(line.quantity);
                let problem = if !product.active {
                    Some(LineProblem::Inactive)
                } else if Some(variant.price.currency) != currency {
                    Some(LineProblem::OtherCurrency)
                } else if variant.stock.get() < line.quantity.get() {
                    Some(LineProblem::ShortOfStock)
                } else {
                    None
                };
                if let (None, Some(total)) = (problem, total.as_mut()) {
                    total.amount += line_total.amount;
                }
                CartLine {
                    product_id: line.product,
                    variant_id: line.variant,
                    quantity: line.quantity,
                    name: Some(product.name.to_string()),
                    sku: Some(variant.sku.to_string()),
                    options: variant.options.clone(),
                    unit_price: Some(variant.price),
                    line_total: Some(line_total),
                    discount: None,
                    stock: Some(variant.stock.get()),
                    problem,
                }
            })
            .collect();
        (priced, total)
    }

    /// The cart priced from the catalogue as it is now, with its promotions, and with shipping
    /// and tax for a destination and shipping option if asked.
    pub async fn view(&self, user: &UserId, at: Option<(&Destination, Option<&Handle>)>) -> Result<CartView> {
        let Contents { lines, promotion_code, .. } = self.contents(user).await?;
        let read = pricing::read_products(&*self.table, lines.iter().map(|l| l.product), true, &[]).await?;
        let (products, settings) = (read.products, read.settings.expect("asked for"));
        let (priced, total) = Self::lines_of(&lines, &products);
        let ready_for_checkout = !priced.is_empty() && priced.iter().all(|l| l.problem.is_none());
        let mut view = CartView {
            lines: priced,
            total,
            promotion_code,
            promotion_problem: None,
            promotions: Vec::new(),
            totals: None,
            shipping: None,
            ready_for_checkout,
        };
        let Some(basket) = Self::basket(&view, &products) else { return Ok(view) };
        let usage_keys = Usage::keys(&settings.promotions, view.promotion_code.as_ref(), user, Timestamp::now());
        let usage = match usage_keys.is_empty() {
            true => Usage::of(user),
            false => Usage::from_items(&mut self.table.batch_get(&usage_keys).await?, user),
        };
        let pricer = Pricer::new(&settings, view.promotion_code.as_ref()).with_usage(usage.clone());
        // A code that cannot be used is said, and the cart priced without it.
        let quote = |pricer: &Pricer| match at {
            None => pricer.before_shipping(&basket, None),
            Some((to, None)) => pricer.before_shipping(&basket, Some(to)),
            Some((to, Some(option))) => pricer.quote(&basket, to, Some(option)),
        };
        let quote = match quote(&pricer) {
            Err(QuoteError::Promotion(problem)) => {
                view.promotion_problem = Some(problem.to_string());
                quote(&Pricer::new(&settings, None).with_usage(usage))?
            }
            other => other?,
        };
        let mut prices = quote.lines.iter();
        for line in view.lines.iter_mut().filter(|l| l.problem.is_none()) {
            let discount = prices.next().expect("a price per line bought").discount;
            line.discount = (discount.amount > 0).then_some(discount);
        }
        view.promotions = quote.promotions;
        if at.is_some() {
            (view.totals, view.shipping) = (Some(quote.totals), quote.shipping);
        }
        Ok(view)
    }

    /// The lines of `view` that can be bought, as pricing sees them; none for an empty cart.
    fn basket(view: &CartView, products: &HashMap<ProductId, Product>) -> Option<Basket> {
        let currency = view.total?.currency;
        let lines = view
            .lines
            .iter()
            .filter(|l| l.problem.is_none())
            .filter_map(|l| {
                let product = products.get(&l.product_id)?;
                Some(BasketLine::of(product, product.variant(&l.variant_id)?, l.quantity))
            })
            .collect();
        Some(Basket { currency, lines })
    }

    /// Applies a discount code to the cart, if there is such a code and it may be used now;
    /// answers the promotion.
    pub async fn set_promotion(&self, user: &UserId, code: &PromoCode) -> Result<()> {
        let settings = Pricing::new(self.table.clone()).read().await?;
        let promotion = settings
            .promotions
            .by_code(code)
            .ok_or_else(|| QuoteError::from(PromotionError::UnknownCode(code.to_string())))?;
        let keys = Usage::keys(&settings.promotions, Some(code), user, Timestamp::now());
        let usage = Usage::from_items(&mut self.table.batch_get(&keys).await?, user);
        promotions::usable(promotion, &usage, Timestamp::now()).map_err(QuoteError::from)?;
        let update = Update::default().set("promotion_code", code.to_string());
        Ok(self.table.write(Write::update(keys::cart(user), update)).await?)
    }

    /// Takes the discount code off the cart; answers whether it had one.
    pub async fn clear_promotion(&self, user: &UserId) -> Result<bool> {
        let had = self.contents(user).await?.promotion_code.is_some();
        self.table.write(Write::update(keys::cart(user), Update::default().remove("promotion_code"))).await?;
        Ok(had)
    }

    /// The shipping options that apply to the cart going to `to`, priced for it, cheapest first.
    pub async fn shipping_options(&self, user: &UserId, to: &Destination) -> Result<Vec<ShippingQuote>> {
        let lines = self.lines(user).await?;
        let read = pricing::read_products(&*self.table, lines.iter().map(|l| l.product), true, &[]).await?;
        let (products, shipping) = (read.products, read.settings.expect("asked for").shipping);
        let priced: Vec<BasketLine> = lines
            .iter()
            .filter_map(|l| {
                let product = products.get(&l.product).filter(|p| p.active)?;
                Some(BasketLine::of(product, product.variant(&l.variant)?, l.quantity))
            })
            .collect();
        let Some(currency) = priced.first().map(|l| l.unit_price.currency) else { return Ok(Vec::new()) };
        let basket =
            Basket { currency, lines: priced.into_iter().filter(|l| l.unit_price.currency == currency).collect() };
        Ok(shipping
            .options_for(to, &basket)
            .into_iter()
            .map(|(option, price)| ShippingQuote {
                id: option.id.clone(),
                name: option.name.clone(),
                price,
                min_days: option.min_days,
                max_days: option.max_days,
            })
            .collect())
    }
}
