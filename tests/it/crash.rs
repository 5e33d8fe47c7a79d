//! The local stack killed with SIGKILL in the middle of a checkout burst, then started again on
//! the same data: every committed order's OrderPlaced event reaches each consumer's effect
//! exactly once, and no stock is lost or invented.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use shop::domain::ProductId;
use shop::table::{Query, Table};
use shop_embedded::bus::{Bus, Delivery};
use shop_embedded::sqlite::SqliteTable;
use shop_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, eventually, outbox, product_body, shipping_address};
use tokio::process::{Child, Command};

const STOCK: i64 = 20_000;

struct Stack {
    url: String,
    addr: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Stack {
    async fn start(&self) -> Child {
        let child = Command::new(env!("CARGO_BIN_EXE_shop-stack"))
            .env("SHOP_ADDR", &self.addr)
            .env("SHOP_DATA_DIR", self.dir.path())
            .env("SHOP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("SHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SHOP_RATE_LIMIT", "0")
            .env("SHOP_SEED", "false")
            // The burst is few shoppers placing many orders each.
            .env("ORDER_MAX_UNPAID", "1000000")
            .env("ORDER_MAX_UNPAID_UNITS", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the stack binary starts");
        let health = format!("{}/health", self.url);
        eventually(60, "the stack to answer", || async { self.http.get(&health).send().await.ok() }).await;
        child
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Result<(u16, Value)> {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn token(&self, email: &str, password: &str) -> String {
        let (_, tokens) =
            self.post("/api/auth/login", None, json!({"email": email, "password": password})).await.unwrap();
        tokens["id_token"].as_str().expect("a token").to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_stack_loses_no_event_and_applies_none_twice() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stack = Stack {
        url: format!("http://127.0.0.1:{port}"),
        addr: format!("127.0.0.1:{port}"),
        dir: shop_tests::temp_dir("crash"),
        http: reqwest::Client::new(),
    };
    let mut child = stack.start().await;
    let admin = stack.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, product) =
        stack.post("/api/products", Some(&admin), product_body("Crash Lamp", "lighting", 900, STOCK)).await.unwrap();
    assert_eq!(status, 201, "{product}");
    let product_id = product["id"].as_str().unwrap().to_owned();
    let mut shoppers = Vec::new();
    for n in 0..6 {
        let email = format!("crash-{n}-{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
        let (status, _) = stack
            .post("/api/auth/register", None, json!({"email": email, "password": PASSWORD, "name": "Crash"}))
            .await
            .unwrap();
        assert_eq!(status, 202);
        shoppers.push(stack.token(&email, PASSWORD).await);
    }

    // The burst: every shopper checks out again and again until the stack dies under them.
    let committed = Arc::new(Mutex::new(Vec::<String>::new()));
    let cut_off = Arc::new(Mutex::new(0));
    let stack = Arc::new(stack);
    let mut burst = tokio::task::JoinSet::new();
    for (n, token) in shoppers.into_iter().enumerate() {
        let (stack, committed, cut_off, product_id) =
            (stack.clone(), committed.clone(), cut_off.clone(), product_id.clone());
        burst.spawn(async move {
            let address = serde_json::to_value(shipping_address()).unwrap();
            for i in 0.. {
                let items = json!({"items": [{"product_id": product_id, "quantity": 1 + (n + i) % 3}], "shipping_address": address});
                match stack.post("/api/orders", Some(&token), items).await {
                    Ok((201, order)) => committed.lock().unwrap().push(order["id"].as_str().unwrap().to_owned()),
                    Ok((status, body)) => panic!("checkout answered {status}: {body}"),
                    Err(_) => {
                        *cut_off.lock().unwrap() += 1;
                        return;
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    // A shopper that met an answer other than 201 or a cut connection fails the test here.
    while let Some(shopper) = burst.join_next().await {
        if let Err(e) = shopper {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let answered = committed.lock().unwrap().clone();
    assert!(!answered.is_empty(), "orders were placed before the kill");
    println!("{} orders answered before the kill; {} requests cut off", answered.len(), cut_off.lock().unwrap());

    let table = Arc::new(SqliteTable::open(&stack.dir.path().join("shop.db")).unwrap());
    let product = ProductId::parse(&product_id).unwrap();
    let sales = shop::sales::Sales::new(table.clone());
    let at_kill = sales.of(&product).await.unwrap();
    let on_the_bus = Bus::open(&stack.dir.path().join("bus.db"), Delivery::default()).unwrap().pending().unwrap();
    let _child = stack.start().await;

    // What the table holds is what was committed: some orders may have committed without their
    // answer reaching the client.
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let query = Query::partition(shop::keys::ORDERS_PARTITION).limit(500).after(after);
        let page = table.query(&query).await.unwrap();
        rows.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let orders: Vec<shop::orders::Order> = shop::table::follow(&*table, &rows, "order_id", |id| {
        shop::domain::OrderId::parse(id).ok().map(|id| shop::keys::order(&id))
    })
    .await
    .unwrap();
    let ids: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
    assert!(answered.iter().all(|id| ids.contains(id)), "every answered order is in the table");
    let units: i64 = orders.iter().flat_map(|o| &o.lines).map(|l| i64::from(l.quantity.get())).sum();
    let stock = table.get(&shop::keys::product(&product)).await.unwrap().unwrap().int("stock").unwrap();
    assert_eq!(STOCK - stock, units, "stock taken == units ordered: none leaked");

    // Each consumer applies each OrderPlaced exactly once: the sales counters equal the orders
    // (a double application would count twice), and each order has one notification.
    let expected = shop::sales::ProductSales { units, orders: orders.len() as i64 };
    let counted = eventually(30, "the sales consumer to catch up", || async {
        let now = sales.of(&product).await.unwrap();
        (now == expected).then_some(now)
    })
    .await;
    assert_eq!(counted, expected);
    println!(
        "{} orders committed; {} of them counted before the kill, the rest after the restart; \
         {on_the_bus} messages were on the bus at the kill",
        expected.orders, at_kill.orders
    );
    assert!(
        at_kill.orders < expected.orders || on_the_bus > 0,
        "the kill left events to deliver after the restart (on some queue, if not the sales one)"
    );
    let users: std::collections::BTreeSet<String> = orders.iter().map(|o| o.user_id.to_string()).collect();
    let notes = eventually(30, "every order's notification", || async {
        let mut notes: HashMap<String, usize> = HashMap::new();
        for user in &users {
            for note in outbox(&*table, user).await {
                if note["kind"] == "OrderPlaced" {
                    *notes.entry(note["order_id"].as_str().unwrap().to_owned()).or_default() += 1;
                }
            }
        }
        (notes.len() == orders.len()).then_some(notes)
    })
    .await;
    assert!(notes.values().all(|&n| n == 1), "one notification per order: {notes:?}");
    let bus = Bus::open(&stack.dir.path().join("bus.db"), Delivery::default()).unwrap();
    assert_eq!(bus.dead_letters(None).unwrap(), vec![], "nothing gave up");
    // Settled: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sales.of(&product).await.unwrap(), expected);
}
