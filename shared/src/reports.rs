//! The back office's exports for accounting: a period's orders as CSV, one row per order, with
//! what each was charged (subtotal, discount, shipping, tax, total, as the order kept them), what
//! was paid and refunded, and its invoice and credit note.

use crate::domain::Money;
use crate::orders::Order;

/// The columns of [`orders_csv`], in order. Amounts are decimals in the order's currency.
pub const ORDER_COLUMNS: [&str; 19] = [
    "order_id",
    "placed_at",
    "status",
    "customer",
    "guest_email",
    "ship_to_country",
    "ship_to_region",
    "currency",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "tax_included",
    "paid",
    "refunded",
    "invoice",
    "invoice_date",
    "credit_note",
];

/// The orders as CSV ([`ORDER_COLUMNS`]). What a shopper typed is written so that no
/// spreadsheet takes it for a formula.
pub fn orders_csv(orders: &[Order]) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(ORDER_COLUMNS)?;
    for order in orders {
        let amount = |minor: i64| Money { amount: minor, currency: order.total.currency }.decimal();
        let totals = order.totals.as_ref();
        let figure = |pick: fn(&crate::pricing::Totals) -> Money| totals.map(|t| pick(t).decimal()).unwrap_or_default();
        let (paid, refunded) = order.payment.as_ref().map_or((0, 0), |p| (p.paid, p.refunded));
        let address = &order.shipping_address;
        out.write_record([
            order.id.to_string(),
            order.created_at.to_string(),
            order.status.as_str().to_owned(),
            order.owner().to_string(),
            text(order.guest_email.as_ref().map(ToString::to_string).unwrap_or_default()),
            address.country.to_string(),
            address.region.as_ref().map(ToString::to_string).unwrap_or_default(),
            order.total.currency.to_string(),
            figure(|t| t.subtotal),
            figure(|t| t.discount),
            figure(|t| t.shipping),
            figure(|t| t.tax),
            order.total.decimal(),
            totals.map(|t| t.tax_included.to_string()).unwrap_or_default(),
            amount(paid),
            amount(refunded),
            order.invoice.as_ref().map(|d| d.number.clone()).unwrap_or_default(),
            order.invoice.as_ref().map(|d| d.issued_at.to_string()).unwrap_or_default(),
            order.credit_note.as_ref().map(|d| d.number.clone()).unwrap_or_default(),
        ])?;
    }
    Ok(out.into_inner()?)
}

/// A cell a spreadsheet reads as text: one that starts with what opens a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return) is prefixed with `'`, as OWASP advises.
fn text(value: String) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_shopper_typed_is_never_a_formula() {
        assert_eq!(text("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(text("@sum".into()), "'@sum");
        assert_eq!(text("ada@example.com".into()), "ada@example.com");
    }
}
