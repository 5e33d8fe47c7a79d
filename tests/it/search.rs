//! Search: the contract on a real OpenSearch node (the test command starts one), and the
//! index following the catalogue through the local stack's gateway.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::{TestApp, eventually, product_body};

mod opensearch {
    use std::collections::BTreeSet;
    use std::future::IntoFuture;
    use std::sync::Arc;

    use serde_json::{Value, json};
    use shop::search::SearchIndex;
    use shop_opensearch::{Config, OpenSearch};

    /// An empty index of its own on the node `SHOP_TEST_OPENSEARCH` names.
    async fn fresh() -> Arc<dyn SearchIndex> {
        let endpoint = std::env::var("SHOP_TEST_OPENSEARCH").expect(
            "SHOP_TEST_OPENSEARCH is not set: run the tests with ./scripts/test, which starts an OpenSearch node",
        );
        let alias = format!("contract-{}", ulid::Ulid::new().to_string().to_lowercase());
        Arc::new(
            OpenSearch::new(Config { endpoint, alias, region: "us-east-1".into(), wait_for_refresh: true }, None)
                .unwrap(),
        )
    }

    shop::search_contract!(fresh());

    /// A proxy to the node at `node` that notes the method of each request it passes on.
    async fn noting_methods(node: String) -> (String, Arc<std::sync::Mutex<BTreeSet<String>>>) {
        use axum::body::{Body, to_bytes};
        let seen = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
        let http = reqwest::Client::new();
        let noted = seen.clone();
        let pass = move |request: axum::extract::Request| async move {
            noted.lock().unwrap().insert(request.method().to_string());
            let url = format!("{node}{}", request.uri());
            let forward = http.request(request.method().clone(), url).headers(request.headers().clone());
            let body = to_bytes(request.into_body(), usize::MAX).await.unwrap();
            let answer = forward.body(body).send().await.unwrap();
            let status = answer.status();
            axum::http::Response::builder().status(status).body(Body::from(answer.bytes().await.unwrap())).unwrap()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, axum::Router::new().fallback(pass)).into_future());
        (url, seen)
    }

    /// The `es:ESHttp*` actions template.yaml lets `function` take.
    fn granted(function: &str) -> BTreeSet<String> {
        let template = crate::deployment::template();
        let statements =
            template["Resources"][function]["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap();
        let actions = statements.iter().flat_map(|s| s["Action"].as_sequence().unwrap());
        actions.filter_map(|a| a.as_str()?.strip_prefix("es:ESHttp").map(str::to_uppercase)).collect()
    }

    /// What the indexer and the search function ask of OpenSearch (the first writes to a new
    /// index, to an index of its own version, searches and completions) is what their roles
    /// allow. The test node checks no IAM, so a method the code starts to use would
    /// otherwise be refused only once deployed.
    #[tokio::test]
    async fn the_indexer_and_the_search_function_use_only_the_methods_their_roles_allow() {
        let node = std::env::var("SHOP_TEST_OPENSEARCH").expect("SHOP_TEST_OPENSEARCH names the test node");
        let alias = format!("roles-{}", ulid::Ulid::new().to_string().to_lowercase());
        let config = |endpoint: &str| Config {
            endpoint: endpoint.into(),
            alias: alias.clone(),
            region: "us-east-1".into(),
            wait_for_refresh: false,
        };
        let product = shop::search::contract::product("Linen shirt", "A shirt", "clothing", 4900, 3);
        let put = [shop::search::Change::Put(Box::new(product))];

        let (indexer, used) = noting_methods(node.clone()).await;
        OpenSearch::new(config(&indexer), None).unwrap().apply(&put).await.unwrap();
        OpenSearch::new(config(&indexer), None).unwrap().apply(&put).await.unwrap();
        let used = used.lock().unwrap().clone();
        assert!(used.is_subset(&granted("IndexerFunction")), "the indexer uses {used:?}");

        let (search, used) = noting_methods(node).await;
        let index = OpenSearch::new(config(&search), None).unwrap();
        index.search(&shop::search::SearchQuery::new("linen", 0, 20).unwrap()).await.unwrap();
        index.suggest("lin", 5).await.unwrap();
        let used = used.lock().unwrap().clone();
        assert!(used.is_subset(&granted("SearchFunction")), "the search function uses {used:?}");
    }

    /// An index made by an earlier version, whose strict mapping lacks fields that documents
    /// now carry, gets them before the first write, and records the mapping it was given in its
    /// `_meta`; a start that finds this version's mapping recorded there changes nothing.
    #[tokio::test]
    async fn an_index_of_an_earlier_version_gets_the_new_fields_before_the_first_write() {
        let endpoint = std::env::var("SHOP_TEST_OPENSEARCH").expect("SHOP_TEST_OPENSEARCH names the test node");
        let http = reqwest::Client::new();
        // An index as the shop made it before products had variants (no options, no SKUs),
        // recording `meta`, behind an alias of its own; answers the alias.
        let earlier = |meta: Value| {
            let (http, endpoint) = (http.clone(), endpoint.clone());
            async move {
                let alias = format!("upgrade-{}", ulid::Ulid::new().to_string().to_lowercase());
                let body = json!({
                    "settings": { "analysis": {
                        "tokenizer": { "shop_words": { "type": "pattern", "pattern": "[^\\p{L}\\p{N}]+" } },
                        "analyzer": { "shop_text": {
                            "type": "custom", "tokenizer": "shop_words", "filter": ["lowercase", "asciifolding"]
                        } }
                    }},
                    "mappings": { "dynamic": "strict", "_meta": meta, "properties": {
                        "id": { "type": "keyword" },
                        "name": { "type": "text", "analyzer": "shop_text", "index_prefixes": { "min_chars": 1, "max_chars": 10 } },
                        "description": { "type": "text", "analyzer": "shop_text" }, "category": { "type": "keyword" },
                        "price": { "type": "long" }, "in_stock": { "type": "boolean" }, "created": { "type": "long" },
                        "product": { "type": "object", "enabled": false }
                    }},
                    "aliases": { &alias: {} }
                });
                let made = http.put(format!("{endpoint}/{alias}-earlier")).json(&body).send().await.unwrap();
                assert!(made.status().is_success(), "{}", made.text().await.unwrap());
                alias
            }
        };
        let index = |alias: &str| {
            let config = Config {
                endpoint: endpoint.clone(),
                alias: alias.into(),
                region: "us-east-1".into(),
                wait_for_refresh: true,
            };
            OpenSearch::new(config, None).unwrap()
        };
        let mapping = |alias: String| {
            let (http, endpoint) = (http.clone(), endpoint.clone());
            async move {
                let answer = http.get(format!("{endpoint}/{alias}/_mapping")).send().await.unwrap();
                answer.json::<Value>().await.unwrap()[format!("{alias}-earlier")]["mappings"].clone()
            }
        };
        let product = shop::search::contract::product("Linen shirt", "A shirt", "clothing", 4900, 3);
        let put = || [shop::search::Change::Put(Box::new(product.clone()))];

        let alias = earlier(json!({})).await;
        index(&alias).apply(&put()).await.unwrap();
        let upgraded = mapping(alias.clone()).await;
        assert_eq!(upgraded["properties"]["skus"]["type"], "keyword", "the new fields were added: {upgraded}");
        assert_eq!(upgraded["_meta"]["properties"], upgraded["properties"], "and recorded");
        let found = index(&alias).search(&shop::search::SearchQuery::new("linen", 0, 20).unwrap()).await;
        assert_eq!(found.unwrap().total, 1);

        // Recording this version's mapping, the index is taken at its word: no update is sent,
        // so this one, which lacks the fields all the same, refuses the document.
        let trusted = earlier(json!({ "properties": upgraded["_meta"]["properties"] })).await;
        let refused = index(&trusted).apply(&put()).await.unwrap_err();
        assert!(format!("{refused:#}").contains("strict"), "{refused:#}");
        assert!(mapping(trusted).await["properties"]["skus"].is_null());
    }
}

/// The names a search answers.
async fn found(app: &TestApp, query: &str) -> Vec<String> {
    let answer = app.get(&format!("/api/search?{query}"), None).await.expect(200);
    answer.body["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

/// Waits until searching `query` answers `names`.
async fn until(app: &TestApp, query: &str, names: &[&str]) {
    eventually(5, &format!("{query} to find {names:?}"), || async { (found(app, query).await == names).then_some(()) })
        .await;
}

#[tokio::test]
async fn the_index_follows_the_catalogue_within_seconds() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let created =
        app.post("/api/products", Some(&admin), product_body("Zephyr kettle", "kitchen", 4_500, 2)).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    until(&app, "q=zephyr", &["Zephyr kettle"]).await;
    until(&app, "q=zepyhr%20ketle", &["Zephyr kettle"]).await;

    // Renamed: found under its new name only.
    let path = format!("/api/products/{id}");
    let mut edit = shop_tests::edit_form(&created.body);
    edit["name"] = json!("Mistral kettle");
    let etag = created.header("etag").unwrap().to_owned();
    let renamed =
        app.send(Method::PUT, &path, Some(&admin), Some(edit.clone()), &[("if-match", &etag)]).await.expect(200);
    until(&app, "q=mistral", &["Mistral kettle"]).await;
    until(&app, "q=zephyr", &[]).await;

    // Sold out: excluded by in_stock=true, still found without it.
    app.post(&format!("{path}/stock"), Some(&admin), json!({"delta": -2, "reason": "damaged"})).await.expect(200);
    until(&app, "q=mistral&in_stock=true", &[]).await;
    until(&app, "q=mistral&in_stock=false", &["Mistral kettle"]).await;

    // Deactivated: nowhere; active again: back.
    let current = app.get(&path, None).await;
    let etag = current.header("etag").unwrap().to_owned();
    edit["active"] = json!(false);
    app.send(Method::PUT, &path, Some(&admin), Some(edit.clone()), &[("if-match", &etag)]).await.expect(200);
    until(&app, "q=mistral", &[]).await;
    assert!(renamed.body["version"].as_u64().unwrap() > 1);

    // Deleted: nowhere.
    let other =
        app.post("/api/products", Some(&admin), product_body("Sirocco kettle", "kitchen", 3_000, 1)).await.expect(201);
    until(&app, "q=sirocco", &["Sirocco kettle"]).await;
    let other_path = format!("/api/products/{}", other.body["id"].as_str().unwrap());
    let etag = other.header("etag").unwrap().to_owned();
    app.send(Method::DELETE, &other_path, Some(&admin), None, &[("if-match", &etag)]).await.expect(204);
    until(&app, "q=sirocco", &[]).await;
}

#[tokio::test]
async fn search_answers_facets_pages_and_completions_and_refuses_bad_parameters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (name, price) in [("Quartz clock one", 1_000), ("Quartz clock two", 2_000), ("Quartz clock three", 3_000)] {
        app.product(&admin, name, "clocks", price, 1).await;
    }
    until(&app, "q=quartz&sort=price_asc", &["Quartz clock one", "Quartz clock two", "Quartz clock three"]).await;

    let first = app.get("/api/search?q=quartz&sort=price_asc&limit=2", None).await.expect(200);
    assert_eq!(first.body["total"], 3);
    assert_eq!(first.body["facets"]["category"], json!([{"value": "clocks", "count": 3}]));
    assert_eq!(first.body["facets"]["in_stock"], json!({"true": 3, "false": 0}));
    assert_eq!(first.body["items"][0]["highlight"]["name"], "<em>Quartz</em> clock one");
    assert!(first.header("cache-control").unwrap().starts_with("public, max-age="));
    let link = first.header("link").expect("a next page").to_owned();
    let next = link.trim_start_matches("<?").split('>').next().unwrap().to_owned();
    let second = app.get(&format!("/api/search?{next}"), None).await.expect(200);
    let names: Vec<&str> =
        second.body["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Quartz clock three"]);
    assert!(second.header("link").is_none(), "the last page");

    // An unchanged answer is a 304 to a client holding its ETag.
    let etag = first.header("etag").unwrap().to_owned();
    let again = app
        .send(Method::GET, "/api/search?q=quartz&sort=price_asc&limit=2", None, None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);

    let suggestions = app.get("/api/search/suggest?q=quartz%20clock%20tw", None).await.expect(200);
    assert_eq!(suggestions.body.as_array().unwrap().len(), 1);
    assert_eq!(suggestions.body[0]["text"], "Quartz clock two");

    let tampered = next.replace("cursor=", "cursor=x");
    for bad in [
        "min_price=-1".to_owned(),
        "max_price=1000000000001".to_owned(),
        "min_price=500&max_price=100".to_owned(),
        "sort=cheapest".to_owned(),
        format!("q={}", "a".repeat(201)),
        format!("q={}", "lamp+".repeat(11)),
        "in_stock=maybe".to_owned(),
        "category=Not%20A%20Slug".to_owned(),
        tampered,
    ] {
        let answer = app.get(&format!("/api/search?{bad}"), None).await;
        let problem: &Value = &answer.problem(400).body;
        assert!(problem["detail"].is_string(), "{bad}: {problem}");
    }
    app.get(&format!("/api/search/suggest?q={}", "b".repeat(201)), None).await.problem(400);
    app.get(&format!("/api/search/suggest?q={}", "b+".repeat(11)), None).await.problem(400);
    app.get("/api/search/suggest", None).await.problem(400);
}

#[tokio::test]
async fn a_reindex_holds_the_active_catalogue_and_nothing_else() {
    use std::sync::Arc;

    use shop::catalog::{Catalog, ProductDraft};
    use shop::search::{Change, SearchIndex, SearchQuery, contract};

    let dir = shop_tests::temp_dir("reindex");
    let table = Arc::new(shop_embedded::sqlite::SqliteTable::open(&dir.path().join("shop.db")).unwrap());
    let catalog = Catalog::new(table);
    shop_tests::draft("R-1", "Walnut stool", "furniture", 9_000).create(&catalog, shop_tests::stock(2)).await;
    let mut hidden = shop_tests::draft("R-2", "Walnut shelf", "furniture", 5_000);
    hidden.product = ProductDraft { active: false, ..hidden.product };
    hidden.create(&catalog, shop_tests::stock(2)).await;
    let (index, _) = shop_tantivy::TantivyIndex::open(&dir.path().join("search")).unwrap();
    // What the old index held but the catalogue no longer does.
    index.apply(&[Change::Put(Box::new(contract::product("Walnut bench", "", "furniture", 7_000, 1)))]).await.unwrap();

    let counted = std::sync::Mutex::new(Vec::new());
    let indexed = shop::search::reindex(&catalog, &index, &|n| counted.lock().unwrap().push(n)).await.unwrap();
    assert_eq!(indexed, 2, "every product of the catalogue was read");
    assert_eq!(counted.into_inner().unwrap().last(), Some(&1), "progress counts the active ones put");
    let found = index.search(&SearchQuery::new("walnut", 0, 10).unwrap()).await.unwrap();
    let names: Vec<String> = found.items.iter().map(|hit| hit.product.name.to_string()).collect();
    assert_eq!(names, ["Walnut stool"], "the inactive product and the one gone are not there");
}

/// With the search engine down the shop keeps selling; search and completions answer 503 with
/// `Retry-After` and a problem type naming search; once the engine is back the indexer catches
/// up by itself, from the retries of the events it could not apply.
#[tokio::test]
async fn a_search_engine_that_is_down_answers_503_and_the_index_catches_up_once_it_is_back() {
    let node = std::env::var("SHOP_TEST_OPENSEARCH").expect("SHOP_TEST_OPENSEARCH is not set: run ./scripts/test");
    // An address with nothing behind it yet: the engine, down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let alias = format!("down-{}", ulid::Ulid::new().to_string().to_lowercase());
    let endpoint = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(|c| {
        // Writes that do not wait for the index's refresh (as in AWS): the test polls, and the
        // outage's fifty-odd events, retried one by one, would each wait up to a second.
        c.opensearch =
            Some(shop_opensearch::Config { endpoint, alias, region: "us-east-1".into(), wait_for_refresh: false });
        // Retries that outlast the outage, as the queues' do in AWS (the tests' usual ones are
        // spent within a second): 0.5 s, then doubling, 8 receives in about a minute.
        c.delivery = shop_embedded::bus::Delivery {
            max_receives: 8,
            retry_after: std::time::Duration::from_millis(500),
            ..shop_tests::QUICK_DELIVERY
        };
    })
    .await;
    let admin = app.admin().await;
    let (shopper, order, _) = shop_tests::paying::unpaid_order(&app, &admin, 5).await;
    shop_tests::paying::checkout(&app, &shopper, &order).await;
    for path in ["/api/search?q=paid", "/api/search/suggest?q=pai"] {
        let down = app.get(path, None).await.problem(503);
        assert_eq!(down.body["type"], "/problems/search-unavailable", "{path}");
        assert_eq!(down.header("retry-after"), Some("5"), "{path}");
    }

    // The engine comes back at the same address.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let node = node.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let node = node.clone();
            tokio::spawn(async move {
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(&node).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    eventually(20, "the index to catch up", || async {
        let answer = app.get("/api/search?q=paid", None).await;
        (answer.status == 200 && answer.body["items"][0]["name"] == "Paid Lamp").then_some(())
    })
    .await;
}
