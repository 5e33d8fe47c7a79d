//! An order's payment and its refunds, and the providers that take them.

use serde::{Deserialize, Serialize};

use super::{Money, Quantity, VariantId};
use crate::time::Timestamp;

/// A payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Cards, through Stripe PaymentIntents (locally: the simulated provider).
    Stripe,
    /// PayPal Checkout (Orders v2).
    Paypal,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Paypal => "paypal",
        }
    }
}

/// Where a payment stands, as far as the shop knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Created; not paid yet.
    Pending,
    /// The last try failed (a declined card, cancelled by the provider); the order stays payable
    /// and its next payment is a new one.
    Failed,
    /// The money is taken.
    Succeeded,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Reserved on the order; the provider has not confirmed it yet.
    Pending,
    Succeeded,
    /// The provider refused; the amount is available again.
    Failed,
}

/// A refund of (part of) a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refund {
    /// The shop's key for it: the provider refunds each key once.
    pub key: String,
    /// The provider's refund id, once it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The payment refunded: the order's, or a stray one the order could not take.
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
    pub status: RefundStatus,
    pub at: Timestamp,
    /// The order's units it gives back, when made by lines (empty for an amount).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<RefundedLine>,
}

/// Units of one order line that a refund gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundedLine {
    pub variant_id: VariantId,
    pub quantity: Quantity,
}

/// An order's payment: what was asked, what was taken, what went back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payment {
    pub provider: Provider,
    /// The provider's id of the payment (PaymentIntent id, PayPal order id).
    pub payment_id: String,
    /// Which try this is: a failed payment is followed by a new one.
    pub attempt: u32,
    pub status: PaymentStatus,
    /// What the order asks.
    pub amount: Money,
    /// What was taken, in minor units of `amount`'s currency.
    pub paid: i64,
    /// What went back or is on its way back (succeeded and pending refunds of this payment).
    pub refunded: i64,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    /// Why the last try failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Payment {
    /// The `attempt`-th try at `amount`, nothing taken yet.
    pub fn pending(provider: Provider, payment_id: &str, attempt: u32, amount: Money) -> Self {
        Self {
            provider,
            payment_id: payment_id.to_owned(),
            attempt,
            status: PaymentStatus::Pending,
            amount,
            paid: 0,
            refunded: 0,
            refunds: Vec::new(),
            failure: None,
        }
    }

    /// The `attempt`-th try, which took `amount`.
    pub fn succeeded(provider: Provider, payment_id: &str, attempt: u32, amount: Money) -> Self {
        Self {
            status: PaymentStatus::Succeeded,
            paid: amount.amount,
            ..Self::pending(provider, payment_id, attempt, amount)
        }
    }
}

impl Refund {
    /// A refund reserved under `key`, not yet confirmed by the provider.
    pub fn pending(key: &str, payment_id: &str, amount: Money, reason: &str) -> Self {
        Self {
            key: key.to_owned(),
            id: None,
            payment_id: payment_id.to_owned(),
            amount,
            reason: reason.to_owned(),
            status: RefundStatus::Pending,
            at: Timestamp::now(),
            lines: Vec::new(),
        }
    }

    /// The same refund, giving back `lines`.
    pub fn of_lines(self, lines: Vec<RefundedLine>) -> Self {
        Self { lines, ..self }
    }

    /// The same refund, confirmed by the provider as `id`.
    pub fn done(self, id: &str) -> Self {
        Self { id: Some(id.to_owned()), status: RefundStatus::Succeeded, ..self }
    }
}
