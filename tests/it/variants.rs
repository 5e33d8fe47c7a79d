//! Products sold as variants, over HTTP: options and variants made, checked and edited; carts
//! and orders naming variants; every stock invariant held per variant; and the migration that
//! moves products stored before variants, on both tables.

use std::sync::Arc;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use shop::table::{Item, Table, Write};
use shop_tests::{TestApp, shipping_address};

fn tee(sku: &str) -> Value {
    json!({
        "name": "Organic tee",
        "category": "apparel",
        "options": [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Blue"]}],
        "variants": [
            {"sku": format!("{sku}-S"), "options": {"Size": "S", "Colour": "Blue"},
             "price": {"amount": 1500, "currency": "EUR"}, "stock": 2, "weight_grams": 180},
            {"sku": format!("{sku}-M"), "options": {"Size": "M", "Colour": "Blue"},
             "price": {"amount": 1700, "currency": "EUR"}, "stock": 1, "weight_grams": 200}
        ]
    })
}

fn order_of(product: &str, variant: &Value, quantity: i64) -> Value {
    json!({
        "items": [{"product_id": product, "variant_id": variant, "quantity": quantity}],
        "shipping_address": shipping_address(),
    })
}

/// The variant whose SKU is `sku` in a product's answer.
fn variant<'a>(product: &'a Value, sku: &str) -> &'a Value {
    product["variants"].as_array().unwrap().iter().find(|v| v["sku"] == sku).expect("the variant")
}

#[tokio::test]
async fn a_product_sells_as_variants_each_with_its_own_stock() {
    let app = TestApp::spawn_with(|c| c.limits = shop_tests::NO_ORDER_LIMITS).await;
    let admin = app.admin().await;
    let created = app.post("/api/products", Some(&admin), tee("TEE")).await.expect(201);
    let product = created.body["id"].as_str().unwrap().to_owned();
    let (small, medium) = (variant(&created.body, "TEE-S").clone(), variant(&created.body, "TEE-M").clone());
    assert_eq!(medium["options"], json!({"Size": "M", "Colour": "Blue"}));
    assert_eq!((medium["price"]["amount"].as_i64(), medium["weight_grams"].as_i64()), (Some(1700), Some(200)));
    let summary = (&created.body["price"]["amount"], &created.body["max_price"]["amount"], &created.body["stock"]);
    assert_eq!(summary, (&json!(1500), &json!(1700), &json!(3)), "the price range and the units across variants");

    // What no product may be is refused, naming the field, and changes nothing.
    let sku_taken = app.post("/api/products", Some(&admin), tee("TEE")).await.problem(409);
    assert!(sku_taken.body["detail"].as_str().unwrap().contains("TEE-S"), "{:#}", sku_taken.body);
    let mut twice = tee("TWICE");
    twice["variants"][1]["options"] = json!({"Size": "S", "Colour": "Blue"});
    let mut unknown = tee("UNKNOWN");
    unknown["variants"][0]["options"] = json!({"Size": "XL", "Colour": "Blue"});
    let mut missing = tee("MISSING");
    missing["variants"][0]["options"] = json!({"Size": "S"});
    let mut same_sku = tee("SAME");
    same_sku["variants"][1]["sku"] = json!("SAME-S");
    let mut both = tee("BOTH");
    both["sku"] = json!("BOTH-1");
    both["price"] = json!({"amount": 100, "currency": "EUR"});
    let mut currencies = tee("CURRENCIES");
    currencies["variants"][1]["price"]["currency"] = json!("USD");
    let mut colon = tee("COLON");
    colon["options"][0]["values"] = json!(["S:1", "M"]);
    for bad in [twice, unknown, missing, same_sku, both, currencies, colon] {
        app.post("/api/products", Some(&admin), bad).await.problem(422);
    }
    let apparel = app.get("/api/products?category=apparel&limit=100", None).await.body;
    assert_eq!(apparel.as_array().unwrap().iter().filter(|p| p["name"] == "Organic tee").count(), 1);

    // Search finds it once by a variant's SKU, counts its option values and filters by them.
    let search = |query: &'static str| {
        let app = &app;
        async move { app.get(&format!("/api/search?{query}"), None).await.expect(200).body }
    };
    let found = shop_tests::eventually(5, "the tee found by its SKU", || async {
        let found = search("q=TEE-M").await;
        (found["total"] == 1).then_some(found)
    })
    .await;
    assert_eq!((&found["items"][0]["id"], &found["items"][0]["max_price"]["amount"]), (&json!(product), &json!(1700)));
    let sizes = found["facets"]["options"].as_array().unwrap().iter().find(|o| o["name"] == "Size").expect("sizes");
    assert_eq!(sizes["values"], json!([{"value": "M", "count": 1}, {"value": "S", "count": 1}]), "{sizes}");
    assert_eq!(search("q=TEE-M&option=Size:M,Colour:Blue").await["total"], 1);
    assert_eq!(search("q=TEE-M&option=Size:XL").await["total"], 0);

    // The cart names the variant; a product with several is not enough.
    let (alice, _, _) = app.shopper("Alice").await;
    let put = |id: &str, quantity: i64| {
        let (app, alice, path) = (&app, &alice, format!("/api/cart/items/{id}"));
        async move { app.call(Method::PUT, &path, Some(alice), Some(json!({"quantity": quantity}))).await }
    };
    let refused = put(&product, 1).await.problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("2 variants"), "{:#}", refused.body);
    let cart = put(medium["id"].as_str().unwrap(), 1).await.expect(200).body;
    let line = &cart["lines"][0];
    assert_eq!(
        (&line["variant_id"], &line["sku"], &line["options"]["Size"]),
        (&medium["id"], &json!("TEE-M"), &json!("M"))
    );
    assert_eq!(line["unit_price"]["amount"], 1700);
    put("01J00000000000000000000000", 1).await.problem(404);

    // Checkout keeps the variant on the line; the other variant's stock is its own.
    let checkout = json!({"shipping_address": shipping_address()});
    let placed = app.post("/api/orders", Some(&alice), checkout).await.expect(201).body;
    let bought = &placed["lines"][0];
    assert_eq!(
        (&bought["variant_id"], &bought["sku"], &bought["options"]),
        (&medium["id"], &medium["sku"], &medium["options"])
    );
    let read = app.get(&format!("/api/products/{product}"), None).await.body;
    assert_eq!(
        (variant(&read, "TEE-M")["stock"].as_i64(), variant(&read, "TEE-S")["stock"].as_i64()),
        (Some(0), Some(2))
    );
    assert_eq!(read["stock"], 2);
    let sold_out = app.post("/api/orders", Some(&alice), order_of(&product, &medium["id"], 1)).await.problem(409);
    assert_eq!(sold_out.body["short"][0]["variant_id"], medium["id"]);

    // Concurrent checkouts of one variant never oversell it.
    let shoppers = join_all((0..5).map(|i| {
        let app = &app;
        async move { app.shopper(&format!("Buyer{i}")).await.0 }
    }))
    .await;
    let statuses = join_all(shoppers.iter().map(|token| {
        let (app, order) = (&app, order_of(&product, &small["id"], 1));
        async move { app.post("/api/orders", Some(token), order).await.status.as_u16() }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 2, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
    let read = app.get(&format!("/api/products/{product}"), None).await.body;
    assert_eq!((variant(&read, "TEE-S")["stock"].as_i64(), read["stock"].as_i64()), (Some(0), Some(0)));

    // A cancellation gives each variant back its own units.
    let path = format!("/api/orders/{}/cancel", placed["id"].as_str().unwrap());
    app.post(&path, Some(&alice), json!({})).await.expect(200);
    let read = app.get(&format!("/api/products/{product}"), None).await.body;
    assert_eq!(
        (variant(&read, "TEE-M")["stock"].as_i64(), variant(&read, "TEE-S")["stock"].as_i64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn variants_are_added_edited_restocked_and_removed_under_if_match() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let created = app.post("/api/products", Some(&admin), tee("EDIT")).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    let variants = format!("/api/products/{id}/variants");
    let large = json!({"sku": "EDIT-L", "options": {"Size": "L", "Colour": "Blue"},
                       "price": {"amount": 1900, "currency": "EUR"}, "stock": 5});

    app.post(&variants, Some(&admin), large.clone()).await.problem(428);
    let stale = [("if-match", "\"999\"")];
    app.send(Method::POST, &variants, Some(&admin), Some(large.clone()), &stale).await.problem(412);
    let (alice, _, _) = app.shopper("Alice").await;
    app.send(Method::POST, &variants, Some(&alice), Some(large.clone()), &[("if-match", &etag)]).await.problem(403);
    let added =
        app.send(Method::POST, &variants, Some(&admin), Some(large.clone()), &[("if-match", &etag)]).await.expect(201);
    assert_eq!(
        added.body["options"][0],
        json!({"name": "Size", "values": ["S", "M", "L"]}),
        "a new value joins its option"
    );
    assert_eq!((added.body["stock"].as_i64(), added.body["max_price"]["amount"].as_i64()), (Some(8), Some(1900)));
    let l = variant(&added.body, "EDIT-L")["id"].as_str().unwrap().to_owned();
    let etag = added.header("etag").unwrap().to_owned();

    // A variant's own fields change; its stock only through its stock route.
    let one = format!("{variants}/{l}");
    let mut edit = json!({"sku": "EDIT-L2", "options": {"Size": "L", "Colour": "Blue"},
                          "price": {"amount": 2100, "currency": "EUR"}, "stock": 4});
    let refused = app.send(Method::PUT, &one, Some(&admin), Some(edit.clone()), &[("if-match", &etag)]).await;
    assert!(refused.problem(409).body["detail"].as_str().unwrap().contains("the stock is 5"));
    edit["stock"] = json!(5);
    let edited = app.send(Method::PUT, &one, Some(&admin), Some(edit), &[("if-match", &etag)]).await.expect(200);
    assert_eq!(
        (variant(&edited.body, "EDIT-L2")["price"]["amount"].as_i64(), edited.body["stock"].as_i64()),
        (Some(2100), Some(8))
    );
    let etag = edited.header("etag").unwrap().to_owned();
    // A second variant of one combination is refused.
    let again =
        json!({"sku": "EDIT-L", "options": {"Size": "L", "Colour": "Blue"}, "price": {"amount": 1, "currency": "EUR"}});
    let twice = app.send(Method::POST, &variants, Some(&admin), Some(again), &[("if-match", &etag)]).await;
    assert!(twice.problem(422).body["detail"].as_str().unwrap().contains("two variants are"));

    let stock = format!("{one}/stock");
    let moved = app.post(&stock, Some(&admin), json!({"delta": -2, "reason": "damaged"})).await.expect(200);
    assert_eq!((variant(&moved.body, "EDIT-L2")["stock"].as_i64(), moved.body["stock"].as_i64()), (Some(3), Some(6)));
    app.post(&stock, Some(&admin), json!({"delta": -4, "reason": "damaged"})).await.problem(409);
    app.post(&format!("/api/products/{id}/stock"), Some(&admin), json!({"delta": 1, "reason": "count"}))
        .await
        .problem(409);
    app.post(&format!("{variants}/01J00000000000000000000000/stock"), Some(&admin), json!({"delta": 1, "reason": "x"}))
        .await
        .problem(404);
    let etag = moved.header("etag").unwrap().to_owned();

    // Removed one by one, down to the last, which stays.
    let mut etag = etag;
    let mut left: Vec<String> =
        moved.body["variants"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
    while left.len() > 1 {
        let gone = left.remove(0);
        let path = format!("{variants}/{gone}");
        let answer = app.send(Method::DELETE, &path, Some(&admin), None, &[("if-match", &etag)]).await.expect(200);
        assert_eq!(answer.body["variants"].as_array().unwrap().len(), left.len());
        etag = answer.header("etag").unwrap().to_owned();
    }
    let last = format!("{variants}/{}", left[0]);
    app.send(Method::DELETE, &last, Some(&admin), None, &[("if-match", &etag)]).await.problem(409);
    // A product sold as one variant is edited as one thing; its stock route names it.
    app.post(&format!("/api/products/{id}/stock"), Some(&admin), json!({"delta": 1, "reason": "count"}))
        .await
        .expect(200);
}

/// A product, a cart line and an order as the code before variants wrote them.
fn legacy_items(product: &str, user: &str, order: &str) -> Vec<Item> {
    let now = "2026-12-01T10:00:00Z";
    let item = |value: Value| Item(value.as_object().unwrap().clone());
    vec![
        item(json!({
            "PK": format!("PRODUCT#{product}"), "SK": "PRODUCT",
            "GSI1PK": "CATEGORY#lamps", "GSI1SK": format!("old lamp#{product}"),
            "id": product, "sku": "OLD-LAMP", "name": "Old lamp", "description": "", "category": "lamps",
            "price": {"amount": 2500, "currency": "EUR"}, "stock": 7, "images": [], "attributes": {},
            "active": true, "created_at": now, "updated_at": now, "version": 3
        })),
        item(json!({"PK": "SKU#OLD-LAMP", "SK": "SKU", "product_id": product})),
        item(json!({"PK": "PRODUCTS", "SK": format!("PRODUCT#{product}"), "product_id": product})),
        item(json!({"PK": format!("USER#{user}"), "SK": format!("CART#{product}"),
                    "product_id": product, "quantity": 2, "added_at": now})),
        item(json!({"PK": format!("USER#{user}"), "SK": "CART", "lines": 1})),
        item(json!({
            "PK": format!("ORDER#{order}"), "SK": "ORDER",
            "GSI1PK": format!("USER#{user}"), "GSI1SK": format!("ORDER#{now}#{order}"),
            "id": order, "user_id": user, "status": "PENDING_PAYMENT",
            "lines": [{"product_id": product, "sku": "OLD-LAMP", "name": "Old lamp",
                       "unit_price": {"amount": 2500, "currency": "EUR"}, "quantity": 1,
                       "line_total": {"amount": 2500, "currency": "EUR"}}],
            "total": {"amount": 2500, "currency": "EUR"},
            "shipping_address": shipping_address(), "history": [{"status": "PENDING_PAYMENT", "at": now, "by": user}],
            "created_at": now, "updated_at": now, "version": 1
        })),
    ]
}

/// The migration on `table`: before it, the old shapes read as products of one variant; it
/// moves them once; carts and orders written before it keep working.
async fn migrates_products_to_variants(table: Arc<dyn Table>) {
    use shop::domain::{OrderId, ProductId, UserId, VariantId};
    let (product, order) = (ProductId::new(), OrderId::new());
    let user = UserId::random();
    for item in legacy_items(&product.to_string(), user.as_str(), &order.to_string()) {
        table.write(Write::put(item)).await.unwrap();
    }
    let catalog = shop::catalog::Catalog::new(table.clone());
    let before = catalog.get(&product).await.unwrap().unwrap();
    let only = before.sole_variant().unwrap().clone();
    assert_eq!((only.id, only.sku.as_str(), only.stock.get()), (VariantId::from(product), "OLD-LAMP", 7));

    let ran = shop::migrations::run(table.clone()).await.unwrap();
    assert!(ran.iter().any(|(name, moved)| *name == "variants" && *moved >= 1), "{ran:?}");
    let stored = table.get(&shop::keys::product(&product)).await.unwrap().unwrap();
    assert!(stored.0.contains_key("variants") && !stored.0.contains_key("sku"), "stored in today's shape");
    let after = catalog.get(&product).await.unwrap().unwrap();
    assert_eq!((after.version, after.variants.clone()), (4, vec![only.clone()]), "nothing lost, the revision moved");
    assert_eq!(catalog.locate(&only.id).await.unwrap().map(|(p, v)| (p.id, v)), Some((product, only.id)));
    assert!(shop::migrations::run(table.clone()).await.unwrap().is_empty(), "once");
    assert_eq!(catalog.move_to_variants().await.unwrap(), 0, "and again changes nothing");

    // The old cart line and the old order name the variant: bought, and cancelled, per variant.
    let carts = shop::cart::Carts::new(table.clone());
    let view = carts.view(&user, None).await.unwrap();
    assert_eq!((view.lines[0].variant_id, view.lines[0].problem), (only.id, None));
    let orders = shop::orders::Orders::new(table.clone());
    let request = shop::orders::CheckoutRequest {
        guest_email: None,
        user: user.clone(),
        items: None,
        ship_to: shipping_address().into(),
        shipping_option: None,
        promotion_code: None,
        idempotency: None,
    };
    let placed = orders.checkout(request).await.unwrap().order;
    assert_eq!((placed.lines[0].variant_id, placed.lines[0].quantity.get()), (only.id, 2));
    let old = orders.get(&order).await.unwrap().unwrap();
    assert_eq!(old.lines[0].variant_id, only.id);
    let cancel = shop::orders::Transition::Cancel(shop::orders::CancelReason::Shopper);
    orders.transition(&order, cancel, user.as_str()).await.unwrap();
    assert_eq!(catalog.get(&product).await.unwrap().unwrap().stock, 7 - 2 + 1);
}

#[tokio::test]
async fn the_migration_moves_products_to_variants_on_sqlite() {
    let dir = shop_tests::temp_dir("migration");
    let table = shop_embedded::sqlite::SqliteTable::open(&dir.path().join("shop.db")).unwrap();
    migrates_products_to_variants(Arc::new(table)).await;
}

#[tokio::test]
async fn the_migration_moves_products_to_variants_on_dynamodb() {
    let name = format!("shop-migration-{}", ulid::Ulid::new());
    let aws = shop_tests::emulator().await;
    local::provision::table(&aws, &name).await.unwrap();
    let table = shop_dynamodb::DynamoTable::new(aws_sdk_dynamodb::Client::new(&aws), name);
    migrates_products_to_variants(Arc::new(table)).await;
}
