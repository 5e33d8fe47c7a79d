//! Shared helpers of the cross-service tests: a local stack per test on a free port with its
//! own data directory, a typed HTTP client, and the AWS emulator's configuration.

pub mod paypal;
pub mod twilio;

pub mod paying;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@shop.test";
pub const ADMIN_PASSWORD: &str = "Admin-Password-1";
pub const PASSWORD: &str = "Correct-Horse-42";

/// With `TEST_LOG=1`, the stack's logs (filtered by `RUST_LOG`, default `info`) go to the test's
/// output, which the test harness shows for a failing test; otherwise they are dropped.
pub fn show_logs_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
    });
}

/// A fresh, empty folder under the system's temp directory, removed with all it holds when
/// the value is dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("shop-{tag}-")).tempdir().unwrap()
}

/// A local stack serving on a free port.
pub struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub running: local::Running,
    pub config: local::Config,
    /// The stack's data folder (`config.data_dir`), removed when the app is dropped: declared
    /// last, so the stack stops first.
    _data: tempfile::TempDir,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it is wrong.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {:#}", self.body);
        self
    }

    /// Asserts a problem+json answer with this status.
    #[track_caller]
    pub fn problem(self, status: u16) -> Self {
        let this = self.expect(status);
        assert_eq!(this.header("content-type"), Some("application/problem+json"), "{:#}", this.body);
        assert_eq!(this.body["status"], status);
        assert!(this.body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")));
        assert!(this.body["detail"].is_string());
        this
    }
}

impl TestApp {
    /// A stack with embedded backends, a seeded catalogue and no throttling.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut local::Config)) -> Self {
        show_logs_if_asked();
        let data = temp_dir("app");
        let mut config = local::Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.path().to_owned(),
            admin_email: ADMIN_EMAIL.into(),
            admin_password: Some(ADMIN_PASSWORD.into()),
            rate_limit: 0.0,
            delivery: QUICK_DELIVERY,
            clock: shop::time::Clock::adjustable(),
            // A shop without zones ships for nothing: the journeys that price shipping seed
            // their own (`seed_shipping`).
            seed_shipping: false,
            ..local::Config::default()
        };
        adjust(&mut config);
        let running = local::spawn(config.clone()).await.expect("the local stack starts");
        Self { url: running.url.clone(), http: reqwest::Client::new(), running, config, _data: data }
    }

    /// Sends a request; `token` becomes `Authorization: Bearer`.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        self.send(method, path, token, body, &[]).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the stack answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer { status, headers, body }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    /// The stack's metrics as Prometheus scrapes them (`GET /metrics`, the text format).
    pub async fn metrics(&self) -> String {
        let answer = self.http.get(format!("{}/metrics", self.url)).send().await.expect("the stack answers");
        answer.text().await.expect("a text body")
    }

    /// Registers a shopper with a unique email; answers (email, user id).
    pub async fn register(&self, name: &str) -> (String, String) {
        let email = format!("{}-{}@example.com", name.to_lowercase(), ulid::Ulid::new().to_string().to_lowercase());
        let body = json!({"email": email, "password": PASSWORD, "name": name});
        let answer = self.post("/api/auth/register", None, body).await.expect(202);
        if answer.body["confirmed"] == false {
            let code = self.sent_code(&email, "confirm").await;
            self.post("/api/auth/confirm", None, json!({"email": email, "code": code})).await.expect(204);
        }
        let tokens = self.login(&email, PASSWORD).await;
        let claims = shop::identity::contract::claims_of(tokens["id_token"].as_str().unwrap());
        (email, claims["sub"].as_str().unwrap().to_owned())
    }

    /// The newest code of `kind` (`confirm`, `password_reset`) mailed to `email`, read from the
    /// local mailbox as its owner would; on the emulator, whose Cognito accepts any code it did
    /// not issue, a stand-in.
    pub async fn sent_code(&self, email: &str, kind: &str) -> String {
        if self.config.backend == local::Backend::Aws {
            return "123456".into();
        }
        let subject = if kind == "confirm" { "Confirm your account" } else { "Reset your password" };
        let mailbox = shop_embedded::mailbox::Mailbox::new(self.running.table.clone());
        let mail = eventually(10, "a code in the mailbox", || async {
            let all = mailbox.all().await.unwrap();
            all.into_iter().rev().find(|m| m.to == email && m.subject.as_deref() == Some(subject))
        })
        .await;
        mail.text.split_whitespace().find(|w| w.len() == 6 && w.parse::<u32>().is_ok()).expect("a code").to_owned()
    }

    /// The messages in a user's outbox (codes and notifications), newest first.
    pub async fn outbox(&self, user_id: &str) -> Vec<Value> {
        outbox(&*self.running.table, user_id).await
    }

    /// Logs in; answers the whole token response.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.post("/api/auth/login", None, json!({"email": email, "password": password})).await.expect(200).body
    }

    /// Registers and logs in a shopper; answers (id token, user id, email).
    pub async fn shopper(&self, name: &str) -> (String, String, String) {
        let (email, id) = self.register(name).await;
        let tokens = self.login(&email, PASSWORD).await;
        (tokens["id_token"].as_str().unwrap().to_owned(), id, email)
    }

    /// The administrator's ID token.
    pub async fn admin(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["id_token"].as_str().unwrap().to_owned()
    }

    /// Registers a member of staff whom `admin` gives `roles`; answers (their fresh ID token,
    /// user id).
    pub async fn staff(&self, admin: &str, name: &str, roles: &[&str]) -> (String, String) {
        let (email, id) = self.register(name).await;
        let path = format!("/api/users/{id}/roles");
        let given = self.call(Method::PUT, &path, Some(admin), Some(json!({"roles": roles}))).await.expect(200);
        let mut sorted = roles.to_vec();
        sorted.sort();
        assert_eq!(given.body["roles"], json!(sorted));
        let tokens = self.login(&email, PASSWORD).await;
        (tokens["id_token"].as_str().unwrap().to_owned(), id)
    }

    /// Creates a product ([`product_body`]) with `admin`'s token; answers its id.
    pub async fn product(&self, admin: &str, name: &str, category: &str, price: i64, stock: i64) -> String {
        let created = self.post("/api/products", Some(admin), product_body(name, category, price, stock)).await;
        created.expect(201).body["id"].as_str().unwrap().to_owned()
    }
}

/// The messages in a user's outbox, newest first.
pub async fn outbox(table: &dyn shop::table::Table, user_id: &str) -> Vec<Value> {
    let user = shop::domain::UserId::parse(user_id).unwrap();
    let query = shop::table::Query::partition(shop::keys::user_partition(&user))
        .prefix(shop::keys::NOTIFICATION_PREFIX)
        .descending();
    table.query(&query).await.unwrap().items.into_iter().map(|i| Value::Object(i.0)).collect()
}

/// Waits (up to `seconds`) until `check` answers Some, and answers that; panics naming `what`.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    seconds: u64,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Limits no burst of a test reaches, for tests of many orders by few shoppers (the limits'
/// own tests set small ones).
pub const NO_ORDER_LIMITS: shop::orders::Limits = shop::orders::Limits {
    unpaid_orders: 1_000_000,
    unpaid_units: 1_000_000,
    units_per_product: 1_000_000,
    guest_unpaid_orders: 1_000_000,
    guest_unpaid_units: 1_000_000,
    support_refund: 1_000_000,
};

/// Event delivery quick enough for tests: retries without waiting.
pub const QUICK_DELIVERY: shop_embedded::bus::Delivery = shop_embedded::bus::Delivery {
    max_receives: 5,
    visibility: std::time::Duration::from_secs(30),
    retry_after: std::time::Duration::from_millis(5),
    poll: std::time::Duration::from_millis(20),
};

/// A valid product body with a unique SKU.
pub fn product_body(name: &str, category: &str, amount: i64, stock: i64) -> Value {
    json!({
        "sku": format!("T-{}", ulid::Ulid::new()),
        "name": name,
        "description": "A product made by a test",
        "price": {"amount": amount, "currency": "EUR"},
        "stock": stock,
        "category": category,
        "images": ["https://images.example.com/t.jpg"],
        "attributes": {"colour": "blue"}
    })
}

/// The fields of a product an editor's form sends back with PUT (its own, not its variants').
pub fn edit_form(product: &Value) -> Value {
    let own = ["name", "description", "category", "images", "attributes", "active"];
    Value::Object(own.iter().filter_map(|f| Some((f.to_string(), product.get(*f)?.clone()))).collect())
}

/// Units in stock, for a test.
pub fn stock(units: i64) -> shop::domain::Stock {
    shop::domain::Stock::new(units).unwrap()
}

/// A product sold as one variant, for the repositories.
pub struct Single {
    pub product: shop::catalog::ProductDraft,
    pub variant: shop::catalog::VariantDraft,
}

impl Single {
    /// Adds it to `catalog` with `stock`.
    pub async fn create(self, catalog: &shop::catalog::Catalog, stock: shop::domain::Stock) -> shop::domain::Product {
        let new = shop::catalog::NewProduct {
            product: self.product,
            options: Vec::new(),
            variants: vec![(self.variant, stock)],
        };
        catalog.create(new).await.unwrap()
    }
}

/// A valid product sold as one variant, made for a test.
pub fn draft(sku: &str, name: &str, category: &str, price: i64) -> Single {
    use shop::domain::{CategorySlug, Currency, Description, Money, Name, Sku};
    let product = shop::catalog::ProductDraft {
        name: Name::parse(name).unwrap(),
        description: Description::parse("").unwrap(),
        category: CategorySlug::parse(category).unwrap(),
        images: vec![],
        attributes: Default::default(),
        active: true,
    };
    let variant = shop::catalog::VariantDraft {
        sku: Sku::parse(sku).unwrap(),
        options: Default::default(),
        price: Money::price(price, Currency::EUR).unwrap(),
        weight_grams: 0,
        tax_class: Default::default(),
        images: vec![],
    };
    Single { product, variant }
}

/// The shipping address the tests order to.
pub fn shipping_address() -> shop::domain::Address {
    let address = json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"});
    serde_json::from_value(address).unwrap()
}

/// The AWS emulator the test command started (`SHOP_TEST_AWS_ENDPOINT`). Fails loudly when it
/// is missing: these tests must run, not skip.
pub async fn emulator() -> aws_config::SdkConfig {
    let endpoint = std::env::var("SHOP_TEST_AWS_ENDPOINT")
        .expect("SHOP_TEST_AWS_ENDPOINT is not set: run the tests with ./scripts/test, which starts the AWS emulator");
    shop_aws::defaults()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// Marks an order paid, as a provider's report would, for its whole total (for tests about what
/// follows a payment; the payment journeys pay through the simulated provider).
pub async fn pay(orders: &shop::orders::Orders, id: &shop::domain::OrderId) -> shop::orders::Order {
    use shop::payments::{Payment, Provider};
    let order = orders.get(id).await.unwrap().expect("the order exists");
    let payment = Payment::succeeded(Provider::Stripe, &format!("pi_test_{id}"), 1, order.total);
    orders.transition(id, shop::orders::Transition::Pay(payment), "payments").await.unwrap()
}

/// A table port that lets a test step in between a repository's reads and its transaction, as
/// a concurrent request or DynamoDB would: before the next transactions it commits another
/// request's writes, or it refuses them as a `TransactionConflict`. It counts the requests.
pub struct Interfering {
    inner: std::sync::Arc<dyn shop::table::Table>,
    /// Writes committed just before each of the next transactions, in order.
    interference: std::sync::Mutex<std::collections::VecDeque<Vec<shop::table::Write>>>,
    conflicts: std::sync::atomic::AtomicUsize,
    /// Transactions the repository asked for, refused ones included.
    pub transactions: std::sync::atomic::AtomicUsize,
    /// Reads (get, batch get, query) and single writes (put, delete, update) asked for.
    pub reads: std::sync::atomic::AtomicUsize,
    pub writes: std::sync::atomic::AtomicUsize,
}

impl Interfering {
    pub fn new(inner: std::sync::Arc<dyn shop::table::Table>) -> Self {
        Self {
            inner,
            interference: Default::default(),
            conflicts: Default::default(),
            transactions: Default::default(),
            reads: Default::default(),
            writes: Default::default(),
        }
    }

    /// Commits `writes` just before the next transaction that is not yet interfered with.
    pub fn before_next_transaction(&self, writes: Vec<shop::table::Write>) {
        self.interference.lock().unwrap().push_back(writes);
    }

    /// (reads, single writes, transactions) asked for so far.
    pub fn requests(&self) -> (usize, usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.reads.load(SeqCst), self.writes.load(SeqCst), self.transactions.load(SeqCst))
    }

    fn count(counter: &std::sync::atomic::AtomicUsize) {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Refuses the next `n` transactions as DynamoDB does when another one holds the items.
    pub fn conflict_next(&self, n: usize) {
        self.conflicts.store(n, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl shop::table::Table for Interfering {
    async fn get(&self, key: &shop::table::Key) -> anyhow::Result<Option<shop::table::Item>> {
        Self::count(&self.reads);
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[shop::table::Key]) -> anyhow::Result<Vec<shop::table::Item>> {
        Self::count(&self.reads);
        self.inner.batch_get(keys).await
    }

    async fn query(&self, query: &shop::table::Query) -> anyhow::Result<shop::table::QueryPage> {
        Self::count(&self.reads);
        self.inner.query(query).await
    }

    async fn write(&self, write: shop::table::Write) -> Result<(), shop::table::WriteError> {
        Self::count(&self.writes);
        self.inner.write(write).await
    }

    async fn transact(&self, writes: Vec<shop::table::Write>) -> Result<(), shop::table::WriteError> {
        use std::sync::atomic::Ordering;
        Self::count(&self.transactions);
        let refuse = self.conflicts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if refuse {
            return Err(shop::table::WriteError::Conflict);
        }
        let interference = self.interference.lock().unwrap().pop_front();
        if let Some(other) = interference {
            self.inner.transact(other).await.expect("the interfering writes commit");
        }
        self.inner.transact(writes).await
    }

    async fn update(
        &self,
        key: &shop::table::Key,
        update: shop::table::Update,
        condition: Option<shop::table::Condition>,
    ) -> Result<shop::table::Item, shop::table::WriteError> {
        Self::count(&self.writes);
        self.inner.update(key, update, condition).await
    }
}

/// 50 concurrent checkouts, each by its own customer of its own product, with a code limited to
/// 10 uses: exactly 10 orders get the discount and 40 are refused, whatever the backend; a
/// cancelled order gives its use back. Answers nothing: it asserts.
pub async fn fifty_checkouts_share_ten_uses(table: std::sync::Arc<dyn shop::table::Table>) {
    use shop::orders::{CancelReason, CheckoutRequest, OrderError, Orders, Transition, Wanted};
    use shop::pricing::{Pricing, QuoteError};
    use shop::promotions::{PromoCode, PromotionError};
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let code = PromoCode::parse(&format!("TEN{}", &suffix[16..])).unwrap();
    let promotion = json!({"id": format!("ten-{suffix}"), "name": "10 % for ten orders", "code": code,
        "discount": {"type": "percentage", "percent": "10"}, "applies_to": {"type": "order"},
        "usage_limit": 10, "active": true});
    let pricing = Pricing::new(table.clone());
    pricing.put_promotion(serde_json::from_value(promotion).unwrap(), None).await.unwrap();
    let catalog = shop::catalog::Catalog::new(table.clone());
    let orders = Orders::new(table.clone());
    let mut requests = Vec::new();
    for i in 0..50 {
        let sku = format!("PROMO-{suffix}-{i}");
        let product = draft(&sku, "Lamp", "lighting", 1000).create(&catalog, stock(5)).await;
        requests.push(CheckoutRequest {
            guest_email: None,
            user: shop::domain::UserId::random(),
            items: Some(vec![Wanted::of(product.id, shop::domain::Quantity::new(1).unwrap())]),
            ship_to: shipping_address().into(),
            shipping_option: None,
            promotion_code: Some(code.clone()),
            idempotency: None,
        });
    }
    let results = futures::future::join_all(requests.iter().map(|r| orders.checkout(r.clone()))).await;
    let placed: Vec<shop::orders::Order> =
        results.iter().filter_map(|r| r.as_ref().ok()).map(|c| c.order.clone()).collect();
    let used_up = results
        .iter()
        .filter(|r| matches!(r, Err(OrderError::Pricing(QuoteError::Promotion(PromotionError::UsedUp(_))))))
        .count();
    let others: Vec<String> = results.iter().filter_map(|r| r.as_ref().err()).map(ToString::to_string).collect();
    assert_eq!((placed.len(), used_up), (10, 40), "{others:?}");
    assert!(placed.iter().all(|o| o.promotions.len() == 1 && o.total.amount == 900), "10 % off each");
    let promotions = pricing.promotions().await.unwrap();
    let id = format!("ten-{suffix}");
    let uses = || async { pricing.uses(&promotions).await.unwrap()[&id] };
    assert_eq!(uses().await, 10);

    // A cancelled order gives its use back, and the next checkout gets it.
    let first = &placed[0];
    orders.transition(&first.id, Transition::Cancel(CancelReason::Shopper), first.user_id.as_str()).await.unwrap();
    assert_eq!(uses().await, 9);
    let refused = requests.iter().position(|r| !placed.iter().any(|o| o.user_id == r.user)).unwrap();
    let again = orders.checkout(requests[refused].clone()).await.unwrap();
    assert_eq!(again.order.promotions[0].amount.amount, 100);
    assert_eq!(uses().await, 10);
}

/// `n` orders paid at once each take one invoice number of the year's sequence: `n` numbers in
/// a row, none twice, none skipped, whatever the backend.
pub async fn payments_take_a_gapless_run(table: std::sync::Arc<dyn shop::table::Table>, n: i64) {
    use shop::orders::{CheckoutRequest, Orders, Wanted};
    let catalog = shop::catalog::Catalog::new(table.clone());
    let orders = Orders::new(table.clone()).with_limits(NO_ORDER_LIMITS);
    let suffix = ulid::Ulid::new().to_string();
    let product = draft(&format!("INV-{suffix}"), "Lamp", "lighting", 1000).create(&catalog, stock(50)).await;
    let mut ids = Vec::new();
    for _ in 0..n {
        let request = CheckoutRequest {
            guest_email: None,
            user: shop::domain::UserId::random(),
            items: Some(vec![Wanted::of(product.id, shop::domain::Quantity::new(1).unwrap())]),
            ship_to: shipping_address().into(),
            shipping_option: None,
            promotion_code: None,
            idempotency: None,
        };
        ids.push(orders.checkout(request).await.unwrap().order.id);
    }
    let paid = futures::future::join_all(ids.iter().map(|id| pay(&orders, id))).await;
    let mut numbers: Vec<i64> = paid
        .iter()
        .map(|o| {
            o.invoice.as_ref().expect("a paid order's invoice").number.rsplit('-').next().unwrap().parse().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    let first = numbers[0];
    assert_eq!(numbers, (first..first + n).collect::<Vec<_>>(), "a gapless run");
}
