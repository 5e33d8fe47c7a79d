//! The payment provider contract: what every provider adapter must do, as one suite.
//! [`payment_contract!`] turns it into tests for an adapter; `shop-embedded` runs it on the
//! simulated provider, the cross-service tests on Stripe (a Stripe-protocol server) and on the
//! fake PayPal. Each check makes orders of its own.

use std::sync::Arc;

use async_trait::async_trait;

use super::{PaymentProvider, PaymentStatus, ProviderError, ProviderPayment, RefundRequest};
use crate::domain::{Currency, Money, OrderId, OrderStatus, UserId};
use crate::orders::Order;
use crate::time::Timestamp;

/// The shopper's side of a payment, which no provider port call does: paying at the provider
/// (a good card through Stripe.js, an approval at PayPal).
#[async_trait]
pub trait Shopper: Send + Sync {
    /// Pays `payment` as a shopper whose card or account is good: it then succeeded, or waits
    /// for the shop's capture.
    async fn pay(&self, payment: &ProviderPayment);
}

/// An adapter under the contract: the provider, its shopper, and a payment id of the
/// provider's own form that names no payment.
pub struct Subject {
    pub provider: Arc<dyn PaymentProvider>,
    pub shopper: Arc<dyn Shopper>,
    pub unknown_id: &'static str,
}

/// An unpaid order of `amount` euro cents, as the shop holds it.
pub fn order(amount: i64) -> Order {
    let now = Timestamp::now();
    Order {
        id: OrderId::new(),
        user_id: UserId::random(),
        status: OrderStatus::PendingPayment,
        lines: Vec::new(),
        total: eur(amount),
        totals: None,
        shipping: None,
        promotions: Vec::new(),
        invoice: None,
        credit_note: None,
        guest_email: None,
        account: None,
        shipping_address: serde_json::from_value(serde_json::json!({
            "name": "Ada Lovelace", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"
        }))
        .expect("a valid address"),
        tracking_number: None,
        payment: None,
        returns: Vec::new(),
        history: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

fn eur(amount: i64) -> Money {
    Money { amount, currency: Currency::EUR }
}

/// An order of 30.00 EUR, paid and captured; answers it with its payment.
async fn paid(subject: &Subject) -> (Order, ProviderPayment) {
    let order = order(3000);
    let payment = subject.provider.create(&order, 1).await.unwrap();
    subject.shopper.pay(&payment).await;
    let captured = subject.provider.capture(&payment.id).await.unwrap();
    assert_eq!((captured.status, captured.amount), (PaymentStatus::Succeeded, eur(3000)));
    (order, captured)
}

/// A payment is the order's total; a retried create (the same order and attempt) answers the
/// same payment, and the next attempt is a new one.
pub async fn one_payment_per_order_and_attempt(subject: &Subject) {
    let provider = &*subject.provider;
    let order = order(4500);
    let first = provider.create(&order, 1).await.unwrap();
    assert_eq!((first.status, first.amount), (PaymentStatus::Pending, eur(4500)));
    assert!(first.client_secret.is_some() || first.approve_url.is_some(), "the browser is told how to pay");
    assert_eq!(provider.create(&order, 1).await.unwrap().id, first.id, "a retry");
    assert_eq!(provider.retrieve(&first.id).await.unwrap(), first);
    let second = provider.create(&order, 2).await.unwrap();
    assert_ne!(second.id, first.id, "a new attempt is a new payment");
}

/// A payment the provider does not know is `NotFound`, whatever is asked of it.
pub async fn an_unknown_payment_is_not_found(subject: &Subject) {
    let (provider, unknown) = (&*subject.provider, subject.unknown_id);
    assert!(matches!(provider.retrieve(unknown).await, Err(ProviderError::NotFound)));
    assert!(matches!(provider.capture(unknown).await, Err(ProviderError::NotFound)));
    assert!(matches!(provider.cancel(unknown).await, Err(ProviderError::NotFound)));
}

/// A payment the shopper has not made can be cancelled, and it never takes money after that.
pub async fn an_unpaid_payment_is_cancelled_for_good(subject: &Subject) {
    let provider = &*subject.provider;
    let payment = provider.create(&order(900), 1).await.unwrap();
    provider.cancel(&payment.id).await.unwrap();
    assert_ne!(provider.retrieve(&payment.id).await.unwrap().status, PaymentStatus::Succeeded);
    let captured = provider.capture(&payment.id).await;
    assert!(!matches!(&captured, Ok(p) if p.status == PaymentStatus::Succeeded), "{captured:?}");
}

/// A paid payment is captured once (a second capture answers it as it is) and cannot be
/// cancelled any more.
pub async fn a_paid_payment_is_captured_once_and_not_cancelled(subject: &Subject) {
    let provider = &*subject.provider;
    let (_, captured) = paid(subject).await;
    assert_eq!(provider.capture(&captured.id).await.unwrap(), captured, "a second capture takes nothing more");
    assert_eq!(provider.retrieve(&captured.id).await.unwrap().status, PaymentStatus::Succeeded);
    assert!(matches!(provider.cancel(&captured.id).await, Err(ProviderError::Refused(_))));
}

/// Refunds are made once per key, up to what was paid; a payment not paid refunds nothing.
pub async fn refunds_are_made_once_per_key_up_to_what_was_paid(subject: &Subject) {
    let provider = &*subject.provider;
    let (order, payment) = paid(subject).await;
    let [part_key, rest_key, more_key] = ["part", "rest", "more"].map(|k| format!("{k}-{}", order.id));
    let refund = |amount, key| RefundRequest { order: &order.id, payment_id: &payment.id, amount: eur(amount), key };
    let part = provider.refund(&refund(1000, &part_key)).await.unwrap();
    assert_eq!(provider.refund(&refund(1000, &part_key)).await.unwrap(), part, "a retry refunds once");
    let over = provider.refund(&refund(2001, &more_key)).await;
    assert!(matches!(over, Err(ProviderError::Refused(_))), "{over:?}");
    let rest = provider.refund(&refund(2000, &rest_key)).await.unwrap();
    assert_ne!(rest, part);
    let more = provider.refund(&refund(1, &more_key)).await;
    assert!(matches!(more, Err(ProviderError::Refused(_))), "{more:?}");

    let unpaid = self::order(3000);
    let payment = provider.create(&unpaid, 1).await.unwrap();
    let key = format!("early-{}", unpaid.id);
    let early = RefundRequest { order: &unpaid.id, payment_id: &payment.id, amount: eur(100), key: &key };
    assert!(matches!(provider.refund(&early).await, Err(ProviderError::Refused(_))));
}

/// A webhook delivery without the provider's signature is refused and read no further.
pub async fn an_unsigned_webhook_is_refused(subject: &Subject) {
    let body = br#"{"id": "evt_1", "type": "payment_intent.succeeded", "event_type": "PAYMENT.CAPTURE.COMPLETED"}"#;
    let refused = subject.provider.verify(&http::HeaderMap::new(), body).await;
    assert!(
        matches!(refused, Err(super::WebhookError::MissingSignature | super::WebhookError::BadSignature)),
        "{refused:?}"
    );
}

/// One test per check of the payment provider contract, each on a [`Subject`] from `$make`
/// (an async expression).
#[macro_export]
macro_rules! payment_contract {
    ($make:expr) => {
        $crate::contract_tests!(payments, $make;
            one_payment_per_order_and_attempt, an_unknown_payment_is_not_found,
            an_unpaid_payment_is_cancelled_for_good, a_paid_payment_is_captured_once_and_not_cancelled,
            refunds_are_made_once_per_key_up_to_what_was_paid, an_unsigned_webhook_is_refused);
    };
}
