//! Checkout priced as shops need it, over HTTP: tax settings and shipping zones edited by the
//! back office under their revisions; the cart's shipping options and totals for a destination;
//! addresses checked per country; and orders that keep the shipping, tax and totals they were
//! placed with, whatever the settings do later.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::TestApp;

pub(crate) fn eur(amount: i64) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

pub(crate) fn address(country: &str, postal_code: &str, region: Option<&str>) -> Value {
    let mut a = json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield",
                       "postal_code": postal_code, "country": country});
    if let Some(region) = region {
        a["region"] = json!(region);
    }
    a
}

/// The shop's two settings, sent as an admin would: each `PUT` names the revision it read.
pub(crate) async fn configure(app: &TestApp, admin: &str, prices_include_tax: bool, rates: Value, zones: Value) {
    let tax = app.get("/api/tax-settings", Some(admin)).await.expect(200);
    let etag = tax.header("etag").unwrap().to_owned();
    let body = json!({"prices_include_tax": prices_include_tax, "rates": rates});
    app.send(Method::PUT, "/api/tax-settings", Some(admin), Some(body), &[("if-match", &etag)]).await.expect(200);
    for zone in zones.as_array().unwrap() {
        let etag = app.get("/api/shipping-zones", Some(admin)).await.expect(200).header("etag").unwrap().to_owned();
        let path = format!("/api/shipping-zones/{}", zone["id"].as_str().unwrap());
        app.send(Method::PUT, &path, Some(admin), Some(zone.clone()), &[("if-match", &etag)]).await.expect(200);
    }
}

pub(crate) fn eu_zones() -> Value {
    json!([
        {"id": "de", "name": "Germany", "countries": ["DE"], "options": [
            {"id": "de-standard", "name": "Standard", "min_days": 2, "max_days": 4,
             "rate": {"type": "flat", "price": eur(490)}, "free_above": eur(5000)},
            {"id": "de-express", "name": "Express", "min_days": 1, "max_days": 1, "tax_class": "standard",
             "rate": {"type": "weight", "bands": [
                 {"up_to_grams": 1000, "price": eur(990)}, {"up_to_grams": 5000, "price": eur(1490)}]}}]}
    ])
}

pub(crate) fn eu_rates() -> Value {
    json!([{"country": "DE", "class": "standard", "rate": "19"}, {"country": "DE", "class": "reduced", "rate": "7"}])
}

#[tokio::test]
async fn settings_are_the_back_offices_edited_under_their_revisions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (shopper, _, _) = app.shopper("Sam").await;

    // Shoppers neither read nor change them.
    app.get("/api/tax-settings", Some(&shopper)).await.problem(403);
    let zone = eu_zones()[0].clone();
    app.send(Method::PUT, "/api/shipping-zones/de", Some(&shopper), Some(zone.clone()), &[("if-match", "\"0\"")])
        .await
        .problem(403);

    // Before any edit: prices include tax, no rates, no zones, revision 0.
    let tax = app.get("/api/tax-settings", Some(&admin)).await.expect(200);
    assert_eq!((tax.header("etag"), &tax.body["prices_include_tax"]), (Some("\"0\""), &json!(true)));
    let zones = app.get("/api/shipping-zones", Some(&admin)).await.expect(200);
    assert_eq!(zones.body["zones"], json!([]));

    // A change names the revision it read: none is 428, an old one 412.
    let put_zone = |zone: Value, tag: Option<&'static str>| {
        let (app, admin) = (&app, &admin);
        let path = format!("/api/shipping-zones/{}", zone["id"].as_str().unwrap());
        async move {
            let headers: Vec<(&str, &str)> = tag.map(|t| ("if-match", t)).into_iter().collect();
            app.send(Method::PUT, &path, Some(admin), Some(zone), &headers).await
        }
    };
    put_zone(zone.clone(), None).await.problem(428);
    let saved = put_zone(zone.clone(), Some("\"0\"")).await.expect(200);
    assert_eq!(saved.header("etag"), Some("\"1\""));
    assert_eq!(saved.body["zones"][0]["options"][1]["rate"]["bands"][1]["up_to_grams"], 5000);
    put_zone(zone.clone(), Some("\"0\"")).await.problem(412);

    // Zones that could not work are refused, naming why, and change nothing.
    let mut overlapping = zone.clone();
    overlapping["id"] = json!("de-again");
    overlapping["options"][0]["id"] = json!("other");
    overlapping["options"][1]["id"] = json!("other-express");
    let refused = put_zone(overlapping, Some("\"1\"")).await.problem(422);
    assert!(refused.body["detail"].as_str().unwrap().contains("DE is in two zones"), "{:#}", refused.body);
    let mut descending = zone.clone();
    descending["options"][1]["rate"]["bands"] = json!([
        {"up_to_grams": 5000, "price": eur(1490)}, {"up_to_grams": 1000, "price": eur(990)}]);
    put_zone(descending, Some("\"1\"")).await.problem(422);
    let mut other_id = zone.clone();
    other_id["id"] = json!("fr");
    let path_mismatch =
        app.send(Method::PUT, "/api/shipping-zones/de", Some(&admin), Some(other_id), &[("if-match", "\"1\"")]).await;
    path_mismatch.problem(422);
    assert_eq!(app.get("/api/shipping-zones", Some(&admin)).await.header("etag"), Some("\"1\""));

    // Tax rates: a country's class named twice is refused; a good table is saved.
    let mut twice = eu_rates();
    twice.as_array_mut().unwrap().push(json!({"country": "DE", "class": "standard", "rate": "16"}));
    let body = json!({"prices_include_tax": true, "rates": twice});
    let refused = app
        .send(Method::PUT, "/api/tax-settings", Some(&admin), Some(body), &[("if-match", "\"0\"")])
        .await
        .problem(422);
    assert!(refused.body["detail"].as_str().unwrap().contains("DE has two standard rates"));
    for bad_rate in ["100.5", "19.999", "-1", "abc"] {
        let body =
            json!({"prices_include_tax": true, "rates": [{"country": "DE", "class": "standard", "rate": bad_rate}]});
        app.send(Method::PUT, "/api/tax-settings", Some(&admin), Some(body), &[("if-match", "\"0\"")])
            .await
            .problem(422);
    }
    let body = json!({"prices_include_tax": true, "rates": eu_rates()});
    let saved = app.send(Method::PUT, "/api/tax-settings", Some(&admin), Some(body), &[("if-match", "\"0\"")]).await;
    assert_eq!(saved.expect(200).body["rates"][0]["rate"], "19");

    // Removing a zone, under the revision too.
    app.send(Method::DELETE, "/api/shipping-zones/nowhere", Some(&admin), None, &[("if-match", "\"1\"")])
        .await
        .problem(404);
    let left = app.send(Method::DELETE, "/api/shipping-zones/de", Some(&admin), None, &[("if-match", "\"1\"")]).await;
    assert_eq!(left.expect(200).body["zones"], json!([]));
}

#[tokio::test]
async fn checkout_prices_shipping_and_tax_and_the_order_keeps_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    configure(&app, &admin, true, eu_rates(), eu_zones()).await;
    let lamp = app.product(&admin, "Desk lamp", "home", 2000, 20).await;
    let (alice, _, _) = app.shopper("Alice").await;
    let cart_put = |id: &str, quantity: i64| {
        let (app, alice, path) = (&app, &alice, format!("/api/cart/items/{id}"));
        async move { app.call(Method::PUT, &path, Some(alice), Some(json!({"quantity": quantity}))).await.expect(200) }
    };
    cart_put(&lamp, 1).await;

    // The options that apply to this cart in Germany, cheapest first, and none abroad.
    let options = app.get("/api/cart/shipping-options?country=DE", Some(&alice)).await.expect(200).body;
    let priced: Vec<(&str, i64)> = options
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o["price"]["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(priced, [("de-standard", 490), ("de-express", 990)]);
    assert_eq!(options[0]["min_days"], 2);
    let abroad = app.get("/api/cart/shipping-options?country=FR", Some(&alice)).await.expect(200);
    assert_eq!(abroad.body, json!([]));
    app.get("/api/cart/shipping-options", Some(&alice)).await.problem(400);

    // The cart's totals for a destination and option: tax included, taken out per line.
    let cart = app.get("/api/cart?country=DE&shipping_option=de-express", Some(&alice)).await.expect(200).body;
    let totals = &cart["totals"];
    assert_eq!(
        (&totals["subtotal"], &totals["shipping"], &totals["tax"], &totals["total"], &totals["tax_included"]),
        (&eur(2000), &eur(990), &eur(319 + 158), &eur(2990), &json!(true)),
        "{cart:#}"
    );
    assert_eq!(cart["shipping"]["option_id"], "de-express");
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["totals"], Value::Null, "no destination, no totals");
    let before = app.get("/api/cart?country=DE", Some(&alice)).await.expect(200).body;
    assert_eq!((&before["totals"]["shipping"], &before["totals"]["total"]), (&eur(0), &eur(2000)), "no option yet");
    let abroad = app.get("/api/cart?country=FR", Some(&alice)).await.problem(422);
    assert_eq!(abroad.body["detail"], "the shop does not ship to FR");
    let unavailable = app.get("/api/cart?country=FR&shipping_option=de-standard", Some(&alice)).await.problem(422);
    assert_eq!(unavailable.body["type"], "/problems/shipping-unavailable");

    // A checkout names an option that applies, to an address that fits its country.
    let order = |address: Value, option: Option<&str>| {
        let mut body = json!({"shipping_address": address});
        if let Some(option) = option {
            body["shipping_option"] = json!(option);
        }
        body
    };
    let de = address("DE", "10115", None);
    let refused = app.post("/api/orders", Some(&alice), order(de.clone(), None)).await.problem(422);
    assert_eq!(refused.body["type"], "/problems/shipping-unavailable");
    assert!(refused.body["detail"].as_str().unwrap().contains("de-standard"), "names the options: {:#}", refused.body);
    let refused = app.post("/api/orders", Some(&alice), order(address("FR", "75001", None), Some("de-standard"))).await;
    assert_eq!(refused.problem(422).body["detail"], "the shop does not ship to FR");
    let refused = app.post("/api/orders", Some(&alice), order(address("DE", "1011", None), Some("de-standard"))).await;
    let refused = refused.problem(422);
    assert_eq!(refused.body["type"], "/problems/invalid-address");
    assert_eq!(refused.body["errors"][0]["field"], "shipping_address.postal_code");
    let refused = app.post("/api/orders", Some(&alice), order(address("US", "94103", None), None)).await.problem(422);
    assert_eq!(refused.body["errors"][0]["field"], "shipping_address.region");
    assert_eq!(app.get("/api/orders", Some(&alice)).await.body.as_array().unwrap().len(), 0, "nothing was placed");

    // Two lamps: 40.00, under the free-shipping line of 50.00; standard shipping.
    cart_put(&lamp, 2).await;
    let placed = app.post("/api/orders", Some(&alice), order(de.clone(), Some("de-standard"))).await.expect(201).body;
    let totals = &placed["totals"];
    assert_eq!(
        (&totals["subtotal"], &totals["discount"], &totals["shipping"], &totals["tax"], &totals["total"]),
        (&eur(4000), &eur(0), &eur(490), &eur(639 + 78), &eur(4490)),
        "{placed:#}"
    );
    assert_eq!(placed["total"], eur(4490), "the amount to pay is the total");
    assert_eq!(placed["lines"][0]["tax"], json!({"net": eur(3361), "tax": eur(639), "rate": "19"}));
    assert_eq!(
        (&placed["shipping"]["option_id"], &placed["shipping"]["net"], &placed["shipping"]["rate"]),
        (&json!("de-standard"), &eur(412), &json!("19"))
    );

    // Later rates and zones never change a placed order.
    let etag = app.get("/api/tax-settings", Some(&admin)).await.header("etag").unwrap().to_owned();
    let body = json!({"prices_include_tax": true, "rates": [
        {"country": "DE", "class": "standard", "rate": "16"}, {"country": "DE", "class": "reduced", "rate": "7"}]});
    app.send(Method::PUT, "/api/tax-settings", Some(&admin), Some(body), &[("if-match", &etag)]).await.expect(200);
    let again = app.get(&format!("/api/orders/{}", placed["id"].as_str().unwrap()), Some(&alice)).await.body;
    assert_eq!(
        (&again["totals"], &again["lines"], &again["shipping"]),
        (&placed["totals"], &placed["lines"], &placed["shipping"])
    );

    // The confirmation email shows the breakdown.
    let mail = shop_tests::eventually(10, "the order's email", || async {
        let outbox = app.outbox(placed["user_id"].as_str().unwrap()).await;
        outbox.into_iter().find(|m| m["order_id"] == placed["id"] && m["kind"] == "OrderPlaced")
    })
    .await;
    let text = mail["text"].as_str().unwrap_or_default();
    assert!(text.contains("Shipping: 4.90 EUR") && text.contains("Tax included: 7.17 EUR"), "{mail:#}");
    assert!(mail["html"].as_str().unwrap_or_default().contains("Tax included"), "{mail:#}");

    // A variant's tax class picks its rate: a book at the reduced 7 %, 10.70 with 0.70 of tax.
    let mut book = shop_tests::product_body("Field guide", "books", 1070, 5);
    book["tax_class"] = json!("reduced");
    let created = app.post("/api/products", Some(&admin), book).await.expect(201).body;
    assert_eq!(created["variants"][0]["tax_class"], "reduced");
    cart_put(created["id"].as_str().unwrap(), 1).await;
    let cart = app.get("/api/cart?country=DE", Some(&alice)).await.expect(200).body;
    assert_eq!((&cart["totals"]["tax"], &cart["totals"]["total"]), (&eur(70), &eur(1070)), "{cart:#}");
}

#[tokio::test]
async fn a_us_shop_adds_tax_by_state() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let usd = |amount: i64| json!({"amount": amount, "currency": "USD"});
    let rates = json!([
        {"country": "US", "class": "standard", "rate": "0"},
        {"country": "US", "region": "CA", "class": "standard", "rate": "7.25"},
        {"country": "US", "region": "NY", "class": "standard", "rate": "4"}
    ]);
    let zones = json!([{"id": "us", "name": "United States", "countries": ["US"], "options": [
        {"id": "ground", "name": "Ground", "min_days": 3, "max_days": 7,
         "rate": {"type": "subtotal", "bands": [{"from": usd(0), "price": usd(1500)}, {"from": usd(10000), "price": usd(500)}]}}]}]);
    configure(&app, &admin, false, rates, zones).await;
    let mut body = shop_tests::product_body("Tee", "apparel", 1999, 10);
    body["price"]["currency"] = json!("USD");
    let tee = app.post("/api/products", Some(&admin), body).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let (bob, _, _) = app.shopper("Bob").await;
    app.call(Method::PUT, &format!("/api/cart/items/{tee}"), Some(&bob), Some(json!({"quantity": 3})))
        .await
        .expect(200);

    // A state without its own rate: the country's (zero), added to nothing.
    let texas = app.get("/api/cart?country=US&region=TX&shipping_option=ground", Some(&bob)).await.expect(200).body;
    assert_eq!((&texas["totals"]["tax"], &texas["totals"]["total"]), (&usd(0), &usd(5997 + 1500)), "{texas:#}");

    // 59.97 at 7.25 % is 4.35 (4.3478 rounded half up); shipping 15.00 at 7.25 % is 1.09.
    let placed = app
        .post(
            "/api/orders",
            Some(&bob),
            json!({"shipping_address": address("US", "94103", Some("CA")), "shipping_option": "ground"}),
        )
        .await
        .expect(201)
        .body;
    let totals = &placed["totals"];
    assert_eq!(
        (&totals["subtotal"], &totals["shipping"], &totals["tax"], &totals["total"], &totals["tax_included"]),
        (&usd(5997), &usd(1500), &usd(435 + 109), &usd(8041), &json!(false)),
        "{placed:#}"
    );
    let lines_and_shipping: i64 =
        placed["lines"].as_array().unwrap().iter().map(|l| l["tax"]["tax"]["amount"].as_i64().unwrap()).sum::<i64>()
            + placed["shipping"]["tax"]["amount"].as_i64().unwrap();
    assert_eq!(lines_and_shipping, 544, "the total's tax is its lines' and the shipping's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_checkouts_share_a_code_of_ten_uses() {
    let app = TestApp::spawn().await;
    shop_tests::fifty_checkouts_share_ten_uses(app.running.table.clone()).await;
}

#[tokio::test]
async fn a_code_in_the_cart_discounts_its_lines_and_the_order_keeps_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    configure(&app, &admin, true, eu_rates(), eu_zones()).await;
    let books = json!({"id": "books20", "name": "20 % off books", "code": "books20",
        "discount": {"type": "percentage", "percent": "20"},
        "applies_to": {"type": "categories", "categories": ["books"]},
        "per_customer_limit": 1, "active": true});
    let put = |promotion: Value, tag: Option<&'static str>, token: &str| {
        let (app, token) = (&app, token.to_owned());
        let path = format!("/api/promotions/{}", promotion["id"].as_str().unwrap());
        async move {
            let headers: Vec<(&str, &str)> = tag.map(|t| ("if-match", t)).into_iter().collect();
            app.send(Method::PUT, &path, Some(&token), Some(promotion), &headers).await
        }
    };
    let (alice, _, _) = app.shopper("Alice").await;
    put(books.clone(), Some("\"0\""), &alice).await.problem(403);
    put(books.clone(), None, &admin).await.problem(428);
    put(books.clone(), Some("\"0\""), &admin).await.expect(200);
    let mut same_code = books.clone();
    same_code["id"] = json!("books-again");
    let refused = put(same_code, Some("\"1\""), &admin).await.problem(422);
    assert!(refused.body["detail"].as_str().unwrap().contains("BOOKS20 belongs to two"), "{:#}", refused.body);

    let lamp = app.product(&admin, "Desk lamp", "home", 2000, 20).await;
    let book = app.product(&admin, "Field guide", "books", 1500, 20).await;
    for id in [&lamp, &book] {
        let path = format!("/api/cart/items/{id}");
        app.call(Method::PUT, &path, Some(&alice), Some(json!({"quantity": 1}))).await.expect(200);
    }
    let code = |code: &str| json!({"code": code});
    let unknown = app.call(Method::PUT, "/api/cart/promotion", Some(&alice), Some(code("NOPE"))).await.problem(409);
    assert_eq!(unknown.body["type"], "/problems/promotion-unavailable");
    let cart = app.call(Method::PUT, "/api/cart/promotion", Some(&alice), Some(code("books20"))).await.expect(200).body;
    assert_eq!(cart["promotion_code"], "BOOKS20");
    let discounts: Vec<&Value> = cart["lines"].as_array().unwrap().iter().map(|l| &l["discount"]).collect();
    assert_eq!(discounts, [&Value::Null, &eur(300)], "20 % off the book only: {cart:#}");
    assert_eq!(cart["promotions"][0]["amount"], eur(300));

    // Totals: 35.00, less 3.00, 4.90 shipping; tax included, on what each line costs after its
    // discount (20.00 -> 3.19, 12.00 -> 1.92) and on the shipping (0.78).
    let priced = app.get("/api/cart?country=DE&shipping_option=de-standard", Some(&alice)).await.expect(200).body;
    let totals = &priced["totals"];
    assert_eq!(
        (&totals["subtotal"], &totals["discount"], &totals["shipping"], &totals["tax"], &totals["total"]),
        (&eur(3500), &eur(300), &eur(490), &eur(319 + 192 + 78), &eur(3690)),
        "{priced:#}"
    );
    let body = json!({"shipping_address": address("DE", "10115", None), "shipping_option": "de-standard"});
    let order = app.post("/api/orders", Some(&alice), body.clone()).await.expect(201).body;
    assert_eq!((&order["totals"], &order["promotions"][0]["code"]), (totals, &json!("BOOKS20")));
    let book_line = order["lines"].as_array().unwrap().iter().find(|l| l["product_id"] == book.as_str()).unwrap();
    assert_eq!((&book_line["discount"], &book_line["tax"]["net"]), (&eur(300), &eur(1008)));
    assert_eq!(
        app.get("/api/cart", Some(&alice)).await.body["promotion_code"],
        Value::Null,
        "the code went with the order"
    );
    let uses = || async { app.get("/api/promotions", Some(&admin)).await.expect(200).body["uses"]["books20"].clone() };
    assert_eq!(uses().await, 1);

    // One use per customer: the code is refused the second time, at the cart and at checkout.
    let path = format!("/api/cart/items/{book}");
    app.call(Method::PUT, &path, Some(&alice), Some(json!({"quantity": 1}))).await.expect(200);
    let again = app.call(Method::PUT, "/api/cart/promotion", Some(&alice), Some(code("BOOKS20"))).await.problem(409);
    assert!(again.body["detail"].as_str().unwrap().contains("used as often"), "{:#}", again.body);
    let mut with_code = body.clone();
    with_code["promotion_code"] = json!("books20");
    app.post("/api/orders", Some(&alice), with_code.clone()).await.problem(409);

    // Cancelling gives the use back: the code works again.
    let id = order["id"].as_str().unwrap();
    app.call(Method::POST, &format!("/api/orders/{id}/cancel"), Some(&alice), None).await.expect(200);
    assert_eq!(uses().await, 0);
    let second = app.post("/api/orders", Some(&alice), with_code).await.expect(201).body;
    assert_eq!(second["totals"]["discount"], eur(300));
    app.call(Method::DELETE, "/api/cart/promotion", Some(&alice), None).await.problem(404);
}

#[tokio::test]
async fn the_address_book_keeps_addresses_and_checkout_takes_one_by_id() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let lamp = app.product(&admin, "Desk lamp", "home", 2000, 20).await;
    let (alice, _, _) = app.shopper("Alice").await;
    let (bob, _, _) = app.shopper("Bob").await;
    let save = |token: &str, body: Value| {
        let (app, token) = (&app, token.to_owned());
        async move { app.post("/api/users/me/addresses", Some(&token), body).await }
    };

    // Checked for its country, as at checkout.
    let refused = save(&alice, json!({"address": address("DE", "1011", None)})).await.problem(422);
    assert_eq!(
        (&refused.body["type"], &refused.body["errors"][0]["field"]),
        (&json!("/problems/invalid-address"), &json!("address.postal_code"))
    );

    // The first address is both defaults; a later one may take either.
    let home = save(&alice, json!({"label": "Home", "address": address("DE", "10115", None)})).await.expect(201).body;
    assert_eq!((&home["default_shipping"], &home["default_billing"]), (&json!(true), &json!(true)));
    let office =
        save(&alice, json!({"label": "Office", "address": address("FR", "75001", None), "default_shipping": true}))
            .await
            .expect(201)
            .body;
    let book = app.get("/api/users/me/addresses", Some(&alice)).await.expect(200).body;
    let flags: Vec<(&Value, &Value, &Value)> =
        book.as_array().unwrap().iter().map(|a| (&a["label"], &a["default_shipping"], &a["default_billing"])).collect();
    assert_eq!(flags, [(&json!("Home"), &json!(false), &json!(true)), (&json!("Office"), &json!(true), &json!(false))]);
    let home_id = home["id"].as_str().unwrap();
    let renamed = app
        .call(
            Method::PUT,
            &format!("/api/users/me/addresses/{home_id}"),
            Some(&alice),
            Some(json!({"label": "Flat", "address": home["address"]})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!((&renamed["label"], &renamed["default_billing"]), (&json!("Flat"), &json!(true)));

    // Nobody else sees or uses them.
    assert_eq!(app.get("/api/users/me/addresses", Some(&bob)).await.body, json!([]));
    let office_id = office["id"].as_str().unwrap();
    app.call(Method::DELETE, &format!("/api/users/me/addresses/{office_id}"), Some(&bob), None).await.problem(404);
    let items = json!([{"product_id": lamp, "quantity": 1}]);
    let by_id = |id: &str| json!({"items": items, "address_id": id});
    app.post("/api/orders", Some(&bob), by_id(office_id)).await.problem(404);

    // Checkout by id ships to the saved address; one of the two ways only.
    let order = app.post("/api/orders", Some(&alice), by_id(office_id)).await.expect(201).body;
    assert_eq!(order["shipping_address"], office["address"]);
    let mut both = by_id(office_id);
    both["shipping_address"] = address("DE", "10115", None);
    app.post("/api/orders", Some(&alice), both).await.problem(422);
    app.post("/api/orders", Some(&alice), json!({"items": items})).await.problem(422);

    // The export holds the book; a removed address takes its default with it.
    let export = app.get("/api/users/me/export", Some(&alice)).await.expect(200).body;
    let kinds: Vec<&str> = export["records"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "address").count(), 2, "{kinds:?}");
    app.call(Method::DELETE, &format!("/api/users/me/addresses/{office_id}"), Some(&alice), None).await.expect(204);
    let book = app.get("/api/users/me/addresses", Some(&alice)).await.body;
    assert_eq!((book.as_array().unwrap().len(), &book[0]["default_shipping"]), (1, &json!(false)));

    // At most twenty.
    for _ in 0..19 {
        save(&alice, json!({"address": address("DE", "10115", None)})).await.expect(201);
    }
    save(&alice, json!({"address": address("DE", "10115", None)})).await.problem(409);
}

/// What a checkout of the cart costs the table with everything priced in (a zone's option, tax
/// rates, an automatic promotion and a code with limits, a saved address): one query (the cart
/// with its code), one batch read (the products, the three settings and the saved address), one
/// transaction; as it cost before shipping, tax and promotions.
#[tokio::test]
async fn a_priced_checkout_costs_one_query_one_batch_read_and_one_transaction() {
    use shop::orders::{CheckoutRequest, Orders, ShipTo};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    configure(&app, &admin, true, eu_rates(), eu_zones()).await;
    for (tag, promotion) in [
        (
            "\"0\"",
            json!({"id": "auto", "name": "5 %", "discount": {"type": "percentage", "percent": "5"},
                        "applies_to": {"type": "order"}, "usage_limit": 100, "active": true}),
        ),
        (
            "\"1\"",
            json!({"id": "code", "name": "1 off", "code": "ONEOFF", "per_customer_limit": 2,
                        "discount": {"type": "fixed", "amount": eur(100)}, "applies_to": {"type": "order"}, "active": true}),
        ),
    ] {
        let path = format!("/api/promotions/{}", promotion["id"].as_str().unwrap());
        app.send(Method::PUT, &path, Some(&admin), Some(promotion), &[("if-match", tag)]).await.expect(200);
    }
    let lamp = app.product(&admin, "Desk lamp", "home", 2000, 20).await;
    let (alice, alice_id, _) = app.shopper("Alice").await;
    app.call(Method::PUT, &format!("/api/cart/items/{lamp}"), Some(&alice), Some(json!({"quantity": 2})))
        .await
        .expect(200);
    app.call(Method::PUT, "/api/cart/promotion", Some(&alice), Some(json!({"code": "ONEOFF"}))).await.expect(200);
    let saved =
        app.post("/api/users/me/addresses", Some(&alice), json!({"address": address("DE", "10115", None)})).await;
    let address = shop::domain::AddressId::parse(saved.expect(201).body["id"].as_str().unwrap()).unwrap();

    let counted = std::sync::Arc::new(shop_tests::Interfering::new(app.running.table.clone()));
    let orders = Orders::new(counted.clone());
    let request = CheckoutRequest {
        guest_email: None,
        user: shop::domain::UserId::parse(&alice_id).unwrap(),
        items: None,
        ship_to: ShipTo::Saved(address),
        shipping_option: Some(shop::domain::Handle::parse("de-standard").unwrap()),
        promotion_code: None,
        idempotency: None,
    };
    let order = orders.checkout(request).await.unwrap().order;
    let applied: Vec<&str> = order.promotions.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(applied, ["auto", "code"], "the automatic promotion, then the cart's code");
    assert_eq!(order.totals.unwrap().total.amount, 4000 - 200 - 100 + 490);
    let reads = counted.reads.load(std::sync::atomic::Ordering::SeqCst);
    let transactions = counted.transactions.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!((reads, transactions), (2, 1), "one query, one batch read; one transaction");
}
