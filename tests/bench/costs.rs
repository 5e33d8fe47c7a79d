//! What one order costs the shop in AWS requests (`costs`): shoppers browse, search, fill a
//! cart, order and pay on the local stack (and, apart, visit without buying), whose table counts the DynamoDB request units each
//! request of the services and consumers would use (`local::metering`), while its metrics
//! count the API's requests and the queues' deliveries. The counts per order go to
//! `target/bench/costs.json`, which `scripts/cost_model.py` prices.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

/// Shoppers at once, and the orders each places one after the other.
const SHOPPERS: usize = 8;
const ORDERS_EACH: usize = 5;

/// One shopper's way to a paid order, as the storefront makes it: a visit, the product into the
/// cart, the cart, the order from it, its payment (the card confirmed with the provider, whose
/// webhook tells the shop), and the order until it shows paid.
async fn order(app: &shop_tests::TestApp, token: &str, products: &[String]) {
    visit(app, token, products).await;
    let item = format!("/api/cart/items/{}", products[0]);
    app.call(reqwest::Method::PUT, &item, Some(token), Some(json!({"quantity": 1}))).await.expect(200);
    app.get("/api/cart", Some(token)).await.expect(200);
    let body = json!({"shipping_address": shop_tests::shipping_address()});
    let order = app.post("/api/orders", Some(token), body).await.expect(201).body;
    let id = order["id"].as_str().unwrap();
    let payment = app.post(&format!("/api/orders/{id}/payment"), Some(token), json!({})).await.expect(201).body;
    let payment = payment["payment_id"].as_str().unwrap();
    let card = json!({"card": "4242424242424242"});
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, card).await.expect(200);
    shop_tests::paying::status_becomes(app, token, id, "PAID").await;
}

/// A visit that buys nothing: the catalogue's first page, a search and three product pages.
async fn visit(app: &shop_tests::TestApp, token: &str, products: &[String]) {
    app.get("/api/products?limit=20", Some(token)).await.expect(200);
    app.get("/api/search?q=lamp", Some(token)).await.expect(200);
    for product in products.iter().take(3) {
        app.get(&format!("/api/products/{product}"), Some(token)).await.expect(200);
    }
}

/// Every shopper at once, each placing [`ORDERS_EACH`] orders, or visiting as often without one.
async fn journeys(app: &shop_tests::TestApp, shoppers: &[String], products: &[String], ordering: bool) {
    futures::future::join_all(shoppers.iter().map(|token| async move {
        for _ in 0..ORDERS_EACH {
            match ordering {
                true => order(app, token, products).await,
                false => visit(app, token, products).await,
            }
        }
    }))
    .await;
}

/// The counters of the metric `name` in the stack's `/metrics`, by the value of `label`.
async fn counters(app: &shop_tests::TestApp, name: &str, label: &str) -> BTreeMap<String, f64> {
    let text = app.metrics().await;
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with(&format!("{name}{{"))) {
        let (labels, value) = line.rsplit_once(' ').unwrap();
        let key = format!("{label}=\"");
        let Some(at) = labels.find(&key) else { continue };
        let value_of_label = labels[at + key.len()..].split('"').next().unwrap().to_owned();
        *counts.entry(value_of_label).or_default() += value.parse::<f64>().unwrap();
    }
    counts
}

/// The emails in the local mailbox.
async fn mailbox(app: &shop_tests::TestApp) -> usize {
    let mailbox = app.get("/_local/mailbox.json", None).await.expect(200).body;
    mailbox.as_array().unwrap().iter().filter(|m| m["channel"] == "email").count()
}

fn difference(after: BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .into_iter()
        .map(|(k, v)| (k.clone(), v - before.get(&k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// Runs `work` (`n` journeys) and answers what one journey used: the API's requests by route,
/// the queues' deliveries, DynamoDB's request units by operation, the items written by kind
/// of partition (each a stream record; `EVENT` ones are the domain events) and the emails.
async fn measured(
    app: &shop_tests::TestApp,
    meter: &local::metering::Meter,
    n: usize,
    work: impl std::future::Future<Output = ()>,
) -> serde_json::Value {
    let (requests, deliveries, emails) = (
        counters(app, "shop_http_requests_total", "route").await,
        counters(app, "shop_events_consumed_total", "queue").await,
        mailbox(app).await,
    );
    meter.reset();
    work.await;
    // The consumers are done once their counts stop moving.
    let mut settled = BTreeMap::new();
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = counters(app, "shop_events_consumed_total", "queue").await;
        if now == settled {
            break;
        }
        settled = now;
    }
    let each = |count: f64| count / n as f64;
    let per_journey =
        |counts: BTreeMap<String, f64>| counts.into_iter().map(|(k, v)| (k, each(v))).collect::<BTreeMap<_, _>>();
    let operations: BTreeMap<_, _> = meter
        .used()
        .into_iter()
        .map(|(operation, used)| {
            let units = json!({"requests": each(used.requests as f64), "read_units": each(used.read_units),
                               "write_units": each(used.write_units)});
            (operation.to_owned(), units)
        })
        .collect();
    json!({
        "journeys": n,
        "api_requests": per_journey(difference(counters(app, "shop_http_requests_total", "route").await, &requests)),
        "queue_deliveries": per_journey(difference(settled, &deliveries)),
        "dynamodb": operations,
        "items_written": per_journey(meter.written().into_iter().map(|(k, v)| (k, v as f64)).collect()),
        "emails": each((mailbox(app).await - emails) as f64),
    })
}

/// One row of the summary: totals per journey.
fn summary(label: &str, counts: &serde_json::Value) {
    let total = |field: &str| {
        counts[field].as_object().map_or(0.0, |m| m.values().filter_map(|v| v.as_f64()).sum::<f64>().max(0.0))
    };
    let dynamodb = |field: &str| {
        counts["dynamodb"].as_object().map_or(0.0, |m| m.values().filter_map(|v| v[field].as_f64()).sum::<f64>())
    };
    println!(
        "| {label} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        total("api_requests"),
        dynamodb("requests"),
        dynamodb("read_units"),
        dynamodb("write_units"),
        counts["items_written"]["EVENT"].as_f64().unwrap_or(0.0),
        total("queue_deliveries"),
        counts["emails"].as_f64().unwrap_or(0.0),
    );
}

pub async fn costs() {
    let orders = SHOPPERS * ORDERS_EACH;
    println!("\n## What an order and a visit cost in requests ({orders} of each by {SHOPPERS} shoppers, local stack)");
    let meter = Arc::new(local::metering::Meter::default());
    let metered = meter.clone();
    let app = shop_tests::TestApp::spawn_with(move |c| {
        c.limits = shop_tests::NO_ORDER_LIMITS;
        c.metrics = true;
        c.meter = Some(metered);
    })
    .await;
    let admin = app.admin().await;
    let mut products = Vec::new();
    for name in ["Desk Lamp", "Floor Lamp", "Reading Lamp"] {
        products.push(app.product(&admin, name, "lighting", 2_500, 1_000).await);
    }
    let mut shoppers = Vec::new();
    for i in 0..SHOPPERS {
        shoppers.push(app.shopper(&format!("Cost{i}")).await.0);
    }
    // Everything the set-up started settles before the counts begin.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let order = measured(&app, &meter, orders, journeys(&app, &shoppers, &products, true)).await;
    let visit = measured(&app, &meter, orders, journeys(&app, &shoppers, &products, false)).await;
    let elapsed = started.elapsed().as_secs_f64();

    let report = json!({"order": order, "visit": visit});
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench/costs.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!(
        "| per journey ({elapsed:.1} s in all) | API requests | DynamoDB requests | read units | write units | events | queue deliveries | emails |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    summary("an order: browse, cart, order, pay", &order);
    summary("a visit: browse only", &visit);
    println!("Per journey, by route, operation and queue: target/bench/costs.json (priced by scripts/cost_model.py)");
}
