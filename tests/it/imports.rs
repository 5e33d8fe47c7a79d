//! The catalogue as CSV over HTTP and on the command line: an export imported into an empty
//! shop exports the same file; 10,000 rows with 20 bad ones apply all but those, naming each;
//! a second import updates and never duplicates; and the object stores that keep the files.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use shop::imports::COLUMNS;
use shop::objects::{Object, ObjectStore};
use shop_embedded::objects::LocalObjects;
use shop_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, eventually};

async fn export(app: &TestApp, admin: &str) -> String {
    let response = app.http.get(format!("{}/api/products/export", app.url)).bearer_auth(admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    response.text().await.unwrap()
}

/// Posts `csv` as an import and waits until it is done; answers its record.
async fn import(app: &TestApp, admin: &str, csv: String) -> Value {
    let response = app
        .http
        .post(format!("{}/api/products/import", app.url))
        .bearer_auth(admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let started: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/products/imports/{}", started["id"].as_str().unwrap()));
    eventually(120, "the import to end", || async {
        let status = app.get(&location, Some(admin)).await.expect(200).body;
        (status["state"] != "pending" && status["state"] != "running").then_some(status)
    })
    .await
}

#[tokio::test]
async fn an_export_imported_into_an_empty_shop_exports_the_same_file() {
    let shop = TestApp::spawn().await;
    let admin = shop.admin().await;
    let (alice, _, _) = shop.shopper("Alice").await;
    let file = export(&shop, &admin).await;
    assert_eq!(file.lines().count(), 1 + 40 + 3 * 7 + 6, "a header and a row per variant of the demo catalogue");
    assert!(file.starts_with("handle,name,description,category,active,attributes,product_images,option1_name"));
    let path = "/api/products/export";
    shop.get(path, Some(&alice)).await.problem(403);
    shop.get(path, None).await.problem(401);

    let empty = TestApp::spawn_with(|c| c.seed_catalogue = false).await;
    let admin = empty.admin().await;
    let status = import(&empty, &admin, file.clone()).await;
    assert_eq!((status["state"].as_str(), status["rows_refused"].as_u64()), (Some("done"), Some(0)), "{status:#}");
    assert_eq!(status["products_created"], 48);
    assert_eq!(export(&empty, &admin).await, file, "the same catalogue");
    let apparel = empty.get("/api/products?category=apparel", None).await.body;
    let tee = apparel.as_array().unwrap().iter().find(|p| p["name"] == "Organic Cotton T-Shirt").unwrap();
    let options: Vec<&str> = tee["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!((options, tee["variants"].as_array().unwrap().len()), (vec!["Size", "Colour"], 6), "options come back");

    // Again, renamed and with other stock figures: matched by SKU, updated, never duplicated;
    // the stock stays (it moves only through its routes). No field of the demo holds a comma.
    let stock =
        |products: &Value| products.as_array().unwrap().iter().map(|p| p["stock"].as_u64().unwrap()).sum::<u64>();
    let before = stock(&empty.get("/api/products?limit=100", None).await.body);
    let stock_column = COLUMNS.iter().position(|c| *c == "stock").unwrap();
    let edited: Vec<String> = file
        .replace("Organic Cotton T-Shirt", "Organic Tee")
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut fields: Vec<&str> = line.split(',').collect();
            if i > 0 {
                fields[stock_column] = "999";
            }
            fields.join(",")
        })
        .collect();
    let again = import(&empty, &admin, edited.join("\n")).await;
    assert_eq!((again["products_created"].as_u64(), again["products_updated"].as_u64()), (Some(0), Some(48)));
    let all = empty.get("/api/products?limit=100", None).await.body;
    assert_eq!(all.as_array().unwrap().len(), 48);
    assert!(all.as_array().unwrap().iter().any(|p| p["name"] == "Organic Tee"));
    assert_eq!(stock(&all), before);
}

/// `products` rows of one-variant products (`n` of them bad: a price with too many decimals),
/// and three-variant products to make up `rows`.
fn generated(rows: usize, bad: &[usize]) -> String {
    let mut csv =
        String::from("handle,name,category,option1_name,option1_value,sku,price,currency,stock,weight_grams\n");
    let mut written = 0;
    let mut n = 0;
    while written < rows {
        n += 1;
        if written + 3 <= rows && n % 2 == 0 {
            for size in ["S", "M", "L"] {
                csv.push_str(&format!("tee-{n},Tee {n},apparel,Size,{size},GEN-{n}-{size},19.90,EUR,5,180\n"));
            }
            written += 3;
        } else {
            let price = if bad.contains(&written) { "12.345" } else { "12.50" };
            csv.push_str(&format!("lamp-{n},\"Lamp, no. {n}\",lamps,,,GEN-{n},{price},EUR,2,900\n"));
            written += 1;
        }
    }
    csv
}

#[tokio::test]
async fn ten_thousand_rows_with_twenty_bad_ones_apply_all_but_those() {
    let app = TestApp::spawn_with(|c| c.seed_catalogue = false).await;
    let admin = app.admin().await;
    // The bad rows are one-variant products' rows: row i of the file is line i + 2.
    let csv = generated(10_000, &[]);
    let singles: Vec<usize> =
        csv.lines().skip(1).enumerate().filter(|(_, l)| l.starts_with("lamp-")).map(|(i, _)| i).collect();
    let bad: Vec<usize> = singles.iter().step_by(singles.len() / 20).take(20).copied().collect();
    let csv = generated(10_000, &bad);
    let started = Instant::now();
    let status = import(&app, &admin, csv).await;
    let took = started.elapsed();
    eprintln!("imported 10,000 rows in {took:.1?}: {:.0} rows/s", 10_000.0 / took.as_secs_f64());
    assert_eq!((status["state"].as_str(), status["rows_total"].as_u64()), (Some("done"), Some(10_000)));
    assert_eq!(status["rows_refused"], 20, "{status:#}");
    let lines: Vec<u64> = status["refused"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, bad.iter().map(|i| *i as u64 + 2).collect::<Vec<_>>());
    assert!(status["refused"][0]["reason"].as_str().unwrap().contains("price: EUR has 2 decimals"), "{status:#}");
    let products = status["products_created"].as_u64().unwrap();
    let categories = app.get("/api/categories", None).await.body;
    let counted: i64 = categories.as_array().unwrap().iter().map(|c| c["product_count"].as_i64().unwrap()).sum();
    assert_eq!(counted as u64, products);
    let tee = app.get("/api/products?category=apparel&limit=1", None).await.body[0].clone();
    assert_eq!((tee["variants"].as_array().unwrap().len(), tee["stock"].as_i64()), (3, Some(15)));
}

#[tokio::test]
async fn what_cannot_be_an_import_is_refused_and_changes_nothing() {
    let app = TestApp::spawn_with(|c| c.seed_catalogue = false).await;
    let admin = app.admin().await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        let request = app.http.post(format!("{}/api/products/import", app.url)).bearer_auth(&admin);
        request.header("content-type", content_type).body(body).send()
    };
    assert_eq!(post("application/json", b"{}".to_vec()).await.unwrap().status(), 415);
    let huge = vec![b'a'; shop::imports::MAX_BYTES + 1];
    assert_eq!(post("text/csv", huge).await.unwrap().status(), 413);
    let unreadable = post("text/csv", b"handle,name,colour\nx,y,z\n".to_vec()).await.unwrap();
    assert_eq!(unreadable.status(), 400);
    let problem: Value = unreadable.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("unknown column \"colour\""), "{problem:#}");
    assert_eq!(post("text/csv", b"{}".to_vec()).await.unwrap().status(), 400);
    let (alice, _, _) = app.shopper("Alice").await;
    let response = app.http.post(format!("{}/api/products/import", app.url)).bearer_auth(&alice);
    assert_eq!(response.header("content-type", "text/csv").body("x").send().await.unwrap().status(), 403);
    app.get("/api/products/imports/01J00000000000000000000000", Some(&admin)).await.problem(404);
    app.get("/api/products/imports/not-an-id", Some(&admin)).await.problem(404);
    // A product is applied whole or not at all: one bad row refuses its sibling too.
    let half = "handle,name,category,option1_name,option1_value,sku,price,currency,stock\n\
                tee,Tee,apparel,Size,S,TEE-S,15.00,EUR,3\n\
                tee,Tee,apparel,Size,M,TEE-M,15.001,EUR,3\n";
    let status = import(&app, &admin, half.into()).await;
    assert_eq!((status["products_created"].as_u64(), status["rows_refused"].as_u64()), (Some(0), Some(2)));
    assert_eq!(status["refused"][0], json!({"line": 2, "reason": "its product is refused (line 3)"}));
    assert!(status["refused"][1]["reason"].as_str().unwrap().starts_with("price: EUR has 2 decimals"), "{status:#}");
    assert_eq!(app.get("/api/products", None).await.body, json!([]));
}

#[tokio::test]
async fn the_command_line_imports_and_exports_with_a_progress_bar() {
    let dir = shop_tests::temp_dir("cli");
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_shop-stack"))
            .args(args)
            .env("SHOP_DATA_DIR", dir.path())
            .env("SHOP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("SHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        output
    };
    let file = dir.path().join("in.csv");
    std::fs::write(&file, generated(30, &[4])).unwrap();
    let imported = run(&["import", file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&imported.stdout);
    assert!(said.contains("line 6: price: EUR has 2 decimals") && said.contains("30 rows:"), "{said}");
    assert!(String::from_utf8_lossy(&imported.stderr).contains("30/30 rows"));
    let out = dir.path().join("out.csv");
    run(&["export", out.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&out).unwrap();
    assert_eq!(exported.lines().count(), 1 + 29);
    assert!(exported.contains("tee-2,Tee 2,,apparel,true,{},,Size,S,,,,,GEN-2-S,19.90,EUR,5,180,"), "{exported}");
}

/// The contract every object store keeps: what is put is got (with its type and cache lifetime),
/// deletes are idempotent, and an upload target takes the bytes it names.
async fn keeps_objects(store: &dyn ObjectStore) {
    let key = format!("contract/{}.csv", ulid::Ulid::new());
    assert_eq!(store.get(&key).await.unwrap(), None);
    let object = Object::new(b"a,b\n1,2\n".to_vec(), "text/csv").cached("public, max-age=60");
    store.put(&key, object.clone()).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Some(object));
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert!(store.put("../escape", Object::new(vec![], "text/plain")).await.is_err());

    let uploaded = format!("contract/{}.csv", ulid::Ulid::new());
    let body = b"handle,name\n".to_vec();
    let target = store.upload_target(&uploaded, "text/csv", body.len() as u64, Duration::from_secs(60)).await.unwrap();
    assert_eq!(target.headers["content-length"], body.len().to_string());
    let mut request = reqwest::Client::new().request(Method::PUT, &target.url);
    for (name, value) in &target.headers {
        request = request.header(name, value);
    }
    let response = request.body(body.clone()).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    assert_eq!(store.get(&uploaded).await.unwrap().map(|o| o.bytes), Some(body));
    store.delete(&uploaded).await.unwrap();
}

#[tokio::test]
async fn the_local_store_keeps_objects_and_takes_only_the_uploads_it_signed() {
    let app = TestApp::spawn_with(|c| c.seed_catalogue = false).await;
    let (store, _created) = LocalObjects::in_folder(&app.config.data_dir, &app.url).unwrap();
    keeps_objects(&store).await;

    let put = |url: String, content_type: &'static str, body: &'static str| async move {
        let request = reqwest::Client::new().put(url).header("content-type", content_type);
        request.body(body).send().await.unwrap().status().as_u16()
    };
    let target = store.upload_target("contract/x.csv", "text/csv", 3, Duration::from_secs(60)).await.unwrap();
    assert_eq!(put(target.url.replace("size=3", "size=4"), "text/csv", "abcd").await, 403, "a changed target is none");
    assert_eq!(put(target.url.clone(), "text/plain", "abc").await, 400, "another type");
    assert_eq!(put(target.url.clone(), "text/csv", "abcd").await, 400, "another length");
    let (other, _) = LocalObjects::open(&app.config.data_dir.join("objects"), &app.url, [9; 32]);
    let forged = other.upload_target("contract/x.csv", "text/csv", 3, Duration::from_secs(60)).await.unwrap();
    assert_eq!(put(forged.url, "text/csv", "abc").await, 403, "signed with another key");
    let expired = store.upload_target("contract/x.csv", "text/csv", 3, Duration::ZERO).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(put(expired.url, "text/csv", "abc").await, 403, "expired");
    assert_eq!(store.get("contract/x.csv").await.unwrap(), None, "nothing refused is stored");
    assert_eq!(put(target.url, "text/csv", "abc").await, 200);
}

#[tokio::test]
async fn s3_on_the_emulator_keeps_objects() {
    let aws = shop_tests::emulator().await;
    let bucket = format!("shop-objects-{}", ulid::Ulid::new().to_string().to_lowercase());
    create_bucket(&bucket).await;
    let config = shop_s3::Config {
        bucket,
        region: "us-east-1".into(),
        endpoint: Some(std::env::var("SHOP_TEST_AWS_ENDPOINT").unwrap()),
    };
    let store = shop_s3::S3Objects::new(config, aws.credentials_provider().unwrap()).unwrap();
    keeps_objects(&store).await;
}

/// Creates a bucket on the emulator (which takes an unsigned CreateBucket: no S3 SDK here).
async fn create_bucket(bucket: &str) {
    let endpoint = std::env::var("SHOP_TEST_AWS_ENDPOINT").unwrap();
    let response = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.unwrap();
    assert!(response.status().is_success(), "creating the bucket: {}", response.text().await.unwrap());
}
