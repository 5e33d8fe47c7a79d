//! Abandoned-cart recovery over HTTP on the local stack: carts left behind are reminded of
//! (twice at most, only with consent their owner gave, never to an address that unsubscribed, a
//! bounded number per mailbox a week and to guests a day), a reminder's link restores the cart
//! in another browser, and the order placed from it is counted as recovered.

use reqwest::Method;
use serde_json::{Value, json};
use shop::recovery::{CartRecovery, RecoveryPolicy, Swept};
use shop::table::{Item, Write};
use shop_embedded::mailbox::Mailbox;
use shop_tests::{Answer, TestApp, shipping_address};

const SUBJECT: &str = "You left something in your cart";

/// A stack whose carts are due at once, swept only when the test says (its own timer waits an
/// hour).
async fn stack() -> (TestApp, CartRecovery) {
    // Three reminders to guests a day, so the test reaches the limit.
    let now = RecoveryPolicy { idle: time::Duration::ZERO, second: time::Duration::ZERO, guests_daily: 3 };
    let app = TestApp::spawn_with(|c| {
        c.recovery = now;
        c.expiry_every = std::time::Duration::from_secs(3600);
        c.metrics = true;
    })
    .await;
    let sweep = CartRecovery::new(app.running.table.clone(), now, format!("{}/", app.url));
    (app, sweep)
}

async fn sweep(recovery: &CartRecovery) -> Swept {
    recovery.sweep(shop::time::Timestamp::now(), 100).await.unwrap()
}

async fn guest(app: &TestApp) -> String {
    app.post("/api/guest/tokens", None, json!({})).await.expect(201).body["token"].as_str().unwrap().to_owned()
}

async fn as_guest(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
    app.send(method, path, None, body, &[("guest-token", token)]).await
}

/// The reminders in the local mailbox to `email`, oldest first.
async fn reminders(app: &TestApp, email: &str) -> Vec<String> {
    let all = Mailbox::new(app.running.table.clone()).all().await.unwrap();
    let mut texts: Vec<_> =
        all.into_iter().filter(|m| m.to == email && m.subject.as_deref() == Some(SUBJECT)).collect();
    texts.sort_by(|a, b| a.id.cmp(&b.id));
    texts.into_iter().map(|m| m.text).collect()
}

/// The token of the link after `marker` in a reminder's text.
fn link(text: &str, marker: &str) -> String {
    let at = text.find(marker).unwrap_or_else(|| panic!("{marker} in {text}")) + marker.len();
    text[at..].split_whitespace().next().unwrap().to_owned()
}

/// Waits for the deliveries consumer to hand `n` reminders to the mailbox.
async fn reminded(app: &TestApp, email: &str, n: usize) -> Vec<String> {
    shop_tests::eventually(10, &format!("{n} reminders to {email}"), || async {
        let texts = reminders(app, email).await;
        (texts.len() >= n).then_some(texts)
    })
    .await
}

/// Waits for the deliveries consumer to hand `n` reminders in all to `emails`.
async fn delivered(app: &TestApp, emails: &[&str], n: usize) {
    shop_tests::eventually(10, &format!("{n} reminders to {emails:?}"), || async {
        let mut sent = 0;
        for email in emails {
            sent += reminders(app, email).await.len();
        }
        (sent == n).then_some(())
    })
    .await;
}

async fn set_marketing(app: &TestApp, token: &str, user: &str, on: bool) {
    let preferences = json!({"preferences": {"email": true, "sms": false, "marketing": on}});
    let answer = app.call(Method::PUT, &format!("/api/users/{user}"), Some(token), Some(preferences)).await;
    assert_eq!(answer.expect(200).body["preferences"]["marketing"], on);
}

#[tokio::test]
async fn a_cart_left_behind_is_recalled_twice_restored_by_its_link_and_its_order_counted_as_recovered() {
    let (app, recovery) = stack().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Reading Lamp", "lighting", 2500, 10).await;
    let (alice, alice_id, alice_email) = app.shopper("Alice").await;
    let item = format!("/api/cart/items/{lamp}");

    // Without consent, the cart is let go: nothing sent, and not read again until it changes.
    app.call(Method::PUT, &item, Some(&alice), Some(json!({"quantity": 1}))).await.expect(200);
    assert_eq!(sweep(&recovery).await, Swept { read: 1, skipped: 1, ..Swept::default() });
    assert_eq!(sweep(&recovery).await.read, 0);

    // Consent is the shopper's own to give: staff cannot give it for them.
    let consent = json!({"preferences": {"email": true, "sms": false, "marketing": true}});
    let path = format!("/api/users/{alice_id}");
    let refused = app.call(Method::PUT, &path, Some(&admin), Some(consent)).await.problem(403);
    assert!(refused.body["detail"].as_str().unwrap().contains("owner"), "{}", refused.body);

    // With consent, a change makes it idle again: reminded, then reminded once more, then left.
    set_marketing(&app, &alice, &alice_id, true).await;
    app.call(Method::PUT, &item, Some(&alice), Some(json!({"quantity": 2}))).await.expect(200);
    assert_eq!(sweep(&recovery).await, Swept { read: 1, reminded: 1, ..Swept::default() });
    assert_eq!(sweep(&recovery).await, Swept { read: 1, reminded: 1, ..Swept::default() });
    assert_eq!(sweep(&recovery).await.read, 0, "two reminders at most");
    let texts = reminded(&app, &alice_email, 2).await;
    assert!(texts[0].contains("2 x Reading Lamp"), "{}", texts[0]);

    // The link restores the cart in another browser: a guest's, who orders from it.
    let restore = link(&texts[1], "#/cart/restore/");
    let visitor = guest(&app).await;
    let body = Some(json!({"token": restore}));
    let restored = as_guest(&app, &visitor, Method::POST, "/api/guest/cart/restore", body).await.expect(200).body;
    assert_eq!((&restored["lines"][0]["product_id"], &restored["lines"][0]["quantity"]), (&json!(lamp), &json!(2)));
    assert_eq!(restored["restored"], 1);
    let forged = Some(json!({"token": format!("{restore}x")}));
    let refused = as_guest(&app, &visitor, Method::POST, "/api/guest/cart/restore", forged).await.problem(422);
    assert_eq!(refused.body["errors"][0]["field"], "token");
    let order = json!({"shipping_address": shipping_address(), "email": "visitor@example.com"});
    as_guest(&app, &visitor, Method::POST, "/api/guest/orders", Some(order)).await.expect(201);
    // Counted once the event reaches the bus.
    shop_tests::eventually(10, "a recovered order counted", || async {
        let metrics = app.metrics().await;
        metrics.lines().any(|l| l.starts_with("shop_recovered_order_value_count{currency=\"EUR\"} ")).then_some(())
    })
    .await;

    // Restoring one's own cart copies nothing: the guest's order emptied only the guest's cart.
    let own = app.post("/api/cart/restore", Some(&alice), json!({"token": restore})).await.expect(200).body;
    assert_eq!((&own["lines"][0]["quantity"], &own["restored"]), (&json!(2), &json!(0)));

    // The reminder's other link unsubscribes the address, without logging in: a cart that
    // changes again is let go, until its owner turns marketing email on again.
    let unsubscribe = link(&texts[1], "#/unsubscribe/");
    app.post("/api/unsubscribe", None, json!({"token": unsubscribe})).await.expect(204);
    app.post("/api/unsubscribe", None, json!({"token": restore})).await.problem(422);
    let (bob, bob_id, bob_email) = app.shopper("Bob").await;
    set_marketing(&app, &bob, &bob_id, true).await;
    app.call(Method::PUT, &item, Some(&bob), Some(json!({"quantity": 1}))).await.expect(200);
    let bob_text = {
        assert_eq!(sweep(&recovery).await.reminded, 1);
        reminded(&app, &bob_email, 1).await.remove(0)
    };
    app.post("/api/unsubscribe", None, json!({"token": link(&bob_text, "#/unsubscribe/")})).await.expect(204);
    app.call(Method::PUT, &item, Some(&bob), Some(json!({"quantity": 3}))).await.expect(200);
    assert_eq!(sweep(&recovery).await, Swept { read: 1, skipped: 1, ..Swept::default() }, "unsubscribed");
    set_marketing(&app, &bob, &bob_id, false).await;
    set_marketing(&app, &bob, &bob_id, true).await;
    app.call(Method::PUT, &item, Some(&bob), Some(json!({"quantity": 4}))).await.expect(200);
    assert_eq!(sweep(&recovery).await.reminded, 1, "subscribed again by its owner");
}

#[tokio::test]
async fn a_guest_names_an_address_and_neither_a_mailbox_nor_guests_get_more_reminders_than_their_limits() {
    let (app, recovery) = stack().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Desk Lamp", "lighting", 1900, 10).await;
    let item = format!("/api/guest/cart/items/{lamp}");

    // A guest's cart with no address, or with one but no consent, is let go.
    let quiet = guest(&app).await;
    as_guest(&app, &quiet, Method::PUT, &item, Some(json!({"quantity": 1}))).await.expect(200);
    as_guest(&app, &quiet, Method::GET, "/api/guest/cart/contact", None).await.problem(404);
    let bad = Some(json!({"email": "not an address", "marketing": true}));
    let refused = as_guest(&app, &quiet, Method::PUT, "/api/guest/cart/contact", bad).await.problem(422);
    assert_eq!(refused.body["errors"][0]["field"], "email");
    let declined = Some(json!({"email": "quiet@example.com", "marketing": false}));
    as_guest(&app, &quiet, Method::PUT, "/api/guest/cart/contact", declined).await.expect(200);
    assert_eq!(sweep(&recovery).await, Swept { read: 1, skipped: 1, ..Swept::default() });

    // Three guests name one mailbox, spelt three ways (anyone can type anyone's): two reminders
    // that week; the third cart is due again when the week ends.
    let guest_cart = |email: &'static str| {
        let app = &app;
        let item = item.clone();
        async move {
            let token = guest(app).await;
            let contact = Some(json!({"email": email, "marketing": true}));
            let saved = as_guest(app, &token, Method::PUT, "/api/guest/cart/contact", contact).await.expect(200).body;
            assert_eq!(saved, json!({"email": email.to_lowercase(), "marketing": true}));
            as_guest(app, &token, Method::PUT, &item, Some(json!({"quantity": 1}))).await.expect(200);
            let read = as_guest(app, &token, Method::GET, "/api/guest/cart/contact", None).await.expect(200).body;
            assert_eq!(read["email"], email.to_lowercase());
        }
    };
    for email in ["victim@example.com", "Victim+1@example.com", "victim+2@example.com"] {
        guest_cart(email).await;
    }
    assert_eq!(sweep(&recovery).await, Swept { read: 3, reminded: 2, deferred: 1, ..Swept::default() });
    // The two reminded are due again at once (this stack's second wait is none): held back too.
    assert_eq!(sweep(&recovery).await, Swept { read: 2, deferred: 2, ..Swept::default() });
    assert_eq!(sweep(&recovery).await.read, 0, "all three deferred to the next week");
    delivered(&app, &["victim@example.com", "victim+1@example.com", "victim+2@example.com"], 2).await;

    // Guests' addresses, which nobody confirmed, get a bounded number of reminders a day in all
    // (three here): the fourth guest's is due again the next day.
    guest_cart("someone@example.com").await;
    guest_cart("another@example.com").await;
    assert_eq!(sweep(&recovery).await, Swept { read: 2, reminded: 1, deferred: 1, ..Swept::default() });
    delivered(&app, &["someone@example.com", "another@example.com"], 1).await;
    // The anonymous routes need the guest's token.
    app.call(Method::PUT, "/api/guest/cart/contact", None, Some(json!({"email": "a@example.com", "marketing": true})))
        .await
        .problem(401);
}

#[tokio::test]
async fn a_cart_that_cannot_be_swept_is_counted_as_failed_and_the_sweep_goes_on_to_the_next() {
    let (app, recovery) = stack().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Floor Lamp", "lighting", 4900, 10).await;
    let item = format!("/api/cart/items/{lamp}");
    let mut shoppers = Vec::new();
    for name in ["Carol", "Dave"] {
        let (token, id, email) = app.shopper(name).await;
        set_marketing(&app, &token, &id, true).await;
        app.call(Method::PUT, &item, Some(&token), Some(json!({"quantity": 1}))).await.expect(200);
        shoppers.push((id, email));
    }

    // Carol's profile no longer reads as one (damaged by hand, say): her cart fails alone.
    let carol = shop::domain::UserId::parse(&shoppers[0].0).unwrap();
    let damaged = Item::new(&shop::keys::user_profile(&carol), &json!({"email": 42}));
    app.running.table.write(Write::put(damaged)).await.unwrap();
    assert_eq!(sweep(&recovery).await, Swept { read: 2, reminded: 1, failed: 1, ..Swept::default() });
    reminded(&app, &shoppers[1].1, 1).await;
    let metrics = app.metrics().await;
    assert!(metrics.lines().any(|l| l == "shop_cart_reminders_total{outcome=\"failed\"} 1"), "{metrics}");
    assert!(reminders(&app, &shoppers[0].1).await.is_empty());
}
