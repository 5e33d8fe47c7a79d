//! No personal data or secret in the logs: every line the stack logs through a shopper's whole
//! journey (register with a code, log in, a profile with address and phone, a cart, an order,
//! a card payment and its webhook, a cancellation, a password reset, the data export) is
//! captured as JSON, at debug for the shop's own crates, and searched for what the shopper and
//! the payment provider entrusted to it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use shop_tests::paying::{checkout, status_becomes};
use shop_tests::{PASSWORD, TestApp};

const WEBHOOK_SECRET: &str = "whsec_logs_test_4f1d2c";

/// Every line written, kept for the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn no_personal_data_or_secret_reaches_the_logs() {
    let captured = Captured::default();
    let filter = "info,shop=debug,local=debug,shop_embedded=debug,shop_aws=debug,auth=debug,users=debug,products=debug,\
                  cart=debug,orders=debug,payments=debug,search=debug,expiry=debug";
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(captured.clone())
        .init();

    let app = TestApp::spawn_with(|c| {
        c.auto_confirm = false;
        c.webhook_secret = Some(WEBHOOK_SECRET.into());
    })
    .await;
    let admin = app.admin().await;
    let email = "private.person@example.com";
    let name = "Priscilla Private";
    let (street, phone) = ("17 Hidden Lane", "+4915199887766");

    // Register, confirm with the mailed code, log in, refresh.
    app.post("/api/auth/register", None, json!({"email": email, "password": PASSWORD, "name": name})).await.expect(202);
    let confirm_code = app.sent_code(email, "confirm").await;
    app.post("/api/auth/confirm", None, json!({"email": email, "code": confirm_code})).await.expect(204);
    let wrong = app.post("/api/auth/login", None, json!({"email": email, "password": "Wrong-Password-1"})).await;
    wrong.problem(401);
    let tokens = app.login(email, PASSWORD).await;
    let refreshed =
        app.post("/api/auth/refresh", None, json!({"refresh_token": tokens["refresh_token"]})).await.expect(200).body;
    let token = tokens["id_token"].as_str().unwrap().to_owned();

    // A profile with an address and a phone; a cart; an order to that address, paid by card.
    let address = json!({"name": name, "line1": street, "city": "Berlin", "postal_code": "10115", "country": "DE"});
    let me = app.get("/api/users/me", Some(&token)).await.expect(200);
    let user_id = me.body["id"].as_str().unwrap().to_owned();
    app.send(
        reqwest::Method::PUT,
        &format!("/api/users/{user_id}"),
        Some(&token),
        Some(json!({"phone": phone, "address": address, "preferences": {"email": true, "sms": true}})),
        &[("if-match", me.header("etag").unwrap())],
    )
    .await
    .expect(200);
    let lamp = app.product(&admin, "Quiet Lamp", "lighting", 2500, 5).await;
    app.call(reqwest::Method::PUT, &format!("/api/cart/items/{lamp}"), Some(&token), Some(json!({"quantity": 1})))
        .await
        .expect(200);
    let shipping = address.clone();
    let order = app.post("/api/orders", Some(&token), json!({"shipping_address": shipping})).await.expect(201).body;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let paying = app.post(&format!("/api/orders/{order_id}/payment"), Some(&token), json!({})).await.expect(201).body;
    let client_secret = paying["client_secret"].as_str().unwrap_or_default().to_owned();
    let payment = paying["payment_id"].as_str().unwrap().to_owned();
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, json!({"card": "4242424242424242"}))
        .await
        .expect(200);
    status_becomes(&app, &token, &order_id, "PAID").await;
    let second = app
        .post(
            "/api/orders",
            Some(&token),
            json!({"items": [{"product_id": lamp, "quantity": 1}], "shipping_address": shipping}),
        )
        .await
        .expect(201)
        .body;
    let second = second["id"].as_str().unwrap();
    checkout(&app, &token, second).await;
    app.post(&format!("/api/orders/{second}/cancel"), Some(&token), json!({})).await.expect(200);

    // A password reset by mailed code, and the data export.
    app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    let reset_code = app.sent_code(email, "password_reset").await;
    let new_password = "Another-Secret-77";
    app.post("/api/auth/password/reset", None, json!({"email": email, "code": reset_code, "password": new_password}))
        .await
        .expect(204);
    let token = app.login(email, new_password).await["id_token"].as_str().unwrap().to_owned();
    app.get("/api/users/me/export", Some(&token)).await.expect(200);
    // Until every message stored so far is sent or settled otherwise: the deliveries log too.
    shop_tests::eventually(10, "the order messages to be sent", || async {
        let outbox = shop_tests::outbox(&*app.running.table, &user_id).await;
        let settled = outbox.iter().all(|m| m["status"] != "queued");
        (settled && outbox.iter().any(|m| m["status"] == "sent")).then_some(())
    })
    .await;

    // The journey was captured: each step that logs at info is there (how many deliveries have
    // been logged by now depends on the bus, so the lines are not counted).
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for step in ["account registered", "product created", "order placed", "webhook event", "message delivered"] {
        assert!(logs.contains(&format!("\"message\":\"{step}\"")), "{step} was not logged:\n{logs}");
    }
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    }
    let secrets = [
        ("the email", email.to_owned()),
        ("the email's local part", "private.person".to_owned()),
        ("the name", name.to_owned()),
        ("the password", PASSWORD.to_owned()),
        ("the new password", new_password.to_owned()),
        ("the street", street.to_owned()),
        ("the phone", phone.to_owned()),
        ("the ID token", tokens["id_token"].as_str().unwrap().to_owned()),
        ("the access token", tokens["access_token"].as_str().unwrap().to_owned()),
        ("the refresh token", tokens["refresh_token"].as_str().unwrap().to_owned()),
        ("the refreshed ID token", refreshed["id_token"].as_str().unwrap().to_owned()),
        ("the confirmation code", confirm_code),
        ("the reset code", reset_code),
        ("the webhook secret", WEBHOOK_SECRET.to_owned()),
        ("the card number", "4242424242424242".to_owned()),
    ];
    let mut secrets = secrets.to_vec();
    if !client_secret.is_empty() {
        secrets.push(("the payment's client secret", client_secret));
    }
    for (what, secret) in secrets {
        if let Some(line) = logs.lines().find(|line| holds(line, &secret)) {
            panic!("{what} is in the logs: {line}");
        }
    }
}

/// Whether `line` holds `secret`; a code of digits only counts where no digit touches it (so a
/// timestamp that happens to contain the same six digits is not one).
fn holds(line: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return line.contains(secret);
    }
    line.match_indices(secret).any(|(at, _)| {
        let before = line[..at].bytes().next_back().is_some_and(|b| b.is_ascii_digit());
        let after = line[at + secret.len()..].bytes().next().is_some_and(|b| b.is_ascii_digit());
        !before && !after
    })
}
