//! Staff roles and the audit log over HTTP on the local stack: every back-office route walked
//! with every role, what each role reaches beyond those routes, and the record every
//! back-office write leaves.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::paying::{checkout, status_becomes, unpaid_order};
use shop_tests::{TestApp, product_body};

const ROLES: [&str; 4] = ["admin", "catalogue", "fulfilment", "support"];

/// Every route whose document names staff roles answers 403 to a caller holding none of them
/// (a customer included) and lets each one it names through: the roles in the document are
/// the roles the code checks.
#[tokio::test]
async fn every_back_office_route_admits_exactly_the_roles_its_document_names() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut callers = vec![("admin".to_owned(), admin.clone())];
    for role in &ROLES[1..] {
        callers.push((role.to_string(), app.staff(&admin, role, &[role]).await.0));
    }
    callers.push(("customer".to_owned(), app.shopper("Customer").await.0));

    let doc = app.get("/openapi.json", None).await.expect(200).body;
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(admitted) = operation["security"][0]["cognito"].as_array().filter(|r| !r.is_empty()) else {
                continue;
            };
            let admitted: Vec<&str> = admitted.iter().map(|r| r.as_str().unwrap()).collect();
            assert!(admitted.contains(&"admin"), "{method} {path}: admins may call every route");
            assert!(operation["responses"]["403"].is_object(), "{method} {path} documents its 403");
            // Ids that name nothing: no walk changes anything.
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { "01J0000000000000000000NONE" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            for (role, token) in &callers {
                let status = app.call(method.clone(), &concrete, Some(token), body.clone()).await.status.as_u16();
                if admitted.contains(&role.as_str()) {
                    assert!(![401, 403].contains(&status), "{method} {path} admits {role}: {status}");
                } else {
                    assert_eq!(status, 403, "{method} {path} refuses {role}");
                }
            }
            walked += 1;
        }
    }
    assert!(walked >= 35, "the back office's routes: {walked}");
}

#[tokio::test]
async fn support_reads_orders_and_customers_and_refunds_up_to_its_limit() {
    let app = TestApp::spawn_with(|c| c.limits.support_refund = 1_000).await;
    let admin = app.admin().await;
    let (support, _) = app.staff(&admin, "Sue", &["support"]).await;
    let (catalogue, _) = app.staff(&admin, "Cat", &["catalogue"]).await;
    let (alice, id, _) = unpaid_order(&app, &admin, 5).await;
    let alice_id = shop::identity::contract::claims_of(&alice)["sub"].as_str().unwrap().to_owned();

    // Support reads any order and customer; the catalogue role reads neither.
    app.get(&format!("/api/orders/{id}"), Some(&support)).await.expect(200);
    app.get(&format!("/api/orders/{id}"), Some(&catalogue)).await.problem(404);
    let all = app.get("/api/orders?status=PENDING_PAYMENT", Some(&support)).await.expect(200).body;
    assert_eq!(all[0]["id"], id.as_str());
    app.get("/api/orders?status=PENDING_PAYMENT", Some(&catalogue)).await.problem(403);
    app.get(&format!("/api/users/{alice_id}"), Some(&support)).await.expect(200);
    app.get(&format!("/api/users/{alice_id}"), Some(&catalogue)).await.problem(404);
    // Reading is not changing: a customer's profile is theirs and the admins'.
    let rename = Some(json!({"name": "Not Alice"}));
    app.call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&support), rename).await.problem(404);

    // Refunds: support up to its limit (10.00 here), admins the rest.
    let payment = checkout(&app, &alice, &id).await;
    app.post(&format!("/_simulator/payments/{payment}/confirm"), None, json!({"card": "4242424242424242"}))
        .await
        .expect(200);
    status_becomes(&app, &alice, &id, "PAID").await;
    let path = format!("/api/orders/{id}/refunds");
    let small = json!({"amount": {"amount": 500, "currency": "EUR"}, "reason": "a scratch"});
    app.post(&path, Some(&support), small).await.expect(201);
    let refused = app.post(&path, Some(&support), json!({"reason": "the rest"})).await.problem(403);
    assert!(refused.body["detail"].as_str().unwrap().contains("at most 1000"), "{}", refused.body);
    let rest = app.post(&path, Some(&admin), json!({"reason": "the rest"})).await.expect(201).body;
    assert_eq!(rest["amount"]["amount"], 2500);
}

#[tokio::test]
async fn a_role_taken_away_ends_its_sessions_and_an_admin_keeps_their_own() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (support, id) = app.staff(&admin, "Temp", &["support", "fulfilment"]).await;
    app.get("/api/users", Some(&support)).await.expect(200);
    let roles = format!("/api/users/{id}/roles");
    assert_eq!(app.get(&roles, Some(&admin)).await.expect(200).body["roles"], json!(["fulfilment", "support"]));
    let staff = app.get("/api/staff", Some(&admin)).await.expect(200).body;
    let member = staff.as_array().unwrap().iter().find(|m| m["user_id"] == id.as_str()).unwrap();
    assert_eq!(member["roles"], json!(["fulfilment", "support"]));

    app.call(Method::PUT, &roles, Some(&admin), Some(json!({"roles": ["fulfilment"]}))).await.expect(200);
    app.get("/api/users", Some(&support)).await.problem(401);
    app.call(Method::PUT, &roles, Some(&admin), Some(json!({"roles": ["owner"]}))).await.problem(422);
    let twice = Some(json!({"roles": ["support", "support"]}));
    app.call(Method::PUT, &roles, Some(&admin), twice).await.problem(422);

    let admin_id = shop::identity::contract::claims_of(&admin)["sub"].as_str().unwrap().to_owned();
    let own = format!("/api/users/{admin_id}/roles");
    app.call(Method::PUT, &own, Some(&admin), Some(json!({"roles": ["support"]}))).await.problem(409);
    app.get("/api/users", Some(&admin)).await.expect(200);
}

fn records(answer: &Value) -> Vec<&Value> {
    answer.as_array().unwrap().iter().collect()
}

#[tokio::test]
async fn every_back_office_write_leaves_a_record_of_who_changed_what() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (clerk, clerk_id) = app.staff(&admin, "Clerk", &["catalogue"]).await;
    let (packer, packer_id) = app.staff(&admin, "Packer", &["fulfilment"]).await;

    // The catalogue clerk reprices a lamp and restocks it.
    let created = app.post("/api/products", Some(&clerk), product_body("Audit Lamp", "lighting", 1500, 3)).await;
    let lamp = created.expect(201).body["id"].as_str().unwrap().to_owned();
    let product_path = format!("/api/products/{lamp}");
    let current = app.get(&product_path, None).await.expect(200);
    let etag = current.header("etag").unwrap().to_owned();
    let mut edit = shop_tests::edit_form(&current.body);
    edit["sku"] = current.body["variants"][0]["sku"].clone();
    edit["price"] = json!({"amount": 1900, "currency": "EUR"});
    app.send(Method::PUT, &product_path, Some(&clerk), Some(edit), &[("If-Match", &etag)]).await.expect(200);
    let restock = json!({"delta": 4, "reason": "delivery"});
    app.post(&format!("{product_path}/stock"), Some(&clerk), restock).await.expect(200);

    // A shopper's own writes are theirs, not the back office's.
    let (alice, _, _) = app.shopper("Alice").await;
    app.call(Method::PUT, &format!("/api/cart/items/{lamp}"), Some(&alice), Some(json!({"quantity": 1})))
        .await
        .expect(200);

    let log = app.get(&format!("/api/audit?target={product_path}"), Some(&admin)).await.expect(200).body;
    let log = records(&log);
    assert_eq!(log.len(), 3, "creation, edit, restock: {log:#?}");
    let (restocked, edited, made) = (log[0], log[1], log[2]);
    assert_eq!(made["method"], "POST");
    assert_eq!(made["before"], Value::Null, "nothing before a creation");
    assert_eq!(made["after"]["id"], lamp.as_str());
    assert_eq!((&edited["actor"], &edited["roles"]), (&json!(clerk_id), &json!(["catalogue"])));
    assert_eq!((&edited["route"], &edited["target"]), (&json!("/api/products/{id}"), &json!(product_path)));
    assert_eq!(edited["before"]["price"]["amount"], 1500);
    assert_eq!(edited["after"]["price"]["amount"], 1900);
    assert_eq!((&restocked["before"]["stock"], &restocked["after"]["stock"]), (&json!(3), &json!(7)));
    assert_eq!(restocked["target"], format!("{product_path}/stock"));

    // The packer ships a paid order: its status before and after, the customer's address left out.
    let (bob, order_id, _) = unpaid_order(&app, &admin, 5).await;
    let orders = shop::orders::Orders::new(app.running.table.clone());
    shop_tests::pay(&orders, &shop::domain::OrderId::parse(&order_id).unwrap()).await;
    let ship = json!({"status": "SHIPPED", "tracking_number": "1Z999"});
    let status_path = format!("/api/orders/{order_id}/status");
    app.call(Method::PUT, &status_path, Some(&packer), Some(ship)).await.expect(200);
    let shipped = app.get(&format!("/api/audit?actor={packer_id}"), Some(&admin)).await.expect(200).body;
    let shipped = records(&shipped);
    assert_eq!(shipped.len(), 1);
    assert_eq!((&shipped[0]["before"]["status"], &shipped[0]["after"]["status"]), (&json!("PAID"), &json!("SHIPPED")));
    assert_eq!(shipped[0]["after"]["shipping_address"], shop::audit::WITHHELD);
    assert_eq!(shipped[0]["target"], status_path);

    // An admin's change to a customer's profile is recorded, with the person left out.
    let bob_id = shop::identity::contract::claims_of(&bob)["sub"].as_str().unwrap().to_owned();
    let rename = Some(json!({"name": "Robert"}));
    app.call(Method::PUT, &format!("/api/users/{bob_id}"), Some(&admin), rename).await.expect(200);
    let profile = app.get(&format!("/api/audit?target=/api/users/{bob_id}"), Some(&admin)).await.expect(200).body;
    assert_eq!(profile[0]["before"]["name"], shop::audit::WITHHELD);
    assert_eq!(profile[0]["before"]["email"], shop::audit::WITHHELD);

    // Everything, newest first; by page; and nothing to change or delete it with.
    let all = app.get("/api/audit", Some(&admin)).await.expect(200).body;
    let ids: Vec<&str> = records(&all).iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(ids.len() >= 8, "two role grants, three catalogue writes, a shipment, a profile: {}", ids.len());
    // Each record is kept for the shop's retention (400 days unless set), then expires.
    let kept = app.running.table.get(&shop::keys::audit(ids[0])).await.unwrap().unwrap();
    let retained = kept.expires_at().unwrap() - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((399 * 86_400..=400 * 86_400).contains(&retained), "{retained} s");
    let first = app.get("/api/audit?limit=2", Some(&admin)).await.expect(200);
    let next = first.header("link").unwrap().trim_start_matches("<?").split('>').next().unwrap().to_owned();
    let second = app.get(&format!("/api/audit?{next}"), Some(&admin)).await.expect(200).body;
    assert_eq!(second[0]["id"], ids[2]);
    assert_eq!(app.get("/api/audit?from=2999-01-01T00:00:00Z", Some(&admin)).await.expect(200).body, json!([]));
    let period = "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z";
    app.get(&format!("/api/audit?{period}"), Some(&admin)).await.problem(422);
    app.get("/api/audit?actor=a%23b", Some(&admin)).await.problem(422);
    app.get("/api/audit?from=yesterday", Some(&admin)).await.problem(422);
    app.get("/api/audit", Some(&clerk)).await.problem(403);
    app.call(Method::DELETE, "/api/audit", Some(&admin), None).await.problem(405);
    app.post("/api/audit", Some(&admin), json!({})).await.problem(405);
}
