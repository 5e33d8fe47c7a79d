//! A basket: what a checkout or a cart would buy, as pricing and promotions read it.

use super::{CategorySlug, Currency, Money, Product, ProductId, Quantity, TaxClass, Variant};

/// A line of a basket, as pricing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLine {
    /// Its product and the product's category (what promotions target).
    pub product: ProductId,
    pub category: CategorySlug,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub weight_grams: u32,
    pub tax_class: TaxClass,
}

impl BasketLine {
    /// `quantity` of a product's `variant` at its price.
    pub fn of(product: &Product, variant: &Variant, quantity: Quantity) -> Self {
        Self {
            product: product.id,
            category: product.category.clone(),
            unit_price: variant.price,
            quantity,
            weight_grams: variant.weight_grams,
            tax_class: variant.tax_class,
        }
    }

    /// Its price times its quantity.
    pub fn total(&self) -> Money {
        self.unit_price.times(self.quantity)
    }
}

/// What is bought, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    pub currency: Currency,
    pub lines: Vec<BasketLine>,
}

impl Basket {
    /// The lines' prices added up (as entered: with tax if prices include it).
    pub fn subtotal(&self) -> Money {
        Money { amount: self.lines.iter().map(|l| l.total().amount).sum(), currency: self.currency }
    }

    pub fn weight_grams(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.weight_grams) * u64::from(l.quantity.get())).sum()
    }
}
