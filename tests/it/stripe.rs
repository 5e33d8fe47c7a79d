//! The Stripe adapter against a Stripe-protocol server (localstripe, which the test command
//! starts on 127.0.0.1 and names in `SHOP_TEST_STRIPE_API`), and the local stack paid through
//! it, told by the server's own signed webhook deliveries.

use serde_json::{Value, json};
use shop::domain::{Money, OrderId};
use shop::orders::{Order, Orders};
use shop::payments::{PaymentProvider, PaymentStatus, ProviderError};
use shop_stripe::StripePayments;
use shop_tests::TestApp;
use shop_tests::paying::{checkout, order_becomes, refunded_in_full, status_becomes, unpaid_order};

const KEY: &str = "sk_test_shop";
const SECRET: &str = "whsec_localstripe_test";
/// localstripe's decline test card (its `4000000000000002` only fails when attached to a customer).
const DECLINED: &str = "pm_card_chargeCustomerFail";
const VISA: &str = "pm_card_visa";

/// The Stripe-protocol server's address. Fails loudly when missing: these tests must run.
fn api() -> String {
    std::env::var("SHOP_TEST_STRIPE_API")
        .expect("SHOP_TEST_STRIPE_API is not set: run the tests with ./scripts/test, which starts localstripe")
}

fn adapter() -> StripePayments {
    StripePayments::new(KEY, SECRET, Some(&api())).unwrap()
}

/// What a shopper's browser (Stripe.js) and Stripe's dashboard do, as plain API calls.
struct Browser(reqwest::Client);

impl Browser {
    fn new() -> Self {
        Self(reqwest::Client::new())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let answer =
            self.0.post(format!("{}/{path}", api())).basic_auth(KEY, Some("")).form(form).send().await.unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap_or(Value::Null))
    }

    /// Pays the PaymentIntent with the card `payment_method`; answers the confirmation's status.
    async fn pay(&self, intent: &str, payment_method: &str) -> u16 {
        let (status, body) =
            self.post(&format!("v1/payment_intents/{intent}"), &[("payment_method", payment_method)]).await;
        assert_eq!(status, 200, "{body:#}");
        self.post(&format!("v1/payment_intents/{intent}/confirm"), &[]).await.0
    }

    /// Has the server deliver every event to `url`, signed with the shop's secret.
    async fn deliver_to(&self, url: &str) {
        let path = format!("{}/_config/webhooks/{}", api(), ulid::Ulid::new());
        let answer = self.0.post(path).form(&[("url", url), ("secret", SECRET)]).send().await.unwrap();
        assert!(answer.status().is_success());
    }
}

#[async_trait::async_trait]
impl shop::payments::contract::Shopper for Browser {
    async fn pay(&self, payment: &shop::payments::ProviderPayment) {
        assert_eq!(Browser::pay(self, &payment.id, VISA).await, 200);
    }
}

mod contract {
    use std::sync::Arc;

    use shop::payments::contract::Subject;

    async fn stripe() -> Subject {
        Subject {
            provider: Arc::new(super::adapter()),
            shopper: Arc::new(super::Browser::new()),
            unknown_id: "pi_unknown",
        }
    }

    shop::payment_contract!(stripe());
}

/// A stack paying through the Stripe-protocol server, which delivers its webhooks to it.
async fn app() -> TestApp {
    let app = TestApp::spawn_with(|c| {
        c.webhook_secret = Some(SECRET.into());
        c.payments = local::Payments::Stripe { secret_key: KEY.into(), api_base: Some(api()) };
    })
    .await;
    Browser::new().deliver_to(&format!("{}/api/payments/stripe/webhook", app.url)).await;
    app
}

/// An unpaid order of 30.00 EUR, as the repository holds it.
async fn unpaid(app: &TestApp) -> Order {
    let admin = app.admin().await;
    let (_, id, _) = unpaid_order(app, &admin, 10).await;
    Orders::new(app.running.table.clone()).get(&OrderId::parse(&id).unwrap()).await.unwrap().unwrap()
}

fn eur(amount: i64) -> Money {
    Money { amount, currency: shop::domain::Currency::EUR }
}

#[tokio::test]
async fn a_paid_intent_succeeds_and_a_declined_one_fails() {
    let app = app().await;
    let order = unpaid(&app).await;
    let (stripe, browser) = (adapter(), Browser::new());
    let declined = stripe.create(&order, 1).await.unwrap();
    assert_eq!(browser.pay(&declined.id, DECLINED).await, 402);
    assert_eq!(stripe.retrieve(&declined.id).await.unwrap().status, PaymentStatus::Failed);

    let paid = stripe.create(&order, 2).await.unwrap();
    assert_eq!(browser.pay(&paid.id, VISA).await, 200);
    let remote = stripe.retrieve(&paid.id).await.unwrap();
    assert_eq!((remote.status, remote.amount), (PaymentStatus::Succeeded, eur(3000)));
    // A succeeded payment cannot be cancelled; capturing it answers it as it is.
    assert!(matches!(stripe.cancel(&paid.id).await, Err(ProviderError::Refused(_))));
    assert_eq!(stripe.capture(&paid.id).await.unwrap().status, PaymentStatus::Succeeded);
}

#[tokio::test]
async fn a_held_payment_is_captured_once_and_an_unpaid_one_cancelled() {
    let _app = app().await;
    let (stripe, browser) = (adapter(), Browser::new());
    let form = [("amount", "4500"), ("currency", "eur"), ("capture_method", "manual")];
    let (status, held) = browser.post("v1/payment_intents", &form).await;
    assert_eq!(status, 200, "{held:#}");
    let held = held["id"].as_str().unwrap();
    assert_eq!(browser.pay(held, VISA).await, 200);
    assert_eq!(stripe.retrieve(held).await.unwrap().status, PaymentStatus::Pending, "authorised, not taken");
    let captured = stripe.capture(held).await.unwrap();
    assert_eq!((captured.status, captured.amount), (PaymentStatus::Succeeded, eur(4500)));
    assert_eq!(stripe.capture(held).await.unwrap(), captured, "a second capture takes nothing more");

    let (_, unpaid) = browser.post("v1/payment_intents", &[("amount", "900"), ("currency", "eur")]).await;
    let unpaid = unpaid["id"].as_str().unwrap();
    stripe.cancel(unpaid).await.unwrap();
    assert_eq!(stripe.retrieve(unpaid).await.unwrap().status, PaymentStatus::Failed);
    assert!(matches!(stripe.capture(unpaid).await, Ok(p) if p.status == PaymentStatus::Failed));
}

#[tokio::test]
async fn the_stack_is_paid_and_refunded_through_the_servers_deliveries() {
    let app = app().await;
    let admin = app.admin().await;

    // A declined card: the server's payment_intent.payment_failed keeps the order payable.
    let (shopper, id, lamp) = unpaid_order(&app, &admin, 10).await;
    let declined = checkout(&app, &shopper, &id).await;
    assert_eq!(Browser::new().pay(&declined, DECLINED).await, 402);
    let failed = order_becomes(&app, &shopper, &id, "payment failed", |o| o["payment"]["status"] == "failed").await;
    assert_eq!(failed["status"], "PENDING_PAYMENT");

    // A new payment, paid: payment_intent.succeeded makes the order PAID.
    let answer = app.post(&format!("/api/orders/{id}/payment"), Some(&shopper), json!({})).await.expect(201).body;
    let payment = answer["payment_id"].as_str().unwrap();
    assert_ne!(payment, declined);
    assert_eq!(Browser::new().pay(payment, VISA).await, 200);
    let paid = status_becomes(&app, &shopper, &id, "PAID").await;
    assert_eq!((paid["payment"]["paid"].clone(), paid["payment"]["attempt"].clone()), (json!(3000), json!(2)));

    // Cancelled after paying: the stock and the money go back, the refund confirmed by the
    // server's refund.created.
    app.post(&format!("/api/orders/{id}/cancel"), Some(&shopper), json!({})).await.expect(200);
    let refunded = refunded_in_full(&app, &shopper, &id).await;
    assert_eq!(refunded["status"], "CANCELLED");
    assert!(refunded["payment"]["refunds"][0]["id"].as_str().is_some_and(|id| id.starts_with("re_")));
    assert_eq!(app.get(&format!("/api/products/{lamp}"), None).await.body["stock"], 10);
}

#[tokio::test]
async fn money_from_a_payment_the_order_did_not_start_is_refunded_and_pays_nothing() {
    let app = app().await;
    let admin = app.admin().await;
    let (shopper, id, _) = unpaid_order(&app, &admin, 10).await;
    let own = checkout(&app, &shopper, &id).await;

    // A PaymentIntent made outside the checkout (the dashboard, a payment link) that names the
    // order in its metadata, for the order's very amount, paid: the signed event arrives.
    let browser = Browser::new();
    let form = [("amount", "3000"), ("currency", "eur"), ("metadata[order_id]", id.as_str())];
    let (status, stray) = browser.post("v1/payment_intents", &form).await;
    assert_eq!(status, 200, "{stray:#}");
    let stray = stray["id"].as_str().unwrap().to_owned();
    assert_eq!(browser.pay(&stray, VISA).await, 200);
    let refunded = order_becomes(&app, &shopper, &id, "the stray payment refunded", |o| {
        o["payment"]["refunds"].as_array().is_some_and(|r| r.iter().any(|r| r["payment_id"] == stray.as_str()))
    })
    .await;
    assert_eq!(refunded["status"], "PENDING_PAYMENT", "only the order's own payment pays it");
    assert_eq!(
        (refunded["payment"]["payment_id"].as_str(), refunded["payment"]["paid"].clone()),
        (Some(own.as_str()), json!(0))
    );

    // Its own payment still pays it.
    assert_eq!(browser.pay(&own, VISA).await, 200);
    let paid = status_becomes(&app, &shopper, &id, "PAID").await;
    assert_eq!(paid["payment"]["paid"], 3000);
}
