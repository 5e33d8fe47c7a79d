//! Payments: the port to the payment providers, and what their answers do to orders.
//!
//! A shopper pays a PENDING_PAYMENT order through a provider's payment (a Stripe
//! PaymentIntent, a PayPal order); the order carries it ([`Payment`]) from its creation on. The
//! provider's word arrives as a signed webhook, and each webhook event is applied once: its id
//! is recorded in the same transaction as its effect, after one read of the order.
//!
//! Every amount paid ends on a PAID order or back with the shopper: a payment that succeeds
//! for an order that cannot take it (cancelled meanwhile, or paid by another payment) is
//! refunded, and cancelling a paid order refunds it (the `refunds` consumer). A refund is
//! reserved on the order first, under the order's revision, so the refunded total can never
//! exceed what was paid; the provider is then asked with the reservation's key, so a retry
//! refunds once.

pub mod contract;
mod deferred;
mod provider;
mod refunds;
mod service;

pub use crate::domain::{Payment, PaymentStatus, Provider, Refund, RefundStatus};
pub use deferred::Deferred;
pub use provider::{
    PaymentProvider, ProviderError, ProviderPayment, RefundRequest, WebhookError, WebhookEvent, WebhookKind,
};
pub use refunds::Refunder;
pub use service::{Applied, Checkout, PaymentError, Payments, Refunding, WEBHOOK_EVENT_SECONDS};
