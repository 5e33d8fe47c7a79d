//! Messages reach people: composed from order events and account codes, sent through the
//! channel's sender (the local mailbox here; SES and SNS in `aws.rs`), their delivery recorded,
//! and a provider outage retried, dead-lettered and redriven without loss or a second send.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use shop::events::Consumer;
use shop::notifications::{
    Channel, Deliveries, DeliveryStatus, EmailSender, Message, OutgoingEmail, OutgoingSms, SendError, Senders,
    SmsSender,
};
use shop::table::Table;
use shop_embedded::bus::Bus;
use shop_embedded::mailbox::{Delivered, Mailbox};
use shop_embedded::sqlite::SqliteTable;
use shop_tests::{TestApp, eventually};

/// What the local mailbox holds for `to`, oldest first.
async fn mailbox(app: &TestApp, to: &str) -> Vec<Delivered> {
    let all: Vec<Delivered> =
        app.http.get(format!("{}/_local/mailbox.json", app.url)).send().await.unwrap().json().await.unwrap();
    all.into_iter().filter(|m| m.to == to).collect()
}

async fn order_one(app: &TestApp, shopper: &str, admin: &str) -> String {
    let product = app.product(admin, "Desk lamp", "home", 1500, 10).await;
    let address = json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"});
    let items = json!({"items": [{"product_id": product, "quantity": 2}], "shipping_address": address});
    app.post("/api/orders", Some(shopper), items).await.expect(201).body["id"].as_str().unwrap().to_owned()
}

/// Gives the shopper `phone` and verifies it with the code the shop texts to it.
async fn verified_phone(app: &TestApp, token: &str, user_id: &str, phone: &str) {
    let given = json!({"phone": phone, "preferences": {"email": true, "sms": true}});
    app.call(Method::PUT, &format!("/api/users/{user_id}"), Some(token), Some(given)).await.expect(200);
    app.post("/api/users/me/phone/code", Some(token), json!({})).await.expect(202);
    let code = phone_code(app, phone).await;
    app.post("/api/users/me/phone/verify", Some(token), json!({"code": "000000"})).await.problem(422);
    let verified = app.post("/api/users/me/phone/verify", Some(token), json!({"code": code})).await.expect(200);
    assert_eq!(verified.body["phone_verified"], true);
}

/// The newest code texted to `phone`.
async fn phone_code(app: &TestApp, phone: &str) -> String {
    let sms = eventually(10, "the phone code", || async {
        mailbox(app, phone).await.into_iter().rev().find(|m| m.text.contains("your code is"))
    })
    .await;
    sms.text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("a six-digit code").to_owned()
}

/// Pays the order with the simulated provider's card.
async fn pay(app: &TestApp, shopper: &str, id: &str) {
    let payment = shop_tests::paying::checkout(app, shopper, id).await;
    let path = format!("/_simulator/payments/{payment}/confirm");
    app.post(&path, None, json!({"card": "4242424242424242"})).await.expect(200);
    shop_tests::paying::status_becomes(app, shopper, id, "PAID").await;
}

#[tokio::test]
async fn an_orders_messages_arrive_by_the_channels_the_shopper_chose() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, alice_id, email) = app.shopper("Alice").await;
    let phone = "+4915112345678";
    verified_phone(&app, &alice, &alice_id, phone).await;
    let id = order_one(&app, &alice, &admin).await;

    let placed = eventually(10, "the order placed email", || async {
        mailbox(&app, &email).await.into_iter().find(|m| m.subject.as_deref().is_some_and(|s| s.contains(&id)))
    })
    .await;
    assert!(placed.text.contains("Desk lamp x 2: 30.00 EUR") && placed.text.contains("Hello Alice"), "{}", placed.text);
    assert!(placed.html.as_deref().unwrap().contains("<td>Desk lamp</td>"));
    // An unpaid order is not texted (its placement costs an SMS nobody paid for); paid, it is.
    pay(&app, &alice, &id).await;
    let sms = eventually(10, "the order paid SMS", || async {
        mailbox(&app, phone).await.into_iter().find(|m| m.text.contains(&id))
    })
    .await;
    assert_eq!(sms.text, format!("Shop: payment of 30.00 EUR for order {id} received."));
    let about_orders = |list: &Value| -> Vec<Value> {
        list.as_array().unwrap().iter().filter(|m| m["kind"].as_str().unwrap().starts_with("Order")).cloned().collect()
    };
    let listed = eventually(10, "all marked sent", || async {
        let listed = about_orders(&app.get("/api/users/me/notifications", Some(&alice)).await.expect(200).body);
        (listed.len() == 3 && listed.iter().all(|m| m["status"] == "sent")).then_some(listed)
    })
    .await;
    assert!(listed.iter().all(|m| m["sent_at"].is_string()), "{listed:#?}");

    // Email turned off: the paid order's cancellation goes by SMS alone, and its email is
    // listed suppressed.
    let prefs = json!({"preferences": {"email": false, "sms": true}});
    app.call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&alice), Some(prefs)).await.expect(200);
    app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200);
    eventually(10, "the cancellation SMS", || async {
        mailbox(&app, phone).await.iter().any(|m| m.text.contains("cancelled")).then_some(())
    })
    .await;
    let listed = app.get("/api/users/me/notifications", Some(&alice)).await.expect(200).body;
    let cancelled: Vec<&Value> = listed.as_array().unwrap().iter().filter(|m| m["kind"] == "OrderCancelled").collect();
    let by_channel = |channel: &str| cancelled.iter().find(|m| m["channel"] == channel).unwrap()["status"].clone();
    assert_eq!((by_channel("email"), by_channel("sms")), (json!("suppressed"), json!("sent")));
    assert_eq!(mailbox(&app, &email).await.len(), 2, "placed and paid; no email after it was turned off");
}

#[tokio::test]
async fn sms_go_only_to_verified_numbers_of_the_countries_served_and_a_few_a_day() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // A premium or international-network number, or one of a country not served, is refused.
    let (alice, alice_id, _) = app.shopper("Alice").await;
    for number in ["+88234567890", "+12025550123"] {
        let body =
            json!({"email": "mallory@example.com", "password": shop_tests::PASSWORD, "name": "M", "phone": number});
        let refused = app.post("/api/auth/register", None, body).await.problem(422);
        assert_eq!(refused.body["errors"][0]["field"], "phone");
        let given = json!({"phone": number});
        app.call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&alice), Some(given)).await.problem(422);
    }
    app.post("/api/users/me/phone/code", Some(&alice), json!({})).await.problem(409);

    // Unverified, a number is sent nothing but its code; an order placed and cancelled unpaid
    // is texted to nobody.
    let phone = "+4915199990000";
    let given = json!({"phone": phone, "preferences": {"email": true, "sms": true}});
    let profile = app.call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&alice), Some(given)).await.expect(200);
    assert_eq!(profile.body["phone_verified"], false);
    let id = order_one(&app, &alice, &admin).await;
    app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200);
    let paid = order_one(&app, &alice, &admin).await;
    pay(&app, &alice, &paid).await;
    let unsent = eventually(10, "the paid order's SMS held back", || async {
        let listed = app.get("/api/users/me/notifications", Some(&alice)).await.expect(200).body;
        let listed = listed.as_array().unwrap().clone();
        listed.into_iter().find(|m| m["kind"] == "OrderPaid" && m["channel"] == "sms")
    })
    .await;
    assert_eq!(unsent["status"], "suppressed");
    assert!(mailbox(&app, phone).await.is_empty());

    // A code verifies the number it was sent to, not one given after it.
    app.post("/api/users/me/phone/code", Some(&alice), json!({})).await.expect(202);
    let code = phone_code(&app, phone).await;
    let other = json!({"phone": "+4915199990001"});
    app.call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&alice), Some(other)).await.expect(200);
    app.post("/api/users/me/phone/verify", Some(&alice), json!({"code": code})).await.problem(422);

    // Codes: five an hour per account. SMS: ten a day per number, whichever accounts name it.
    let shared = "+4915199990002";
    let mut asked = 0;
    for name in ["Bob", "Carol", "Dave"] {
        let (token, id, _) = app.shopper(name).await;
        let given = json!({"phone": shared});
        app.call(Method::PUT, &format!("/api/users/{id}"), Some(&token), Some(given)).await.expect(200);
        for _ in 0..shop::notifications::account::ACCOUNT_EMAILS_PER_HOUR {
            app.post("/api/users/me/phone/code", Some(&token), json!({})).await.expect(202);
            asked += 1;
        }
        app.post("/api/users/me/phone/code", Some(&token), json!({})).await.problem(429);
    }
    assert_eq!(asked, 15);
    let day = shop::notifications::sms::PER_NUMBER_PER_DAY as usize;
    eventually(10, "the day's SMS to the number", || async {
        (mailbox(&app, shared).await.len() == day).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mailbox(&app, shared).await.len(), day, "no more than the day's");
}

#[tokio::test]
async fn account_codes_are_mailed_and_the_mailbox_page_shows_them() {
    let app = TestApp::spawn_with(|c| c.auto_confirm = false).await;
    let (email, user_id) = app.register("Cora").await;
    let mail =
        eventually(10, "the confirmation code", || async { mailbox(&app, &email).await.into_iter().next() }).await;
    assert_eq!(mail.subject.as_deref(), Some("Confirm your account"));
    let code: String = mail.text.split_whitespace().find(|w| w.len() == 6 && w.parse::<u32>().is_ok()).unwrap().into();
    assert!(mail.html.as_deref().unwrap().contains(&code));
    let page = app.http.get(format!("{}/_local/mailbox", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&email) && page.contains(&code) && page.contains("Confirm your account"));
    let part = app.http.get(format!("{}/_local/mailbox/{}", app.url, mail.id)).send().await.unwrap();
    assert!(part.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert!(part.text().await.unwrap().contains(&code));
    // The code that confirmed the account is the one mailed, and its record no longer holds it.
    assert_eq!(code, app.sent_code(&email, "confirm").await);
    let outbox = app.outbox(&user_id).await;
    assert!(outbox.iter().all(|m| !m.to_string().contains(&code)), "{outbox:?}");
}

/// A provider that is down while `down` is set (every send fails as unreachable), then the
/// mailbox; it counts the sends it let through.
struct Flaky {
    down: AtomicBool,
    sent: AtomicUsize,
    mailbox: Mailbox,
}

#[async_trait]
impl EmailSender for Flaky {
    async fn send_email(&self, email: &OutgoingEmail<'_>) -> Result<String, SendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError::Unavailable(anyhow::anyhow!("connection refused")));
        }
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.mailbox.send_email(email).await
    }
}

#[async_trait]
impl SmsSender for Flaky {
    async fn send_sms(&self, _: &OutgoingSms<'_>) -> Result<String, SendError> {
        Err(SendError::Refused("no SMS in this test".into()))
    }
}

#[tokio::test]
async fn a_provider_outage_is_retried_dead_lettered_and_redriven_to_one_send() {
    let dir = shop_tests::temp_dir("deliveries");
    let sqlite = Arc::new(SqliteTable::open(&dir.path().join("shop.db")).unwrap());
    let table: Arc<dyn Table> = sqlite.clone();
    let bus = Arc::new(Bus::open(&dir.path().join("bus.db"), shop_tests::QUICK_DELIVERY).unwrap());
    let flaky = Arc::new(Flaky {
        down: AtomicBool::new(true),
        sent: AtomicUsize::new(0),
        mailbox: Mailbox::new(table.clone()),
    });
    let deliveries = Deliveries::new(table.clone(), Senders { email: flaky.clone(), sms: flaky.clone() });
    let user = shop::domain::UserId::parse("33333333-3333-4333-8333-333333333333").unwrap();
    let message = shop::notifications::code_message(&user, "dora@example.com", "reset", "123456", 60);
    table.transact(message.writes()).await.unwrap();
    bus.pump(&*sqlite).await.unwrap();

    let stored = || async { table.get(&message.key()).await.unwrap().unwrap().decode::<Message>().unwrap() };
    let dead = eventually(10, "five tries, then a dead letter", || async {
        bus.drain(&deliveries).await.unwrap();
        let dead = bus.dead_letters(Some("deliveries")).unwrap();
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!((dead.len(), dead[0].receives), (1, shop::notifications::DELIVERY_ATTEMPTS));
    let failed = stored().await;
    assert_eq!((failed.status, failed.attempts), (DeliveryStatus::Failed, 5));
    assert!(failed.reason.as_deref().unwrap().contains("connection refused"), "{failed:?}");
    assert_eq!(flaky.sent.load(Ordering::SeqCst), 0);

    // The provider is back; the dead letter is redriven, and delivered once, even redriven twice.
    flaky.down.store(false, Ordering::SeqCst);
    assert_eq!(bus.redrive(Some("deliveries")).unwrap(), 1);
    bus.drain(&deliveries).await.unwrap();
    let sent = stored().await;
    assert_eq!((sent.status, sent.attempts, sent.channel), (DeliveryStatus::Sent, 6, Channel::Email));
    assert!(sent.provider_id.as_deref().unwrap().starts_with("local-") && sent.sent_at.is_some());
    // Its event delivered once more (SQS delivers at least once): nothing is sent again.
    let Some(shop::table::Write::Put { item, .. }) = message.event() else { panic!("a queued message has an event") };
    deliveries.handle(&shop::events::Event::from_item(&item).unwrap()).await.unwrap();
    assert_eq!(flaky.sent.load(Ordering::SeqCst), 1, "sent once");
    assert_eq!(Mailbox::new(table.clone()).all().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_account_gets_at_most_five_codes_an_hour() {
    let app = TestApp::spawn().await;
    let (_, _, email) = app.shopper("Eve").await;
    for _ in 0..7 {
        // The same answer every time: nobody learns anything from it.
        app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    }
    eventually(10, "five reset codes mailed", || async { (mailbox(&app, &email).await.len() == 5).then_some(()) })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        mailbox(&app, &email).await.len(),
        shop::notifications::account::ACCOUNT_EMAILS_PER_HOUR as usize,
        "no sixth"
    );
}
