//! Journeys through the local gateway over HTTP: what shoppers and admins do, every
//! authorization rule, and bad input that must be refused without changing anything.

use reqwest::Method;
use serde_json::{Value, json};
use shop_tests::{ADMIN_EMAIL, PASSWORD, TestApp, eventually, product_body};

#[tokio::test]
async fn a_shopper_and_an_admin_go_through_the_shop() {
    let app = TestApp::spawn().await;

    // Register, log in, see the profile.
    let (email, user_id) = app.register("Ada").await;
    let tokens = app.login(&email, PASSWORD).await;
    for field in ["access_token", "id_token", "refresh_token", "expires_in", "token_type"] {
        assert!(!tokens[field].is_null(), "login answers {field}");
    }
    let token = tokens["id_token"].as_str().unwrap();
    let me = app.get("/api/users/me", Some(token)).await.expect(200);
    assert_eq!(me.body["id"], user_id.as_str());
    assert_eq!(me.body["email"], email.as_str());
    assert_eq!(me.body["name"], "Ada");

    // Update the profile with If-Match; a stale version is refused.
    let etag = me.header("etag").unwrap().to_owned();
    let changed = app
        .send(Method::PUT, &format!("/api/users/{user_id}"), Some(token),
            Some(json!({"name": "Ada L.", "phone": "+4915112345678",
                "address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
                "preferences": {"email": true, "sms": true}})),
            &[("if-match", &etag)])
        .await
        .expect(200);
    assert_eq!(changed.body["name"], "Ada L.");
    assert_eq!(changed.body["address"]["country"], "DE");
    app.send(
        Method::PUT,
        &format!("/api/users/{user_id}"),
        Some(token),
        Some(json!({"name": "X"})),
        &[("if-match", &etag)],
    )
    .await
    .problem(412);

    // Browse: pages follow the Link header to the end, each product once.
    let mut seen = Vec::new();
    let mut path = "/api/products?limit=7".to_owned();
    loop {
        let page = app.get(&path, None).await.expect(200);
        seen.extend(page.body.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        let Some(link) = page.header("link") else {
            break;
        };
        let query = link.trim_start_matches("<?").split('>').next().unwrap();
        path = format!("/api/products?{query}");
    }
    assert_eq!(seen.len(), 48, "the demo catalogue");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    let books = app.get("/api/products?category=books&limit=100", None).await.expect(200);
    assert_eq!(books.body.as_array().unwrap().len(), 8);
    let categories = app.get("/api/categories", None).await.expect(200);
    assert_eq!(categories.body.as_array().unwrap().len(), 6);

    // A single product has an ETag; If-None-Match gives 304.
    let product = app.get(&format!("/api/products/{}", seen[0]), None).await.expect(200);
    let etag = product.header("etag").unwrap().to_owned();
    let again =
        app.send(Method::GET, &format!("/api/products/{}", seen[0]), None, None, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);

    // The admin creates, updates and deletes a product.
    let admin = app.admin().await;
    let created =
        app.post("/api/products", Some(&admin), product_body("Test Lamp", "lighting", 2599, 12)).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location").unwrap(), format!("/api/products/{id}"));
    assert_eq!(created.body["price"], json!({"amount": 2599, "currency": "EUR"}));
    let etag = created.header("etag").unwrap().to_owned();
    let mut body = product_body("Test Lamp Pro", "lighting", 2999, 10);
    body["sku"] = created.body["variants"][0]["sku"].clone();
    body.as_object_mut().unwrap().remove("stock");
    let updated = app
        .send(Method::PUT, &format!("/api/products/{id}"), Some(&admin), Some(body.clone()), &[("if-match", &etag)])
        .await
        .expect(200);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["name"], "Test Lamp Pro");
    assert_eq!(updated.body["stock"], 12, "an edit keeps the stock");
    app.send(Method::PUT, &format!("/api/products/{id}"), Some(&admin), Some(body), &[("if-match", &etag)])
        .await
        .problem(412);
    let lighting = app.get("/api/categories", None).await.body;
    assert!(lighting.as_array().unwrap().iter().any(|c| c["slug"] == "lighting" && c["product_count"] == 1));
    let etag = updated.header("etag").unwrap();
    app.send(Method::DELETE, &format!("/api/products/{id}"), Some(&admin), None, &[("if-match", etag)])
        .await
        .expect(204);
    app.get(&format!("/api/products/{id}"), None).await.problem(404);

    // GDPR export holds the profile and no secrets: no hash, and no one-time code, not even one
    // mailed a moment ago (with it and an ID token, anyone could take the account over).
    app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    let code = app.sent_code(&email, "password_reset").await;
    let export = app.get("/api/users/me/export", Some(token)).await.expect(200);
    let text = export.body.to_string();
    assert!(text.contains("Ada L.") && text.contains(&email));
    assert!(!text.contains("argon2") && !text.contains("password_hash"));
    assert!(text.contains("Reset your password") && !text.contains(&code), "{text}");

    // Refresh, then log out everywhere: the refresh token dies, and so does the ID token on
    // every route, though it has most of its hour left.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    app.post("/api/auth/refresh", None, json!({"refresh_token": refresh})).await.expect(200);
    app.call(Method::POST, "/api/auth/logout", Some(token), None).await.expect(204);
    app.post("/api/auth/refresh", None, json!({"refresh_token": refresh})).await.problem(401);
    let ended = app.get("/api/users/me", Some(token)).await.problem(401);
    assert!(ended.body["detail"].as_str().unwrap().contains("session has ended"));
    app.get("/api/cart", Some(token)).await.problem(401);

    // Delete the account: the profile and the identity are gone.
    let token = app.login(&email, PASSWORD).await["id_token"].as_str().unwrap().to_owned();
    app.call(Method::DELETE, &format!("/api/users/{user_id}"), Some(&token), None).await.expect(204);
    app.post("/api/auth/login", None, json!({"email": email, "password": PASSWORD})).await.problem(401);
    app.get(&format!("/api/users/{user_id}"), Some(&admin)).await.problem(404);
}

#[tokio::test]
async fn accounts_refuse_weak_passwords_taken_emails_and_wrong_credentials() {
    let app = TestApp::spawn().await;
    let weak = app
        .post("/api/auth/register", None, json!({"email": "w@example.com", "password": "short", "name": "W"}))
        .await
        .problem(422);
    assert_eq!(weak.body["errors"][0]["field"], "password");
    assert!(weak.body["detail"].as_str().unwrap().contains("at least 10 characters"));
    // A taken address is answered as a new one; its owner hears of the try by email.
    let (email, _) = app.register("Bea").await;
    let taken = app
        .post("/api/auth/register", None, json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "B"}))
        .await
        .expect(202);
    let fresh = app
        .post("/api/auth/register", None, json!({"email": "bea-new@example.com", "password": PASSWORD, "name": "B"}))
        .await
        .expect(202);
    assert_eq!((taken.body, taken.headers.len()), (fresh.body, fresh.headers.len()));
    let mailbox = shop_embedded::mailbox::Mailbox::new(app.running.table.clone());
    shop_tests::eventually(10, "the owner's email", || async {
        let all = mailbox.all().await.unwrap();
        all.into_iter().find(|m| m.to == email && m.subject.as_deref() == Some("You already have an account"))
    })
    .await;
    let wrong =
        app.post("/api/auth/login", None, json!({"email": email, "password": "Wrong-Pass-1"})).await.problem(401);
    let unknown = app
        .post("/api/auth/login", None, json!({"email": "nobody@example.com", "password": "Wrong-Pass-1"}))
        .await
        .problem(401);
    assert_eq!(wrong.body, unknown.body, "the same answer for both");
    // Forgot-password: the same answer whether the account exists or not.
    let known = app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    let nobody = app.post("/api/auth/password/forgot", None, json!({"email": "nobody@example.com"})).await.expect(202);
    assert_eq!(known.body, nobody.body);
    // A wrong code is refused; the real one (from the outbox) works.
    app.post(
        "/api/auth/password/reset",
        None,
        json!({"email": email, "code": "000000x", "password": "New-Password-9"}),
    )
    .await
    .problem(422);
}

#[tokio::test]
async fn the_emailed_code_flow_confirms_accounts() {
    let app = TestApp::spawn_with(|c| c.auto_confirm = false).await;
    let email = "cy@example.com";
    let body = json!({"email": email, "password": PASSWORD, "name": "Cy"});
    let registered = app.post("/api/auth/register", None, body).await.expect(202).body;
    assert_eq!(registered, json!({"confirmed": false}));
    app.post("/api/auth/login", None, json!({"email": email, "password": PASSWORD})).await.problem(401);
    let first = app.sent_code(email, "confirm").await;
    // A new code on request (the same answer for any address); the newest one confirms.
    app.post("/api/auth/confirm/resend", None, json!({"email": email})).await.expect(202);
    app.post("/api/auth/confirm/resend", None, json!({"email": "nobody@example.com"})).await.expect(202);
    let code = shop_tests::eventually(10, "a second code", || async {
        Some(app.sent_code(email, "confirm").await).filter(|c| *c != first)
    })
    .await;
    app.post("/api/auth/confirm", None, json!({"email": email, "code": "999999"})).await.problem(422);
    app.post("/api/auth/confirm", None, json!({"email": email, "code": code})).await.expect(204);
    let token = app.login(email, PASSWORD).await["id_token"].as_str().unwrap().to_owned();
    // Password reset with the emailed code: it ends every session.
    app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    let code = app.sent_code(email, "password_reset").await;
    app.post("/api/auth/password/reset", None, json!({"email": email, "code": code, "password": "New-Password-9"}))
        .await
        .expect(204);
    app.get("/api/users/me", Some(&token)).await.problem(401);
    let token = app.login(email, "New-Password-9").await["id_token"].as_str().unwrap().to_owned();
    app.get("/api/users/me", Some(&token)).await.expect(200);
}

#[tokio::test]
async fn an_address_signed_up_by_someone_else_goes_back_to_its_owner() {
    use shop::domain::Email;
    let app = TestApp::spawn_with(|c| c.auto_confirm = false).await;
    let email = "dee@example.com";
    let owner = |table: std::sync::Arc<dyn shop::table::Table>| async move {
        table.get(&shop::keys::email(&Email::parse(email).unwrap())).await.unwrap().expect("the address has an account")
    };
    // A squatter signs up with Dee's address and cannot confirm it (the code goes to Dee).
    let squatter = json!({"email": email, "password": "Squatter-Pass-1", "name": "Not Dee"});
    app.post("/api/auth/register", None, squatter).await.expect(202);
    let unconfirmed = owner(app.running.table.clone()).await;
    let expires = unconfirmed.int("expires_at").expect("an unconfirmed account expires");
    let now = shop::time::epoch_now();
    assert!(expires > now && expires <= now + 24 * 3600, "within a day: {expires}");
    // Dee's own sign-up is answered as any other; a password reset gives her the account.
    let dee = json!({"email": email, "password": PASSWORD, "name": "Dee"});
    assert_eq!(app.post("/api/auth/register", None, dee).await.expect(202).body, json!({"confirmed": false}));
    app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    let code = app.sent_code(email, "password_reset").await;
    app.post("/api/auth/password/reset", None, json!({"email": email, "code": code, "password": PASSWORD}))
        .await
        .expect(204);
    assert_eq!(owner(app.running.table.clone()).await.int("expires_at"), None, "confirmed, kept");
    app.post("/api/auth/login", None, json!({"email": email, "password": "Squatter-Pass-1"})).await.problem(401);
    let token = app.login(email, PASSWORD).await["id_token"].as_str().unwrap().to_owned();
    app.get("/api/users/me", Some(&token)).await.expect(200);
}

#[tokio::test]
async fn every_route_enforces_its_authorization() {
    let app = TestApp::spawn().await;
    let (alice, alice_id, _) = app.shopper("Alice").await;
    let (_bob, bob_id, _) = app.shopper("Bob").await;
    let admin = app.admin().await;
    let product = app.get("/api/products?limit=1", None).await.body[0]["id"].as_str().unwrap().to_owned();

    // No token, a malformed one, a forged one, alg none, an access token: 401 everywhere.
    let claims = shop::identity::contract::claims_of(&alice);
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let mut admin_claims = claims.clone();
    admin_claims["cognito:groups"] = json!(["admin"]);
    let parts: Vec<&str> = alice.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], b64(&admin_claims), parts[2]);
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&admin_claims));
    let mut expired_claims = claims.clone();
    expired_claims["exp"] = json!(1);
    let expired = format!("{}.{}.{}", parts[0], b64(&expired_claims), parts[2]);
    let access = app.login(ADMIN_EMAIL, shop_tests::ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let bad_tokens = [
        None,
        Some("garbage"),
        Some(forged.as_str()),
        Some(alg_none.as_str()),
        Some(expired.as_str()),
        Some(access.as_str()),
    ];
    let protected = [
        (Method::GET, "/api/users".to_owned()),
        (Method::POST, "/api/users".to_owned()),
        (Method::GET, "/api/users/me".to_owned()),
        (Method::GET, "/api/users/me/export".to_owned()),
        (Method::GET, format!("/api/users/{alice_id}")),
        (Method::PUT, format!("/api/users/{alice_id}")),
        (Method::DELETE, format!("/api/users/{alice_id}")),
        (Method::POST, "/api/products".to_owned()),
        (Method::PUT, format!("/api/products/{product}")),
        (Method::DELETE, format!("/api/products/{product}")),
    ];
    for (method, path) in &protected {
        for token in bad_tokens {
            app.call(method.clone(), path, token, Some(json!({}))).await.problem(401);
        }
    }
    // A token from another issuer: another stack's admin.
    let other = TestApp::spawn().await;
    let foreign = other.admin().await;
    app.get("/api/users", Some(&foreign)).await.problem(401);

    // A shopper on admin routes: 403.
    app.get("/api/users", Some(&alice)).await.problem(403);
    app.post("/api/users", Some(&alice), json!({"email": "x@example.com", "name": "X", "password": PASSWORD}))
        .await
        .problem(403);
    app.post("/api/products", Some(&alice), product_body("Nope", "misc", 100, 1)).await.problem(403);
    app.call(
        Method::PUT,
        &format!("/api/products/{product}"),
        Some(&alice),
        Some(product_body("Nope", "misc", 100, 1)),
    )
    .await
    .problem(403);
    app.call(Method::DELETE, &format!("/api/products/{product}"), Some(&alice), None).await.problem(403);
    app.get(&format!("/api/products/{product}/sales"), Some(&alice)).await.problem(403);

    // Another shopper's resources: 404, and nothing changes.
    app.get(&format!("/api/users/{bob_id}"), Some(&alice)).await.problem(404);
    app.call(Method::PUT, &format!("/api/users/{bob_id}"), Some(&alice), Some(json!({"name": "Hacked"})))
        .await
        .problem(404);
    app.call(Method::DELETE, &format!("/api/users/{bob_id}"), Some(&alice), None).await.problem(404);
    let bob = app.get(&format!("/api/users/{bob_id}"), Some(&admin)).await.expect(200);
    assert_eq!(bob.body["name"], "Bob");

    // Mass assignment: fields a caller may not set are refused.
    for field in
        [json!({"id": "x"}), json!({"email": "evil@example.com"}), json!({"groups": ["admin"]}), json!({"version": 9})]
    {
        let refused = app
            .call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&alice), Some(field.clone()))
            .await
            .problem(422);
        assert!(refused.body["detail"].as_str().unwrap().contains("unknown field"), "{field}");
    }
    let me = app.get("/api/users/me", Some(&alice)).await.expect(200);
    assert_eq!(me.body["version"], 1, "nothing was applied");
    let mut with_id = product_body("Lamp", "misc", 100, 1);
    with_id["id"] = json!("01J00000000000000000000000");
    app.post("/api/products", Some(&admin), with_id).await.problem(422);

    // The admin reaches everyone.
    let list = app.get("/api/users?limit=2", Some(&admin)).await.expect(200);
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    assert!(list.header("link").is_some());
    let made = app
        .post("/api/users", Some(&admin), json!({"email": "made@example.com", "name": "Made", "password": PASSWORD}))
        .await
        .expect(201);
    assert_eq!(made.body["email"], "made@example.com");
    app.login("made@example.com", PASSWORD).await;
    app.call(Method::PUT, &format!("/api/users/{bob_id}"), Some(&admin), Some(json!({"name": "Robert"})))
        .await
        .expect(200);
}

#[tokio::test]
async fn every_answer_says_who_may_keep_it() {
    let app = TestApp::spawn().await;
    let (_alice, alice_id, _) = app.shopper("Alice").await;
    let admin = app.admin().await;
    let product = app.get("/api/products?limit=1", None).await.body[0]["id"].as_str().unwrap().to_owned();
    let unknown = "01J00000000000000000000000";
    let guest = app.post("/api/guest/tokens", None, json!({})).await.expect(201).body["token"].clone();
    let guest = [("guest-token", guest.as_str().unwrap())];

    // Every route, reads with ids that exist and changes with one that does not (so that the
    // walk changes nothing): public reads may be kept a while, everything else never.
    for route in local::gateway::routes(&local::openapi()) {
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let read = method == Method::GET;
        let id = match () {
            _ if !read => unknown,
            _ if route.path.starts_with("/api/users/") => &alice_id,
            _ if route.path.starts_with("/api/products/") => &product,
            _ => unknown,
        };
        let mut path = route.path.replace("{id}", id).replace("{product_id}", &product);
        if path.starts_with("/api/search") {
            path.push_str("?q=lamp");
        }
        let token = route.needs_caller.then_some(admin.as_str());
        // A guest's routes answer the guest alone.
        let guests = route.path.starts_with("/api/guest/");
        let headers: &[(&str, &str)] = if guests { &guest } else { &[] };
        let answer = app.send(method, &path, token, (!read).then(|| json!({})), headers).await;
        let policy = answer.header("cache-control").unwrap_or_default().to_owned();
        if route.needs_caller || guests || !read {
            assert_eq!(policy, "private, no-store", "{} {path} answered {}", route.method, answer.status);
            continue;
        }
        let answer = answer.expect(200);
        assert!(
            policy.starts_with("public, max-age=") && policy.contains("stale-while-revalidate="),
            "GET {path}: {policy}"
        );
        let etag = answer.header("etag").unwrap_or_else(|| panic!("GET {path} has no ETag"));
        let again = app.send(Method::GET, &path, None, None, &[("if-none-match", etag)]).await.expect(304);
        assert_eq!(again.header("cache-control"), Some(policy.as_str()), "GET {path}: a 304 keeps the policy");
    }

    // A public route's error is not kept either.
    let missing = app.get(&format!("/api/products/{unknown}"), None).await.problem(404);
    assert_eq!(missing.header("cache-control"), Some("private, no-store"));
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let before = app.get("/api/products?limit=100", None).await.body.as_array().unwrap().len();
    let raw = |body: &'static str, content_type: &'static str| {
        let (url, http, admin) = (app.url.clone(), app.http.clone(), admin.clone());
        async move {
            let r = http
                .post(format!("{url}/api/products"))
                .bearer_auth(admin)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers()["content-type"].to_str().unwrap().to_owned())
        }
    };
    assert_eq!(raw("{not json", "application/json").await, (400, "application/problem+json".into()));
    assert_eq!(raw("{}", "text/plain").await, (415, "application/problem+json".into()));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"sku": 5}), "sku"),
        (
            {
                let mut b = product_body("P", "misc", -1, 1);
                b["price"]["amount"] = json!(-1);
                b
            },
            "price.amount",
        ),
        (product_body("P", "misc", 100, -3), "stock"),
        (
            {
                let mut b = product_body("P", "misc", 100, 1);
                b["price"]["currency"] = json!("XYZ");
                b
            },
            "price.currency",
        ),
        (product_body(&"n".repeat(201), "misc", 100, 1), "name"),
        (product_body("P", "Not A Slug", 100, 1), "category"),
        (
            {
                let mut b = product_body("P", "misc", 100, 1);
                b["images"] = json!(["http://insecure.example.com/x.png"]);
                b
            },
            "images[0]",
        ),
        (
            {
                let mut b = product_body("P", "misc", 100, 1);
                b["price"]["amount"] = json!(19.99);
                b
            },
            "price.amount",
        ),
    ];
    for (body, field) in cases {
        let answer = app.post("/api/products", Some(&admin), body.clone()).await.problem(422);
        let named = answer.body["errors"].as_array().is_some_and(|e| e.iter().any(|e| e["field"] == field))
            || answer.body["detail"].as_str().unwrap().contains(field.split('[').next().unwrap());
        assert!(named, "{field} is named in {:#}", answer.body);
    }
    // Too large, bad cursor, bad limit, bad id, unknown route and method.
    let huge = json!({"name": "x".repeat(400_000)});
    app.post("/api/products", Some(&admin), huge).await.problem(413);
    app.get("/api/products?cursor=forged.cursor", None).await.problem(400);
    let page = app.get("/api/products?limit=2", None).await;
    let link = page.header("link").unwrap().to_owned();
    let cursor = link.split("cursor=").nth(1).unwrap().split('>').next().unwrap();
    app.get(&format!("/api/products?category=books&cursor={cursor}"), None).await.problem(400);
    let tampered = format!("{}A{}", &cursor[..5], &cursor[6..]);
    app.get(&format!("/api/products?cursor={tampered}"), None).await.problem(400);
    app.get("/api/products?limit=abc", None).await.problem(400);
    app.get("/api/products?limit=0", None).await.problem(400);
    app.get("/api/products?limit=101", None).await.problem(400);
    let most = app.get("/api/products?limit=100", None).await.expect(200);
    assert_eq!(most.body.as_array().unwrap().len(), 48, "the whole catalogue in one page of 100");
    app.get("/api/products/not-an-id", None).await.problem(404);
    app.get("/api/products/01J00000000000000000000000", None).await.problem(404);
    app.get("/api/products?category=BAD!", None).await.problem(400);
    app.get("/api/nowhere", None).await.problem(404);
    app.call(Method::PATCH, "/api/products", None, None).await.problem(405);
    let after = app.get("/api/products?limit=100", None).await.body.as_array().unwrap().len();
    assert_eq!(before, after, "nothing was created");
    // The other services refuse bad input the same way.
    app.post("/api/auth/register", None, json!({"email": "not-an-email", "password": PASSWORD, "name": "X"}))
        .await
        .problem(422);
    app.post(
        "/api/auth/register",
        None,
        json!({"email": "x@example.com", "password": PASSWORD, "name": "x".repeat(201)}),
    )
    .await
    .problem(422);
    app.post("/api/auth/register", None, json!({"email": "x@example.com", "password": 5, "name": "X"}))
        .await
        .problem(422);
    app.post("/api/auth/login", None, json!("not an object")).await.problem(422);
    let (shopper, shopper_id, _) = app.shopper("Gus").await;
    let path = format!("/api/users/{shopper_id}");
    app.call(Method::PUT, &path, Some(&shopper), Some(json!({"phone": "12"}))).await.problem(422);
    app.call(Method::PUT, &path, Some(&shopper), Some(json!({"address": {"line1": "x"}}))).await.problem(422);
    app.send(Method::PUT, &path, Some(&shopper), Some(json!({"name": "G"})), &[("if-match", "garbage")])
        .await
        .problem(400);
    app.send(Method::PUT, &path, Some(&shopper), Some(json!({"name": "G"})), &[("if-match", "\"not-ours\"")])
        .await
        .problem(412);
    app.get("/api/users/not%23an%23id", Some(&admin)).await.problem(404);
    // A duplicate SKU is a conflict.
    let body = product_body("Dup", "misc", 100, 1);
    app.post("/api/products", Some(&admin), body.clone()).await.expect(201);
    app.post("/api/products", Some(&admin), body).await.problem(409);
}

#[tokio::test]
async fn the_gateway_throttles_each_client_with_retry_after() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit = 2.0;
        c.burst = 5.0;
    })
    .await;
    let mut throttled = None;
    for _ in 0..20 {
        let answer = app.get("/api/categories", None).await;
        if answer.status == 429 {
            throttled = Some(answer);
            break;
        }
    }
    let answer = throttled.expect("throttled within 20 requests").problem(429);
    assert!(answer.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn data_survives_a_restart_and_the_catalogue_is_seeded_once() {
    let app = TestApp::spawn().await;
    let (email, _) = app.register("Dora").await;
    let data_dir = app.config.data_dir.clone();
    app.running.task.abort();
    let again = TestApp::spawn_with(|c| c.data_dir = data_dir).await;
    again.login(&email, PASSWORD).await;
    let products = again.get("/api/products?limit=100", None).await.body.as_array().unwrap().len();
    assert_eq!(products, 48);
}

#[tokio::test]
async fn the_api_is_described_and_documented() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json", None).await.expect(200).body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let jwks = app.get("/.well-known/jwks.json", None).await.expect(200).body;
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(jwks["keys"][0].get("d").is_none(), "only the public key");
    let docs = app.http.get(format!("{}/docs", app.url)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("/openapi.json"));
    // What the document says about sign-in is what the gateway does: without a token, every
    // operation with the bearer scheme answers 401 and none without it does.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path
                .replace("{id}", "01J00000000000000000000000")
                .replace("{product_id}", "01J00000000000000000000000");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = app.call(method.clone(), &concrete, None, Some(json!({}))).await;
            let documented = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(answer.status == 401, documented, "{method} {path} answered {:#}", answer.body);
        }
    }
}

#[tokio::test]
async fn a_shopper_fills_and_empties_a_cart_priced_from_the_catalogue() {
    let app = TestApp::spawn().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let (bob, _, _) = app.shopper("Bob").await;
    let admin = app.admin().await;
    // Products sold as one variant: their ids name their variants.
    let products = app.get("/api/products?category=books&limit=3", None).await.body;
    let (a, b) = (products[0]["id"].as_str().unwrap().to_owned(), products[1]["id"].as_str().unwrap().to_owned());
    let (price_a, price_b) =
        (products[0]["price"]["amount"].as_i64().unwrap(), products[1]["price"]["amount"].as_i64().unwrap());

    let empty = app.get("/api/cart", Some(&alice)).await.expect(200).body;
    assert_eq!(empty["lines"], json!([]));
    assert_eq!(empty["ready_for_checkout"], false);
    app.call(Method::PUT, &format!("/api/cart/items/{a}"), Some(&alice), Some(json!({"quantity": 2})))
        .await
        .expect(200);
    let cart = app.call(Method::PUT, &format!("/api/cart/items/{b}"), Some(&alice), Some(json!({"quantity": 1}))).await;
    let cart = cart.expect(200).body;
    assert_eq!(cart["lines"].as_array().unwrap().len(), 2);
    assert_eq!(cart["lines"][0]["line_total"]["amount"], price_a * 2);
    assert_eq!(cart["total"], json!({"amount": price_a * 2 + price_b, "currency": "EUR"}));
    assert_eq!(cart["ready_for_checkout"], true);
    // Setting again changes the quantity, not the number of lines.
    let cart = app.call(Method::PUT, &format!("/api/cart/items/{a}"), Some(&alice), Some(json!({"quantity": 5}))).await;
    assert_eq!(cart.expect(200).body["lines"][0]["quantity"], 5);

    // Bob's cart is his own.
    assert_eq!(app.get("/api/cart", Some(&bob)).await.expect(200).body["lines"], json!([]));
    app.call(Method::DELETE, &format!("/api/cart/items/{a}"), Some(&bob), None).await.problem(404);

    // Lines flag what cannot be bought: short of stock, then inactive, then gone.
    let product = app.get(&format!("/api/products/{a}"), None).await;
    let mut body = shop_tests::edit_form(&product.body);
    let delta = 3 - product.body["stock"].as_i64().unwrap();
    let updated = app
        .post(&format!("/api/products/{a}/stock"), Some(&admin), json!({"delta": delta, "reason": "count correction"}))
        .await;
    let etag = updated.expect(200).header("etag").unwrap().to_owned();
    let cart = app.get("/api/cart", Some(&alice)).await.body;
    assert_eq!(cart["lines"][0]["problem"], "short_of_stock");
    assert_eq!(cart["total"]["amount"], price_b, "problem lines are not in the total");
    assert_eq!(cart["ready_for_checkout"], false);
    body["active"] = json!(false);
    let updated = app
        .send(Method::PUT, &format!("/api/products/{a}"), Some(&admin), Some(body), &[("if-match", &etag)])
        .await
        .expect(200);
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["lines"][0]["problem"], "inactive");
    app.call(Method::PUT, &format!("/api/cart/items/{a}"), Some(&alice), Some(json!({"quantity": 1})))
        .await
        .problem(409);
    // Off sale, it is not found by anyone, its price and stock included, but in the back office.
    app.get(&format!("/api/products/{a}"), None).await.problem(404);
    app.get(&format!("/api/products/{a}"), Some(&alice)).await.problem(404);
    app.get(&format!("/api/products/{a}/record"), Some(&alice)).await.problem(403);
    app.get(&format!("/api/products/{a}/record"), None).await.problem(401);
    let record = app.get(&format!("/api/products/{a}/record"), Some(&admin)).await.expect(200);
    assert_eq!((record.body["active"].clone(), record.header("etag")), (json!(false), updated.header("etag")));
    let etag = updated.header("etag").unwrap();
    app.send(Method::DELETE, &format!("/api/products/{a}"), Some(&admin), None, &[("if-match", etag)])
        .await
        .expect(204);
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["lines"][0]["problem"], "gone");

    // Bad input changes nothing.
    for quantity in [json!(0), json!(100), json!(-1), json!(1.5), json!("2")] {
        app.call(Method::PUT, &format!("/api/cart/items/{b}"), Some(&alice), Some(json!({"quantity": quantity})))
            .await
            .problem(422);
    }
    app.call(Method::PUT, "/api/cart/items/not-an-id", Some(&alice), Some(json!({"quantity": 1}))).await.problem(404);
    app.call(Method::PUT, "/api/cart/items/01J00000000000000000000000", Some(&alice), Some(json!({"quantity": 1})))
        .await
        .problem(404);
    app.call(Method::PUT, &format!("/api/cart/items/{b}"), Some(&alice), Some(json!({"quantity": 1, "price": 1})))
        .await
        .problem(422);
    app.get("/api/cart", None).await.problem(401);
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["lines"][1]["quantity"], 1);

    // Remove a line, then empty the cart.
    app.call(Method::DELETE, &format!("/api/cart/items/{b}"), Some(&alice), None).await.expect(204);
    app.call(Method::DELETE, &format!("/api/cart/items/{b}"), Some(&alice), None).await.problem(404);
    app.call(Method::DELETE, "/api/cart", Some(&alice), None).await.expect(204);
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["lines"], json!([]));
}

#[tokio::test]
async fn a_cart_holds_a_bounded_number_of_lines_even_under_concurrency() {
    let app = TestApp::spawn().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let ids: Vec<String> = app
        .get("/api/products?limit=48", None)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["variants"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()))
        .collect();
    let puts = ids.iter().map(|id| {
        let (app, alice) = (&app, &alice);
        async move {
            app.call(Method::PUT, &format!("/api/cart/items/{id}"), Some(alice), Some(json!({"quantity": 1})))
                .await
                .status
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(puts).await;
    let max = shop::cart::MAX_LINES as usize;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), max);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), ids.len() - max);
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["lines"].as_array().unwrap().len(), max);
    // Removing a line makes room again (one that got in: which did is the race's to say).
    let held = statuses.iter().position(|s| *s == 200).unwrap();
    app.call(Method::DELETE, &format!("/api/cart/items/{}", ids[held]), Some(&alice), None).await.expect(204);
    let last = statuses.iter().position(|s| *s == 409).unwrap();
    app.call(Method::PUT, &format!("/api/cart/items/{}", ids[last]), Some(&alice), Some(json!({"quantity": 1})))
        .await
        .expect(200);
}

fn address() -> Value {
    serde_json::to_value(shop_tests::shipping_address()).unwrap()
}

/// A product made for the test, with its id.
async fn stocked_product(app: &TestApp, admin: &str, stock: i64) -> String {
    app.product(admin, "Limited Lamp", "lighting", 1500, stock).await
}

async fn stock_of(app: &TestApp, product: &str) -> i64 {
    app.get(&format!("/api/products/{product}"), None).await.body["stock"].as_i64().unwrap()
}

#[tokio::test]
async fn checkout_cancel_ship_and_deliver() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, alice_id, _) = app.shopper("Alice").await;
    let (bob, _, _) = app.shopper("Bob").await;
    let lamp = stocked_product(&app, &admin, 10).await;

    // From the cart: prices from the catalogue, the cart emptied, the stock taken.
    app.call(Method::PUT, &format!("/api/cart/items/{lamp}"), Some(&alice), Some(json!({"quantity": 3})))
        .await
        .expect(200);
    app.post("/api/orders", Some(&alice), json!({"shipping_address": address()})).await.expect(201);
    let placed = app.get("/api/orders", Some(&alice)).await.expect(200).body;
    let order = &placed[0];
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["user_id"], alice_id.as_str());
    assert_eq!(order["total"], json!({"amount": 4500, "currency": "EUR"}));
    assert_eq!(order["lines"][0]["unit_price"]["amount"], 1500);
    assert_eq!(order["history"][0]["status"], "PENDING_PAYMENT");
    assert_eq!(stock_of(&app, &lamp).await, 7);
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body["lines"], json!([]));
    let id = order["id"].as_str().unwrap().to_owned();

    // Others cannot see or cancel it; an empty cart cannot be ordered.
    app.get(&format!("/api/orders/{id}"), Some(&bob)).await.problem(404);
    app.post(&format!("/api/orders/{id}/cancel"), Some(&bob), json!({})).await.problem(404);
    assert_eq!(app.get("/api/orders", Some(&bob)).await.body, json!([]));
    let empty = app.post("/api/orders", Some(&bob), json!({"shipping_address": address()})).await.problem(409);
    assert_eq!(empty.body["type"], "/problems/empty-cart");
    app.get("/api/orders?status=PAID", Some(&bob)).await.problem(403);

    // Cancelling gives the stock back, once.
    let cancelled = app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200).body;
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["history"].as_array().unwrap().len(), 2);
    assert_eq!(stock_of(&app, &lamp).await, 10);
    let again = app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.problem(409);
    assert_eq!(
        (&again.body["type"], &again.body["from"], &again.body["to"]),
        (&json!("/problems/illegal-transition"), &json!("CANCELLED"), &json!("CANCELLED"))
    );
    assert_eq!(stock_of(&app, &lamp).await, 10);

    // Explicit items; the admin cannot ship an unpaid order; a shopper cannot ship at all.
    let items = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_address": address()});
    let second = app.post("/api/orders", Some(&alice), items).await.expect(201).body;
    let second_id = second["id"].as_str().unwrap();
    let ship = json!({"status": "SHIPPED", "tracking_number": "1Z999"});
    let status_path = format!("/api/orders/{second_id}/status");
    app.call(Method::PUT, &status_path, Some(&alice), Some(ship.clone())).await.problem(403);
    let unpaid = app.call(Method::PUT, &status_path, Some(&admin), Some(ship.clone())).await.problem(409);
    assert_eq!((&unpaid.body["from"], &unpaid.body["to"]), (&json!("PENDING_PAYMENT"), &json!("SHIPPED")));
    app.call(Method::PUT, &status_path, Some(&admin), Some(json!({"status": "SHIPPED"}))).await.problem(422);
    app.call(Method::PUT, &status_path, Some(&admin), Some(json!({"status": "PAID"}))).await.problem(422);
    app.call(Method::PUT, &status_path, Some(&admin), Some(json!({"status": "LOST"}))).await.problem(422);

    // Paid (the payments flow will do this), then shipped and delivered by the back office.
    let orders = shop::orders::Orders::new(app.running.table.clone());
    let second_order = shop::domain::OrderId::parse(second_id).unwrap();
    shop_tests::pay(&orders, &second_order).await;
    let shipped = app.call(Method::PUT, &status_path, Some(&admin), Some(ship)).await.expect(200).body;
    assert_eq!(shipped["status"], "SHIPPED");
    assert_eq!(shipped["tracking_number"], "1Z999");
    app.post(&format!("/api/orders/{second_id}/cancel"), Some(&alice), json!({})).await.problem(409);
    let delivered = app.call(Method::PUT, &status_path, Some(&admin), Some(json!({"status": "DELIVERED"}))).await;
    let history = delivered.expect(200).body["history"].clone();
    let statuses: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["PENDING_PAYMENT", "PAID", "SHIPPED", "DELIVERED"]);

    // The back office lists every order, and by status.
    let all = app.get("/api/orders", Some(&admin)).await.expect(200).body;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["id"], second_id, "newest first");
    let delivered = app.get("/api/orders?status=DELIVERED", Some(&admin)).await.expect(200).body;
    assert_eq!(delivered.as_array().unwrap().len(), 1);
    let cancelled = app.get("/api/orders?status=CANCELLED", Some(&admin)).await.expect(200).body;
    assert_eq!(cancelled[0]["id"], id.as_str());
    app.get("/api/orders?status=nope", Some(&admin)).await.problem(400);
}

/// The notifications a user's outbox holds for an order's events, by kind.
async fn order_notes(app: &TestApp, user: &str, order: &str) -> Vec<(String, String)> {
    let notes = app.outbox(user).await.into_iter().filter(|n| n["order_id"] == order);
    notes.map(|n| (n["kind"].as_str().unwrap().to_owned(), n["channel"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn order_events_reach_notifications_and_sales_once_each() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, alice_id, alice_email) = app.shopper("Alice").await;
    let lamp = stocked_product(&app, &admin, 10).await;
    let lamp_id = shop::domain::ProductId::parse(&lamp).unwrap();
    let sales = shop::sales::Sales::new(app.running.table.clone());
    let items = json!({"items": [{"product_id": lamp, "quantity": 3}], "shipping_address": address()});
    let order = app.post("/api/orders", Some(&alice), items).await.expect(201).body;
    let id = order["id"].as_str().unwrap();

    let placed = ("OrderPlaced".to_owned(), "email".to_owned());
    eventually(10, "the order placed email", || async {
        (order_notes(&app, &alice_id, id).await == [placed.clone()]).then_some(())
    })
    .await;
    let note = app.outbox(&alice_id).await.into_iter().find(|n| n["order_id"] == id).unwrap();
    assert_eq!(note["to"], alice_email.as_str());
    assert!(note["subject"].as_str().unwrap().contains(id), "{note}");
    assert!(note["text"].as_str().unwrap().contains("45.00 EUR"), "{note}");
    let counted = shop::sales::ProductSales { units: 3, orders: 1 };
    eventually(10, "the sale counted", || async { (sales.of(&lamp_id).await.unwrap() == counted).then_some(()) }).await;
    let shown = app.get(&format!("/api/products/{lamp}/sales"), Some(&admin)).await.expect(200).body;
    assert_eq!(shown, json!({"units": 3, "orders": 1}));
    app.get("/api/products/01J00000000000000000000000/sales", Some(&admin)).await.problem(404);

    // Cancelling takes the sale back (and, unpaid, is told by email only: no SMS is paid for
    // an order nobody paid, though the shopper asked for SMS).
    let prefs = json!({"phone": "+4915112345678", "preferences": {"email": true, "sms": true}});
    app.call(Method::PUT, &format!("/api/users/{alice_id}"), Some(&alice), Some(prefs)).await.expect(200);
    app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200);
    let cancelled = ("OrderCancelled".to_owned(), "email".to_owned());
    eventually(10, "the cancellation by email", || async {
        (order_notes(&app, &alice_id, id).await == [cancelled.clone(), placed.clone()]).then_some(())
    })
    .await;
    eventually(10, "the sale taken back", || async {
        (sales.of(&lamp_id).await.unwrap() == shop::sales::ProductSales::default()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_listed_and_redriven() {
    use local::dead_letters::{Action, run};
    let app = TestApp::spawn().await;
    // An event whose body no consumer can read (written as a faulty release might).
    let id = shop::domain::monotonic_ulid();
    let poison =
        shop::table::Item::new(&shop::keys::event(&id), &json!({"event_id": id.to_string(), "type": "OrderPlaced"}));
    app.running.table.write(shop::table::Write::create(poison)).await.unwrap();
    let dead = eventually(10, "every consumer of OrderPlaced giving up", || async {
        let (dead, _) = run(&app.config, Action::List, None).await.unwrap();
        (dead.len() == 3).then_some(dead)
    })
    .await;
    let mut queues: Vec<&str> = dead.iter().map(|d| d.queue.as_str()).collect();
    queues.sort();
    assert_eq!(queues, ["notifications", "sales", "webhooks"]);
    assert!(dead.iter().all(|d| d.event_id == id.to_string() && d.receives == 5 && d.kind == "OrderPlaced"));
    assert!(dead[0].error.as_deref().unwrap().contains("does not parse"), "{:?}", dead[0].error);
    assert!(run(&app.config, Action::List, Some("nope")).await.is_err());

    // Redriven, it is tried again (five more times) and dead-lettered again.
    assert_eq!(run(&app.config, Action::Redrive, Some("sales")).await.unwrap().1, 1);
    let (left, _) = run(&app.config, Action::List, None).await.unwrap();
    assert!(left.len() == 2 || left.len() == 3, "{left:?}");
    eventually(10, "the redriven event failing again", || async {
        let (dead, _) = run(&app.config, Action::List, Some("sales")).await.unwrap();
        (dead.len() == 1 && dead[0].receives == 5).then_some(())
    })
    .await;
}

#[tokio::test]
async fn checkout_refuses_what_it_cannot_sell_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let lamp = stocked_product(&app, &admin, 2).await;
    let order = |items: Value| json!({"items": items, "shipping_address": address()});
    let short =
        app.post("/api/orders", Some(&alice), order(json!([{"product_id": lamp, "quantity": 3}]))).await.problem(409);
    assert!(short.body["detail"].as_str().unwrap().contains("not enough in stock"));
    assert_eq!(short.body["type"], "/problems/out-of-stock");
    let variant = app.get(&format!("/api/products/{lamp}"), None).await.body["variants"][0].clone();
    assert_eq!(
        short.body["short"],
        json!([{"product_id": lamp, "variant_id": variant["id"], "sku": variant["sku"], "requested": 3, "left": 2}])
    );
    let gone = "01J00000000000000000000000";
    let not_on_sale =
        app.post("/api/orders", Some(&alice), order(json!([{"product_id": gone, "quantity": 1}]))).await.problem(409);
    assert_eq!(
        (&not_on_sale.body["type"], &not_on_sale.body["products"]),
        (&json!("/problems/not-on-sale"), &json!([gone]))
    );
    app.post("/api/orders", Some(&alice), order(json!([{"product_id": lamp, "quantity": 0}]))).await.problem(422);
    app.post("/api/orders", Some(&alice), order(json!([]))).await.problem(422);
    app.post("/api/orders", Some(&alice), json!({"items": [{"product_id": lamp, "quantity": 1}]})).await.problem(422);
    let mut bad_country = order(json!([{"product_id": lamp, "quantity": 1}]));
    bad_country["shipping_address"]["country"] = json!("Germany");
    app.post("/api/orders", Some(&alice), bad_country).await.problem(422);
    let mut priced = order(json!([{"product_id": lamp, "quantity": 1}]));
    priced["total"] = json!({"amount": 1, "currency": "EUR"});
    app.post("/api/orders", Some(&alice), priced).await.problem(422);
    app.send(
        Method::POST,
        "/api/orders",
        Some(&alice),
        Some(order(json!([{"product_id": lamp, "quantity": 1}]))),
        &[("idempotency-key", "")],
    )
    .await
    .problem(400);
    assert_eq!(stock_of(&app, &lamp).await, 2);
    assert_eq!(app.get("/api/orders", Some(&alice)).await.body, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_never_oversell() {
    let app = TestApp::spawn_with(|c| c.limits = shop_tests::NO_ORDER_LIMITS).await;
    let admin = app.admin().await;
    let lamp = stocked_product(&app, &admin, 25).await;
    let mut shoppers = Vec::new();
    for i in 0..8 {
        shoppers.push(app.shopper(&format!("Buyer{i}")).await.0);
    }
    let body = json!({"items": [{"product_id": lamp, "quantity": 1}], "shipping_address": address()});
    let attempts = (0..200).map(|i| {
        let (app, token, body) = (&app, &shoppers[i % shoppers.len()], body.clone());
        async move { app.post("/api/orders", Some(token), body).await.status.as_u16() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 25, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 175);
    assert_eq!(stock_of(&app, &lamp).await, 0);
    let all = app.get("/api/orders?limit=100", Some(&admin)).await.body;
    assert_eq!(all.as_array().unwrap().len(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_makes_one_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let lamp = stocked_product(&app, &admin, 50).await;
    let body = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_address": address()});
    let attempts = (0..20).map(|_| {
        let (app, alice, body) = (&app, &alice, body.clone());
        async move {
            app.send(Method::POST, "/api/orders", Some(alice), Some(body), &[("idempotency-key", "checkout-1")]).await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let first = &answers[0];
    for answer in &answers {
        assert_eq!(answer.status, 201);
        assert_eq!(answer.body, first.body, "identical answers");
    }
    assert_eq!(stock_of(&app, &lamp).await, 48);
    assert_eq!(app.get("/api/orders", Some(&alice)).await.body.as_array().unwrap().len(), 1);
    // The same key with another body is refused; another key is another order.
    let other = json!({"items": [{"product_id": lamp, "quantity": 1}], "shipping_address": address()});
    app.send(Method::POST, "/api/orders", Some(&alice), Some(other.clone()), &[("idempotency-key", "checkout-1")])
        .await
        .problem(422);
    app.send(Method::POST, "/api/orders", Some(&alice), Some(other), &[("idempotency-key", "checkout-2")])
        .await
        .expect(201);
    assert_eq!(stock_of(&app, &lamp).await, 47);
}

/// An expiry that finds no order paid at its provider.
struct NeverPaid;

#[async_trait::async_trait]
impl shop::orders::PaidMeanwhile for NeverPaid {
    async fn paid_meanwhile(&self, _: &shop::orders::Order) -> Result<bool, shop::orders::OrderError> {
        Ok(false)
    }
}

#[tokio::test]
async fn unpaid_orders_expire_and_give_their_stock_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, alice_id, _) = app.shopper("Alice").await;
    let lamp = stocked_product(&app, &admin, 10).await;
    let body = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_address": address()});
    let unpaid = app.post("/api/orders", Some(&alice), body.clone()).await.expect(201).body;
    let started = app.post("/api/orders", Some(&alice), body.clone()).await.expect(201).body;
    let started = started["id"].as_str().unwrap();
    app.post(&format!("/api/orders/{started}/payment"), Some(&alice), json!({})).await.expect(201);
    let paid = app.post("/api/orders", Some(&alice), body).await.expect(201).body;
    let orders = shop::orders::Orders::new(app.running.table.clone());
    let paid_id = shop::domain::OrderId::parse(paid["id"].as_str().unwrap()).unwrap();
    shop_tests::pay(&orders, &paid_id).await;
    assert_eq!(stock_of(&app, &lamp).await, 4);
    // Nothing is old enough yet.
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(30);
    let now = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    assert_eq!(orders.expire(long_ago, long_ago, &NeverPaid).await.unwrap().cancelled, 0);
    // An order nobody started to pay holds its stock only for the short reservation.
    assert_eq!(orders.expire(long_ago, now, &NeverPaid).await.unwrap().cancelled, 1);
    assert_eq!(stock_of(&app, &lamp).await, 6);
    assert_eq!(app.get(&format!("/api/orders/{started}"), Some(&alice)).await.body["status"], "PENDING_PAYMENT");
    // One being paid for waits the whole payment window.
    assert_eq!(orders.expire(now, now, &NeverPaid).await.unwrap().cancelled, 1);
    assert_eq!(app.get(&format!("/api/orders/{started}"), Some(&alice)).await.body["status"], "CANCELLED");
    let expired = app.get(&format!("/api/orders/{}", unpaid["id"].as_str().unwrap()), Some(&alice)).await.body;
    assert_eq!(expired["status"], "CANCELLED");
    assert_eq!(expired["history"][1]["by"], "system");
    assert_eq!(app.get(&format!("/api/orders/{paid_id}"), Some(&alice)).await.body["status"], "PAID");
    assert_eq!(stock_of(&app, &lamp).await, 8);
    // The cancellation's event reaches the shopper.
    let id = unpaid["id"].as_str().unwrap();
    let cancelled = ("OrderCancelled".to_owned(), "email".to_owned());
    eventually(10, "the expiry's OrderCancelled email", || async {
        order_notes(&app, &alice_id, id).await.contains(&cancelled).then_some(())
    })
    .await;
}

/// The docs page, rendered by a real browser, lists every route of the API.
#[tokio::test]
async fn the_docs_page_lists_every_route_in_a_browser() {
    let app = TestApp::spawn().await;
    let profile = shop_tests::temp_dir("chromium");
    let browser = std::env::var("SHOP_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let url = format!("{}/docs", app.url);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--virtual-time-budget=10000", "--dump-dom", &url])
            .output()
            .unwrap_or_else(|e| panic!("starting {browser}: {e} (./scripts/test installs chromium)"))
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let shown: std::collections::BTreeSet<(String, String)> = dom
        .split("class=\"op\">")
        .skip(1)
        .map(|op| {
            let after =
                |marker: &str, end: char| op.split(marker).nth(1).unwrap().split(end).next().unwrap().to_owned();
            (after("class=\"method ", '"').to_uppercase(), after("class=\"path\">", '<'))
        })
        .collect();
    let routes: std::collections::BTreeSet<(String, String)> =
        app.running.stack_routes.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    let paths = |set: &std::collections::BTreeSet<(String, String)>| {
        set.iter().map(|(_, p)| p.clone()).collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(paths(&shown), paths(&routes), "the rendered page lists every path");
    assert_eq!(shown.len(), routes.len(), "one entry per operation: {dom}");
}

/// The local stack sweeps expired items out of its table, as DynamoDB's TTL does.
#[tokio::test]
async fn the_local_stack_sweeps_expired_items() {
    let app = TestApp::spawn_with(|c| c.expiry_every = std::time::Duration::from_millis(50)).await;
    let key = shop::table::Key::new("TEST#sweep", "ITEM");
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let item = shop::table::Item::new(&key, &json!({})).expiring_at(past);
    app.running.table.write(shop::table::Write::put(item)).await.unwrap();
    // Another connection to the same file sees the item's removal in the change stream.
    let file = shop_embedded::sqlite::SqliteTable::open(&app.config.data_dir.join("shop.db")).unwrap();
    for _ in 0..100 {
        let changes = shop::table::ChangeFeed::changes_after(&file, 0, 100_000).await.unwrap();
        if changes.iter().any(|c| c.key == key && c.new.is_none()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the expired item was not swept");
}

#[tokio::test]
async fn stock_moves_only_by_sales_and_the_inventory_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let lamp = stocked_product(&app, &admin, 5).await;
    let path = format!("/api/products/{lamp}");
    let read = app.get(&path, None).await.expect(200);
    let etag = read.header("etag").unwrap().to_owned();

    // A sale moves the revision: the ETag read before it no longer matches.
    let items = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_address": address()});
    app.post("/api/orders", Some(&alice), items).await.expect(201);
    let after = app.send(Method::GET, &path, None, None, &[("if-none-match", &etag)]).await.expect(200);
    assert_eq!(after.body["stock"], 3);
    assert_ne!(after.header("etag").unwrap(), etag);

    // An edit from a form read before the sale is refused; one without If-Match too.
    let mut edit = shop_tests::edit_form(&read.body);
    edit["name"] = json!("Renamed Lamp");
    app.send(Method::PUT, &path, Some(&admin), Some(edit.clone()), &[("if-match", &etag)]).await.problem(412);
    app.call(Method::PUT, &path, Some(&admin), Some(edit.clone())).await.problem(428);
    app.call(Method::DELETE, &path, Some(&admin), None).await.problem(428);
    let fresh = after.header("etag").unwrap().to_owned();
    let mut with_stock = edit.clone();
    let only = &read.body["variants"][0];
    (with_stock["sku"], with_stock["price"], with_stock["stock"]) =
        (only["sku"].clone(), only["price"].clone(), json!(5));
    let refused =
        app.send(Method::PUT, &path, Some(&admin), Some(with_stock), &[("if-match", &fresh)]).await.problem(409);
    assert!(refused.body["detail"].as_str().unwrap().contains("the stock is 3"), "{:#}", refused.body);
    let renamed = app.send(Method::PUT, &path, Some(&admin), Some(edit), &[("if-match", &fresh)]).await.expect(200);
    assert_eq!((renamed.body["name"].as_str(), renamed.body["stock"].as_i64()), (Some("Renamed Lamp"), Some(3)));

    // The inventory route: atomic, never below zero, admins only, with a reason.
    let stock_path = format!("{path}/stock");
    let restocked = app.post(&stock_path, Some(&admin), json!({"delta": 10, "reason": "restock"})).await.expect(200);
    assert_eq!(restocked.body["stock"], 13);
    assert_eq!(restocked.header("etag"), Some(format!("\"{}\"", restocked.body["version"]).as_str()));
    let version = restocked.body["version"].clone();
    app.post(&stock_path, Some(&admin), json!({"delta": -14, "reason": "write-off"})).await.problem(409);
    for bad in [json!({"delta": 0, "reason": "x"}), json!({"delta": 1, "reason": ""}), json!({"delta": 1})] {
        app.post(&stock_path, Some(&admin), bad).await.problem(422);
    }
    app.post(&stock_path, Some(&alice), json!({"delta": 1, "reason": "mine"})).await.problem(403);
    app.post("/api/products/01J00000000000000000000000/stock", Some(&admin), json!({"delta": 1, "reason": "x"}))
        .await
        .problem(404);
    let now = app.get(&path, None).await.body;
    assert_eq!((now["stock"].clone(), now["version"].clone()), (json!(13), version), "refusals change nothing");
}

#[tokio::test]
async fn a_replayed_checkout_answers_exactly_its_first_answer() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let lamp = stocked_product(&app, &admin, 5).await;
    let body = json!({"items": [{"product_id": lamp, "quantity": 1}], "shipping_address": address()});
    let key = [("idempotency-key", "replay-1")];
    let first = app.send(Method::POST, "/api/orders", Some(&alice), Some(body.clone()), &key).await.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let id = first.body["id"].as_str().unwrap();
    app.post(&format!("/api/orders/{id}/cancel"), Some(&alice), json!({})).await.expect(200);
    let again = app.send(Method::POST, "/api/orders", Some(&alice), Some(body), &key).await.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the first answer, not the order as it is now");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));
}

#[tokio::test]
async fn erasure_leaves_nothing_a_leftover_token_can_bring_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (email, user_id) = app.register("Erin").await;
    let tokens = app.login(&email, PASSWORD).await;
    let token = tokens["id_token"].as_str().unwrap().to_owned();
    let lamp = stocked_product(&app, &admin, 5).await;
    app.call(Method::PUT, &format!("/api/cart/items/{lamp}"), Some(&token), Some(json!({"quantity": 1})))
        .await
        .expect(200);
    let items = json!({"items": [{"product_id": lamp, "quantity": 2}], "shipping_address": address()});
    let order = app.post("/api/orders", Some(&token), items).await.expect(201).body;
    let export = app.get("/api/users/me/export", Some(&token)).await.expect(200).body;
    let kinds: Vec<&str> = export["records"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    for kind in ["profile", "cart", "order"] {
        assert!(kinds.contains(&kind), "the export holds the {kind}: {kinds:?}");
    }
    assert!(!export.to_string().contains("IDEMPOTENCY") && !export.to_string().contains("password_hash"));

    app.call(Method::DELETE, &format!("/api/users/{user_id}"), Some(&token), None).await.expect(204);

    // The ID token is still unexpired, as API Gateway's authorizer would still accept it.
    app.get("/api/users/me", Some(&token)).await.problem(401);
    app.get("/api/cart", Some(&token)).await.problem(401);
    app.get("/api/orders", Some(&token)).await.problem(401);
    app.get("/api/users/me", Some(&token)).await.problem(401);
    let user = shop::domain::UserId::parse(&user_id).unwrap();
    let left = app.running.table.query(&shop::table::Query::partition(shop::keys::user_partition(&user))).await;
    assert!(left.unwrap().items.is_empty(), "nothing is left under the user");
    app.post("/api/auth/login", None, json!({"email": email, "password": PASSWORD})).await.problem(401);
    app.post("/api/auth/refresh", None, json!({"refresh_token": tokens["refresh_token"]})).await.problem(401);

    // The order stays for accounting, without the person.
    let kept = app.get(&format!("/api/orders/{}", order["id"].as_str().unwrap()), Some(&admin)).await.expect(200).body;
    assert_eq!(kept["shipping_address"]["name"], "(erased)");
    assert_eq!(kept["shipping_address"]["line1"], "(erased)");
    assert_eq!(kept["shipping_address"]["country"], order["shipping_address"]["country"]);
    assert_eq!(
        (&kept["total"], &kept["lines"], &kept["created_at"]),
        (&order["total"], &order["lines"], &order["created_at"])
    );
    assert!(!kept.to_string().contains("Ada"), "{kept}");
}

#[tokio::test]
async fn repeated_failed_log_ins_are_slowed_down_for_that_client_only() {
    let app = TestApp::spawn().await;
    let (email, _) = app.register("Gus").await;
    // The guesser comes from another address than the owner (127.0.0.1).
    let guesser = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build();
    let guesser = guesser.unwrap();
    let guess = |body: Value| {
        let request = guesser.post(format!("{}/api/auth/login", app.url)).json(&body);
        async move {
            let answer = request.send().await.unwrap();
            let retry_after = answer.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (answer.status().as_u16(), retry_after)
        }
    };
    let unknown = "nobody-here@example.com";
    let right = json!({"email": email, "password": PASSWORD});
    for who in [email.as_str(), unknown] {
        let wrong = json!({"email": who, "password": "Wrong-Password-1"});
        for _ in 0..5 {
            assert_eq!(guess(wrong.clone()).await.0, 401);
        }
        // The sixth is refused without being tried, for an account or none alike; for the
        // account, so is the right password from that client (asked at once: the pause is one
        // second).
        assert_eq!(guess(wrong.clone()).await, (429, Some("1".into())));
        if who == email {
            assert_eq!(guess(right.clone()).await.0, 429);
        }
    }
    // The owner, from their own address, is not kept out.
    app.post("/api/auth/login", None, right.clone()).await.expect(200);
    // The guesser's pause passes, and each failure doubles it.
    app.config.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(guess(json!({"email": email, "password": "Wrong-Password-1"})).await.0, 401);
    assert_eq!(guess(right.clone()).await, (429, Some("2".into())), "each failure doubles the wait");
    app.config.clock.advance(std::time::Duration::from_secs(2));
    assert_eq!(guess(right.clone()).await.0, 200);
    assert_eq!(guess(json!({"email": email, "password": "Wrong-Password-1"})).await.0, 401);
    assert_eq!(guess(right).await.0, 200);
}

#[tokio::test]
async fn one_time_codes_leave_the_outbox_once_sent_and_their_messages_expire() {
    let app = TestApp::spawn_with(|c| c.auto_confirm = false).await;
    let (email, user_id) = app.register("Cora").await;
    app.post("/api/auth/password/forgot", None, json!({"email": email})).await.expect(202);
    let mailed = [app.sent_code(&email, "confirm").await, app.sent_code(&email, "password_reset").await];
    let now = shop::time::epoch_now();
    let codes = shop_tests::eventually(10, "both codes sent", || async {
        let outbox = app.outbox(&user_id).await;
        let codes: Vec<Value> = outbox.into_iter().filter(|m| m["kind"] != "OrderPlaced").collect();
        codes.iter().all(|m| m["status"] == "sent").then_some(codes)
    })
    .await;
    assert_eq!(codes.len(), 2, "confirm and reset");
    for message in codes {
        let expires = message["expires_at"].as_i64().expect("a code's message expires");
        assert!(expires > now && expires <= now + 3600, "{message}");
        assert!(message.get("code").is_none(), "the code went with the email: {message}");
        for code in &mailed {
            assert!(!message.to_string().contains(code.as_str()), "{message}");
        }
    }
}

#[tokio::test]
async fn shoppers_read_their_own_notifications_newest_first_and_never_a_code() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (alice, _, alice_email) = app.shopper("Alice").await;
    let (bob, _, _) = app.shopper("Bob").await;
    app.post("/api/auth/password/forgot", None, json!({"email": alice_email})).await.expect(202);
    let lamp = stocked_product(&app, &admin, 10).await;
    let items = json!({"items": [{"product_id": lamp, "quantity": 1}], "shipping_address": address()});
    let order = app.post("/api/orders", Some(&alice), items).await.expect(201).body;
    let id = order["id"].as_str().unwrap();
    let path = "/api/users/me/notifications";
    let listed = eventually(10, "the order placed email and the reset code sent", || async {
        let listed = app.get(path, Some(&alice)).await.expect(200);
        let all = listed.body.as_array().unwrap();
        (all.len() == 2 && all.iter().all(|m| m["status"] == "sent")).then_some(listed)
    })
    .await;
    assert!(!listed.body.to_string().contains("\"code\""), "no code is shown: {:#}", listed.body);
    let code = app.sent_code(&alice_email, "password_reset").await;
    assert!(!listed.body.to_string().contains(&code), "{:#}", listed.body);
    let listed = listed.body.as_array().unwrap().clone();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    let (placed, reset) = (&listed[0], &listed[1]);
    assert_eq!((placed["kind"].clone(), placed["channel"].clone()), (json!("OrderPlaced"), json!("email")));
    assert_eq!(placed["to"].as_str(), Some(alice_email.as_str()));
    let at = |v: &Value| {
        let text = v.as_str().unwrap_or_else(|| panic!("a time: {v}"));
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert!(at(&placed["sent_at"]) >= at(&placed["created_at"]));
    assert!(placed["subject"].as_str().unwrap().contains(id));
    assert!(at(&placed["created_at"]) >= at(&reset["created_at"]), "newest first");
    assert_eq!(reset["to"], alice_email.as_str());
    assert!(placed["id"].as_str().is_some_and(|i| !i.is_empty()) && placed["id"] != reset["id"]);

    // A page at a time, the cursor bound to the list.
    let first = app.get(&format!("{path}?limit=1"), Some(&alice)).await.expect(200);
    assert_eq!(first.body, json!([placed]));
    let link = first.header("link").expect("a next page").to_owned();
    let cursor = link.split("cursor=").nth(1).unwrap().split('>').next().unwrap();
    let second = app.get(&format!("{path}?limit=1&cursor={cursor}"), Some(&alice)).await.expect(200);
    assert_eq!(second.body, json!([reset]));
    app.get(&format!("/api/orders?limit=1&cursor={cursor}"), Some(&alice)).await.problem(400);

    // Nobody else's, and only signed in.
    assert_eq!(app.get(path, Some(&bob)).await.expect(200).body, json!([]));
    app.get(path, None).await.problem(401);
}

#[tokio::test]
async fn the_developer_routes_answer_this_machine_only_and_the_stack_stays_on_loopback_unless_told() {
    use axum::extract::ConnectInfo;
    use tower::ServiceExt;
    let data = shop_tests::temp_dir("remote");
    let config = local::Config {
        addr: "0.0.0.0:0".parse().unwrap(),
        data_dir: data.path().to_owned(),
        admin_password: Some(shop_tests::ADMIN_PASSWORD.into()),
        ..local::Config::default()
    };
    let refused = local::spawn(config.clone()).await.err().expect("no stack on 0.0.0.0 unless told");
    assert!(refused.to_string().contains("SHOP_ALLOW_REMOTE=true"), "{refused:#}");

    // Told, it serves the API to anyone, and its developer routes to this machine only.
    let stack = local::build(&local::Config { allow_remote: true, ..config }, "http://shop.test").await.unwrap();
    let ask = |path: &str, from: [u8; 4]| {
        let mut request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from((from, 50_000))));
        let router = stack.router.clone();
        async move { router.oneshot(request).await.unwrap().status().as_u16() }
    };
    let (remote, here) = ([203, 0, 113, 9], [127, 0, 0, 1]);
    assert_eq!(ask("/api/products", remote).await, 200);
    for path in ["/_local/mailbox", "/_local/mailbox.json", "/metrics"] {
        assert_eq!(ask(path, remote).await, 404, "{path} from another machine");
        assert_eq!(ask(path, here).await, 200, "{path} from this one");
    }
    let simulator = "/_simulator/payments/pi_1/confirm";
    let confirm = |from: [u8; 4]| {
        let mut request = axum::http::Request::post(simulator)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"card": "4242424242424242"}"#))
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from((from, 50_000))));
        stack.router.clone().oneshot(request)
    };
    let detail = |answer: axum::response::Response| async move {
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice::<Value>(&body).unwrap()["detail"].as_str().unwrap().to_owned()
    };
    let from_remote = detail(confirm(remote).await.unwrap()).await;
    let from_here = detail(confirm(here).await.unwrap()).await;
    assert!(from_remote.contains("route") && from_here.contains("payment"), "{from_remote} / {from_here}");
}

#[tokio::test]
async fn unpaid_orders_cannot_hoard_stock() {
    let limits = shop::orders::Limits { unpaid_orders: 2, unpaid_units: 5, units_per_product: 3, ..Default::default() };
    let app = TestApp::spawn_with(|c| c.limits = limits).await;
    let admin = app.admin().await;
    let (alice, _, _) = app.shopper("Alice").await;
    let (lamp, mug) = (stocked_product(&app, &admin, 40).await, stocked_product(&app, &admin, 40).await);
    let order = |product: &str, quantity: i64| json!({"items": [{"product_id": product, "quantity": quantity}], "shipping_address": address()});
    let refused = |answer: shop_tests::Answer, limit: &str, max: i64| {
        let answer = answer.problem(409);
        assert_eq!(answer.body["type"], "/problems/order-limit");
        assert_eq!((answer.body["limit"].as_str(), answer.body["max"].as_i64()), (Some(limit), Some(max)));
    };
    // Too many of one product in one order.
    refused(app.post("/api/orders", Some(&alice), order(&lamp, 4)).await, "units_per_product", 3);
    // Units across unpaid orders, then unpaid orders themselves.
    let first = app.post("/api/orders", Some(&alice), order(&lamp, 3)).await.expect(201).body;
    refused(app.post("/api/orders", Some(&alice), order(&mug, 3)).await, "unpaid_units", 5);
    app.post("/api/orders", Some(&alice), order(&mug, 2)).await.expect(201);
    refused(app.post("/api/orders", Some(&alice), order(&mug, 1)).await, "unpaid_orders", 2);
    assert_eq!((stock_of(&app, &lamp).await, stock_of(&app, &mug).await), (37, 38), "refusals hold nothing");
    // Someone else still buys; a cancelled (or paid) order frees its room.
    let (bob, _, _) = app.shopper("Bob").await;
    app.post("/api/orders", Some(&bob), order(&lamp, 3)).await.expect(201);
    let first = first["id"].as_str().unwrap();
    app.post(&format!("/api/orders/{first}/cancel"), Some(&alice), json!({})).await.expect(200);
    app.post("/api/orders", Some(&alice), order(&mug, 1)).await.expect(201);

    // Concurrent checkouts cannot pass the limit together: of six at once, two are placed.
    let (carol, _, _) = app.shopper("Carol").await;
    let answers =
        futures::future::join_all((0..6).map(|_| app.post("/api/orders", Some(&carol), order(&lamp, 1)))).await;
    let placed = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(placed, 2, "{:?}", answers.iter().map(|a| &a.body).collect::<Vec<_>>());
    for answer in answers.into_iter().filter(|a| a.status != 201) {
        assert!(
            answer.body["type"] == "/problems/order-limit" || answer.body["type"] == "/problems/contention",
            "{:#}",
            answer.body
        );
    }
}

/// The local sign-in (Cognito's managed login in AWS): the authorization code flow with PKCE.
#[tokio::test]
async fn shoppers_sign_in_by_the_code_flow_with_pkce_and_nothing_else_passes() {
    use base64::Engine;
    use sha2::Digest;
    let app = TestApp::spawn().await;
    let (email, _) = app.register("Pia").await;
    let told = app.get("/storefront.json", None).await.expect(200).body;
    let sign_in = &told["sign_in"];
    let (authorize, token_url) = (sign_in["authorize_url"].as_str().unwrap(), sign_in["token_url"].as_str().unwrap());
    assert_eq!(authorize, format!("{}/oauth2/authorize", app.url));
    let client_id = sign_in["client_id"].as_str().unwrap().to_owned();
    let page = format!("{}/", app.url);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let verifier = |n: u8| format!("{}-verifier-of-at-least-forty-three-characters-{n}", "a".repeat(10));
    let challenge = |verifier: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let request = |redirect: &str, challenge: &str, method: &str| {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", client_id.clone()),
            ("redirect_uri", redirect.to_owned()),
            ("code_challenge", challenge.to_owned()),
            ("code_challenge_method", method.to_owned()),
            ("state", "s-1".to_owned()),
            ("scope", "openid email".to_owned()),
        ]
    };
    // The sign-in page, for the registered client and redirect URI only.
    let shown = browser.get(authorize).query(&request(&page, &challenge(&verifier(1)), "S256")).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert!(shown.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert!(shown.text().await.unwrap().contains("name=\"password\""));
    let elsewhere = request("https://evil.example/", &challenge(&verifier(1)), "S256");
    let refused = browser.get(authorize).query(&elsewhere).send().await.unwrap();
    assert_eq!((refused.status().as_u16(), refused.headers().get("location")), (400, None));
    let plain = browser.get(authorize).query(&request(&page, &verifier(1), "plain")).send().await.unwrap();
    let to = plain.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&page) && to.contains("error=invalid_request") && to.contains("state=s-1"), "{to}");

    // Signed in, the browser goes back with a code; a wrong password stays on the page.
    let sign_in_with = |password: &str, verifier: &str| {
        let mut form = request(&page, &challenge(verifier), "S256");
        form.extend([("email", email.clone()), ("password", password.to_owned())]);
        browser.post(authorize).form(&form).send()
    };
    let wrong = sign_in_with("Wrong-Password-1", &verifier(1)).await.unwrap();
    assert_eq!((wrong.status().as_u16(), wrong.headers().get("location")), (401, None));
    let code = async |verifier: &str| {
        let answer = sign_in_with(shop_tests::PASSWORD, verifier).await.unwrap();
        assert_eq!(answer.status(), 303);
        let to = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(format!("{}://{}{}", to.scheme(), to.authority(), to.path()), page);
        let query: std::collections::HashMap<String, String> = to.query_pairs().into_owned().collect();
        assert_eq!(query["state"], "s-1");
        query["code"].clone()
    };
    let trade = async |code: &str, verifier: &str, redirect: &str| {
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ];
        let answer = browser.post(token_url).form(&form).send().await.unwrap();
        (answer.status().as_u16(), answer.json::<Value>().await.unwrap())
    };
    // A wrong verifier, or another redirect URI, gets nothing, and spends the code.
    let first = code(&verifier(1)).await;
    assert_eq!(trade(&first, &verifier(2), &page).await.1["error"], "invalid_grant");
    assert_eq!(trade(&first, &verifier(1), &page).await.1["error"], "invalid_grant", "spent");
    let second = code(&verifier(3)).await;
    assert_eq!(trade(&second, &verifier(3), "http://127.0.0.1:1/").await.1["error"], "invalid_grant");
    // The right verifier gets tokens, once.
    let third = code(&verifier(4)).await;
    let (status, tokens) = trade(&third, &verifier(4), &page).await;
    assert_eq!(status, 200, "{tokens}");
    app.get("/api/users/me", tokens["id_token"].as_str()).await.expect(200);
    assert_eq!(
        trade(&third, &verifier(4), &page).await,
        (
            400,
            json!({"error": "invalid_grant", "error_description": "the code or refresh token is invalid, expired or used"})
        )
    );
    // And its refresh token renews them.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", &client_id),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let localhost = page.replace("127.0.0.1", "localhost");
    let renewed = browser.post(token_url).header("origin", localhost.trim_end_matches('/')).form(&refresh).send().await;
    let renewed = renewed.unwrap();
    assert_eq!(renewed.status(), 200);
    // The page under the stack's other name (a registered callback) may read the answer.
    assert_eq!(renewed.headers()["access-control-allow-origin"], localhost.trim_end_matches('/'));
    let stranger = browser.post(token_url).header("origin", "https://evil.example").form(&refresh).send().await;
    assert!(stranger.unwrap().headers().get("access-control-allow-origin").is_none());

    // Signing out of the sign-in sends the browser back to a registered page only.
    let sign_out = authorize.replace("/oauth2/authorize", "/logout");
    let back = browser.get(&sign_out).query(&[("client_id", client_id.as_str()), ("logout_uri", page.as_str())]);
    let back = back.send().await.unwrap();
    assert_eq!((back.status().as_u16(), back.headers()["location"].to_str().unwrap()), (302, page.as_str()));
    let away =
        browser.get(&sign_out).query(&[("client_id", client_id.as_str()), ("logout_uri", "https://evil.example/")]);
    let away = away.send().await.unwrap();
    assert_eq!((away.status().as_u16(), away.headers().get("location")), (400, None));
}
