//! Buying without an account, over HTTP: a guest's signed token for the cart and checkout (the
//! signed-in routes' twins under `/api/guest/`), an email at checkout, the confirmation's link
//! that reaches that one order (view, pay, cancel), the bounds on what guests together can hold,
//! and the claim: an account that verifies the guest's address sees the order as its own.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::paying::steps_to;
use shop_tests::{Answer, TestApp, eventually, shipping_address};

const SECRET: &str = "whsec_guests_test";

async fn app_with(limits: Option<shop::orders::Limits>) -> TestApp {
    TestApp::spawn_with(|c| {
        c.webhook_secret = Some(SECRET.into());
        if let Some(limits) = limits {
            c.limits = limits;
        }
    })
    .await
}

/// A new guest's token.
async fn guest(app: &TestApp) -> String {
    app.post("/api/guest/tokens", None, json!({})).await.expect(201).body["token"].as_str().unwrap().to_owned()
}

/// A request with `Guest-Token: token`.
async fn as_guest(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
    app.send(method, path, None, body, &[("guest-token", token)]).await
}

/// The guest's checkout of one lamp to `email`.
async fn buy(app: &TestApp, token: &str, lamp: &str, email: &str) -> Answer {
    let path = format!("/api/guest/cart/items/{lamp}");
    as_guest(app, token, Method::PUT, &path, Some(json!({"quantity": 1}))).await.expect(200);
    let body = json!({"shipping_address": shipping_address(), "email": email});
    as_guest(app, token, Method::POST, "/api/guest/orders", Some(body)).await
}

/// The link's token in the order's confirmation, read from the local mailbox.
async fn link_in_confirmation(app: &TestApp, email: &str, order: &str) -> String {
    let mailbox = shop_embedded::mailbox::Mailbox::new(app.running.table.clone());
    let subject = format!("Order {order} received");
    let mail = eventually(10, "the confirmation in the mailbox", || async {
        let all = mailbox.all().await.unwrap();
        all.into_iter().find(|m| m.to == email && m.subject.as_deref() == Some(subject.as_str()))
    })
    .await;
    let marker = format!("#/guest/orders/{order}/");
    let at = mail.text.find(&marker).unwrap_or_else(|| panic!("a link in {}", mail.text)) + marker.len();
    mail.text[at..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_guest_buys_pays_by_the_emailed_link_and_an_account_of_that_address_claims_the_order() {
    let app = app_with(None).await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Guest Lamp", "lighting", 1500, 5).await;

    // Without a token, with a forged one, or with a guest's on the signed-in routes: 401.
    app.get("/api/guest/cart", None).await.problem(401);
    let token = guest(&app).await;
    let forged = format!("{}x", &token[..token.len() - 1]);
    as_guest(&app, &forged, Method::GET, "/api/guest/cart", None).await.problem(401);
    as_guest(&app, &token, Method::GET, "/api/cart", None).await.problem(401);

    // A code limited per customer is for accounts: a guest mints ids at will.
    let once = json!({"id": "welcome", "name": "Welcome", "code": "WELCOME",
        "discount": {"type": "percentage", "percent": "10"}, "applies_to": {"type": "order"},
        "per_customer_limit": 1, "active": true});
    app.send(Method::PUT, "/api/promotions/welcome", Some(&admin), Some(once), &[("if-match", "\"0\"")])
        .await
        .expect(200);
    let path = format!("/api/guest/cart/items/{lamp}");
    as_guest(&app, &token, Method::PUT, &path, Some(json!({"quantity": 1}))).await.expect(200);
    let code = Some(json!({"code": "WELCOME"}));
    let refused = as_guest(&app, &token, Method::PUT, "/api/guest/cart/promotion", code).await.problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("signed-in customers"), "{:#}", refused.body);

    // Checkout needs the guest's email, and a guest has no address book.
    let email = format!("guest-{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    let no_email = json!({"shipping_address": shipping_address()});
    as_guest(&app, &token, Method::POST, "/api/guest/orders", Some(no_email)).await.problem(422);
    let saved = json!({"address_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "email": email});
    as_guest(&app, &token, Method::POST, "/api/guest/orders", Some(saved)).await.problem(422);
    let placed = buy(&app, &token, &lamp, &email).await.expect(201);
    let id = placed.body["id"].as_str().unwrap().to_owned();
    assert_eq!(placed.header("location"), Some(format!("/api/guest/orders/{id}").as_str()));
    assert_eq!(
        (placed.body["guest_email"].as_str(), placed.body["total"]["amount"].as_i64()),
        (Some(&*email), Some(1500))
    );
    let cart = as_guest(&app, &token, Method::GET, "/api/guest/cart", None).await.expect(200).body;
    assert_eq!(cart["lines"], json!([]), "the cart went with the order");
    let order_path = format!("/api/guest/orders/{id}");
    as_guest(&app, &token, Method::GET, &order_path, None).await.expect(200);

    // The confirmation's link reaches this order alone: not the cart, not another guest's.
    let link = link_in_confirmation(&app, &email, &id).await;
    let seen = as_guest(&app, &link, Method::GET, &order_path, None).await.expect(200).body;
    assert_eq!(seen["status"], "PENDING_PAYMENT");
    as_guest(&app, &link, Method::GET, "/api/guest/cart", None).await.problem(403);
    as_guest(&app, &guest(&app).await, Method::GET, &order_path, None).await.problem(404);
    let (alice, _, _) = app.shopper("Alice").await;
    app.get(&format!("/api/orders/{id}"), Some(&alice)).await.problem(404);

    // Paid through the link, on another device.
    let pay = format!("{order_path}/payment");
    let payment = as_guest(&app, &link, Method::POST, &pay, Some(json!({}))).await.expect(201).body;
    let payment = payment["payment_id"].as_str().unwrap();
    let card = json!({"card": "4242424242424242"});
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, card).await.expect(200);
    let paid = eventually(10, "the guest's order paid", || async {
        let order = as_guest(&app, &link, Method::GET, &order_path, None).await.expect(200).body;
        (order["status"] == "PAID").then_some(order)
    })
    .await;
    assert_eq!(steps_to(&paid, "PAID"), 1);
    let invoice = format!("{order_path}/invoice");
    as_guest(&app, &link, Method::GET, &invoice, None).await.expect(200);

    // An account that verifies the guest's address sees the order as its own; the link still
    // reaches it.
    let body = json!({"email": email, "password": shop_tests::PASSWORD, "name": "Grace"});
    if app.post("/api/auth/register", None, body).await.expect(202).body["confirmed"] == false {
        let code = app.sent_code(&email, "confirm").await;
        app.post("/api/auth/confirm", None, json!({"email": email, "code": code})).await.expect(204);
    }
    let grace = app.login(&email, shop_tests::PASSWORD).await["id_token"].as_str().unwrap().to_owned();
    let listed = app.get("/api/orders", Some(&grace)).await.expect(200).body;
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    let own = app.get(&format!("/api/orders/{id}"), Some(&grace)).await.expect(200).body;
    assert!(own["account"].is_string(), "{own:#}");
    as_guest(&app, &link, Method::GET, &order_path, None).await.expect(200);
}

#[tokio::test]
async fn guests_together_hold_no_more_unpaid_orders_than_the_shop_allows() {
    let limits = shop::orders::Limits { guest_unpaid_orders: 2, ..Default::default() };
    let app = app_with(Some(limits)).await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Held Lamp", "lighting", 1500, 20).await;
    let email = "hoarder@example.com";
    let (first, second, third) = (guest(&app).await, guest(&app).await, guest(&app).await);
    let held = buy(&app, &first, &lamp, email).await.expect(201).body;
    buy(&app, &second, &lamp, email).await.expect(201);
    // A third guest is one more token, not one more allowance.
    let refused = buy(&app, &third, &lamp, email).await.problem(409);
    assert_eq!(
        (refused.body["type"].as_str(), refused.body["limit"].as_str()),
        (Some("/problems/order-limit"), Some("guest_unpaid"))
    );
    // A guest's cancelled order frees its place.
    let cancel = format!("/api/guest/orders/{}/cancel", held["id"].as_str().unwrap());
    as_guest(&app, &first, Method::POST, &cancel, None).await.expect(200);
    let body = json!({"shipping_address": shipping_address(), "email": email});
    as_guest(&app, &third, Method::POST, "/api/guest/orders", Some(body)).await.expect(201);
    assert_eq!(app.get(&format!("/api/products/{lamp}"), None).await.body["stock"], 18);
}
