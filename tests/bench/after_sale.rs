//! After the sale: a partner's webhook endpoint hearing of every order during the checkout burst
//! (`partners`), and the abandoned-cart sweep over a table of 100,000 carts (`recovery`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shop::table::{Item, Table, Write};
use shop_embedded::sqlite::SqliteTable;

/// The local stack with a partner's endpoint for `OrderPlaced`, through the same 5 s burst of 16
/// shoppers as the checkouts: checkouts per second with the endpoint, and how long after each
/// order's event its delivery reached the endpoint (p50, p99, max).
pub async fn partners() {
    println!("\n## A partner's webhook under the checkout burst (16 concurrent shoppers, 5 s)");
    let app = shop_tests::TestApp::spawn_with(|c| c.limits = shop_tests::NO_ORDER_LIMITS).await;
    let admin = app.admin().await;
    let product =
        app.post("/api/products", Some(&admin), shop_tests::product_body("Bench Lamp", "bench", 100, 1_000_000));
    let product = product.await.body["id"].as_str().unwrap().to_owned();
    let mut shoppers = Vec::new();
    for i in 0..16 {
        shoppers.push(app.shopper(&format!("Partner{i}")).await.0);
    }

    // The receiver notes, for each delivery, how long after its event it arrived.
    let lags = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let noted = lags.clone();
    let receive = move |body: String| {
        let noted = noted.clone();
        async move {
            let event: Value = serde_json::from_str(&body).unwrap();
            let created = time::OffsetDateTime::parse(
                event["created"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            let lag = (time::OffsetDateTime::now_utc() - created).try_into().unwrap_or_default();
            noted.lock().unwrap().push(lag);
            axum::http::StatusCode::NO_CONTENT
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/hook", axum::routing::post(receive))).await.unwrap()
    });
    app.post("/api/webhooks", Some(&admin), json!({"url": url, "events": ["OrderPlaced"]})).await.expect(201);

    let body =
        json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": shop_tests::shipping_address()});
    let (placed, elapsed) = super::burst(&app, &shoppers, &body).await;
    let waiting = Instant::now();
    while lags.lock().unwrap().len() < placed as usize && waiting.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = waiting.elapsed().as_secs_f64();
    let mut lags = lags.lock().unwrap().clone();
    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| checkouts | per second | delivered | event -> partner p50 | p99 | max | all delivered after the burst |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {placed} | {:.0} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {drained:.2} s |",
        placed as f64 / elapsed,
        lags.len(),
        ms(super::percentile(&lags, 0.5)),
        ms(super::percentile(&lags, 0.99)),
        ms(*lags.last().unwrap()),
    );
}

/// The abandoned-cart sweep on an SQLite table of 100,000 carts (each a header and a line), 1%
/// of them idle long enough (half of those with consent): the requests and time of one run, the
/// items it read, against the table's size. A run reads the idle index's due carts alone.
pub async fn recovery() {
    println!("\n## Abandoned carts: one sweep over a table of 100,000 carts");
    let dir = shop_tests::temp_dir("bench-recovery");
    let table: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.path().join("shop.db")).unwrap());
    let catalog = shop::catalog::Catalog::new(table.clone());
    let product =
        shop_tests::draft("CART-1", "Cart Lamp", "bench", 2500).create(&catalog, shop_tests::stock(1000)).await;
    let users = shop::users::Users::new(table.clone());
    let now = shop::time::Timestamp::now();
    let hours_ago = shop::time::Timestamp::at(*now - time::Duration::hours(5));
    let started = Instant::now();
    let (carts, idle) = (100_000, 1_000);
    for n in 0..carts {
        let user = shop::domain::UserId::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap();
        let since = if n < idle { &hours_ago } else { &now };
        let header =
            Item::new(&shop::keys::cart(&user), &json!({"lines": 1})).with_gsi1(&shop::keys::idle_cart(since, &user));
        let line = json!({"product_id": product.id, "variant_id": product.variants[0].id, "quantity": 1,
                          "added_at": since});
        let line = Item::new(&shop::keys::cart_line(&user, &product.variants[0].id), &line);
        table.transact(vec![Write::put(header), Write::put(line)]).await.unwrap();
        if n < idle {
            let email = shop::domain::Email::parse(&format!("cart{n}@example.com")).unwrap();
            let mut profile =
                shop::users::UserProfile::new(user, email, shop::domain::Name::parse("Shopper").unwrap(), None);
            profile.preferences.marketing = n % 2 == 0;
            users.create(&profile, true).await.unwrap();
        }
    }
    println!(
        "- table filled in {:.1} s: {carts} carts, {idle} idle for 5 h, half of those with consent",
        started.elapsed().as_secs_f64()
    );

    let counting = Arc::new(super::Counting { inner: table.clone(), calls: Default::default() });
    let policy = shop::recovery::RecoveryPolicy::default();
    let sweep = shop::recovery::CartRecovery::new(counting.clone(), policy, "https://shop.example.com/".into());
    println!("| run | carts read | reminded | let go | requests | of which Query | took |");
    println!("|---|---|---|---|---|---|---|");
    for run in 1..=3 {
        counting.calls.lock().unwrap().clear();
        let started = Instant::now();
        let swept = sweep.sweep(shop::time::Timestamp::now(), 500).await.unwrap();
        let took = started.elapsed();
        let calls = counting.calls.lock().unwrap().clone();
        let queries = calls.iter().filter(|c| **c == "Query").count();
        println!(
            "| {run} | {} | {} | {} | {} | {queries} | {:.0} ms |",
            swept.read,
            swept.reminded,
            swept.skipped,
            calls.len(),
            took.as_secs_f64() * 1e3
        );
    }
}
