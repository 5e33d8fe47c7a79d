//! An order's values: the status machine it moves through, its lines, the steps of its
//! history and why it was cancelled.

use serde::{Deserialize, Serialize};

use super::{Invalid, Money, OptionValues, ProductId, Quantity, Taxed, VariantId};
use crate::time::Timestamp;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    /// Everything paid went back to the shopper.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] =
        [Self::PendingPayment, Self::Paid, Self::Shipped, Self::Delivered, Self::Cancelled, Self::Refunded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "PENDING_PAYMENT",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
            Self::Refunded => "REFUNDED",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            Invalid::new("must be one of PENDING_PAYMENT, PAID, SHIPPED, DELIVERED, CANCELLED, REFUNDED")
        })
    }

    /// The legal transitions: pay, ship, deliver, cancel before shipping, and refund in full
    /// once paid (a cancelled order's refund leaves it cancelled).
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (PendingPayment, Paid)
                | (PendingPayment, Cancelled)
                | (Paid, Shipped)
                | (Paid, Cancelled)
                | (Shipped, Delivered)
                | (Paid, Refunded)
                | (Shipped, Refunded)
                | (Delivered, Refunded)
        )
    }

    /// Every status from which `next` may be reached (the write's condition).
    pub fn sources_of(next: OrderStatus) -> Vec<OrderStatus> {
        Self::ALL.into_iter().filter(|s| s.can_become(next)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Percent};

    fn eur(amount: i64) -> Money {
        Money { amount, currency: Currency::EUR }
    }

    #[test]
    fn a_lines_units_give_back_exactly_what_was_paid_for_it() {
        let id = ProductId::new();
        // Three at 4.00, 2.00 off, 19 % included: 10.00 paid (8.40 net, 1.60 tax).
        let tax = Taxed { net: eur(840), tax: eur(160), rate: Percent::parse("19").unwrap() };
        let line = OrderLine {
            product_id: id,
            variant_id: VariantId::from(id),
            sku: "LAMP".into(),
            name: "Lamp".into(),
            options: OptionValues::new(),
            unit_price: eur(400),
            quantity: Quantity::new(3).unwrap(),
            line_total: eur(1200),
            discount: Some(eur(200)),
            tax: Some(tax),
        };
        assert_eq!(line.paid(), eur(1000));
        let shares: Vec<i64> = (0..3).map(|before| line.paid_for(before, 1).amount).collect();
        assert_eq!(shares, [333, 333, 334]);
        assert_eq!(line.paid_for(0, 2).amount + line.paid_for(2, 1).amount, 1000);
        // Without tax figures (an order placed before the shop computed tax): total less discount.
        assert_eq!(OrderLine { tax: None, ..line }.paid(), eur(1000));
    }

    #[test]
    fn only_legal_transitions() {
        use OrderStatus::*;
        assert!(PendingPayment.can_become(Paid));
        assert!(Paid.can_become(Shipped));
        assert!(Shipped.can_become(Delivered));
        assert!(Paid.can_become(Cancelled));
        assert!(!Shipped.can_become(Cancelled), "not after shipping");
        assert!(!Delivered.can_become(Shipped));
        assert!(!Cancelled.can_become(Paid));
        assert!(!PendingPayment.can_become(Shipped));
        assert!(Delivered.can_become(Refunded));
        assert!(!Cancelled.can_become(Refunded), "a cancelled order's refund leaves it cancelled");
        assert!(!PendingPayment.can_become(Refunded));
        assert_eq!(OrderStatus::sources_of(Cancelled), vec![PendingPayment, Paid]);
        assert_eq!(OrderStatus::parse("SHIPPED").unwrap(), Shipped);
        assert!(OrderStatus::parse("shipped").is_err());
        assert_eq!(serde_json::to_value(PendingPayment).unwrap(), "PENDING_PAYMENT");
    }
}

/// One bought line: a variant as it was at checkout (its SKU, option values and price kept,
/// whatever the catalogue does later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(from = "StoredLine")]
pub struct OrderLine {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    pub name: String,
    /// The variant's option values (`{"Size": "M"}`); empty for a product sold as one variant.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub options: OptionValues,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub line_total: Money,
    /// What promotions took off the line total (absent when nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// The net, tax and rate of what the line costs after its discount (absent on orders placed
    /// before the shop computed tax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Taxed>,
}

impl OrderLine {
    /// What the shopper paid for the line: its total less its discount, with its tax (which
    /// prices entered without tax add).
    pub fn paid(&self) -> Money {
        match &self.tax {
            Some(taxed) => taxed.gross(),
            None => {
                let discount = self.discount.map_or(0, |d| d.amount);
                Money { amount: self.line_total.amount - discount, ..self.line_total }
            }
        }
    }

    /// What `units` more of the line's units are worth when `before` were given back already:
    /// the line's payment shared by units, each share the difference of two running totals
    /// rounded down, so all its units together give back exactly what was paid for the line.
    pub fn paid_for(&self, before: u32, units: u32) -> Money {
        let paid = self.paid();
        let upto = |n: u32| i128::from(paid.amount) * i128::from(n) / i128::from(self.quantity.get());
        let share = upto(before + units) - upto(before);
        Money { amount: i64::try_from(share).expect("within the line's own amount"), ..paid }
    }

    /// The line as a shopper reads it: the product's name and the variant's option values
    /// ("Tee (M / Blue)").
    pub fn title(&self) -> String {
        if self.options.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, super::describe(&self.options))
        }
    }
}

/// A line as the table holds it; one written before products had variants names the product's
/// one variant, which has the product's id.
#[derive(Deserialize)]
struct StoredLine {
    product_id: ProductId,
    variant_id: Option<VariantId>,
    sku: String,
    name: String,
    #[serde(default)]
    options: OptionValues,
    unit_price: Money,
    quantity: Quantity,
    line_total: Money,
    #[serde(default)]
    discount: Option<Money>,
    #[serde(default)]
    tax: Option<Taxed>,
}

impl From<StoredLine> for OrderLine {
    fn from(l: StoredLine) -> Self {
        Self {
            product_id: l.product_id,
            variant_id: l.variant_id.unwrap_or(l.product_id.into()),
            sku: l.sku,
            name: l.name,
            options: l.options,
            unit_price: l.unit_price,
            quantity: l.quantity,
            line_total: l.line_total,
            discount: l.discount,
            tax: l.tax,
        }
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: Timestamp,
    /// Who made the change: a user id, or `system` for expiry.
    pub by: String,
    /// Why, for a cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Its shopper cancelled it.
    Shopper,
    /// The back office cancelled it.
    Admin,
    /// It was not paid in time.
    PaymentExpired,
}

impl CancelReason {
    /// Its name on the wire (`shopper`, `admin`, `payment_expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shopper => "shopper",
            Self::Admin => "admin",
            Self::PaymentExpired => "payment_expired",
        }
    }
}
