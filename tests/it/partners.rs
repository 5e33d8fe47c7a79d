//! Partners' webhooks over HTTP on the local stack, to a receiver in this test that answers as
//! it is told and checks every signature: an endpoint registered, events delivered, failures
//! retried with back-off until they pass, an endpoint that only fails disabled (its admin
//! mailed), enabled again and sent what it missed.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};
use shop::partners::PartnerDeliveries;
use shop::time::Timestamp;
use shop_tests::paying::{order, unpaid_order};
use shop_tests::{TestApp, eventually};

/// What the receiver got, and how it answers.
#[derive(Default)]
struct Receiver {
    secret: Option<String>,
    /// The statuses to answer, in turn; 200 once they run out.
    script: Vec<u16>,
    /// (event type, event id, delivery id) of each request whose signature held.
    got: Vec<(String, String, String)>,
    forged: usize,
}

async fn receiver(state: Arc<Mutex<Receiver>>) -> String {
    let handle = move |headers: axum::http::HeaderMap, body: String| {
        let state = state.clone();
        async move {
            let mut r = state.lock().unwrap();
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let sig = header("shop-signature");
            let now = shop::time::epoch_now();
            if r.secret.as_deref().is_some_and(|s| shop::signatures::verify(s, &sig, body.as_bytes(), now).is_ok()) {
                let event: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(event["type"], header("shop-event"));
                r.got.push((header("shop-event"), event["id"].as_str().unwrap().to_owned(), header("shop-delivery")));
            } else {
                r.forged += 1;
            }
            let status = if r.script.is_empty() { 200 } else { r.script.remove(0) };
            axum::http::StatusCode::from_u16(status).unwrap()
        }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(handle));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The sweep as the schedule runs it, `later` from now.
async fn sweep(app: &TestApp, later: time::Duration) -> usize {
    let sender = Arc::new(shop_webhooks::WebhookSender::new(true).unwrap());
    let deliveries = PartnerDeliveries::new(app.running.table.clone(), sender);
    deliveries.retry_due(Timestamp::at(*Timestamp::now() + later), 100).await.unwrap()
}

async fn register(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> (String, String) {
    let registered =
        app.post("/api/webhooks", Some(admin), json!({"url": url, "events": events})).await.expect(201).body;
    let secret = registered["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (registered["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(app: &TestApp, admin: &str, endpoint: &str) -> Vec<Value> {
    let log = app.get(&format!("/api/webhooks/{endpoint}/deliveries"), Some(admin)).await.expect(200).body;
    log.as_array().unwrap().clone()
}

#[tokio::test]
async fn events_reach_the_endpoint_signed_and_failures_are_retried_until_they_pass() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let state = Arc::new(Mutex::new(Receiver { script: vec![500, 503], ..Default::default() }));
    let url = receiver(state.clone()).await;
    let (endpoint, secret) = register(&app, &admin, &url, &["OrderPlaced", "OrderPaid"]).await;
    state.lock().unwrap().secret = Some(secret.clone());
    let listed = app.get("/api/webhooks", Some(&admin)).await.expect(200).body;
    assert_eq!(listed[0]["id"], endpoint.as_str());
    assert!(listed[0].get("secret").is_none(), "the secret is shown once: {listed}");

    // An order placed: its OrderPlaced goes out at once, and fails (500).
    let (_, id, _) = unpaid_order(&app, &admin, 5).await;
    let first = eventually(20, "the first attempt", || async {
        deliveries(&app, &admin, &endpoint).await.into_iter().find(|d| d["attempts"] == 1)
    })
    .await;
    assert_eq!(
        (&first["state"], &first["last_status"], &first["event_type"]),
        (&json!("pending"), &json!(500), &json!("OrderPlaced"))
    );
    // Not due for a minute; then again (503), then after five more minutes it passes.
    assert_eq!(sweep(&app, time::Duration::seconds(10)).await, 0);
    assert_eq!(sweep(&app, time::Duration::seconds(61)).await, 1);
    assert_eq!(deliveries(&app, &admin, &endpoint).await[0]["last_status"], 503);
    assert_eq!(sweep(&app, time::Duration::seconds(400)).await, 1);
    let done = &deliveries(&app, &admin, &endpoint).await[0];
    assert_eq!((&done["state"], &done["attempts"]), (&json!("delivered"), &json!(3)));
    {
        let r = state.lock().unwrap();
        assert_eq!(r.forged, 0, "every request carried a good signature");
        assert_eq!(r.got.len(), 3);
        assert!(r.got.iter().all(|(kind, id, delivery)| kind == "OrderPlaced" && id == delivery), "{:?}", r.got);
    }
    assert!(app.get(&format!("/api/webhooks/{endpoint}"), Some(&admin)).await.body["last_success_at"].is_string());
    assert_eq!(order(&app, &admin, &id).await["id"], id.as_str());
}

#[tokio::test]
async fn an_endpoint_that_only_fails_is_disabled_its_admin_told_and_it_gets_what_it_missed_once_enabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let state = Arc::new(Mutex::new(Receiver { script: vec![503; 7], ..Default::default() }));
    let url = receiver(state.clone()).await;
    // Cancellations: no event of the stack's own seeding is one.
    let (endpoint, secret) = register(&app, &admin, &url, &["OrderCancelled"]).await;
    state.lock().unwrap().secret = Some(secret);
    let cancel = async || {
        let (shopper, id, _) = unpaid_order(&app, &admin, 5).await;
        app.post(&format!("/api/orders/{id}/cancel"), Some(&shopper), json!({})).await.expect(200);
    };
    cancel().await;
    eventually(20, "the first attempt", || async {
        deliveries(&app, &admin, &endpoint).await.into_iter().find(|d| d["attempts"] == 1)
    })
    .await;
    // Six more attempts, each after its back-off: a day of failures.
    let mut later = 0;
    for wait in shop::partners::BACKOFF {
        later += wait + 1;
        assert_eq!(sweep(&app, time::Duration::seconds(later)).await, 1);
    }
    let failed = &deliveries(&app, &admin, &endpoint).await[0];
    assert_eq!((&failed["state"], &failed["attempts"]), (&json!("failed"), &json!(7)));
    let disabled = app.get(&format!("/api/webhooks/{endpoint}"), Some(&admin)).await.body;
    assert_eq!(disabled["enabled"], false);
    assert!(disabled["disabled_reason"].as_str().unwrap().contains("answered 503"), "{disabled}");
    let admin_id = shop::identity::contract::claims_of(&admin)["sub"].as_str().unwrap().to_owned();
    let told = app.outbox(&admin_id).await;
    assert!(told.iter().any(|m| m["subject"] == "A webhook endpoint is disabled"), "{told:?}");

    // Disabled: new events pass it by. Enabled again, it gets the missed event once more.
    cancel().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(deliveries(&app, &admin, &endpoint).await.len(), 1);
    let path = format!("/api/webhooks/{endpoint}");
    app.call(Method::PUT, &path, Some(&admin), Some(json!({"enabled": true}))).await.expect(200);
    let again = app
        .post(&format!("{path}/deliveries/{}/redeliver", failed["id"].as_str().unwrap()), Some(&admin), json!({}))
        .await;
    assert_eq!(again.expect(202).body["state"], "pending");
    assert_eq!(sweep(&app, time::Duration::ZERO).await, 1);
    let log = deliveries(&app, &admin, &endpoint).await;
    assert_eq!((&log[0]["state"], &log[0]["event_id"]), (&json!("delivered"), &failed["event_id"]));
    assert_eq!(state.lock().unwrap().forged, 0);
}

#[tokio::test]
async fn endpoints_off_the_public_internet_or_for_no_event_are_refused() {
    let app = TestApp::spawn_with(|c| c.webhooks_allow_loopback = false).await;
    let admin = app.admin().await;
    for url in [
        "http://erp.example.com/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest",
        "https://127.0.0.1:9/x",
        "https://localhost/x",
        "not a url",
    ] {
        let refused =
            app.post("/api/webhooks", Some(&admin), json!({"url": url, "events": ["OrderPaid"]})).await.problem(422);
        assert_eq!(refused.body["errors"][0]["field"], "url", "{url}: {}", refused.body);
    }
    let url = "https://erp.example.com/hook";
    // More entries than there are types (the schema's bound), though each names one partners hear of.
    for events in [json!([]), json!(["MessageQueued"]), json!(vec!["OrderPaid"; 16])] {
        let refused = app.post("/api/webhooks", Some(&admin), json!({"url": url, "events": events})).await.problem(422);
        assert_eq!(refused.body["errors"][0]["field"], "events");
    }
    app.post("/api/webhooks", Some(&admin), json!({"url": url, "events": ["OrderPaid", "OrderPaid"]}))
        .await
        .expect(201);
}
