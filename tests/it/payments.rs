//! Payments over HTTP on the local stack with the simulated provider, and webhooks the tests
//! sign themselves with Stripe's scheme: paying, declines, cancelling a paid order, refunds,
//! and every way a webhook can arrive (forged, stale, changed, duplicated, reordered, raced).

use reqwest::Method;
use serde_json::{Value, json};
use shop::time::epoch_now;
use shop_tests::paying::{checkout, order, refunded_in_full, status_becomes, steps_to, unpaid_order};
use shop_tests::{TestApp, eventually};

const SECRET: &str = "whsec_payments_test";

async fn app() -> TestApp {
    TestApp::spawn_with(|c| c.webhook_secret = Some(SECRET.into())).await
}

async fn confirm(app: &TestApp, payment: &str, card: &str) -> Value {
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, json!({"card": card})).await.expect(200).body
}

/// A `payment_intent.*` event as Stripe sends it.
fn intent_event(kind: &str, payment: &str, order: &str, amount: i64, status: &str) -> String {
    json!({
        "id": format!("evt_test_{}", ulid::Ulid::new()),
        "object": "event",
        "created": epoch_now(),
        "livemode": false,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": {
            "id": payment, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_received": if status == "succeeded" { amount } else { 0 },
            "capture_method": "automatic", "confirmation_method": "automatic", "created": epoch_now(),
            "currency": "eur", "livemode": false, "metadata": {"order_id": order},
            "payment_method_types": ["card"], "status": status,
            "last_payment_error": if status == "succeeded" { Value::Null } else {
                json!({"type": "card_error", "code": "card_declined", "message": "Your card was declined."}) },
        }},
    })
    .to_string()
}

/// Delivers `body` to the Stripe webhook route with the signature header `signature`.
async fn deliver(app: &TestApp, body: &str, signature: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/payments/stripe/webhook", app.url))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn signed(app: &TestApp, body: &str) -> u16 {
    deliver(app, body, &shop_stripe::sign(SECRET, body, epoch_now())).await.status().as_u16()
}

#[tokio::test]
async fn a_shopper_pays_with_a_card() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let (bob, _, _) = app.shopper("Bob").await;
    let path = format!("/api/orders/{id}/payment");

    // Only the owner pays; to anyone else the order does not exist.
    app.post(&path, Some(&bob), json!({})).await.problem(404);
    let first = app.post(&path, Some(&alice), json!({})).await.expect(201).body;
    assert_eq!(first["provider"], "stripe");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["amount"], json!({"amount": 3000, "currency": "EUR"}));
    assert!(first["client_secret"].as_str().is_some_and(|s| s.contains("_secret_")));
    // A retry answers the same payment.
    let again = app.post(&path, Some(&alice), json!({"provider": "stripe"})).await.expect(200).body;
    assert_eq!(again, first);
    // PayPal is not configured in this stack.
    app.post(&path, Some(&alice), json!({"provider": "paypal"})).await.problem(422);

    let pending = order(&app, &alice, &id).await;
    assert_eq!(pending["payment"]["status"], "pending");
    assert_eq!(pending["payment"]["payment_id"], first["payment_id"]);

    // Nothing approved yet to capture (the simulated card provider captures on confirmation).
    let capture = format!("{path}/capture");
    app.post(&capture, Some(&alice), json!({})).await.problem(409);
    confirm(&app, first["payment_id"].as_str().unwrap(), "4242424242424242").await;
    let paid = status_becomes(&app, &alice, &id, "PAID").await;
    // Captured already: the order as it is, once more, to its owner only.
    assert_eq!(app.post(&capture, Some(&alice), json!({})).await.expect(200).body["status"], "PAID");
    app.post(&capture, Some(&bob), json!({})).await.problem(404);
    assert_eq!(paid["payment"]["status"], "succeeded");
    assert_eq!(paid["payment"]["paid"], 3000);
    assert_eq!(paid["payment"]["refunded"], 0);
    assert!(paid.get("client_secret").is_none() && paid["payment"].get("client_secret").is_none());

    // A paid order cannot be paid again.
    app.post(&path, Some(&alice), json!({})).await.problem(409);
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_payable_with_a_new_payment() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let path = format!("/api/orders/{id}/payment");
    let first = app.post(&path, Some(&alice), json!({})).await.expect(201).body;
    confirm(&app, first["payment_id"].as_str().unwrap(), "4000000000000002").await;
    let failed = eventually(10, "the decline", || async {
        let order = order(&app, &alice, &id).await;
        (order["payment"]["status"] == "failed").then_some(order)
    })
    .await;
    assert_eq!(failed["status"], "PENDING_PAYMENT");
    assert!(failed["payment"]["failure"].as_str().unwrap().contains("declined"));
    // The shopper is told, once, in the transaction that recorded the decline.
    let alice_id = failed["user_id"].as_str().unwrap().to_owned();
    let told = eventually(10, "the payment failed email", || async {
        let notes = app.outbox(&alice_id).await;
        let failed: Vec<_> = notes.into_iter().filter(|n| n["kind"] == "OrderPaymentFailed").collect();
        (!failed.is_empty()).then_some(failed)
    })
    .await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0]["subject"].as_str().unwrap().contains(&id) && told[0]["text"].as_str().unwrap().contains("pay again")
    );

    let second = app.post(&path, Some(&alice), json!({})).await.expect(201).body;
    assert_ne!(second["payment_id"], first["payment_id"], "a new attempt");
    confirm(&app, second["payment_id"].as_str().unwrap(), "4242424242424242").await;
    let paid = status_becomes(&app, &alice, &id, "PAID").await;
    assert_eq!(paid["payment"]["payment_id"], second["payment_id"]);
    assert_eq!(paid["payment"]["attempt"], 2);
}

/// Pays the order through the simulated provider; answers the payment id.
async fn paid(app: &TestApp, shopper: &str, id: &str) -> String {
    let payment = checkout(app, shopper, id).await;
    confirm(app, &payment, "4242424242424242").await;
    status_becomes(app, shopper, id, "PAID").await;
    payment
}

#[tokio::test]
async fn cancelling_a_paid_order_gives_the_money_and_the_stock_back() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, lamp) = unpaid_order(&app, &admin, 5).await;
    paid(&app, &alice, &id).await;
    app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200);
    let order = refunded_in_full(&app, &alice, &id).await;
    assert_eq!(order["status"], "CANCELLED", "a cancelled order's refund leaves it cancelled");
    assert_eq!(order["payment"]["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(&format!("/api/products/{lamp}"), None).await.body["stock"], 5);
    // Its invoice is credited all the same.
    let credit = order["credit_note"]["number"].as_str().unwrap_or_else(|| panic!("a credit note: {order:#}"));
    assert!(credit.starts_with("CN-"), "{credit}");
    app.get(&format!("/api/orders/{id}/credit-note"), Some(&alice)).await.expect(200);
}

#[tokio::test]
async fn admin_refunds_in_part_then_in_full_and_never_more() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let path = format!("/api/orders/{id}/refunds");
    // Nothing paid yet.
    app.post(&path, Some(&admin), json!({"reason": "early"})).await.problem(409);
    paid(&app, &alice, &id).await;

    app.post(&path, Some(&alice), json!({"reason": "mine"})).await.problem(403);
    let usd = json!({"amount": {"amount": 100, "currency": "USD"}, "reason": "wrong currency"});
    app.post(&path, Some(&admin), usd).await.problem(422);
    let too_much = json!({"amount": {"amount": 3001, "currency": "EUR"}, "reason": "too much"});
    app.post(&path, Some(&admin), too_much).await.problem(409);
    app.post(&path, Some(&admin), json!({"reason": ""})).await.problem(422);

    let part = json!({"amount": {"amount": 500, "currency": "EUR"}, "reason": "a scratch"});
    let refund = app.post(&path, Some(&admin), part).await.expect(201).body;
    assert_eq!(refund["amount"], json!({"amount": 500, "currency": "EUR"}));
    assert_eq!(refund["status"], "succeeded");
    let after = order(&app, &alice, &id).await;
    assert_eq!(after["status"], "PAID");
    assert_eq!(after["payment"]["refunded"], 500);

    let rest = app.post(&path, Some(&admin), json!({"reason": "returned"})).await.expect(201).body;
    assert_eq!(rest["amount"]["amount"], 2500);
    let order = refunded_in_full(&app, &alice, &id).await;
    assert_eq!(order["status"], "REFUNDED");
    app.post(&path, Some(&admin), json!({"reason": "again"})).await.problem(409);
}

#[tokio::test]
async fn concurrent_refunds_never_exceed_what_was_paid() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    paid(&app, &alice, &id).await;
    let path = format!("/api/orders/{id}/refunds");
    let body = json!({"amount": {"amount": 1000, "currency": "EUR"}, "reason": "race"});
    let answers = futures::future::join_all((0..5).map(|_| app.post(&path, Some(&admin), body.clone()))).await;
    let made = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(made, 3, "3000 paid: three refunds of 1000, no more");
    assert!(answers.iter().all(|a| a.status == 201 || a.status == 409));
    let order = refunded_in_full(&app, &alice, &id).await;
    assert_eq!(order["payment"]["refunded"], 3000);
    assert_eq!(order["status"], "REFUNDED");
}

#[tokio::test]
async fn forged_stale_or_changed_webhooks_are_refused_and_change_nothing() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let payment = &checkout(&app, &alice, &id).await;
    let body = intent_event("payment_intent.succeeded", payment, &id, 3000, "succeeded");
    let now = epoch_now();

    let refused = [
        ("forged", deliver(&app, &body, &shop_stripe::sign("whsec_someone_else", &body, now)).await),
        ("stale", deliver(&app, &body, &shop_stripe::sign(SECRET, &body, now - 301)).await),
        ("from the future", deliver(&app, &body, &shop_stripe::sign(SECRET, &body, now + 301)).await),
        ("changed", deliver(&app, &body.replace("3000", "1"), &shop_stripe::sign(SECRET, &body, now)).await),
        ("unsigned", deliver(&app, &body, "").await),
        ("malformed header", deliver(&app, &body, "v1=abc").await),
    ];
    for (what, answer) in refused {
        assert_eq!(answer.status(), 400, "{what}");
        assert_eq!(answer.headers()["content-type"], "application/problem+json", "{what}");
    }
    // Signed, but an object the shop cannot read: refused for a type it acts on (Stripe sends it
    // again), acknowledged for one it does not read.
    let unreadable =
        |kind: &str| format!(r#"{{"id": "evt_{kind}", "type": "{kind}", "data": {{"object": {{"id": 7}}}}}}"#);
    assert_eq!(signed(&app, &unreadable("payment_intent.succeeded")).await, 400);
    assert_eq!(signed(&app, &unreadable("customer.created")).await, 200);
    let order = order(&app, &alice, &id).await;
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["payment"]["status"], "pending");
}

#[tokio::test]
async fn each_webhook_event_is_applied_once_and_states_only_move_forward() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let payment = &checkout(&app, &alice, &id).await;

    // One event delivered three times, two of them at once, then replayed byte for byte.
    let succeeded = intent_event("payment_intent.succeeded", payment, &id, 3000, "succeeded");
    let signature = shop_stripe::sign(SECRET, &succeeded, epoch_now());
    let (a, b) = tokio::join!(deliver(&app, &succeeded, &signature), deliver(&app, &succeeded, &signature));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(deliver(&app, &succeeded, &signature).await.status(), 200);
    // Another event of the same payment (a second delivery path) changes nothing either.
    assert_eq!(signed(&app, &intent_event("payment_intent.succeeded", payment, &id, 3000, "succeeded")).await, 200);
    // A failure reported after the success is late: the order stays paid.
    assert_eq!(
        signed(&app, &intent_event("payment_intent.payment_failed", payment, &id, 3000, "requires_payment_method"))
            .await,
        200
    );

    let order = order(&app, &alice, &id).await;
    assert_eq!(order["status"], "PAID");
    assert_eq!(order["payment"]["status"], "succeeded");
    assert_eq!(steps_to(&order, "PAID"), 1, "one transition: {:#}", order["history"]);

    // Types the shop does not act on, and payments of no order of the shop: 200, nothing.
    let other = json!({"id": "evt_other", "object": "event", "created": epoch_now(), "livemode": false,
        "pending_webhooks": 1, "type": "customer.created", "data": {"object": {"id": "cus_1", "object": "customer"}}})
    .to_string();
    assert_eq!(signed(&app, &other).await, 200);
    let stranger =
        intent_event("payment_intent.succeeded", "pi_unknown", "01ARZ3NDEKTSV4RRFFQ69G5FAV", 3000, "succeeded");
    assert_eq!(signed(&app, &stranger).await, 200);
}

#[tokio::test]
async fn a_payment_that_arrives_for_a_cancelled_order_is_refunded() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, lamp) = unpaid_order(&app, &admin, 5).await;
    let payment = checkout(&app, &alice, &id).await;
    // The shopper cancels while the card is being charged.
    app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200);
    confirm(&app, &payment, "4242424242424242").await;
    let order = refunded_in_full(&app, &alice, &id).await;
    assert_eq!(order["status"], "CANCELLED");
    assert_eq!(order["payment"]["paid"], 3000);
    assert_eq!(app.get(&format!("/api/products/{lamp}"), None).await.body["stock"], 5);
}

#[tokio::test]
async fn the_webhook_racing_the_shoppers_cancel_ends_paid_or_refunded() {
    let app = app().await;
    let admin = app.admin().await;
    for _ in 0..5 {
        let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
        let payment = &checkout(&app, &alice, &id).await;
        let succeeded = intent_event("payment_intent.succeeded", payment, &id, 3000, "succeeded");
        // The simulator holds the payment too: a refund needs it succeeded there.
        confirm_quietly(&app, payment).await;
        let cancel_path = format!("/api/orders/{id}/cancel");
        let cancel = app.post(&cancel_path, Some(&alice), json!({}));
        let (cancelled, delivered) = tokio::join!(cancel, signed(&app, &succeeded));
        assert_eq!(delivered, 200);
        // Either way round the order ends cancelled with its money back: paid first, its cancel
        // refunds it; cancelled first, the payment it could not take is refunded.
        cancelled.expect(200);
        let order = refunded_in_full(&app, &alice, &id).await;
        assert_eq!(order["status"], "CANCELLED");
        assert_eq!(order["payment"]["refunded"], 3000);
    }
}

/// Marks the simulated payment succeeded without delivering its event (what the simulator does
/// when a webhook is lost): the test delivers its own.
async fn confirm_quietly(app: &TestApp, payment: &str) {
    let quiet = shop_embedded::payments::Simulated::new(app.running.table.clone(), SECRET);
    quiet.confirm(payment, "4242424242424242").await.unwrap();
}

/// The expiry job with a cutoff of now, asking the simulated provider (which delivers nothing).
fn expiry_job(app: &TestApp) -> expiry::Expiry {
    let quiet = std::sync::Arc::new(shop_embedded::payments::Simulated::new(app.running.table.clone(), SECRET));
    expiry::Expiry::new(
        app.running.table.clone(),
        vec![quiet],
        expiry::Windows { payment: time::Duration::ZERO, reservation: time::Duration::ZERO },
    )
}

#[tokio::test]
async fn the_expiry_job_finds_a_payment_whose_webhook_was_lost() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, paid_id, _) = unpaid_order(&app, &admin, 10).await;
    let (bob, unpaid_id, _) = unpaid_order(&app, &admin, 10).await;
    let paid_payment = checkout(&app, &alice, &paid_id).await;
    let unpaid_payment = checkout(&app, &bob, &unpaid_id).await;
    confirm_quietly(&app, &paid_payment).await;

    assert_eq!(expiry_job(&app).run().await.unwrap().cancelled, 1, "only the unpaid order expires");
    assert_eq!(order(&app, &alice, &paid_id).await["status"], "PAID");
    assert_eq!(order(&app, &bob, &unpaid_id).await["status"], "CANCELLED");
    // The expired order's payment is cancelled at the provider: it can no longer be paid.
    let late = app
        .call(
            Method::POST,
            &format!("/_simulator/payments/{unpaid_payment}/confirm"),
            None,
            Some(json!({"card": "4242424242424242"})),
        )
        .await;
    late.problem(409);
}

#[tokio::test]
async fn the_webhook_racing_the_expiry_job_pays_the_order_once() {
    let app = app().await;
    let admin = app.admin().await;
    let job = expiry_job(&app);
    for _ in 0..5 {
        let (alice, id, lamp) = unpaid_order(&app, &admin, 10).await;
        let payment = checkout(&app, &alice, &id).await;
        confirm_quietly(&app, &payment).await;
        let succeeded = intent_event("payment_intent.succeeded", &payment, &id, 3000, "succeeded");
        // The job finds the payment succeeded at the provider while its webhook arrives.
        let (expired, delivered) = tokio::join!(job.run(), signed(&app, &succeeded));
        assert_eq!((expired.unwrap().cancelled, delivered), (0, 200));
        let order = order(&app, &alice, &id).await;
        assert_eq!(order["status"], "PAID");
        assert_eq!((order["payment"]["paid"].clone(), order["payment"]["refunded"].clone()), (json!(3000), json!(0)));
        assert_eq!(steps_to(&order, "PAID"), 1, "one transition: {:#}", order["history"]);
        assert_eq!(app.get(&format!("/api/products/{lamp}"), None).await.body["stock"], 8);
    }
}

#[tokio::test]
async fn a_webhook_costs_two_reads_and_one_transaction() {
    use shop::payments::{Applied, Payments, Provider, WebhookEvent, WebhookKind};
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let payment = checkout(&app, &alice, &id).await;
    let counted = std::sync::Arc::new(shop_tests::Interfering::new(app.running.table.clone()));
    // Applying a payment asks no provider anything.
    let payments = Payments::new(counted.clone(), Vec::new());
    let total = shop::domain::Money { amount: 3000, currency: shop::domain::Currency::EUR };
    let event = WebhookEvent {
        id: "evt_counted".into(),
        order_id: Some(shop::domain::OrderId::parse(&id).unwrap()),
        kind: WebhookKind::Succeeded { payment_id: payment, amount: total },
    };
    assert_eq!(payments.apply(Provider::Stripe, &event).await.unwrap(), Applied::Changed);
    // The order, and the year's invoice sequence (the number is taken in the same transaction).
    assert_eq!(counted.requests(), (2, 0, 1), "(reads, writes, transactions) to pay the order");
    // A redelivery reads the order and is refused at the transaction's first write (the event's
    // record).
    assert_eq!(payments.apply(Provider::Stripe, &event).await.unwrap(), Applied::Nothing);
    assert_eq!(counted.requests(), (3, 0, 2));
    assert_eq!(order(&app, &alice, &id).await["status"], "PAID");
}

/// A `refund.*` event as Stripe sends it: `key` is the shop's, when the shop asked for it.
fn refund_event(refund: &str, payment: &str, order: &str, amount: i64, key: Option<&str>) -> String {
    let mut metadata = json!({"order_id": order});
    if let Some(key) = key {
        metadata["refund_key"] = json!(key);
    }
    json!({
        "id": format!("evt_test_{}", ulid::Ulid::new()), "object": "event", "created": epoch_now(),
        "livemode": false, "pending_webhooks": 1, "type": "refund.created",
        "data": {"object": {"id": refund, "object": "refund", "amount": amount, "created": epoch_now(),
            "currency": "eur", "payment_intent": payment, "metadata": metadata, "status": "succeeded"}},
    })
    .to_string()
}

#[tokio::test]
async fn cancelled_intents_and_refunds_made_at_stripe_are_recorded() {
    let app = app().await;
    let admin = app.admin().await;

    // Stripe cancelled the pending PaymentIntent (payment_intent.canceled): the order stays
    // payable, with a new payment next.
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let cancelled = checkout(&app, &alice, &id).await;
    let event = intent_event("payment_intent.canceled", &cancelled, &id, 3000, "canceled");
    assert_eq!(signed(&app, &event).await, 200);
    let order_now = order(&app, &alice, &id).await;
    assert_eq!(
        (order_now["status"].clone(), order_now["payment"]["status"].clone()),
        (json!("PENDING_PAYMENT"), json!("failed"))
    );
    let again = app.post(&format!("/api/orders/{id}/payment"), Some(&alice), json!({})).await.expect(201).body;
    assert_ne!(again["payment_id"], json!(cancelled));

    // Refunded in Stripe's dashboard, in two parts: each recorded once, the second makes the
    // order REFUNDED; a refund the shop made and recorded already changes nothing more.
    let (bob, id, _) = unpaid_order(&app, &admin, 5).await;
    let payment = paid(&app, &bob, &id).await;
    let outside = refund_event("re_dashboard_1", &payment, &id, 1000, None);
    let signature = shop_stripe::sign(SECRET, &outside, epoch_now());
    for _ in 0..2 {
        assert_eq!(deliver(&app, &outside, &signature).await.status(), 200);
    }
    let part = order(&app, &bob, &id).await;
    assert_eq!((part["status"].clone(), part["payment"]["refunded"].clone()), (json!("PAID"), json!(1000)));
    assert_eq!(part["payment"]["refunds"][0]["reason"], "refunded at the provider");
    assert_eq!(signed(&app, &refund_event("re_dashboard_2", &payment, &id, 2000, None)).await, 200);
    let refunded = order(&app, &bob, &id).await;
    assert_eq!((refunded["status"].clone(), refunded["payment"]["refunded"].clone()), (json!("REFUNDED"), json!(3000)));
    assert_eq!(refunded["payment"]["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(steps_to(&refunded, "REFUNDED"), 1);
}

#[tokio::test]
async fn a_paid_order_has_an_invoice_and_a_full_refund_a_credit_note() {
    let app = app().await;
    let admin = app.admin().await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let (invoice, credit_note) = (format!("/api/orders/{id}/invoice"), format!("/api/orders/{id}/credit-note"));
    app.get(&invoice, Some(&alice)).await.problem(404);
    paid(&app, &alice, &id).await;

    // Numbered in the payment's transaction, from the year's sequence.
    let number = order(&app, &alice, &id).await["invoice"]["number"].as_str().unwrap().to_owned();
    let year = shop::time::Timestamp::now().to_string()[..4].to_owned();
    assert!(number.starts_with(&format!("INV-{year}-")), "{number}");
    let html = app.get(&invoice, Some(&alice)).await.expect(200);
    assert!(html.header("content-type").unwrap().starts_with("text/html"));
    let page = html.body.as_str().unwrap();
    assert!(page.contains(&number) && page.contains("Paid Lamp") && page.contains("30.00 EUR"), "{page}");
    let pdf = app.send(Method::GET, &invoice, Some(&alice), None, &[("accept", "application/pdf")]).await.expect(200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let bytes = pdf.body.as_str().unwrap();
    assert!(bytes.starts_with("%PDF-1.4") && bytes.contains(&format!("(Invoice {number}) Tj")));
    let (bob, _, _) = app.shopper("Bob").await;
    app.get(&invoice, Some(&bob)).await.problem(404);
    app.get(&invoice, Some(&admin)).await.expect(200);

    // A full refund issues the credit note, with its own number, naming the invoice.
    app.get(&credit_note, Some(&alice)).await.problem(404);
    app.post(&format!("/api/orders/{id}/refunds"), Some(&admin), json!({"reason": "returned"})).await.expect(201);
    let refunded = status_becomes(&app, &alice, &id, "REFUNDED").await;
    let credit = refunded["credit_note"]["number"].as_str().unwrap();
    assert!(credit.starts_with(&format!("CN-{year}-")), "{credit}");
    let note = app.get(&credit_note, Some(&alice)).await.expect(200).body;
    assert!(note.as_str().unwrap().contains(&format!("Credits invoice {number}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunding_lines_gives_back_what_was_paid_for_them_discount_and_tax_included() {
    use crate::checkout::{address, configure, eu_rates, eu_zones, eur};
    let app = app().await;
    let admin = app.admin().await;
    configure(&app, &admin, true, eu_rates(), eu_zones()).await;
    let promotion = json!({"id": "ten", "name": "10 % off", "code": "TEN",
        "discount": {"type": "percentage", "percent": "10"}, "applies_to": {"type": "order"}, "active": true});
    app.send(Method::PUT, "/api/promotions/ten", Some(&admin), Some(promotion), &[("if-match", "\"0\"")])
        .await
        .expect(200);
    let lamp = app.product(&admin, "Lamp", "home", 1999, 10).await;
    let book = app.product(&admin, "Book", "books", 1500, 10).await;
    let (alice, _, _) = app.shopper("Alice").await;
    for (id, quantity) in [(&lamp, 3), (&book, 1)] {
        let path = format!("/api/cart/items/{id}");
        app.call(Method::PUT, &path, Some(&alice), Some(json!({"quantity": quantity}))).await.expect(200);
    }
    let body = json!({"shipping_address": address("DE", "10115", None), "shipping_option": "de-standard",
                      "promotion_code": "TEN"});
    let placed = app.post("/api/orders", Some(&alice), body).await.expect(201).body;
    let id = placed["id"].as_str().unwrap().to_owned();
    let line = |product: &str| placed["lines"].as_array().unwrap().iter().find(|l| l["product_id"] == product).unwrap();
    // What each line cost after its discount, tax included.
    let paid_for = |product: &str| {
        let line = line(product);
        assert!(line["discount"]["amount"].as_i64().unwrap() > 0, "{line:#}");
        line["tax"]["net"]["amount"].as_i64().unwrap() + line["tax"]["tax"]["amount"].as_i64().unwrap()
    };
    let (lamps, books) = (paid_for(&lamp), paid_for(&book));
    assert_eq!(lamps + books, placed["totals"]["total"]["amount"].as_i64().unwrap(), "shipping is free here");
    // Refunds name the variants the lines bought.
    let variant = |product: &str| line(product)["variant_id"].as_str().unwrap().to_owned();
    let (lamp, book) = (variant(&lamp), variant(&book));
    paid(&app, &alice, &id).await;

    let refunds = format!("/api/orders/{id}/refunds");
    let lines = |variant: &str, quantity: i64| json!({"reason": "returned", "lines": [{"variant_id": variant, "quantity": quantity}]});
    let first = app.post(&refunds, Some(&admin), lines(&lamp, 1)).await.expect(201).body;
    assert_eq!(first["amount"], eur(lamps / 3), "a third of the lamps' line, rounded down");
    assert_eq!(first["lines"], json!([{"variant_id": lamp, "quantity": 1}]));

    // Bad requests change nothing: a variant the order did not buy, an amount with lines,
    // no line at all; a shopper may not refund.
    app.post(&refunds, Some(&admin), lines(&shop::domain::VariantId::new().to_string(), 1)).await.problem(422);
    let mut both = lines(&lamp, 1);
    both["amount"] = eur(100);
    app.post(&refunds, Some(&admin), both).await.problem(422);
    app.post(&refunds, Some(&admin), json!({"reason": "returned", "lines": []})).await.problem(422);
    app.post(&refunds, Some(&alice), lines(&lamp, 1)).await.problem(403);

    // Two clerks refund the two lamps left at once: one refund, one clear refusal.
    let (a, b) = tokio::join!(
        app.post(&refunds, Some(&admin), lines(&lamp, 2)),
        app.post(&refunds, Some(&admin), lines(&lamp, 2))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let refused = if a.status == 409 { a } else { b };
    assert!(refused.body["detail"].as_str().unwrap().contains("at most 0 unit"), "{:#}", refused.body);
    let order_now = order(&app, &alice, &id).await;
    assert_eq!(order_now["payment"]["refunded"], lamps, "the lamps' line in full, to the cent");
    assert_eq!(order_now["status"], "PAID");

    // The book's line is the rest: the order is refunded in full, with its credit note.
    let last = app.post(&refunds, Some(&admin), lines(&book, 1)).await.expect(201).body;
    assert_eq!(last["amount"], eur(books));
    let refunded = status_becomes(&app, &alice, &id, "REFUNDED").await;
    assert_eq!(refunded["payment"]["refunded"], refunded["payment"]["paid"]);
    assert!(refunded["credit_note"]["number"].is_string(), "{refunded:#}");
}

#[tokio::test]
async fn the_back_office_exports_a_periods_orders_with_their_totals_and_documents() {
    use crate::checkout::{address, configure, eu_rates, eu_zones};
    let app = app().await;
    let admin = app.admin().await;
    configure(&app, &admin, true, eu_rates(), eu_zones()).await;
    let lamp = app.product(&admin, "Export Lamp", "home", 2000, 10).await;
    let (alice, _, _) = app.shopper("Alice").await;
    let body = json!({"items": [{"product_id": lamp, "quantity": 1}], "shipping_address": address("DE", "10115", None),
                      "shipping_option": "de-standard"});
    let first = app.post("/api/orders", Some(&alice), body.clone()).await.expect(201).body;
    let second = app.post("/api/orders", Some(&alice), body).await.expect(201).body;
    let id = first["id"].as_str().unwrap();
    paid(&app, &alice, id).await;
    let invoice = order(&app, &alice, id).await["invoice"]["number"].as_str().unwrap().to_owned();

    let today = shop::time::Timestamp::now().to_string()[..10].to_owned();
    let path = format!("/api/orders/export?from={today}&to={today}");
    let csv = app.get(&path, Some(&admin)).await.expect(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.body.as_str().unwrap().to_owned();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0].len(), shop::reports::ORDER_COLUMNS.len());
    assert_eq!(rows.len(), 3, "a header and the two orders, oldest first: {text}");
    let column = |name: &str| shop::reports::ORDER_COLUMNS.iter().position(|c| *c == name).unwrap();
    let row = &rows[1];
    assert_eq!((row[column("order_id")], row[column("status")]), (id, "PAID"));
    // 20.00 with 19 % in it, 4.90 shipping (with its own 0.78): as the order kept them.
    let figures: Vec<&str> = ["subtotal", "discount", "shipping", "tax", "total", "paid", "invoice"]
        .iter()
        .map(|c| row[column(c)])
        .collect();
    assert_eq!(figures, ["20.00", "0.00", "4.90", "3.97", "24.90", "24.90", invoice.as_str()]);
    assert_eq!((rows[2][column("order_id")], rows[2][column("invoice")]), (second["id"].as_str().unwrap(), ""));

    // Only the back office; dates or nothing; an empty day is a header alone.
    app.get(&path, Some(&alice)).await.problem(403);
    app.get("/api/orders/export?from=today&to=2026-01-01", Some(&admin)).await.problem(422);
    app.get("/api/orders/export?from=2026-02-01&to=2026-01-01", Some(&admin)).await.problem(422);
    let empty = app.get("/api/orders/export?from=2001-01-01&to=2001-01-01", Some(&admin)).await.expect(200);
    assert_eq!(empty.body.as_str().unwrap().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_payments_take_a_gapless_run_of_invoice_numbers() {
    let app = app().await;
    shop_tests::payments_take_a_gapless_run(app.running.table.clone(), 20).await;
}
