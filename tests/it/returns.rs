//! Returns over HTTP on the local stack: a shopper sends back part of a delivered order,
//! support approves, fulfilment receives and restocks, the refund follows through the
//! `refunds` queue; and what cannot be returned: twice, too late, too many at once.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::paying::{checkout, order, order_becomes, status_becomes, unpaid_order};
use shop_tests::{TestApp, eventually};

/// A delivered order of two lamps at 15.00 EUR, paid through the simulated provider: (the
/// shopper's token, the order's id, the lamp's product id, its variant id).
async fn delivered(app: &TestApp, admin: &str) -> (String, String, String, String) {
    let (shopper, id, lamp) = unpaid_order(app, admin, 5).await;
    let variant = deliver(app, admin, &shopper, &id).await;
    (shopper, id, lamp, variant)
}

/// Pays the order, ships and delivers it; answers its first line's variant.
async fn deliver(app: &TestApp, admin: &str, shopper: &str, id: &str) -> String {
    let payment = checkout(app, shopper, id).await;
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, json!({"card": "4242424242424242"}))
        .await
        .expect(200);
    status_becomes(app, shopper, id, "PAID").await;
    let status = format!("/api/orders/{id}/status");
    let ship = json!({"status": "SHIPPED", "tracking_number": "1Z999"});
    app.call(Method::PUT, &status, Some(admin), Some(ship)).await.expect(200);
    app.call(Method::PUT, &status, Some(admin), Some(json!({"status": "DELIVERED"}))).await.expect(200);
    order(app, shopper, id).await["lines"][0]["variant_id"].as_str().unwrap().to_owned()
}

fn asking(variant: &str, quantity: u32) -> Value {
    json!({"lines": [{"variant_id": variant, "quantity": quantity, "reason": "damaged"}], "comment": "the shade cracked"})
}

async fn subjects(app: &TestApp, token: &str) -> Vec<String> {
    let user = shop::identity::contract::claims_of(token)["sub"].as_str().unwrap().to_owned();
    app.outbox(&user).await.iter().filter_map(|m| m["subject"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn a_returned_lamp_is_approved_received_restocked_and_refunded_with_its_tax() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (support, _) = app.staff(&admin, "Sue", &["support"]).await;
    let (packer, _) = app.staff(&admin, "Pat", &["fulfilment"]).await;
    let (alice, id, lamp, variant) = delivered(&app, &admin).await;
    let returns = format!("/api/orders/{id}/returns");

    // Nothing the order did not buy, nor more than it bought; a stranger's is not found.
    let stranger = app.shopper("Mallory").await.0;
    app.post(&returns, Some(&stranger), asking(&variant, 1)).await.problem(404);
    app.post(&returns, Some(&alice), asking(&lamp, 1)).await.problem(422);
    app.post(&returns, Some(&alice), asking(&variant, 3)).await.problem(409);
    app.post(&returns, Some(&alice), json!({"lines": []})).await.problem(422);

    let asked = app.post(&returns, Some(&alice), asking(&variant, 1)).await.expect(201).body;
    assert_eq!(asked["status"], "requested");
    let rid = asked["id"].as_str().unwrap().to_owned();
    assert_eq!(order(&app, &alice, &id).await["returns"][0]["id"], rid.as_str());
    let queue = app.get("/api/returns", Some(&support)).await.expect(200).body;
    assert_eq!((&queue[0]["order_id"], &queue[0]["id"]), (&json!(id), &json!(rid)));
    app.get("/api/returns", Some(&alice)).await.problem(403);

    // Fulfilment cannot answer it; support cannot receive it; nothing is received before approval.
    let step = |s: &str| format!("{returns}/{rid}/{s}");
    let instructions = json!({"instructions": "Send it to Returns, 1 Dock Rd, Hamburg, with the order number."});
    app.post(&step("approve"), Some(&packer), instructions.clone()).await.problem(403);
    let one = json!({"lines": [{"variant_id": variant, "quantity": 1, "restock": true}]});
    app.post(&step("receive"), Some(&support), one.clone()).await.problem(403);
    app.post(&step("receive"), Some(&packer), one.clone()).await.problem(409);
    let approved = app.post(&step("approve"), Some(&support), instructions).await.expect(200).body;
    assert_eq!(approved["status"], "approved");
    app.post(&step("approve"), Some(&support), json!({"instructions": "again"})).await.problem(409);

    // Received and restocked: the lamp is back on the shelf, and its money goes back.
    let stock = |body: &Value| body["stock"].as_i64().unwrap();
    let before = stock(&app.get(&format!("/api/products/{lamp}"), None).await.body);
    let two = json!({"lines": [{"variant_id": variant, "quantity": 2, "restock": true}]});
    app.post(&step("receive"), Some(&packer), two).await.problem(409);
    app.post(&step("receive"), Some(&packer), one).await.expect(200);
    assert_eq!(stock(&app.get(&format!("/api/products/{lamp}"), None).await.body), before + 1);
    let refunded =
        order_becomes(&app, &alice, &id, "the return refunded", |o| o["returns"][0]["status"] == "refunded").await;
    assert_eq!(refunded["returns"][0]["refunded"], json!({"amount": 1500, "currency": "EUR"}));
    assert_eq!(refunded["payment"]["refunded"], 1500, "one lamp of two: half of 30.00");
    assert_eq!(refunded["status"], "DELIVERED");

    // The shopper heard of every step.
    let heard = eventually(20, "an email for each step", || async {
        let subjects = subjects(&app, &alice).await;
        (subjects.iter().filter(|s| s.contains("eturn")).count() >= 4).then_some(subjects)
    })
    .await;
    for word in ["received your return request", "approved", "arrived", "refunded"] {
        assert!(heard.iter().any(|s| s.contains(word)), "{word}: {heard:?}");
    }

    // The other lamp can still go back; the first cannot go back twice.
    app.post(&returns, Some(&alice), asking(&variant, 2)).await.problem(409);
    let second = app.post(&returns, Some(&alice), asking(&variant, 1)).await.expect(201).body;
    let refused = json!({"reason": "Not damaged in the photos"});
    let path = format!("{returns}/{}/refuse", second["id"].as_str().unwrap());
    assert_eq!(app.post(&path, Some(&support), refused).await.expect(200).body["status"], "refused");
    // A refused return frees its units.
    app.post(&returns, Some(&alice), asking(&variant, 1)).await.expect(201);
}

#[tokio::test]
async fn concurrent_requests_return_each_unit_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, id, _, variant) = delivered(&app, &admin).await;
    let returns = format!("/api/orders/{id}/returns");
    let burst = (0..6).map(|_| app.post(&returns, Some(&alice), asking(&variant, 2)));
    let answers = futures::future::join_all(burst).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(answers.iter().all(|a| [201, 409].contains(&a.status.as_u16())));
    assert_eq!(order(&app, &alice, &id).await["returns"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_delivered_orders_within_the_window_come_back() {
    let app = TestApp::spawn_with(|c| c.return_policy.window_days = 0).await;
    let admin = app.admin().await;
    let (alice, unpaid, _) = unpaid_order(&app, &admin, 5).await;
    let variant = order(&app, &alice, &unpaid).await["lines"][0]["variant_id"].as_str().unwrap().to_owned();
    let refused =
        app.post(&format!("/api/orders/{unpaid}/returns"), Some(&alice), asking(&variant, 1)).await.problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("delivered"), "{}", refused.body);
    let (bob, id, _, variant) = delivered(&app, &admin).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = app.post(&format!("/api/orders/{id}/returns"), Some(&bob), asking(&variant, 1)).await.problem(409);
    assert!(late.body["detail"].as_str().unwrap().contains("days after delivery"), "{}", late.body);
}

#[tokio::test]
async fn where_the_shop_says_so_the_last_return_of_an_order_pays_its_shipping_back() {
    let app = TestApp::spawn_with(|c| c.return_policy.refund_shipping = true).await;
    let admin = app.admin().await;
    crate::checkout::configure(&app, &admin, true, crate::checkout::eu_rates(), crate::checkout::eu_zones()).await;
    let (support, _) = app.staff(&admin, "Sue", &["support"]).await;
    let lamp = app.product(&admin, "Shipped Lamp", "lighting", 1500, 5).await;
    let (alice, _, _) = app.shopper("Alice").await;
    // Two lamps, 30.00 with tax included, and standard shipping to Germany at 4.90.
    let body = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_option": "de-standard",
                      "shipping_address": crate::checkout::address("DE", "10115", None)});
    let placed = app.post("/api/orders", Some(&alice), body).await.expect(201).body;
    let id = placed["id"].as_str().unwrap().to_owned();
    assert_eq!(placed["totals"]["total"], crate::checkout::eur(3490));
    let variant = deliver(&app, &admin, &alice, &id).await;
    let returns = format!("/api/orders/{id}/returns");

    // The first lamp back: its price only, while goods remain with the shopper.
    let back = |rid: &str, step: &str| format!("{returns}/{rid}/{step}");
    let instructions = json!({"instructions": "Send it to Returns, 1 Dock Rd, Hamburg."});
    let one = json!({"lines": [{"variant_id": variant, "quantity": 1, "restock": true}]});
    for (n, refunded) in [(1, 1500), (2, 3490)] {
        let rid = app.post(&returns, Some(&alice), asking(&variant, 1)).await.expect(201).body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(&back(&rid, "approve"), Some(&support), instructions.clone()).await.expect(200);
        app.post(&back(&rid, "receive"), Some(&admin), one.clone()).await.expect(200);
        let done = order_becomes(&app, &alice, &id, "the return refunded", |o| {
            o["returns"].as_array().is_some_and(|r| r.len() == n && r[n - 1]["status"] == "refunded")
        })
        .await;
        // The last one brings the shipping with it: everything paid has gone back.
        assert_eq!(done["payment"]["refunded"], refunded, "after return {n}: {:#}", done["payment"]);
    }
}
