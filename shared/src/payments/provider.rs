//! The port every payment provider adapter implements, and what a provider answers.

use async_trait::async_trait;

use crate::domain::{Money, OrderId, PaymentStatus, Provider};
use crate::orders::Order;

/// A payment as its provider describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    pub id: String,
    pub status: PaymentStatus,
    /// What it asks, and once it succeeded, what it took.
    pub amount: Money,
    /// What the shopper's browser needs: a Stripe client secret, or PayPal's approval link.
    pub client_secret: Option<String>,
    pub approve_url: Option<String>,
}

/// What a verified webhook event tells the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id: each is applied once.
    pub id: String,
    /// The order the payment is for (the shop's metadata on the payment), when it says.
    pub order_id: Option<OrderId>,
    pub kind: WebhookKind,
}

/// The events the shop acts on; the rest are acknowledged and ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookKind {
    /// The payment took `amount`.
    Succeeded { payment_id: String, amount: Money },
    /// A try failed, or the provider cancelled the payment.
    Failed { payment_id: String, reason: String },
    /// The buyer approved the payment at the provider, which holds it until the shop captures
    /// it (PayPal): the shop captures it then, whether or not the buyer comes back.
    Approved { payment_id: String },
    /// A refund done: one the shop asked for (its `key`), or one made outside the shop.
    Refunded { payment_id: String, refund_id: String, key: Option<String>, amount: Money },
    /// A type the shop does not act on (named for the log).
    Ignored(String),
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request as made (a declined card, an amount it will not refund).
    #[error("the payment provider refused: {0}")]
    Refused(String),
    /// The payment is unknown to the provider.
    #[error("the payment provider does not know this payment")]
    NotFound,
    /// The provider could not be reached or failed; safe to retry with the same key.
    #[error("the payment provider failed: {0:#}")]
    Unavailable(anyhow::Error),
}

/// Why a webhook delivery was not accepted: each answers 400 and changes nothing.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the signature header is missing or malformed")]
    MissingSignature,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the signature's timestamp is more than 300 s away")]
    Stale,
    /// A delivery verified already, sent again.
    #[error("this delivery was received already")]
    Replayed,
    #[error("the body is not an event: {0}")]
    Malformed(String),
    /// The provider's configuration (its secrets) could not be read: not the sender's fault.
    #[error("the payment provider is not available: {0}")]
    Unavailable(String),
}

/// A refund asked of a provider.
#[derive(Debug, Clone, Copy)]
pub struct RefundRequest<'a> {
    /// The order whose payment it is (carried by the refund's webhook).
    pub order: &'a OrderId,
    pub payment_id: &'a str,
    pub amount: Money,
    /// The shop's key: the provider refunds each key once, and its webhook carries it.
    pub key: &'a str,
}

/// A payment provider: the one port every provider adapter implements.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn provider(&self) -> Provider;

    /// Creates the payment of `order`'s total, its `attempt`-th try; the same order and
    /// attempt always answer the same payment (the provider's idempotency key derives from
    /// them), and the payment carries the order's id for the webhooks.
    async fn create(&self, order: &Order, attempt: u32) -> Result<ProviderPayment, ProviderError>;

    async fn retrieve(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError>;

    /// Takes the money of a payment the buyer approved but the provider holds (a PayPal order
    /// after the buyer's approval, a Stripe PaymentIntent with manual capture). A payment
    /// captured already answers as it is.
    async fn capture(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError>;

    /// Cancels a payment that has not succeeded.
    async fn cancel(&self, payment_id: &str) -> Result<(), ProviderError>;

    /// Refunds part of a succeeded payment, once per key. Answers the provider's refund id.
    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<String, ProviderError>;

    /// Verifies a webhook delivery on its raw body and reads its event.
    async fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError>;
}
