//! The product record: what the catalogue stores and answers, and what product events carry.
//!
//! A product is sold as its variants: one per combination of its options' values offered (a
//! T-shirt's `Size` and `Colour`), each with its own SKU, price, stock and weight. A product
//! without options has exactly one variant. The product keeps a summary of its variants (the
//! lowest and highest price, the units in stock across them) that every change recomputes, so
//! lists and search read one record.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    AltText, CategorySlug, Description, ImageId, ImageUrl, Invalid, Label, Money, Name, ProductId, Sku, Stock,
    TaxClass, VariantId,
};
use crate::time::Timestamp;

/// The most options a product has (Size, Colour, Material).
pub const MAX_OPTIONS: usize = 3;
/// The most variants a product has: freeing every variant's SKU marker and claiming a new one
/// (a change of every SKU), with the product, its event and its category counts, fits one
/// 100-write transaction.
pub const MAX_VARIANTS: usize = 48;
/// The most images a product, or one variant, carries.
pub const MAX_IMAGES: usize = 10;
/// The most uploaded images a product holds.
pub const MAX_MEDIA: usize = 20;
/// The heaviest a variant may weigh, in grams (a tonne).
pub const MAX_WEIGHT_GRAMS: u32 = 1_000_000;

/// A variant's value of each of its product's options, by option name (`{"Size": "M"}`).
pub type OptionValues = BTreeMap<Label, Label>;

/// One of a product's options and the values its variants may take, in the order a picker
/// shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductOption {
    pub name: Label,
    pub values: Vec<Label>,
}

/// One combination of option values offered for sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variant {
    pub id: VariantId,
    /// Unique across the shop.
    pub sku: Sku,
    /// One value of each of the product's options; empty for a product without options.
    #[schema(value_type = BTreeMap<String, String>, example = json!({"Size": "M"}))]
    pub options: OptionValues,
    pub price: Money,
    /// Units in stock; never negative. Moves only by sales, cancellations and adjustments.
    pub stock: Stock,
    #[serde(default)]
    #[schema(maximum = 1_000_000)]
    pub weight_grams: u32,
    /// How it is taxed.
    #[serde(default)]
    pub tax_class: TaxClass,
    #[serde(default)]
    pub images: Vec<ImageUrl>,
}

/// An image uploaded for a product (and shown first for one of its variants, if it names
/// one), in the sizes the shop made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Image {
    pub id: ImageId,
    pub alt: AltText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<VariantId>,
    /// Narrowest first: a `srcset`.
    pub sizes: Vec<ImageSize>,
}

/// One size of an image, and where it is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
    pub url: String,
}

/// A product as stored and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "Stored")]
pub struct Product {
    pub id: ProductId,
    pub name: Name,
    pub description: Description,
    pub category: CategorySlug,
    pub images: Vec<ImageUrl>,
    pub attributes: BTreeMap<String, String>,
    pub active: bool,
    /// Up to three; none for a product sold as one variant.
    pub options: Vec<ProductOption>,
    /// One or more (at most 48), in the order they were added.
    pub variants: Vec<Variant>,
    /// Images uploaded for it, in the order the storefront shows them (at most 20).
    pub media: Vec<Image>,
    /// The lowest of the variants' prices: a list shows the product "from" it.
    pub price: Money,
    /// The highest of the variants' prices.
    pub max_price: Money,
    /// Units in stock across the variants.
    pub stock: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The revision: increases with every change, stock movements included; sent as the ETag
    /// and carried by the product's events.
    pub version: u64,
}

impl Product {
    /// The product with these variants, its summary (prices, stock) recomputed. Every change
    /// of variants goes through here.
    pub fn with_variants(self, variants: Vec<Variant>) -> Self {
        let prices = variants.iter().map(|v| v.price);
        let price = prices.clone().min_by_key(|p| p.amount).unwrap_or(self.price);
        let max_price = prices.max_by_key(|p| p.amount).unwrap_or(self.max_price);
        let stock = variants.iter().map(|v| u64::from(v.stock.get())).sum();
        Self { variants, price, max_price, stock, ..self }
    }

    pub fn variant(&self, id: &VariantId) -> Option<&Variant> {
        self.variants.iter().find(|v| v.id == *id)
    }

    /// The variant a product without options is sold as; `None` when it has several.
    pub fn sole_variant(&self) -> Option<&Variant> {
        match &self.variants[..] {
            [only] => Some(only),
            _ => None,
        }
    }

    /// The product after moving these variants' stock by these deltas (revision and time left
    /// to the caller); `None` if a variant is not the product's or its stock would leave its
    /// bounds.
    pub fn stock_moved(&self, moves: &[(VariantId, i64)]) -> Option<Self> {
        let mut variants = self.variants.clone();
        for (id, delta) in moves {
            let variant = variants.iter_mut().find(|v| v.id == *id)?;
            variant.stock = variant.stock.moved(*delta)?;
        }
        Some(self.clone().with_variants(variants))
    }

    /// Checks what no product may be, naming the field at fault: options and variants that
    /// do not fit together, SKUs or combinations offered twice, prices in several currencies.
    pub fn check(&self) -> Result<(), (&'static str, Invalid)> {
        let options = |reason: String| Err(("options", Invalid::new(reason)));
        let variants = |reason: String| Err(("variants", Invalid::new(reason)));
        if self.options.len() > MAX_OPTIONS {
            return options(format!("a product has at most {MAX_OPTIONS} options"));
        }
        let mut names = BTreeSet::new();
        for option in &self.options {
            if !names.insert(option.name.as_str().to_lowercase()) {
                return options(format!("{} is named twice", option.name));
            }
            if option.values.is_empty() || option.values.len() > MAX_VARIANTS {
                return options(format!("{} takes 1 to {MAX_VARIANTS} values", option.name));
            }
            let distinct: BTreeSet<_> = option.values.iter().map(|v| v.as_str().to_lowercase()).collect();
            if distinct.len() != option.values.len() {
                return options(format!("{} lists a value twice", option.name));
            }
        }
        if self.media.len() > MAX_MEDIA {
            return Err(("media", Invalid::new(format!("a product has at most {MAX_MEDIA} images"))));
        }
        if let Some(image) = self.media.iter().find(|i| i.variant_id.is_some_and(|v| self.variant(&v).is_none())) {
            return Err(("media", Invalid::new(format!("image {} names a variant the product has not", image.id))));
        }
        if self.variants.is_empty() || self.variants.len() > MAX_VARIANTS {
            return variants(format!("a product has 1 to {MAX_VARIANTS} variants"));
        }
        if self.options.is_empty() && self.variants.len() > 1 {
            return variants("a product without options has exactly one variant".into());
        }
        let (mut skus, mut combinations) = (BTreeSet::new(), BTreeSet::new());
        for variant in &self.variants {
            if !skus.insert(&variant.sku) {
                return variants(format!("SKU {} is given to two variants", variant.sku));
            }
            if variant.price.currency != self.variants[0].price.currency {
                return variants("every variant is priced in the same currency".into());
            }
            if variant.images.len() > MAX_IMAGES {
                return variants(format!("a variant has at most {MAX_IMAGES} images"));
            }
            if variant.weight_grams > MAX_WEIGHT_GRAMS {
                return variants(format!("a variant weighs at most {MAX_WEIGHT_GRAMS} grams"));
            }
            let named: Vec<&str> = variant.options.keys().map(Label::as_str).collect();
            let mut wanted: Vec<&str> = self.options.iter().map(|o| o.name.as_str()).collect();
            wanted.sort_unstable();
            if named != wanted {
                return variants(format!(
                    "variant {} must give one value of each option ({})",
                    variant.sku,
                    wanted.join(", ")
                ));
            }
            for option in &self.options {
                let value = &variant.options[&option.name];
                if !option.values.contains(value) {
                    return variants(format!("{value} is not a value of {}", option.name));
                }
            }
            if !combinations.insert(&variant.options) {
                return variants(format!("two variants are {}", describe(&variant.options)));
            }
        }
        Ok(())
    }
}

/// Option values as a shopper reads them: "M / Blue".
pub fn describe(options: &OptionValues) -> String {
    options.values().map(Label::as_str).collect::<Vec<_>>().join(" / ")
}

/// A product as the table holds it: today's shape, or one stored before products had
/// variants (its own SKU, price and stock), read as a product of one variant whose id is the
/// product's, so the carts and orders that named the product name that variant.
#[derive(Deserialize)]
struct Stored {
    id: ProductId,
    name: Name,
    description: Description,
    category: CategorySlug,
    #[serde(default)]
    images: Vec<ImageUrl>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    active: bool,
    #[serde(default)]
    options: Vec<ProductOption>,
    #[serde(default)]
    variants: Vec<Variant>,
    #[serde(default)]
    media: Vec<Image>,
    #[serde(default)]
    sku: Option<Sku>,
    price: Money,
    #[serde(default)]
    stock: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    version: u64,
}

impl TryFrom<Stored> for Product {
    type Error = String;

    fn try_from(s: Stored) -> Result<Self, String> {
        let variants = match (s.variants.is_empty(), s.sku) {
            (false, _) => s.variants,
            (true, Some(sku)) => vec![Variant {
                id: s.id.into(),
                sku,
                options: OptionValues::new(),
                price: s.price,
                stock: Stock::new(s.stock as i64).map_err(|e| format!("stock {e}"))?,
                weight_grams: 0,
                tax_class: TaxClass::Standard,
                images: Vec::new(),
            }],
            (true, None) => return Err("a product with neither variants nor a SKU".into()),
        };
        let product = Product {
            id: s.id,
            name: s.name,
            description: s.description,
            category: s.category,
            images: s.images,
            attributes: s.attributes,
            active: s.active,
            options: s.options,
            variants: Vec::new(),
            media: s.media,
            price: s.price,
            max_price: s.price,
            stock: 0,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        };
        Ok(product.with_variants(variants))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tee() -> Product {
        serde_json::from_value(json!({
            "id": "01JD0000000000000000000001", "name": "Tee", "description": "", "category": "tees",
            "images": [], "attributes": {}, "active": true,
            "options": [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Blue"]}],
            "variants": [
                {"id": "01JD0000000000000000000011", "sku": "TEE-S", "options": {"Size": "S", "Colour": "Blue"},
                 "price": {"amount": 1500, "currency": "EUR"}, "stock": 3},
                {"id": "01JD0000000000000000000012", "sku": "TEE-M", "options": {"Size": "M", "Colour": "Blue"},
                 "price": {"amount": 1700, "currency": "EUR"}, "stock": 4}
            ],
            "price": {"amount": 0, "currency": "EUR"}, "max_price": {"amount": 0, "currency": "EUR"}, "stock": 0,
            "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z", "version": 3
        }))
        .unwrap()
    }

    #[test]
    fn the_summary_follows_the_variants() {
        let tee = tee();
        assert_eq!((tee.price.amount, tee.max_price.amount, tee.stock), (1500, 1700, 7));
        tee.check().unwrap();
        let moved = tee.stock_moved(&[(tee.variants[1].id, -4)]).unwrap();
        assert_eq!((moved.stock, moved.variants[0].stock.get(), moved.variants[1].stock.get()), (3, 3, 0));
        assert!(tee.stock_moved(&[(tee.variants[0].id, -4)]).is_none(), "never below zero");
        assert!(tee.stock_moved(&[(VariantId::new(), 1)]).is_none(), "only the product's own variants");
    }

    #[test]
    fn a_product_stored_before_variants_is_one_variant_of_its_own_id() {
        let old: Product = serde_json::from_value(json!({
            "id": "01JD0000000000000000000001", "sku": "LAMP-1", "name": "Lamp", "description": "",
            "price": {"amount": 2500, "currency": "EUR"}, "stock": 9, "category": "lamps", "images": [],
            "attributes": {}, "active": true, "created_at": "2026-12-01T10:00:00Z",
            "updated_at": "2026-12-01T10:00:00Z", "version": 2
        }))
        .unwrap();
        let only = old.sole_variant().unwrap();
        assert_eq!(only.id, VariantId::from(old.id));
        assert_eq!((only.sku.as_str(), only.price.amount, only.stock.get()), ("LAMP-1", 2500, 9));
        assert_eq!((old.price.amount, old.stock), (2500, 9));
        old.check().unwrap();
    }

    #[test]
    fn options_and_variants_must_fit_together() {
        let field = |p: &Product| p.check().unwrap_err().0;
        let mut twice = tee();
        twice.variants[1].options = twice.variants[0].options.clone();
        assert_eq!(field(&twice), "variants");
        let mut unknown = tee();
        unknown.variants[0].options.insert(Label::parse("Size").unwrap(), Label::parse("XL").unwrap());
        assert_eq!(field(&unknown), "variants");
        let mut missing = tee();
        missing.variants[0].options.remove(&Label::parse("Colour").unwrap());
        assert_eq!(field(&missing), "variants");
        let mut same_sku = tee();
        same_sku.variants[1].sku = same_sku.variants[0].sku.clone();
        assert_eq!(field(&same_sku), "variants");
        let mut no_options = tee();
        no_options.options.clear();
        assert_eq!(field(&no_options), "variants");
        let mut repeated = tee();
        repeated.options[0].values.push(Label::parse("s").unwrap());
        assert_eq!(field(&repeated), "options");
    }
}
