//! The PayPal adapter over HTTP against the fake PayPal (`shop_tests::paypal`): orders created
//! once per attempt, approval and capture, cancellation, refunds, the OAuth token's cache and
//! renewal, and webhook verification, genuine and forged in every way a delivery can be.

use serde_json::{Value, json};
use shop::domain::{Currency, Money, OrderId, OrderStatus, UserId};
use shop::orders::Order;
use shop::payments::{
    PaymentProvider, PaymentStatus, Provider, ProviderError, RefundRequest, Refunding, WebhookError, WebhookEvent,
    WebhookKind,
};
use shop::time::Timestamp;
use shop_paypal::PaypalPayments;
use shop_tests::paypal::{self, FakePaypal, Signing};

/// The fake, and the adapter configured for it.
async fn setup() -> (FakePaypal, PaypalPayments) {
    let fake = FakePaypal::start().await;
    let adapter = PaypalPayments::new(fake.config()).unwrap();
    (fake, adapter)
}

/// The buyer at the fake PayPal: approves the order.
struct Buyer(FakePaypal);

#[async_trait::async_trait]
impl shop::payments::contract::Shopper for Buyer {
    async fn pay(&self, payment: &shop::payments::ProviderPayment) {
        self.0.approve(&payment.id);
    }
}

mod contract {
    use std::sync::Arc;

    use shop::payments::contract::Subject;

    async fn paypal() -> Subject {
        let (fake, adapter) = super::setup().await;
        Subject { provider: Arc::new(adapter), shopper: Arc::new(super::Buyer(fake)), unknown_id: "5O190127TN364715T" }
    }

    shop::payment_contract!(paypal());
}

/// An unpaid order of the shop for `amount` minor units of `currency`.
fn order(amount: i64, currency: &str) -> Order {
    Order {
        id: OrderId::new(),
        user_id: UserId::random(),
        status: OrderStatus::PendingPayment,
        lines: Vec::new(),
        total: Money { amount, currency: Currency::parse(currency).unwrap() },
        totals: None,
        shipping: None,
        promotions: Vec::new(),
        invoice: None,
        credit_note: None,
        guest_email: None,
        account: None,
        shipping_address: shop_tests::shipping_address(),
        tracking_number: None,
        payment: None,
        returns: Vec::new(),
        history: Vec::new(),
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        version: 1,
    }
}

fn eur(amount: i64) -> Money {
    Money { amount, currency: Currency::EUR }
}

/// An order of 30.00 EUR, paid: created, approved by the buyer, captured. Answers (shop order,
/// PayPal order id).
async fn paid(fake: &FakePaypal, adapter: &PaypalPayments) -> (Order, String) {
    let order = order(3000, "EUR");
    let made = adapter.create(&order, 1).await.unwrap();
    fake.approve(&made.id);
    let captured = adapter.capture(&made.id).await.unwrap();
    assert_eq!(captured.status, PaymentStatus::Succeeded);
    (order, made.id)
}

async fn refund(
    adapter: &PaypalPayments,
    order: &Order,
    payment: &str,
    amount: i64,
    key: &str,
) -> Result<String, ProviderError> {
    adapter.refund(&RefundRequest { order: &order.id, payment_id: payment, amount: eur(amount), key }).await
}

#[tokio::test]
async fn an_order_is_created_once_per_attempt_with_its_approval_link() {
    let (fake, adapter) = setup().await;
    assert_eq!(adapter.provider(), Provider::Paypal);
    let order = order(3000, "EUR");

    let made = adapter.create(&order, 1).await.unwrap();
    assert_eq!(made.status, PaymentStatus::Pending);
    assert_eq!(made.amount, eur(3000));
    assert_eq!(made.client_secret, None);
    assert_eq!(made.approve_url, Some(format!("{}/checkoutnow?token={}", fake.url, made.id)));
    let at_paypal = fake.order(&made.id);
    assert_eq!(at_paypal["intent"], "CAPTURE");
    assert_eq!(at_paypal["purchase_units"][0]["amount"], json!({"currency_code": "EUR", "value": "30.00"}));
    assert_eq!(at_paypal["purchase_units"][0]["reference_id"], order.id.to_string());
    assert_eq!(at_paypal["purchase_units"][0]["custom_id"], order.id.to_string());

    // A retried create (same order, same attempt) answers the same PayPal order.
    let again = adapter.create(&order, 1).await.unwrap();
    assert_eq!(again, made);
    assert_eq!((fake.orders(), fake.calls(paypal::CREATE)), (1, 2));

    // The next attempt is a new PayPal order.
    let next = adapter.create(&order, 2).await.unwrap();
    assert_ne!(next.id, made.id);
    assert_eq!(fake.orders(), 2);
}

#[tokio::test]
async fn amounts_go_in_each_currencys_decimals() {
    let (fake, adapter) = setup().await;
    let yen = adapter.create(&order(500, "JPY"), 1).await.unwrap();
    assert_eq!(fake.order(&yen.id)["purchase_units"][0]["amount"]["value"], "500");
    assert_eq!(yen.amount, Money { amount: 500, currency: Currency::parse("JPY").unwrap() });
    let forint = adapter.create(&order(150_000, "HUF"), 1).await.unwrap();
    assert_eq!(fake.order(&forint.id)["purchase_units"][0]["amount"]["value"], "1500");
    assert_eq!(forint.amount.amount, 150_000);
    // What PayPal cannot express is refused before PayPal is asked.
    let calls = fake.calls(paypal::CREATE);
    assert!(matches!(adapter.create(&order(150_050, "HUF"), 1).await, Err(ProviderError::Refused(_))));
    assert_eq!(fake.calls(paypal::CREATE), calls);
    // A currency PayPal does not take is PayPal's refusal.
    let dinar = adapter.create(&order(1500, "KWD"), 1).await;
    assert!(matches!(dinar, Err(ProviderError::Refused(ref m)) if m.contains("CURRENCY_NOT_SUPPORTED")), "{dinar:?}");
}

#[tokio::test]
async fn an_approved_order_is_captured_once() {
    let (fake, adapter) = setup().await;
    let order = order(3000, "EUR");
    let made = adapter.create(&order, 1).await.unwrap();

    // Before the buyer approves, capturing is refused and the payment stays pending.
    let early = adapter.capture(&made.id).await;
    assert!(matches!(early, Err(ProviderError::Refused(ref m)) if m.contains("ORDER_NOT_APPROVED")), "{early:?}");
    assert_eq!(adapter.retrieve(&made.id).await.unwrap().status, PaymentStatus::Pending);

    fake.approve(&made.id);
    let approved = adapter.retrieve(&made.id).await.unwrap();
    assert_eq!(approved.status, PaymentStatus::Pending);

    let captured = adapter.capture(&made.id).await.unwrap();
    assert_eq!(captured.status, PaymentStatus::Succeeded);
    assert_eq!(captured.amount, eur(3000));
    assert_eq!(captured.approve_url, None);
    let capture_id = fake.capture_id(&made.id).unwrap();

    // Capturing again answers the order as it is (the request id replays the first capture).
    let again = adapter.capture(&made.id).await.unwrap();
    assert_eq!(again, captured);
    assert_eq!(fake.capture_id(&made.id).unwrap(), capture_id);
    assert_eq!(adapter.retrieve(&made.id).await.unwrap(), captured);
}

#[tokio::test]
async fn an_order_captured_by_another_request_answers_as_it_is() {
    let (fake, adapter) = setup().await;
    let made = adapter.create(&order(3000, "EUR"), 1).await.unwrap();
    fake.approve(&made.id);
    // Another client of the same account captured it (another request id).
    let other = PaypalPayments::new(fake.config()).unwrap();
    other.capture(&made.id).await.unwrap();
    let captured = adapter.capture(&made.id).await.unwrap();
    assert_eq!(captured.status, PaymentStatus::Succeeded);
    assert_eq!(captured.amount, eur(3000));
}

#[tokio::test]
async fn a_declined_or_voided_order_fails() {
    let (fake, adapter) = setup().await;
    let declined = adapter.create(&order(3000, "EUR"), 1).await.unwrap();
    fake.approve_declining(&declined.id);
    assert_eq!(adapter.capture(&declined.id).await.unwrap().status, PaymentStatus::Failed);
    assert_eq!(adapter.retrieve(&declined.id).await.unwrap().status, PaymentStatus::Failed);

    let voided = adapter.create(&order(3000, "EUR"), 1).await.unwrap();
    fake.void(&voided.id);
    assert_eq!(adapter.retrieve(&voided.id).await.unwrap().status, PaymentStatus::Failed);
}

#[tokio::test]
async fn unknown_orders_are_not_found() {
    let (fake, adapter) = setup().await;
    assert!(matches!(adapter.retrieve("5O190127TN364715T").await, Err(ProviderError::NotFound)));
    assert!(matches!(adapter.capture("5O190127TN364715T").await, Err(ProviderError::NotFound)));
    assert!(matches!(adapter.cancel("5O190127TN364715T").await, Err(ProviderError::NotFound)));
    let calls = fake.calls(paypal::GET_ORDER);
    // An id that is no PayPal id never reaches a URL.
    for bad in ["", "../v1/oauth2/token", "5O19?x=1", "5O19/capture"] {
        assert!(matches!(adapter.retrieve(bad).await, Err(ProviderError::NotFound)), "{bad:?}");
    }
    assert_eq!(fake.calls(paypal::GET_ORDER), calls);
}

#[tokio::test]
async fn cancel_leaves_an_uncaptured_order_to_expire_and_refuses_a_captured_one() {
    let (fake, adapter) = setup().await;
    let created = adapter.create(&order(3000, "EUR"), 1).await.unwrap();
    adapter.cancel(&created.id).await.unwrap();
    let approved = adapter.create(&order(3000, "EUR"), 1).await.unwrap();
    fake.approve(&approved.id);
    adapter.cancel(&approved.id).await.unwrap();

    let (_, captured) = paid(&fake, &adapter).await;
    let refused = adapter.cancel(&captured).await;
    assert!(matches!(refused, Err(ProviderError::Refused(_))), "{refused:?}");
}

#[tokio::test]
async fn refunds_go_up_to_what_was_captured_once_per_key() {
    let (fake, adapter) = setup().await;
    let (order, payment) = paid(&fake, &adapter).await;

    let first = refund(&adapter, &order, &payment, 1000, "admin-first").await.unwrap();
    // A retried refund (same key) answers the same refund.
    assert_eq!(refund(&adapter, &order, &payment, 1000, "admin-first").await.unwrap(), first);
    assert_eq!(fake.refunds(), 1);

    // More than what is left is PayPal's refusal.
    let over = refund(&adapter, &order, &payment, 2001, "admin-over").await;
    assert!(matches!(over, Err(ProviderError::Refused(ref m)) if m.contains("REFUND_AMOUNT_EXCEEDED")), "{over:?}");

    let rest = refund(&adapter, &order, &payment, 2000, "admin-rest").await.unwrap();
    assert_ne!(rest, first);
    assert_eq!(fake.refunds(), 2);
    let more = refund(&adapter, &order, &payment, 1, "admin-more").await;
    assert!(matches!(more, Err(ProviderError::Refused(_))), "{more:?}");

    // The capture is refunded at PayPal; the payment took the money all the same.
    assert_eq!(fake.order(&payment)["purchase_units"][0]["payments"]["captures"][0]["status"], "REFUNDED");
    assert_eq!(adapter.retrieve(&payment).await.unwrap().status, PaymentStatus::Succeeded);
}

#[tokio::test]
async fn an_uncaptured_order_cannot_be_refunded() {
    let (fake, adapter) = setup().await;
    let order = order(3000, "EUR");
    let made = adapter.create(&order, 1).await.unwrap();
    fake.approve(&made.id);
    let refused = refund(&adapter, &order, &made.id, 1000, "admin-early").await;
    assert!(matches!(refused, Err(ProviderError::Refused(_))), "{refused:?}");
    assert_eq!(fake.calls(paypal::REFUND), 0);
}

#[tokio::test]
async fn an_outage_is_unavailable_and_the_retry_makes_one_order() {
    let (fake, adapter) = setup().await;
    let order = order(3000, "EUR");
    fake.fail_next(paypal::CREATE, 1);
    assert!(matches!(adapter.create(&order, 1).await, Err(ProviderError::Unavailable(_))));
    adapter.create(&order, 1).await.unwrap();
    assert_eq!(fake.orders(), 1);

    let (order, payment) = paid(&fake, &adapter).await;
    // The order read fails, then (asked again) the refund itself.
    fake.fail_next(paypal::GET_ORDER, 1);
    assert!(matches!(refund(&adapter, &order, &payment, 1000, "admin-x").await, Err(ProviderError::Unavailable(_))));
    fake.fail_next(paypal::REFUND, 1);
    assert!(matches!(refund(&adapter, &order, &payment, 1000, "admin-x").await, Err(ProviderError::Unavailable(_))));
    assert_eq!(fake.refunds(), 0);
    let id = refund(&adapter, &order, &payment, 1000, "admin-x").await.unwrap();
    assert_eq!(refund(&adapter, &order, &payment, 1000, "admin-x").await.unwrap(), id);
    assert_eq!(fake.refunds(), 1);

    // Nobody answering is unavailable too.
    let gone = PaypalPayments::new(shop_paypal::Config::new("a", "b", "c").api_base("http://127.0.0.1:9")).unwrap();
    assert!(matches!(gone.retrieve("5O190127TN364715T").await, Err(ProviderError::Unavailable(_))));
}

#[tokio::test]
async fn the_access_token_is_reused_then_renewed() {
    let (fake, adapter) = setup().await;
    let made = adapter.create(&order(3000, "EUR"), 1).await.unwrap();
    for _ in 0..5 {
        adapter.retrieve(&made.id).await.unwrap();
    }
    assert_eq!(fake.calls(paypal::TOKEN), 1);

    // PayPal ends the token early: the call is refused once, a new token is got, the call
    // goes through.
    fake.expire_tokens();
    adapter.retrieve(&made.id).await.unwrap();
    assert_eq!(fake.calls(paypal::TOKEN), 2);
    assert_eq!(fake.calls(paypal::GET_ORDER), 7);
    adapter.retrieve(&made.id).await.unwrap();
    assert_eq!(fake.calls(paypal::TOKEN), 2);

    // A token about to run out is renewed before PayPal refuses it.
    fake.token_lifetime(2);
    let short = PaypalPayments::new(fake.config()).unwrap();
    short.retrieve(&made.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = fake.calls(paypal::GET_ORDER);
    short.retrieve(&made.id).await.unwrap();
    assert_eq!(fake.calls(paypal::TOKEN), 4);
    assert_eq!(fake.calls(paypal::GET_ORDER), before + 1, "no call was refused");
}

#[tokio::test]
async fn wrong_credentials_are_unavailable() {
    let fake = FakePaypal::start().await;
    let config = shop_paypal::Config::new(paypal::CLIENT_ID, "not-the-secret", paypal::WEBHOOK_ID).api_base(&fake.url);
    let adapter = PaypalPayments::new(config).unwrap();
    let failed = adapter.create(&order(3000, "EUR"), 1).await;
    let Err(ProviderError::Unavailable(e)) = failed else { panic!("{failed:?}") };
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert!(!format!("{e:#}").contains("not-the-secret"));
    assert_eq!(fake.calls(paypal::CREATE), 0);
}

async fn verified(fake: &FakePaypal, adapter: &PaypalPayments, event: &Value) -> Result<WebhookEvent, WebhookError> {
    let (headers, body) = fake.sign(event);
    adapter.verify(&headers, body.as_bytes()).await
}

#[tokio::test]
async fn genuine_webhooks_say_what_happened() {
    let (fake, adapter) = setup().await;
    let (order, payment) = paid(&fake, &adapter).await;

    let completed = fake.capture_event(&payment);
    let event = verified(&fake, &adapter, &completed).await.unwrap();
    assert_eq!(event.id, completed["id"].as_str().unwrap());
    assert_eq!(event.order_id, Some(order.id));
    assert_eq!(event.kind, WebhookKind::Succeeded { payment_id: payment.clone(), amount: eur(3000) });

    let refund_id = refund(&adapter, &order, &payment, 1200, &format!("cancel-{}", order.id)).await.unwrap();
    let refunded = verified(&fake, &adapter, &fake.refund_event(&refund_id)).await.unwrap();
    assert_eq!(refunded.order_id, Some(order.id));
    assert_eq!(
        refunded.kind,
        WebhookKind::Refunded {
            payment_id: payment.clone(),
            refund_id,
            key: Some(format!("cancel-{}", order.id)),
            amount: eur(1200)
        }
    );

    // A refund made on PayPal's dashboard: its capture names the orders.
    let outside = fake.refund_outside(&fake.capture_id(&payment).unwrap(), "3.00");
    let refunded = verified(&fake, &adapter, &fake.refund_event(&outside)).await.unwrap();
    assert_eq!(refunded.order_id, Some(order.id));
    assert_eq!(
        refunded.kind,
        WebhookKind::Refunded { payment_id: payment.clone(), refund_id: outside, key: None, amount: eur(300) }
    );
    assert_eq!(fake.calls(paypal::GET_CAPTURE), 1);

    // The certificate was fetched once.
    assert_eq!(fake.calls(paypal::CERT), 1);
}

#[tokio::test]
async fn a_declined_capture_is_a_failed_payment() {
    let (fake, adapter) = setup().await;
    let order = order(3000, "EUR");
    let made = adapter.create(&order, 1).await.unwrap();
    fake.approve_declining(&made.id);
    adapter.capture(&made.id).await.unwrap();
    let event = verified(&fake, &adapter, &fake.capture_event(&made.id)).await.unwrap();
    assert_eq!(event.order_id, Some(order.id));
    assert_eq!(
        event.kind,
        WebhookKind::Failed { payment_id: made.id.clone(), reason: "DECLINED_BY_RISK_FRAUD_FILTERS".into() }
    );

    let mut denied = fake.capture_event(&made.id);
    denied["event_type"] = json!("PAYMENT.CAPTURE.DENIED");
    denied["resource"].as_object_mut().unwrap().remove("status_details");
    let event = verified(&fake, &adapter, &denied).await.unwrap();
    assert_eq!(event.kind, WebhookKind::Failed { payment_id: made.id, reason: "the capture was declined".into() });
}

#[tokio::test]
async fn other_events_are_ignored_and_unreadable_ones_malformed() {
    let (fake, adapter) = setup().await;
    let shop_order = order(3000, "EUR");
    let made = adapter.create(&shop_order, 1).await.unwrap();
    fake.approve(&made.id);
    let event = verified(&fake, &adapter, &fake.approved_event(&made.id)).await.unwrap();
    assert_eq!(
        (event.order_id, event.kind),
        (Some(shop_order.id), WebhookKind::Approved { payment_id: made.id.clone() })
    );
    let other =
        fake.event("CUSTOMER.DISPUTE.CREATED", "dispute", "A dispute was created", json!({"dispute_id": "PP-D-1"}));
    let event = verified(&fake, &adapter, &other).await.unwrap();
    assert_eq!((event.order_id, event.kind), (None, WebhookKind::Ignored("CUSTOMER.DISPUTE.CREATED".into())));

    adapter.capture(&made.id).await.unwrap();
    let mut unreadable = fake.capture_event(&made.id);
    unreadable["resource"].as_object_mut().unwrap().remove("supplementary_data");
    assert!(matches!(verified(&fake, &adapter, &unreadable).await, Err(WebhookError::Malformed(_))));
    let mut unreadable = fake.capture_event(&made.id);
    unreadable["resource"]["amount"]["value"] = json!("thirty");
    assert!(matches!(verified(&fake, &adapter, &unreadable).await, Err(WebhookError::Malformed(_))));
    let body = "not json";
    let headers = fake.sign_body(body.as_bytes(), &fake.signing());
    assert!(matches!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::Malformed(_))));
}

/// A completed capture's event, and the adapter that can verify it.
async fn delivery() -> (FakePaypal, PaypalPayments, Value) {
    let (fake, adapter) = setup().await;
    let (_, payment) = paid(&fake, &adapter).await;
    let event = fake.capture_event(&payment);
    (fake, adapter, event)
}

#[tokio::test]
async fn a_changed_body_is_refused() {
    let (fake, adapter, event) = delivery().await;
    let (headers, body) = fake.sign(&event);
    let changed = body.replace("30.00", "0.01");
    assert_ne!(changed, body);
    assert_eq!(adapter.verify(&headers, changed.as_bytes()).await, Err(WebhookError::BadSignature));
    // Even a change that keeps the meaning (whitespace) changes the CRC.
    let spaced = format!("{body} ");
    assert_eq!(adapter.verify(&headers, spaced.as_bytes()).await, Err(WebhookError::BadSignature));
    assert!(adapter.verify(&headers, body.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn a_delivery_for_another_webhook_is_refused() {
    let (fake, adapter, event) = delivery().await;
    let body = event.to_string();
    let signing = Signing { webhook_id: "WH-ANOTHER-WEBHOOK".into(), ..fake.signing() };
    let headers = fake.sign_body(body.as_bytes(), &signing);
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    // The simulator's placeholder id is no exception.
    let signing = Signing { webhook_id: "WEBHOOK_ID".into(), ..fake.signing() };
    let headers = fake.sign_body(body.as_bytes(), &signing);
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let (fake, adapter, event) = delivery().await;
    let impostor = FakePaypal::start().await;
    let body = event.to_string();
    // Signed with the impostor's key, naming the genuine certificate.
    let headers = impostor.sign_body(body.as_bytes(), &Signing { cert_url: fake.cert_url.clone(), ..fake.signing() });
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    // Naming the impostor's certificate, whose host is not allowed: refused unfetched.
    let (headers, body) = impostor.sign(&event);
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    assert_eq!(impostor.calls(paypal::CERT), 0);
}

#[tokio::test]
async fn a_certificate_outside_paypals_hosts_is_never_fetched() {
    let (fake, adapter, event) = delivery().await;
    let body = event.to_string();
    for url in [
        "https://evil.example/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
        "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "https://evil.example@api.paypal.com/v1/notifications/certs/CERT-1",
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "not a url",
    ] {
        let headers = fake.sign_body(body.as_bytes(), &Signing { cert_url: url.into(), ..fake.signing() });
        assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature), "{url}");
    }
    // The fake's own host, but another path than PayPal's certificates.
    let elsewhere = format!("{}/v2/checkout/orders/X", fake.url);
    let headers = fake.sign_body(body.as_bytes(), &Signing { cert_url: elsewhere, ..fake.signing() });
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    assert_eq!(fake.calls(paypal::CERT), 0);

    // Each environment trusts its own hosts only: live never trusts the sandbox's (anyone can
    // have PayPal sign with those), and another API base trusts none unless told.
    let live = shop_paypal::Config::new(paypal::CLIENT_ID, paypal::CLIENT_SECRET, paypal::WEBHOOK_ID);
    assert_eq!(live.cert_origins, shop_paypal::CERT_ORIGINS.map(String::from).to_vec());
    let sandbox = live.clone().api_base(shop_paypal::SANDBOX);
    assert_eq!(sandbox.cert_origins, shop_paypal::SANDBOX_CERT_ORIGINS.map(String::from).to_vec());
    let live = PaypalPayments::new(live).unwrap();
    let from_sandbox = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
    let headers = fake.sign_body(body.as_bytes(), &Signing { cert_url: from_sandbox.into(), ..fake.signing() });
    assert_eq!(live.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    let default = PaypalPayments::new(sandbox.api_base(&fake.url)).unwrap();
    let (headers, body) = fake.sign(&event);
    assert_eq!(default.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    assert_eq!(fake.calls(paypal::CERT), 0);

    // A query makes no new certificate (nor a new cache entry): refused unfetched.
    let queried = format!("{}?v=1", fake.cert_url);
    let headers = fake.sign_body(body.as_bytes(), &Signing { cert_url: queried, ..fake.signing() });
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
    assert_eq!(fake.calls(paypal::CERT), 0);

    // A certificate PayPal's host does not have is the sender's fault.
    let missing = format!("{}/v1/notifications/certs/CERT-missing/x", fake.url);
    let headers = fake.sign_body(body.as_bytes(), &Signing { cert_url: missing, ..fake.signing() });
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::BadSignature));
}

#[tokio::test]
async fn certificates_are_kept_by_path_a_few_at_most_and_a_delivery_is_taken_once() {
    let (fake, adapter, event) = delivery().await;
    let body = event.to_string();
    let by_path =
        |n: usize| Signing { cert_url: format!("{}/v1/notifications/certs/CERT-{n}", fake.url), ..fake.signing() };
    for n in 0..9 {
        let headers = fake.sign_body(body.as_bytes(), &by_path(n));
        assert!(adapter.verify(&headers, body.as_bytes()).await.is_ok());
    }
    assert_eq!(fake.calls(paypal::CERT), 9, "each path fetched once");
    // Nine paths overflowed the cache: the first is fetched again, then kept.
    for _ in 0..2 {
        let headers = fake.sign_body(body.as_bytes(), &by_path(0));
        assert!(adapter.verify(&headers, body.as_bytes()).await.is_ok());
    }
    assert_eq!(fake.calls(paypal::CERT), 10);

    // The same delivery sent again (its transmission id) is a replay, however genuine.
    let (headers, body) = fake.sign(&event);
    assert!(adapter.verify(&headers, body.as_bytes()).await.is_ok());
    assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::Replayed));
}

#[tokio::test]
async fn an_unreachable_certificate_host_is_unavailable() {
    let (fake, _, event) = delivery().await;
    let config = fake.config().cert_origins(["http://127.0.0.1:9"]);
    let adapter = PaypalPayments::new(config).unwrap();
    let body = event.to_string();
    let signing = Signing { cert_url: "http://127.0.0.1:9/v1/notifications/certs/CERT-1".into(), ..fake.signing() };
    let headers = fake.sign_body(body.as_bytes(), &signing);
    assert!(matches!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::Unavailable(_))));
}

#[tokio::test]
async fn a_stale_delivery_is_refused() {
    let (fake, adapter, event) = delivery().await;
    let body = event.to_string();
    let now = time::OffsetDateTime::now_utc();
    for offset in [-302, 302, -86_400] {
        let at = paypal::rfc3339(now + time::Duration::seconds(offset));
        let headers = fake.sign_body(body.as_bytes(), &Signing { transmission_time: at, ..fake.signing() });
        assert_eq!(adapter.verify(&headers, body.as_bytes()).await, Err(WebhookError::Stale), "{offset}");
    }
    // Within the tolerance.
    let at = paypal::rfc3339(now - time::Duration::seconds(240));
    let headers = fake.sign_body(body.as_bytes(), &Signing { transmission_time: at, ..fake.signing() });
    assert!(adapter.verify(&headers, body.as_bytes()).await.is_ok());
    // A stale delivery costs no certificate fetch: the one above was the first.
    assert_eq!(fake.calls(paypal::CERT), 1);
}

#[tokio::test]
async fn missing_or_malformed_headers_are_refused() {
    let (fake, adapter, event) = delivery().await;
    let (headers, body) = fake.sign(&event);
    for name in shop_paypal::HEADERS {
        let mut without = headers.clone();
        without.remove(name);
        assert_eq!(adapter.verify(&without, body.as_bytes()).await, Err(WebhookError::MissingSignature), "{name}");
        let mut empty = headers.clone();
        empty.insert(name, http::HeaderValue::from_static(""));
        assert_eq!(adapter.verify(&empty, body.as_bytes()).await, Err(WebhookError::MissingSignature), "{name}");
    }
    let mut garbled = headers.clone();
    garbled.insert(shop_paypal::TRANSMISSION_SIG, http::HeaderValue::from_static("not base64!"));
    assert_eq!(adapter.verify(&garbled, body.as_bytes()).await, Err(WebhookError::MissingSignature));
    let mut garbled = headers.clone();
    garbled.insert(shop_paypal::TRANSMISSION_TIME, http::HeaderValue::from_static("yesterday"));
    assert_eq!(adapter.verify(&garbled, body.as_bytes()).await, Err(WebhookError::MissingSignature));
    let mut sha1 = headers.clone();
    sha1.insert(shop_paypal::AUTH_ALGO, http::HeaderValue::from_static("SHA1withRSA"));
    assert_eq!(adapter.verify(&sha1, body.as_bytes()).await, Err(WebhookError::BadSignature));
    // A signature of the right shape over another message.
    let mut other = headers.clone();
    let (another, _) = fake.sign(&json!({"id": "WH-OTHER"}));
    other.insert(shop_paypal::TRANSMISSION_SIG, another[shop_paypal::TRANSMISSION_SIG].clone());
    assert_eq!(adapter.verify(&other, body.as_bytes()).await, Err(WebhookError::BadSignature));
    assert!(adapter.verify(&headers, body.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn webhooks_are_delivered_as_paypal_posts_them() {
    // The fake posts a signed event to an endpoint that verifies it with the adapter.
    use axum::body::Bytes;
    use axum::extract::State;
    use std::sync::Arc;
    let (fake, adapter, event) = delivery().await;
    let adapter = Arc::new(adapter);
    async fn webhook(State(adapter): State<Arc<PaypalPayments>>, headers: http::HeaderMap, body: Bytes) -> String {
        match adapter.verify(&headers, &body).await {
            Ok(event) => format!("{:?}", event.kind),
            Err(e) => format!("refused: {e}"),
        }
    }
    let app = axum::Router::new().route("/webhook", axum::routing::post(webhook)).with_state(adapter);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let answer = fake.deliver_to(&url, &event).await.text().await.unwrap();
    assert!(answer.starts_with("Succeeded"), "{answer}");
    server.abort();
}

/// The shop's payment rules (`shop::payments::Payments`) over the PayPal adapter and an embedded
/// table: a placed order of 34.99 EUR, and the rules with PayPal as their only provider.
async fn shop_with_paypal(fake: &FakePaypal) -> (shop::payments::Payments, Order) {
    use shop::domain::Quantity;
    use std::sync::Arc;
    let dir = shop_tests::temp_dir("paypal");
    let path = dir.path().join("table.db");
    let table: Arc<dyn shop::table::Table> = Arc::new(shop_embedded::sqlite::SqliteTable::open(&path).unwrap());
    let product = shop_tests::draft(&format!("LAMP-{}", ulid::Ulid::new()), "Lamp", "lighting", 3499)
        .create(&shop::catalog::Catalog::new(table.clone()), shop_tests::stock(5))
        .await;
    let request = shop::orders::CheckoutRequest {
        guest_email: None,
        user: UserId::random(),
        items: Some(vec![shop::orders::Wanted::of(product.id, Quantity::new(1).unwrap())]),
        ship_to: shop_tests::shipping_address().into(),
        shipping_option: None,
        promotion_code: None,
        idempotency: None,
    };
    let order = shop::orders::Orders::new(table.clone()).checkout(request).await.unwrap().order;
    let adapter = Arc::new(PaypalPayments::new(fake.config()).unwrap());
    (shop::payments::Payments::new(table, vec![adapter]), order)
}

#[tokio::test]
async fn the_shop_is_paid_and_refunds_through_paypal() {
    use shop::payments::Applied;
    let fake = FakePaypal::start().await;
    let (payments, order) = shop_with_paypal(&fake).await;
    let (checkout, new) = payments.checkout(order.clone(), Provider::Paypal).await.unwrap();
    assert!(new);
    assert!(checkout.approve_url.as_deref().is_some_and(|u| u.contains(&checkout.payment_id)));
    assert_eq!(payments.checkout(order.clone(), Provider::Paypal).await.unwrap(), (checkout.clone(), false));

    fake.approve(&checkout.payment_id);
    let provider = payments.provider(Provider::Paypal).unwrap();
    provider.capture(&checkout.payment_id).await.unwrap();
    let event = provider.verify(&fake.sign(&fake.capture_event(&checkout.payment_id)).0, b"").await;
    assert_eq!(event, Err(WebhookError::BadSignature), "the headers sign another body");
    let (headers, body) = fake.sign(&fake.capture_event(&checkout.payment_id));
    let event = provider.verify(&headers, body.as_bytes()).await.unwrap();
    assert_eq!(payments.apply(Provider::Paypal, &event).await.unwrap(), Applied::Changed);
    assert_eq!(payments.apply(Provider::Paypal, &event).await.unwrap(), Applied::Nothing);
    let paid = payments.orders().get(&order.id).await.unwrap().unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.payment.as_ref().unwrap().paid, 3499);

    // A partial refund, then the rest: the order ends REFUNDED once PayPal confirms both.
    let partial = payments.refund(&order.id, &Refunding::Amount(1000), "a scratch", "admin-partial").await.unwrap();
    let rest = payments.refund(&order.id, &Refunding::Rest, "returned", "admin-rest").await.unwrap();
    assert_eq!(fake.refunds(), 2);
    assert!(matches!(
        payments.refund(&order.id, &Refunding::Amount(1), "more", "admin-more").await,
        Err(shop::payments::PaymentError::OverRefund { available: 0 })
    ));
    for refund in [partial, rest] {
        let (headers, body) = fake.sign(&fake.refund_event(refund.id.as_deref().unwrap()));
        let event = provider.verify(&headers, body.as_bytes()).await.unwrap();
        let WebhookKind::Refunded { key, .. } = &event.kind else { panic!("{event:?}") };
        assert_eq!(key.as_deref(), Some(refund.key.as_str()));
        // Recorded already when PayPal answered the refund: the webhook changes nothing.
        assert_eq!(payments.apply(Provider::Paypal, &event).await.unwrap(), Applied::Nothing);
    }
    assert_eq!(payments.orders().get(&order.id).await.unwrap().unwrap().status, OrderStatus::Refunded);
}

#[tokio::test]
async fn before_expiry_a_captured_order_is_settled_and_an_unapproved_one_let_go() {
    let fake = FakePaypal::start().await;
    let (payments, order) = shop_with_paypal(&fake).await;
    let (checkout, _) = payments.checkout(order.clone(), Provider::Paypal).await.unwrap();
    let pending = payments.orders().get(&order.id).await.unwrap().unwrap();
    // Never approved: nothing was taken, and the order may expire.
    assert!(!payments.settle_before_expiry(&pending).await.unwrap());

    // Approved and captured, its webhook lost: settled as paid instead of cancelled.
    fake.approve(&checkout.payment_id);
    payments.provider(Provider::Paypal).unwrap().capture(&checkout.payment_id).await.unwrap();
    let (asked, captures) = (fake.calls(paypal::GET_ORDER), fake.calls(paypal::CAPTURE));
    assert!(payments.settle_before_expiry(&pending).await.unwrap());
    // Reconciling costs one question to the provider, and takes nothing more.
    assert_eq!((fake.calls(paypal::GET_ORDER) - asked, fake.calls(paypal::CAPTURE) - captures), (1, 0));
    assert_eq!(payments.orders().get(&order.id).await.unwrap().unwrap().status, OrderStatus::Paid);
}

/// A local stack offering PayPal through the fake (and the simulated card provider).
async fn stack(fake: &FakePaypal) -> shop_tests::TestApp {
    let config = fake.config();
    shop_tests::TestApp::spawn_with(move |c| c.paypal = Some(config)).await
}

#[tokio::test]
async fn a_shopper_pays_with_paypal_and_the_webhook_changes_nothing_more() {
    use shop_tests::paying::{order, refunded_in_full, steps_to, unpaid_order};
    let fake = FakePaypal::start().await;
    let app = stack(&fake).await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let pay = format!("/api/orders/{id}/payment");
    let capture = format!("{pay}/capture");

    let checkout = app.post(&pay, Some(&alice), json!({"provider": "paypal"})).await.expect(201).body;
    assert_eq!((checkout["provider"].clone(), checkout["status"].clone()), (json!("paypal"), json!("pending")));
    assert_eq!(checkout["amount"], json!({"amount": 3000, "currency": "EUR"}));
    let payment = checkout["payment_id"].as_str().unwrap().to_owned();
    assert!(checkout["approve_url"].as_str().is_some_and(|u| u.contains(&payment)));
    assert!(checkout.get("client_secret").is_none());
    assert_eq!(app.post(&pay, Some(&alice), json!({"provider": "paypal"})).await.expect(200).body, checkout);

    // Back from PayPal before approving: nothing to take yet.
    app.post(&capture, Some(&alice), json!({})).await.problem(409);
    fake.approve(&payment);
    let paid = app.post(&capture, Some(&alice), json!({})).await.expect(200).body;
    assert_eq!(paid["status"], "PAID");
    assert_eq!((paid["payment"]["paid"].clone(), paid["payment"]["status"].clone()), (json!(3000), json!("succeeded")));
    // The buyer's browser retries; then PayPal's capture webhook arrives, twice.
    assert_eq!(app.post(&capture, Some(&alice), json!({})).await.expect(200).body["status"], "PAID");
    let webhook = format!("{}/api/payments/paypal/webhook", app.url);
    let event = fake.capture_event(&payment);
    assert_eq!(fake.deliver_to(&webhook, &event).await.status(), 200);
    assert_eq!(fake.deliver_to(&webhook, &event).await.status(), 200);
    let after = order(&app, &alice, &id).await;
    assert_eq!(steps_to(&after, "PAID"), 1, "one transition: {:#}", after["history"]);
    // One PayPal order created for the whole journey, and two captures asked: the one refused
    // before approval and the one that took the money (the retry and the webhooks ask nothing).
    assert_eq!((fake.calls(paypal::CREATE), fake.calls(paypal::CAPTURE)), (1, 2));

    // A delivery changed after signing is refused over HTTP too.
    let (headers, body) = fake.sign(&event);
    let changed = body.replace("30.00", "0.01");
    assert_ne!(changed, body);
    let forged = app.http.post(&webhook).headers(headers).body(changed).send().await.unwrap();
    assert_eq!(forged.status(), 400);

    // Refunded by the back office in two parts: REFUNDED.
    let refunds = format!("/api/orders/{id}/refunds");
    let part = json!({"amount": {"amount": 1000, "currency": "EUR"}, "reason": "a scratch"});
    app.post(&refunds, Some(&admin), part).await.expect(201);
    app.post(&refunds, Some(&admin), json!({"reason": "returned"})).await.expect(201);
    let refunded = refunded_in_full(&app, &alice, &id).await;
    assert_eq!(refunded["status"], "REFUNDED");
    assert_eq!(fake.refunds(), 2);
}

#[tokio::test]
async fn the_capture_webhook_racing_the_buyers_return_pays_once() {
    use shop_tests::paying::{order, steps_to, unpaid_order};
    let fake = FakePaypal::start().await;
    let app = stack(&fake).await;
    let admin = app.admin().await;
    let webhook = format!("{}/api/payments/paypal/webhook", app.url);
    let paypal = PaypalPayments::new(fake.config()).unwrap();
    for _ in 0..3 {
        let (alice, id, lamp) = unpaid_order(&app, &admin, 10).await;
        let pay = format!("/api/orders/{id}/payment");
        let checkout = app.post(&pay, Some(&alice), json!({"provider": "paypal"})).await.expect(201).body;
        let payment = checkout["payment_id"].as_str().unwrap().to_owned();
        fake.approve(&payment);
        // PayPal captured (another request of the shop's) and its webhook races the return.
        paypal.capture(&payment).await.unwrap();
        let event = fake.capture_event(&payment);
        let capture = format!("{pay}/capture");
        let capture = app.post(&capture, Some(&alice), json!({}));
        let (returned, delivered) = tokio::join!(capture, fake.deliver_to(&webhook, &event));
        assert_eq!((returned.expect(200).body["status"].clone(), delivered.status().as_u16()), (json!("PAID"), 200));
        let paid = order(&app, &alice, &id).await;
        assert_eq!(steps_to(&paid, "PAID"), 1, "one transition: {:#}", paid["history"]);
        assert_eq!(app.get(&format!("/api/products/{lamp}"), None).await.body["stock"], 8);
    }
}

#[tokio::test]
async fn an_approval_is_captured_even_when_the_buyer_never_comes_back() {
    use shop_tests::paying::{order, order_becomes, steps_to, unpaid_order};
    let fake = FakePaypal::start().await;
    let app = stack(&fake).await;
    let admin = app.admin().await;
    let webhook = format!("{}/api/payments/paypal/webhook", app.url);
    let pay = |id: &str| format!("/api/orders/{id}/payment");

    // Approved, then the page closed: CHECKOUT.ORDER.APPROVED has the shop capture it.
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let checkout = app.post(&pay(&id), Some(&alice), json!({"provider": "paypal"})).await.expect(201).body;
    let payment = checkout["payment_id"].as_str().unwrap().to_owned();
    fake.approve(&payment);
    let approved = fake.approved_event(&payment);
    assert_eq!(fake.deliver_to(&webhook, &approved).await.status(), 200);
    assert_eq!(fake.deliver_to(&webhook, &approved).await.status(), 200);
    assert_eq!(order(&app, &alice, &id).await["status"], "PAID");
    // The capture's own webhook and a late return change nothing more.
    assert_eq!(fake.deliver_to(&webhook, &fake.capture_event(&payment)).await.status(), 200);
    assert_eq!(
        app.post(&format!("{}/capture", pay(&id)), Some(&alice), json!({})).await.expect(200).body["status"],
        "PAID"
    );
    assert_eq!(steps_to(&order(&app, &alice, &id).await, "PAID"), 1);
    assert_eq!(fake.calls(paypal::CAPTURE), 1);

    // Approved with an instrument PayPal then declines: the payment failed, the order payable.
    let (bob, id, _) = unpaid_order(&app, &admin, 5).await;
    let checkout = app.post(&pay(&id), Some(&bob), json!({"provider": "paypal"})).await.expect(201).body;
    let payment = checkout["payment_id"].as_str().unwrap().to_owned();
    fake.approve_declining(&payment);
    assert_eq!(fake.deliver_to(&webhook, &fake.approved_event(&payment)).await.status(), 200);
    let failed = order_becomes(&app, &bob, &id, "payment failed", |o| o["payment"]["status"] == "failed").await;
    assert_eq!(failed["status"], "PENDING_PAYMENT");
    app.post(&pay(&id), Some(&bob), json!({"provider": "paypal"})).await.expect(201);
}
