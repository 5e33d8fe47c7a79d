//! Orders to pay, and waiting for what the providers' webhooks do to them: shared by the
//! payment tests of every provider.

use serde_json::{Value, json};

use crate::{TestApp, eventually, shipping_address};

/// A shopper's unpaid order for two lamps at 15.00 EUR (30.00 in all): (shopper token, order
/// id, lamp product id).
pub async fn unpaid_order(app: &TestApp, admin: &str, stock: i64) -> (String, String, String) {
    let lamp = app.product(admin, "Paid Lamp", "lighting", 1500, stock).await;
    let (shopper, _, _) = app.shopper("Payer").await;
    let body = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_address": shipping_address()});
    let order = app.post("/api/orders", Some(&shopper), body).await.expect(201).body;
    (shopper, order["id"].as_str().unwrap().to_owned(), lamp)
}

/// The order as `token` sees it.
pub async fn order(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/api/orders/{id}"), Some(token)).await.expect(200).body
}

/// Waits until the order is `status`; answers it.
pub async fn status_becomes(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    order_becomes(app, token, id, status, |o| o["status"] == status).await
}

/// Waits until `done` holds of the order (`what` names it for the timeout's message).
pub async fn order_becomes(app: &TestApp, token: &str, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(10, &format!("order {id}: {what}"), || async {
        let order = order(app, token, id).await;
        done(&order).then_some(order)
    })
    .await
}

/// Waits until everything paid for the order went back, every refund confirmed.
pub async fn refunded_in_full(app: &TestApp, token: &str, id: &str) -> Value {
    order_becomes(app, token, id, "refunded in full", |order| {
        let payment = &order["payment"];
        payment["refunded"] == payment["paid"]
            && payment["refunds"]
                .as_array()
                .is_some_and(|r| !r.is_empty() && r.iter().all(|r| r["status"] == "succeeded"))
    })
    .await
}

/// Starts paying the order (its first payment); answers the payment id.
pub async fn checkout(app: &TestApp, shopper: &str, id: &str) -> String {
    let checkout = app.post(&format!("/api/orders/{id}/payment"), Some(shopper), json!({})).await.expect(201).body;
    checkout["payment_id"].as_str().unwrap().to_owned()
}

/// How many times the order's history moved to `status`.
pub fn steps_to(order: &Value, status: &str) -> usize {
    order["history"].as_array().unwrap().iter().filter(|s| s["status"] == status).count()
}
