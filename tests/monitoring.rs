//! Monitoring against a real Prometheus (Debian's `prometheus`, which `./scripts/test` installs;
//! `SHOP_PROMETHEUS` names another binary, with `promtool` beside it): it scrapes a local stack
//! through two rounds of shopping, then every panel query of `monitoring/dashboard.json` must
//! parse and return data, the alert rules must load with none firing, `promtool check metrics`
//! must find nothing to say of `/metrics`, and no label may carry an id or an address.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use shop_tests::paying::{checkout, status_becomes};
use shop_tests::{TestApp, eventually, shipping_address};

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring")
}

fn prometheus_binary() -> String {
    std::env::var("SHOP_PROMETHEUS").unwrap_or_else(|_| "prometheus".into())
}

/// `promtool`, beside the Prometheus binary in use.
fn promtool() -> PathBuf {
    let prometheus = PathBuf::from(prometheus_binary());
    match prometheus.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("promtool"),
        _ => PathBuf::from("promtool"),
    }
}

/// A Prometheus of its own, scraping `target` every second with the project's alert rules.
struct Prometheus {
    child: Child,
    url: String,
    http: reqwest::Client,
    /// Its configuration and data, removed after it stopped (declared last).
    _dir: tempfile::TempDir,
}

impl Prometheus {
    async fn start(target: std::net::SocketAddr) -> Self {
        let dir = shop_tests::temp_dir("prometheus");
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [{rules:?}]\n\
             scrape_configs:\n  - job_name: shop\n    static_configs: [{{targets: [\"{target}\"]}}]\n",
            rules = monitoring().join("alerts.yml").canonicalize().unwrap().display().to_string(),
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(prometheus_binary())
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {}: {e} (./scripts/test installs Debian's prometheus)", prometheus_binary())
            });
        let prometheus =
            Self { child, url: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new(), _dir: dir };
        eventually(30, "Prometheus to be ready", || async {
            let ready = prometheus.http.get(format!("{}/-/ready", prometheus.url)).send().await.ok()?;
            ready.status().is_success().then_some(())
        })
        .await;
        prometheus
    }

    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let answer = self.http.get(format!("{}/api/v1/{path}", self.url)).query(query).send().await.unwrap();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
        body["data"].clone()
    }

    /// The instant vector `expr` evaluates to now.
    async fn query(&self, expr: &str) -> Vec<Value> {
        self.api("query", &[("query", expr)]).await["result"].as_array().unwrap().clone()
    }

    /// Waits until Prometheus has scraped `shop_orders_placed_total` at `orders` or more.
    async fn scraped_orders(&self, orders: u32) {
        eventually(30, &format!("Prometheus to scrape {orders} orders"), || async {
            let found = self.query("sum(shop_orders_placed_total)").await;
            let value = found.first()?["value"][1].as_str()?.parse::<f64>().ok()?;
            (value >= f64::from(orders)).then_some(())
        })
        .await;
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// One round of shopping: a product sold out by one order, paid by card (its webhook applied),
/// a second order cancelled by its shopper, a page that does not exist; then the messages the
/// orders send are delivered.
async fn shop_once(app: &TestApp, admin: &str) {
    let lamp = app.product(admin, "Last Lamp", "lighting", 1500, 2).await;
    let (shopper, user_id, _) = app.shopper("Watcher").await;
    let lines = |quantity: u32| json!({"items": [{"product_id": lamp, "quantity": quantity}], "shipping_address": shipping_address()});
    let sold_out = app.post("/api/orders", Some(&shopper), lines(2)).await.expect(201).body;
    let paid = sold_out["id"].as_str().unwrap();
    let payment = checkout(app, &shopper, paid).await;
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, json!({"card": "4242424242424242"}))
        .await
        .expect(200);
    status_becomes(app, &shopper, paid, "PAID").await;
    let restocked =
        app.post(&format!("/api/products/{lamp}/stock"), Some(admin), json!({"delta": 1, "reason": "found one"})).await;
    restocked.expect(200);
    let cancelled = app.post("/api/orders", Some(&shopper), lines(1)).await.expect(201).body;
    let cancelled = cancelled["id"].as_str().unwrap();
    app.post(&format!("/api/orders/{cancelled}/cancel"), Some(&shopper), json!({})).await.expect(200);
    app.get("/api/products/01J00000000000000000000000", None).await.problem(404);
    eventually(10, "the order messages to be sent", || async {
        let sent = shop_tests::outbox(&*app.running.table, &user_id).await;
        let all_sent = sent.len() >= 3 && sent.iter().all(|m| m["status"] == "sent" || m["status"] == "suppressed");
        all_sent.then_some(())
    })
    .await;
}

#[tokio::test]
async fn dashboards_and_alerts_work_on_a_real_prometheus() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let prometheus = Prometheus::start(app.running.addr).await;
    eventually(30, "the first scrape", || async {
        let up = prometheus.query("up{job=\"shop\"} == 1").await;
        (!up.is_empty()).then_some(())
    })
    .await;

    // Two rounds, each scraped, so that rates and increases have moved between samples.
    shop_once(&app, &admin).await;
    prometheus.scraped_orders(2).await;
    shop_once(&app, &admin).await;
    prometheus.scraped_orders(4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Every panel's query parses and returns data, and some of it is a number.
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(monitoring().join("dashboard.json")).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10, "the dashboard shows requests, business and asynchronous health");
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let result = prometheus.query(expr).await;
            assert!(!result.is_empty(), "panel {:?}: {expr} returned nothing", panel["title"]);
            let numbers = result.iter().filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok());
            assert!(
                numbers.filter(|v| v.is_finite()).count() > 0,
                "panel {:?}: {expr} gave {result:?}",
                panel["title"]
            );
        }
    }

    // The business figures are those of the journeys.
    let value = |result: Vec<Value>| result[0]["value"][1].as_str().unwrap().parse::<f64>().unwrap();
    assert_eq!(value(prometheus.query("sum(shop_orders_placed_total)").await), 4.0);
    // Each round sells its lamp out twice: the first order, then the restocked unit.
    assert_eq!(value(prometheus.query("sum(shop_stock_outs_total)").await), 4.0);
    assert_eq!(value(prometheus.query("sum(shop_payments_total{outcome=\"succeeded\"})").await), 2.0);
    assert_eq!(value(prometheus.query("sum(shop_cancellations_total{cause=\"shopper\"})").await), 2.0);
    assert_eq!(value(prometheus.query("sum(shop_webhook_events_total{outcome=\"applied\"})").await), 2.0);
    let not_found = "sum(shop_http_requests_total{route=\"/api/products/{id}\",method=\"GET\",class=\"4xx\"})";
    assert_eq!(value(prometheus.query(not_found).await), 2.0);

    // The rules loaded, and a healthy journey fires none of them.
    let rules = prometheus.api("rules", &[]).await;
    let rules: Vec<&Value> =
        rules["groups"].as_array().unwrap().iter().flat_map(|g| g["rules"].as_array().unwrap()).collect();
    assert_eq!(rules.len(), 5);
    assert!(rules.iter().all(|r| r["health"] == "ok"), "{rules:?}");
    let alerts = prometheus.api("alerts", &[]).await;
    assert_eq!(alerts["alerts"], json!([]), "nothing fires");

    // What Prometheus scraped is well-formed, and its labels name no one.
    let text = app.metrics().await;
    let mut check = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let checked = check.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));
    assert!(checked.status.success() && said.trim().is_empty(), "promtool check metrics: {said}");
    let routes: Vec<String> = app.running.stack_routes.iter().map(|r| r.path.clone()).collect();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(labels) = line.split_once('{').and_then(|(_, rest)| rest.rsplit_once('}')).map(|(l, _)| l) else {
            continue;
        };
        for pair in labels.split("\",") {
            let (name, value) = pair.split_once("=\"").unwrap();
            let value = value.trim_end_matches('"');
            assert!(!value.contains('@'), "{line}");
            assert!(
                !value.chars().any(|c| c.is_ascii_digit()) || name == "le" || name == "quantile" || name == "class",
                "{name}={value}: a label that could carry an id ({line})"
            );
            if name == "route" {
                assert!(routes.contains(&value.to_owned()), "{value} is not a route template");
            }
        }
    }
}
