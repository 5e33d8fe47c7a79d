//! What a basket costs beyond its lines: shipping by zone and option, tax by destination and
//! class, and the totals that add them up.
//!
//! The shop's settings are three items, each edited whole under its revision: the tax settings
//! (whether prices include tax, and the rate table), the shipping zones with their options, and
//! the promotions ([`crate::promotions`]). Checkout reads them in its one batch read, beside the
//! products, and the order keeps what they gave (each line's discount, net, tax and rate, the
//! shipping charged, the promotions applied, the totals), so a later change of a rate, a zone or
//! a promotion never changes a placed order.
//!
//! **A shop without zones** ships everywhere for nothing and takes no `shipping_option`; once
//! it has zones, a checkout names one of the options that apply to its address and basket, and
//! an address no zone covers is refused. **A country without rates** is taxed at zero.
//!
//! How tax is rounded is written down in [`crate::domain::TaxRate`]: per line, half up.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Address, Country, Handle, Invalid, Money, Name, Percent, Product, ProductId, Region, TaxClass, TaxRate, Taxed,
};
pub use crate::domain::{Basket, BasketLine};
use crate::keys;
use crate::promotions::{self, AppliedPromotion, PromoCode, Promotion, PromotionError, Promotions, Usage};
use crate::table::{Condition, Item, Key, Table, Write, WriteError};
use crate::time::Timestamp;

/// The most rules a rate table holds.
pub const MAX_TAX_RULES: usize = 500;
/// The most shipping zones.
pub const MAX_ZONES: usize = 50;
/// The most options a zone offers.
pub const MAX_ZONE_OPTIONS: usize = 10;
/// The most bands a banded rate has.
pub const MAX_BANDS: usize = 20;
/// The longest delivery estimate, in days.
pub const MAX_DAYS: u16 = 365;

/// Where a basket goes, as far as shipping and tax care: a country, and in some a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub country: Country,
    pub region: Option<Region>,
}

impl From<&Address> for Destination {
    fn from(address: &Address) -> Self {
        Self { country: address.country.clone(), region: address.region.clone() }
    }
}

/// A country's subdivision as ISO 3166-2 writes it (`US-AK`), naming a zone's region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subdivision(String);

impl Subdivision {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("must be an ISO 3166-2 code like \"US-AK\"");
        let (country, region) = raw.split_once('-').ok_or_else(invalid)?;
        let country = Country::parse(country).map_err(|_| invalid())?;
        let region = Region::parse(region).map_err(|_| invalid())?;
        Ok(Self(format!("{country}-{region}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn covers(&self, to: &Destination) -> bool {
        to.region.as_ref().is_some_and(|region| self.0 == format!("{}-{region}", to.country))
    }
}

impl TryFrom<String> for Subdivision {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<Subdivision> for String {
    fn from(s: Subdivision) -> String {
        s.0
    }
}

impl utoipa::PartialSchema for Subdivision {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("An ISO 3166-2 subdivision code"))
            .pattern(Some(r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$"))
            .examples(["US-AK"])
            .into()
    }
}

impl utoipa::ToSchema for Subdivision {}

/// One rate of the table: a class's rate in a country, or in one of its regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRule {
    pub country: Country,
    /// A region of the country (US states, Canadian provinces), whose rate replaces the
    /// country's there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Region>)]
    pub region: Option<Region>,
    pub class: TaxClass,
    pub rate: Percent,
}

/// The shop's tax settings: how prices are entered, and the rate table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxSettings {
    /// Whether catalogue and shipping prices include tax (the EU way) or have it added at
    /// checkout (the US way).
    pub prices_include_tax: bool,
    pub rates: Vec<TaxRule>,
    /// Its revision (the ETag), 0 before it was first saved.
    #[serde(default)]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl Default for TaxSettings {
    /// Prices with tax included and no rates: what the shop did before it computed tax.
    fn default() -> Self {
        Self { prices_include_tax: true, rates: Vec::new(), version: 0, updated_at: None }
    }
}

/// What tax comes from: the shop's own rate table ([`TaxSettings`]) here; a tax service's
/// adapter answers the same two questions from its own tables.
pub trait TaxRates: Send + Sync {
    /// Whether prices include tax.
    fn prices_include_tax(&self) -> bool;
    /// The rate of `class` at `to`.
    fn rate(&self, to: &Destination, class: TaxClass) -> TaxRate;
}

impl TaxRates for TaxSettings {
    fn prices_include_tax(&self) -> bool {
        self.prices_include_tax
    }

    /// The region's rule if there is one, else the country's, else zero.
    fn rate(&self, to: &Destination, class: TaxClass) -> TaxRate {
        let of = |region: Option<&Region>| {
            self.rates.iter().find(|r| r.country == to.country && r.class == class && r.region.as_ref() == region)
        };
        to.region
            .as_ref()
            .and_then(|region| of(Some(region)))
            .or_else(|| of(None))
            .map_or(TaxRate::ZERO, |rule| rule.rate)
    }
}

impl TaxSettings {
    /// Whether the table is one a checkout can use: within [`MAX_TAX_RULES`], each country,
    /// region and class named once.
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        if self.rates.len() > MAX_TAX_RULES {
            return Err(("rates", Invalid::new(format!("at most {MAX_TAX_RULES} rates"))));
        }
        let mut seen = BTreeSet::new();
        for rule in &self.rates {
            let region = rule.region.as_ref().map(Region::as_str);
            if !seen.insert((rule.country.as_str(), region, rule.class)) {
                let place = region.map_or(rule.country.to_string(), |r| format!("{}-{r}", rule.country));
                let reason = format!("{place} has two {} rates", rule.class.as_str());
                return Err(("rates", Invalid::new(reason)));
            }
        }
        Ok(())
    }
}

/// How an option's price is worked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ShippingRate {
    /// One price.
    Flat { price: Money },
    /// By the basket's weight: the first band it fits under; heavier than the last band, the
    /// option does not apply.
    Weight { bands: Vec<WeightBand> },
    /// By the basket's subtotal (after discounts): the last band it reaches.
    Subtotal { bands: Vec<SubtotalBand> },
}

/// Up to a weight, this price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightBand {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub up_to_grams: u32,
    pub price: Money,
}

/// From a subtotal, this price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtotalBand {
    pub from: Money,
    pub price: Money,
}

/// A way a zone's parcels travel, with its price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingOption {
    /// Unique among every zone's options: what a checkout names.
    #[schema(value_type = Handle)]
    pub id: Handle,
    #[schema(value_type = Name)]
    pub name: Name,
    pub rate: ShippingRate,
    /// Free from this subtotal (after discounts) on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_above: Option<Money>,
    /// The delivery estimate, in days.
    #[schema(maximum = 365)]
    pub min_days: u16,
    #[schema(maximum = 365)]
    pub max_days: u16,
    #[serde(default)]
    pub tax_class: TaxClass,
}

/// Countries (and regions) served alike, and the options offered there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingZone {
    #[schema(value_type = Handle)]
    pub id: Handle,
    #[schema(value_type = Name)]
    pub name: Name,
    /// Whole countries.
    #[serde(default)]
    #[schema(value_type = Vec<Country>)]
    pub countries: Vec<Country>,
    /// Regions of countries (`US-AK`); a region's zone wins over its country's.
    #[serde(default)]
    pub regions: Vec<Subdivision>,
    pub options: Vec<ShippingOption>,
}

/// The shop's shipping zones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shipping {
    pub zones: Vec<ShippingZone>,
    /// Its revision (the ETag), 0 before it was first saved.
    #[serde(default)]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl ShippingOption {
    fn check(&self) -> Result<(), Invalid> {
        let id = &self.id;
        let currency = match &self.rate {
            ShippingRate::Flat { price } => Some(price.currency),
            ShippingRate::Weight { bands } => bands.first().map(|b| b.price.currency),
            ShippingRate::Subtotal { bands } => bands.first().map(|b| b.price.currency),
        }
        .ok_or_else(|| Invalid::new(format!("option {id} needs at least one band")))?;
        let prices: Vec<Money> = match &self.rate {
            ShippingRate::Flat { price } => vec![*price],
            ShippingRate::Weight { bands } => bands.iter().map(|b| b.price).collect(),
            ShippingRate::Subtotal { bands } => bands.iter().flat_map(|b| [b.price, b.from]).collect(),
        };
        if prices.iter().chain(&self.free_above).any(|m| m.currency != currency) {
            return Err(Invalid::new(format!("option {id} mixes currencies")));
        }
        if prices.iter().chain(&self.free_above).any(|m| Money::price(m.amount, currency).is_err()) {
            return Err(Invalid::new(format!("option {id}: amounts must be 0 to {}", Money::MAX_AMOUNT)));
        }
        let ascending = match &self.rate {
            ShippingRate::Flat { .. } => true,
            ShippingRate::Weight { bands } => {
                bands.len() <= MAX_BANDS && bands.windows(2).all(|w| w[0].up_to_grams < w[1].up_to_grams)
            }
            ShippingRate::Subtotal { bands } => {
                bands.len() <= MAX_BANDS
                    && bands[0].from.amount == 0
                    && bands.windows(2).all(|w| w[0].from.amount < w[1].from.amount)
            }
        };
        if !ascending {
            let reason = format!("option {id}: at most {MAX_BANDS} bands, in ascending order (subtotal bands from 0)");
            return Err(Invalid::new(reason));
        }
        if self.min_days > self.max_days || self.max_days > MAX_DAYS {
            return Err(Invalid::new(format!("option {id}: min_days <= max_days <= {MAX_DAYS}")));
        }
        Ok(())
    }

    /// What the option costs for `basket`, if it applies to it (its currency, under its
    /// heaviest band).
    pub fn price(&self, basket: &Basket) -> Option<Money> {
        let subtotal = basket.subtotal();
        let price = match &self.rate {
            ShippingRate::Flat { price } => *price,
            ShippingRate::Weight { bands } => {
                let weight = basket.weight_grams();
                bands.iter().find(|b| u64::from(b.up_to_grams) >= weight)?.price
            }
            ShippingRate::Subtotal { bands } => bands.iter().rev().find(|b| b.from.amount <= subtotal.amount)?.price,
        };
        if price.currency != basket.currency {
            return None;
        }
        if self.free_above.is_some_and(|free| subtotal.amount >= free.amount) {
            return Some(Money { amount: 0, currency: price.currency });
        }
        Some(price)
    }
}

impl Shipping {
    /// Whether the zones are ones a checkout can use: within the bounds, ids unique, every
    /// place in one zone at most, every option's bands in order.
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        let refuse = |reason: String| Err(("zones", Invalid::new(reason)));
        if self.zones.len() > MAX_ZONES {
            return refuse(format!("at most {MAX_ZONES} zones"));
        }
        let (mut zones, mut options, mut places) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for zone in &self.zones {
            if !zones.insert(zone.id.as_str()) {
                return refuse(format!("zone {} is named twice", zone.id));
            }
            if zone.countries.is_empty() && zone.regions.is_empty() {
                return refuse(format!("zone {} names no country or region", zone.id));
            }
            if zone.options.is_empty() || zone.options.len() > MAX_ZONE_OPTIONS {
                return refuse(format!("zone {} needs 1 to {MAX_ZONE_OPTIONS} options", zone.id));
            }
            let named = zone.countries.iter().map(Country::as_str).chain(zone.regions.iter().map(Subdivision::as_str));
            for place in named {
                if !places.insert(place.to_owned()) {
                    return refuse(format!("{place} is in two zones"));
                }
            }
            for option in &zone.options {
                if !options.insert(option.id.as_str()) {
                    return refuse(format!("option {} is named twice", option.id));
                }
                option.check().map(|_| ()).or_else(|e| refuse(e.0))?;
            }
        }
        Ok(())
    }

    /// The zone serving `to`: the one naming its region, else the one naming its country.
    pub fn zone_for(&self, to: &Destination) -> Option<&ShippingZone> {
        let by_region = self.zones.iter().find(|z| z.regions.iter().any(|r| r.covers(to)));
        by_region.or_else(|| self.zones.iter().find(|z| z.countries.contains(&to.country)))
    }

    /// The options that apply to `basket` going to `to`, with their prices, cheapest first.
    pub fn options_for(&self, to: &Destination, basket: &Basket) -> Vec<(&ShippingOption, Money)> {
        let Some(zone) = self.zone_for(to) else { return Vec::new() };
        let mut options: Vec<_> =
            zone.options.iter().filter_map(|option| Some((option, option.price(basket)?))).collect();
        options.sort_by_key(|(option, price)| (price.amount, option.min_days));
        options
    }
}

/// The shipping an order pays: the option, its price as entered, what promotions took off it,
/// and the net, tax and rate of the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingCharge {
    #[schema(value_type = Handle)]
    pub option_id: Handle,
    #[schema(value_type = Name)]
    pub name: Name,
    pub min_days: u16,
    pub max_days: u16,
    /// The option's price for the basket, as prices are entered.
    pub price: Money,
    /// What promotions took off it (free shipping).
    pub discount: Money,
    /// The net, tax and rate of what is left to pay.
    pub net: Money,
    pub tax: Money,
    pub rate: Percent,
}

/// What an order costs, added up. With tax included in prices, `subtotal` and `shipping`
/// include it and `total = subtotal - discount + shipping`; without, they do not and `total =
/// subtotal - discount + shipping + tax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    /// Whether `subtotal` and `shipping` include `tax`.
    pub tax_included: bool,
}

/// A basket priced for a destination: each line's discount and tax (in the basket's order),
/// the shipping, the promotions applied, and the totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub lines: Vec<LinePrice>,
    pub shipping: Option<ShippingCharge>,
    pub promotions: Vec<AppliedPromotion>,
    pub totals: Totals,
}

/// What a line pays: its discount, and the net, tax and rate of what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePrice {
    pub discount: Money,
    pub taxed: Taxed,
}

/// Why a basket cannot be shipped as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShippingError {
    /// No zone serves the destination.
    #[error("the shop does not ship to {0}")]
    NotShippedTo(String),
    /// The shop has zones and the checkout named no option.
    #[error("choose a shipping option: {}", .0.join(", "))]
    OptionRequired(Vec<String>),
    /// The option named does not serve the destination or the basket.
    #[error("shipping option {option} is not available here; choose one of: {}", .available.join(", "))]
    OptionUnavailable { option: String, available: Vec<String> },
}

/// Why a basket cannot be priced as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error(transparent)]
    Shipping(#[from] ShippingError),
    #[error(transparent)]
    Promotion(#[from] PromotionError),
}

/// The shop's pricing settings, read together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub tax: TaxSettings,
    pub shipping: Shipping,
    pub promotions: Promotions,
}

/// What a basket is priced with: the settings, the code named (if any) and the time.
pub struct Pricer<'a> {
    pub settings: &'a Settings,
    /// Answers the tax rates; the settings' own table unless an adapter stands in.
    pub taxes: &'a dyn TaxRates,
    pub code: Option<&'a PromoCode>,
    /// How often the promotions were used (none: never).
    pub usage: Usage,
    pub now: Timestamp,
}

impl<'a> Pricer<'a> {
    /// Priced with the shop's own rate table, at this moment.
    pub fn new(settings: &'a Settings, code: Option<&'a PromoCode>) -> Self {
        Self { settings, taxes: &settings.tax, code, usage: Usage::default(), now: Timestamp::now() }
    }

    /// With what `usage` says of the promotions' uses.
    pub fn with_usage(self, usage: Usage) -> Self {
        Self { usage, ..self }
    }

    /// Prices `basket` going to `to` with the shipping option named (none: a shop without
    /// zones).
    pub fn quote(&self, basket: &Basket, to: &Destination, option: Option<&Handle>) -> Result<Quote, QuoteError> {
        let shipping = &self.settings.shipping;
        let charge = match (shipping.zones.is_empty(), option) {
            (true, None) => None,
            (_, option) => {
                if shipping.zone_for(to).is_none() {
                    return Err(ShippingError::NotShippedTo(to.country.to_string()).into());
                }
                let available = shipping.options_for(to, basket);
                let ids = || available.iter().map(|(o, _)| o.id.to_string()).collect::<Vec<_>>();
                let Some(option) = option else { return Err(ShippingError::OptionRequired(ids()).into()) };
                let Some((chosen, price)) = available.iter().find(|(o, _)| o.id == *option) else {
                    let refused = ShippingError::OptionUnavailable { option: option.to_string(), available: ids() };
                    return Err(refused.into());
                };
                Some((*chosen, *price))
            }
        };
        self.price(basket, Some(to), charge)
    }

    /// The basket's discounts, tax and totals going to `to` before a shipping option is chosen
    /// (no shipping yet), if the shop ships there; without a destination, its discounts (and
    /// no tax).
    pub fn before_shipping(&self, basket: &Basket, to: Option<&Destination>) -> Result<Quote, QuoteError> {
        let shipping = &self.settings.shipping;
        if let Some(to) = to
            && !shipping.zones.is_empty()
            && shipping.zone_for(to).is_none()
        {
            return Err(ShippingError::NotShippedTo(to.country.to_string()).into());
        }
        self.price(basket, to, None)
    }

    /// The basket's discounts, tax and totals, with `shipping` (an option and its price) if any.
    fn price(
        &self,
        basket: &Basket,
        to: Option<&Destination>,
        shipping: Option<(&ShippingOption, Money)>,
    ) -> Result<Quote, QuoteError> {
        let rate = |class| to.map_or(TaxRate::ZERO, |to| self.taxes.rate(to, class));
        let money = |amount: i64| Money { amount, currency: basket.currency };
        let shipping_price = shipping.map_or(0, |(_, price)| price.amount);
        let off =
            promotions::discounts(&self.settings.promotions, &self.usage, self.code, basket, shipping_price, self.now)?;
        let included = self.taxes.prices_include_tax();
        let lines: Vec<LinePrice> = basket
            .lines
            .iter()
            .zip(&off.lines)
            .map(|(line, &discount)| {
                let paid = money(line.total().amount - discount);
                LinePrice { discount: money(discount), taxed: rate(line.tax_class).split(paid, included) }
            })
            .collect();
        let shipping = shipping.map(|(option, price)| {
            let taxed = rate(option.tax_class).split(money(price.amount - off.shipping), included);
            ShippingCharge {
                option_id: option.id.clone(),
                name: option.name.clone(),
                min_days: option.min_days,
                max_days: option.max_days,
                price,
                discount: money(off.shipping),
                net: taxed.net,
                tax: taxed.tax,
                rate: taxed.rate,
            }
        });
        let subtotal = basket.subtotal();
        let discount = off.lines.iter().sum::<i64>() + off.shipping;
        let tax = lines.iter().map(|l| l.taxed.tax.amount).sum::<i64>() + shipping.as_ref().map_or(0, |s| s.tax.amount);
        let total = subtotal.amount - discount + shipping_price + if included { 0 } else { tax };
        let totals = Totals {
            subtotal,
            discount: money(discount),
            shipping: money(shipping_price),
            tax: money(tax),
            total: money(total),
            tax_included: included,
        };
        Ok(Quote { lines, shipping, promotions: off.applied, totals })
    }
}

/// What a checkout or a cart reads in its one batch read.
#[derive(Debug, Default)]
pub struct Read {
    /// The products named that exist.
    pub products: HashMap<ProductId, Product>,
    /// The pricing settings, if asked for.
    pub settings: Option<Settings>,
    /// The other items asked for that exist.
    pub others: Vec<Item>,
}

/// The products named, the pricing settings if `with_settings`, and the `others`: one batch
/// read.
pub async fn read_products(
    table: &dyn Table,
    ids: impl Iterator<Item = ProductId>,
    with_settings: bool,
    others: &[Key],
) -> anyhow::Result<Read> {
    let ids: std::collections::BTreeSet<ProductId> = ids.collect();
    let mut keys: Vec<Key> = ids.iter().map(keys::product).collect();
    if with_settings {
        keys.extend(Pricing::keys());
    }
    keys.extend(others.iter().cloned());
    let mut items = table.batch_get(&keys).await?;
    let settings = if with_settings { Some(Pricing::from_items(&mut items)?) } else { None };
    let (others, items): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|i| others.contains(&i.key()));
    let mut products = HashMap::new();
    for item in items {
        let product: Product = item.decode()?;
        products.insert(product.id, product);
    }
    Ok(Read { products, settings, others })
}

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: Invalid },
    /// `If-Match` named another revision.
    #[error("the settings changed meanwhile")]
    Stale,
    /// No zone or promotion of that id.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// A settings item, edited whole under its revision.
trait Document: Serialize + serde::de::DeserializeOwned + Default {
    /// Its key's name ([`keys::settings`]).
    const NAME: &'static str;
    fn revision(&mut self) -> (&mut u64, &mut Option<Timestamp>);
    fn check(&self) -> Result<(), (&'static str, Invalid)>;
}

impl Document for TaxSettings {
    const NAME: &'static str = "TAX";
    fn revision(&mut self) -> (&mut u64, &mut Option<Timestamp>) {
        (&mut self.version, &mut self.updated_at)
    }
    fn check(&self) -> Result<(), (&'static str, Invalid)> {
        TaxSettings::check(self)
    }
}

impl Document for Shipping {
    const NAME: &'static str = "SHIPPING";
    fn revision(&mut self) -> (&mut u64, &mut Option<Timestamp>) {
        (&mut self.version, &mut self.updated_at)
    }
    fn check(&self) -> Result<(), (&'static str, Invalid)> {
        Shipping::check(self)
    }
}

impl Document for Promotions {
    const NAME: &'static str = "PROMOTIONS";
    fn revision(&mut self) -> (&mut u64, &mut Option<Timestamp>) {
        (&mut self.version, &mut self.updated_at)
    }
    fn check(&self) -> Result<(), (&'static str, Invalid)> {
        Promotions::check(self)
    }
}

/// Something of a settings list with an id: a zone, a promotion.
trait Listed {
    fn id(&self) -> &Handle;
}

impl Listed for ShippingZone {
    fn id(&self) -> &Handle {
        &self.id
    }
}

impl Listed for Promotion {
    fn id(&self) -> &Handle {
        &self.id
    }
}

/// Puts `entry` in `list` in place of the one of its id, or at its end.
fn upsert<T: Listed>(list: &mut Vec<T>, entry: T) -> Result<(), SettingsError> {
    match list.iter_mut().find(|e| e.id() == entry.id()) {
        Some(existing) => *existing = entry,
        None => list.push(entry),
    }
    Ok(())
}

/// Takes the entry of `id` out of `list`.
fn remove<T: Listed>(list: &mut Vec<T>, id: &Handle, what: &'static str) -> Result<(), SettingsError> {
    let before = list.len();
    list.retain(|e| e.id() != id);
    if list.len() == before { Err(SettingsError::NotFound(what)) } else { Ok(()) }
}

/// The pricing settings over the table port.
#[derive(Clone)]
pub struct Pricing {
    table: Arc<dyn Table>,
}

impl Pricing {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    /// The keys of the settings, for a batch read beside other items ([`Pricing::from_items`]).
    pub fn keys() -> [Key; 3] {
        [TaxSettings::NAME, Shipping::NAME, Promotions::NAME].map(keys::settings)
    }

    /// The settings among `items` (a batch read of [`Pricing::keys`] and more), defaulted when
    /// absent; the items that are not settings are left in `items`.
    pub fn from_items(items: &mut Vec<Item>) -> anyhow::Result<Settings> {
        fn take<D: Document>(items: &mut Vec<Item>) -> anyhow::Result<D> {
            let key = keys::settings(D::NAME);
            let Some(at) = items.iter().position(|i| i.key() == key) else { return Ok(D::default()) };
            items.swap_remove(at).decode()
        }
        Ok(Settings { tax: take(items)?, shipping: take(items)?, promotions: take(items)? })
    }

    /// Every setting, in one batch read.
    pub async fn read(&self) -> anyhow::Result<Settings> {
        let mut items = self.table.batch_get(&Self::keys()).await?;
        Self::from_items(&mut items)
    }

    async fn document<D: Document>(&self) -> anyhow::Result<D> {
        let item = self.table.get(&keys::settings(D::NAME)).await?;
        Ok(item.map(|i| i.decode()).transpose()?.unwrap_or_default())
    }

    pub async fn tax(&self) -> anyhow::Result<TaxSettings> {
        self.document().await
    }

    pub async fn shipping(&self) -> anyhow::Result<Shipping> {
        self.document().await
    }

    pub async fn promotions(&self) -> anyhow::Result<Promotions> {
        self.document().await
    }

    /// Replaces the tax settings, if they are still at revision `expected` (`None`: whatever
    /// they are).
    pub async fn set_tax(
        &self,
        prices_include_tax: bool,
        rates: Vec<TaxRule>,
        expected: Option<u64>,
    ) -> Result<TaxSettings, SettingsError> {
        self.edit(expected, |tax: &mut TaxSettings| {
            (tax.prices_include_tax, tax.rates) = (prices_include_tax, rates);
            Ok(())
        })
        .await
    }

    /// Adds the zone, or replaces the zone of its id, if the zones are still at revision
    /// `expected` (`None`: whatever they are); answers the zones after.
    pub async fn put_zone(&self, zone: ShippingZone, expected: Option<u64>) -> Result<Shipping, SettingsError> {
        self.edit(expected, |s: &mut Shipping| upsert(&mut s.zones, zone)).await
    }

    /// Removes a zone, if the zones are still at revision `expected` (`None`: whatever they
    /// are).
    pub async fn delete_zone(&self, id: &Handle, expected: Option<u64>) -> Result<Shipping, SettingsError> {
        self.edit(expected, |s: &mut Shipping| remove(&mut s.zones, id, "shipping zone")).await
    }

    /// How many orders each promotion was used for (cancelled ones not counted).
    pub async fn uses(&self, promotions: &Promotions) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
        let keys: Vec<Key> = promotions.promotions.iter().map(|p| keys::promotion_uses(&p.id)).collect();
        let mut uses: std::collections::BTreeMap<String, i64> =
            promotions.promotions.iter().map(|p| (p.id.to_string(), 0)).collect();
        for item in self.table.batch_get(&keys).await? {
            if let Some(id) = item.key().pk.strip_prefix("PROMOTION#") {
                uses.insert(id.to_owned(), item.int("uses").unwrap_or(0));
            }
        }
        Ok(uses)
    }

    /// Adds the promotion, or replaces the one of its id, as [`Pricing::put_zone`] does zones.
    pub async fn put_promotion(
        &self,
        promotion: Promotion,
        expected: Option<u64>,
    ) -> Result<Promotions, SettingsError> {
        self.edit(expected, |p: &mut Promotions| upsert(&mut p.promotions, promotion)).await
    }

    /// Removes a promotion (orders that used it keep what it gave them).
    pub async fn delete_promotion(&self, id: &Handle, expected: Option<u64>) -> Result<Promotions, SettingsError> {
        self.edit(expected, |p: &mut Promotions| remove(&mut p.promotions, id, "promotion")).await
    }

    /// The setting after `edit`, checked and written over the revision read, if that is the
    /// revision `expected` (`None`: any) and is still stored.
    async fn edit<D: Document>(
        &self,
        expected: Option<u64>,
        edit: impl FnOnce(&mut D) -> Result<(), SettingsError>,
    ) -> Result<D, SettingsError> {
        let mut document: D = self.document().await?;
        let current = *document.revision().0;
        if expected.is_some_and(|expected| expected != current) {
            return Err(SettingsError::Stale);
        }
        edit(&mut document)?;
        document.check().map_err(|(field, reason)| SettingsError::Invalid { field, reason })?;
        let (version, updated_at) = document.revision();
        (*version, *updated_at) = (current + 1, Some(Timestamp::now()));
        let item = Item::new(&keys::settings(D::NAME), &document);
        let write = if current == 0 {
            Write::create(item)
        } else {
            Write::put(item).when(Condition::equals("version", current))
        };
        match self.table.write(write).await {
            Ok(()) => Ok(document),
            Err(WriteError::ConditionFailed { .. }) => Err(SettingsError::Stale),
            Err(e) => Err(SettingsError::Store(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CategorySlug, Currency, Quantity};
    use serde_json::json;

    fn eur(amount: i64) -> Money {
        Money { amount, currency: Currency::EUR }
    }

    fn to(country: &str, region: Option<&str>) -> Destination {
        Destination { country: Country::parse(country).unwrap(), region: region.map(|r| Region::parse(r).unwrap()) }
    }

    fn basket(lines: &[(i64, u32, u32, TaxClass)]) -> Basket {
        Basket {
            currency: Currency::EUR,
            lines: lines
                .iter()
                .map(|&(price, quantity, weight_grams, tax_class)| BasketLine {
                    product: ProductId::parse("01JD0000000000000000000001").unwrap(),
                    category: CategorySlug::parse("home").unwrap(),
                    unit_price: eur(price),
                    quantity: Quantity::new(i64::from(quantity)).unwrap(),
                    weight_grams,
                    tax_class,
                })
                .collect(),
        }
    }

    fn taxes(included: bool) -> TaxSettings {
        serde_json::from_value(json!({"prices_include_tax": included, "rates": [
            {"country": "DE", "class": "standard", "rate": "19"},
            {"country": "DE", "class": "reduced", "rate": "7"},
            {"country": "US", "class": "standard", "rate": "0"},
            {"country": "US", "region": "CA", "class": "standard", "rate": "7.25"},
            {"country": "US", "region": "NY", "class": "standard", "rate": "4"},
        ]}))
        .unwrap()
    }

    fn zones() -> Shipping {
        serde_json::from_value(json!({"zones": [
            {"id": "de", "name": "Germany", "countries": ["DE"], "options": [
                {"id": "de-standard", "name": "Standard", "min_days": 2, "max_days": 4,
                 "rate": {"type": "flat", "price": {"amount": 490, "currency": "EUR"}},
                 "free_above": {"amount": 5000, "currency": "EUR"}},
                {"id": "de-express", "name": "Express", "min_days": 1, "max_days": 1,
                 "rate": {"type": "weight", "bands": [
                     {"up_to_grams": 1000, "price": {"amount": 990, "currency": "EUR"}},
                     {"up_to_grams": 5000, "price": {"amount": 1490, "currency": "EUR"}}]}}]},
            {"id": "us", "name": "United States", "countries": ["US"], "options": [
                {"id": "us-ground", "name": "Ground", "min_days": 3, "max_days": 7,
                 "rate": {"type": "subtotal", "bands": [
                     {"from": {"amount": 0, "currency": "EUR"}, "price": {"amount": 1500, "currency": "EUR"}},
                     {"from": {"amount": 10000, "currency": "EUR"}, "price": {"amount": 500, "currency": "EUR"}}]}}]},
            {"id": "us-far", "name": "Alaska and Hawaii", "regions": ["US-AK", "us-hi"], "options": [
                {"id": "us-far", "name": "Air", "min_days": 5, "max_days": 10,
                 "rate": {"type": "flat", "price": {"amount": 3000, "currency": "EUR"}}}]}
        ]}))
        .unwrap()
    }

    /// Prices as checkout does, with these settings and no promotions.
    fn quote(
        basket: &Basket,
        to: &Destination,
        option: Option<&Handle>,
        shipping: &Shipping,
        tax: &TaxSettings,
    ) -> Result<Quote, QuoteError> {
        let settings = Settings { tax: tax.clone(), shipping: shipping.clone(), promotions: Promotions::default() };
        Pricer::new(&settings, None).quote(basket, to, option)
    }

    fn handle(id: &str) -> Handle {
        Handle::parse(id).unwrap()
    }

    #[test]
    fn zones_match_regions_before_countries() {
        let shipping = zones();
        shipping.check().unwrap();
        let zone = |c, r| shipping.zone_for(&to(c, r)).map(|z| z.id.to_string());
        assert_eq!(zone("DE", None).as_deref(), Some("de"));
        assert_eq!(zone("US", Some("CA")).as_deref(), Some("us"));
        assert_eq!(zone("US", Some("HI")).as_deref(), Some("us-far"));
        assert_eq!(zone("FR", None), None);
    }

    #[test]
    fn options_apply_by_weight_subtotal_and_currency() {
        let shipping = zones();
        let ids = |b: &Basket, d: &Destination| {
            shipping.options_for(d, b).into_iter().map(|(o, p)| (o.id.to_string(), p.amount)).collect::<Vec<_>>()
        };
        let light = basket(&[(1000, 2, 300, TaxClass::Standard)]);
        assert_eq!(ids(&light, &to("DE", None)), [("de-standard".into(), 490), ("de-express".into(), 990)]);
        let heavy = basket(&[(1000, 3, 2000, TaxClass::Standard)]);
        assert_eq!(ids(&heavy, &to("DE", None)), [("de-standard".into(), 490)], "6 kg: past express's bands");
        let big = basket(&[(6000, 1, 300, TaxClass::Standard)]);
        assert_eq!(ids(&big, &to("DE", None))[0], ("de-standard".into(), 0), "free from 50 EUR");
        assert_eq!(ids(&big, &to("US", Some("CA"))), [("us-ground".into(), 1500)]);
        let bigger = basket(&[(10000, 1, 300, TaxClass::Standard)]);
        assert_eq!(ids(&bigger, &to("US", Some("CA"))), [("us-ground".into(), 500)]);
        let yen = Basket { currency: Currency::parse("JPY").unwrap(), ..light.clone() };
        assert!(ids(&yen, &to("DE", None)).is_empty(), "no option priced in the basket's currency");
    }

    #[test]
    fn checkout_names_an_option_that_applies() {
        let (shipping, tax) = (zones(), taxes(true));
        let b = basket(&[(1000, 1, 300, TaxClass::Standard)]);
        let de = to("DE", None);
        assert_eq!(
            quote(&b, &to("FR", None), None, &shipping, &tax),
            Err(QuoteError::Shipping(ShippingError::NotShippedTo("FR".into())))
        );
        assert!(
            matches!(quote(&b, &de, None, &shipping, &tax), Err(QuoteError::Shipping(ShippingError::OptionRequired(ids))) if ids.len() == 2)
        );
        assert!(matches!(
            quote(&b, &de, Some(&handle("us-ground")), &shipping, &tax),
            Err(QuoteError::Shipping(ShippingError::OptionUnavailable { .. }))
        ));
        let q = quote(&b, &de, Some(&handle("de-express")), &shipping, &tax).unwrap();
        assert_eq!(q.shipping.unwrap().price.amount, 990);
        let none = Shipping::default();
        assert_eq!(quote(&b, &de, None, &none, &tax).unwrap().shipping, None, "a shop without zones");
    }

    #[test]
    fn tax_included_eu_shop() {
        let (shipping, tax) = (zones(), taxes(true));
        // 2 x 10.00 at 19 % and a 7 % book of 15.00, shipped for 4.90 at 19 %.
        let b = basket(&[(1000, 2, 300, TaxClass::Standard), (1500, 1, 500, TaxClass::Reduced)]);
        let q = quote(&b, &to("DE", None), Some(&handle("de-standard")), &shipping, &tax).unwrap();
        let lines: Vec<_> =
            q.lines.iter().map(|l| (l.taxed.net.amount, l.taxed.tax.amount, l.taxed.rate.to_string())).collect();
        assert_eq!(lines, [(1681, 319, "19".into()), (1402, 98, "7".into())]);
        let s = q.shipping.unwrap();
        assert_eq!((s.price.amount, s.net.amount, s.tax.amount), (490, 412, 78));
        let t = q.totals;
        assert_eq!((t.subtotal.amount, t.shipping.amount, t.tax.amount, t.total.amount), (3500, 490, 495, 3990));
        assert!(t.tax_included);
    }

    #[test]
    fn tax_added_us_shop_by_state() {
        let (shipping, tax) = (zones(), taxes(false));
        let b = basket(&[(1999, 3, 300, TaxClass::Standard)]);
        let q = quote(&b, &to("US", Some("CA")), Some(&handle("us-ground")), &shipping, &tax).unwrap();
        // 59.97 at 7.25 %: 4.3478 -> 4.35; shipping 15.00 at 7.25 %: 1.0875 -> 1.09.
        assert_eq!(q.lines[0].taxed.tax.amount, 435);
        assert_eq!(q.shipping.as_ref().unwrap().tax.amount, 109);
        let t = q.totals;
        assert_eq!((t.subtotal.amount, t.shipping.amount, t.tax.amount, t.total.amount), (5997, 1500, 544, 8041));
        let elsewhere = quote(&b, &to("US", Some("TX")), Some(&handle("us-ground")), &shipping, &tax).unwrap();
        assert_eq!(elsewhere.totals.tax.amount, 0, "the country's own rate: 0");
    }

    #[test]
    fn per_line_rounding_differs_from_per_order_and_still_adds_up() {
        let (shipping, tax) = (Shipping::default(), taxes(false));
        // Three lines of 0.50 at 7 %: 3.5 cents each, rounded to 4: 12 cents by line, against
        // 1.50 x 7 % = 10.5, rounded to 11, by order.
        let b = basket(&[(50, 1, 0, TaxClass::Reduced), (50, 1, 0, TaxClass::Reduced), (50, 1, 0, TaxClass::Reduced)]);
        let q = quote(&b, &to("DE", None), None, &shipping, &tax).unwrap();
        assert_eq!(q.totals.tax.amount, 12);
        assert_eq!(TaxRate::parse("7").unwrap().split(eur(150), false).tax.amount, 11);
        assert_eq!(q.totals.total.amount, 150 + 12);
        assert_eq!(q.lines.iter().map(|l| l.taxed.gross().amount).sum::<i64>(), q.totals.total.amount);
        // Tax included: 3 x 0.10 at 19 %: 1.597 cents each -> 2, against 4.79 -> 5 per order.
        let tax = taxes(true);
        let b =
            basket(&[(10, 1, 0, TaxClass::Standard), (10, 1, 0, TaxClass::Standard), (10, 1, 0, TaxClass::Standard)]);
        let q = quote(&b, &to("DE", None), None, &shipping, &tax).unwrap();
        assert_eq!(q.totals.tax.amount, 6);
        assert_eq!(TaxRate::parse("19").unwrap().split(eur(30), true).tax.amount, 5);
        let nets: i64 = q.lines.iter().map(|l| l.taxed.net.amount).sum();
        assert_eq!(nets + q.totals.tax.amount, q.totals.total.amount);
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let mut tax = taxes(true);
        tax.check().unwrap();
        tax.rates.push(tax.rates[0].clone());
        assert_eq!(tax.check().unwrap_err().1.to_string(), "DE has two standard rates");
        let mut shipping = zones();
        shipping.zones[1].countries.push(Country::parse("DE").unwrap());
        assert_eq!(shipping.check().unwrap_err().1.to_string(), "DE is in two zones");
        let mut shipping = zones();
        if let ShippingRate::Weight { bands } = &mut shipping.zones[0].options[1].rate {
            bands.reverse();
        }
        assert!(shipping.check().unwrap_err().1.to_string().contains("ascending"));
        let mut shipping = zones();
        shipping.zones[2].options[0].id = handle("de-standard");
        assert_eq!(shipping.check().unwrap_err().1.to_string(), "option de-standard is named twice");
        let mut shipping = zones();
        shipping.zones[0].options[0].free_above = Some(Money { amount: 1, currency: Currency::parse("USD").unwrap() });
        assert!(shipping.check().unwrap_err().1.to_string().contains("mixes currencies"));
    }
}
