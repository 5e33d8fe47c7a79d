//! Every file in events/ fed to its function's handler, as `sam local invoke -e` would: the
//! event becomes a request through lambda_http, the function's router answers, and the answer
//! must be the one this table expects. A new event file without an expectation fails the test.

use std::path::Path;
use std::sync::Arc;

use http_body_util::BodyExt;
use serde_json::{Value, json};
use shop::catalog::Catalog;
use shop::domain::{Email, Name, Password, Quantity, UserId};
use shop::identity::{Identity, NewAccount};
use shop::payments::{Applied, Payments, Provider, WebhookEvent, WebhookKind};
use shop::table::Table;
use shop::users::{UserProfile, Users};
use shop_embedded::identity::{EmbeddedConfig, EmbeddedIdentity, SigningKey};
use shop_embedded::payments::Simulated;
use shop_embedded::sqlite::SqliteTable;
use tower::ServiceExt;

/// The status each sample event must get against the fixture world below.
const EXPECTED: &[(&str, u16)] = &[
    ("auth/register", 202),
    ("auth/confirm", 422),
    ("auth/login", 200),
    ("auth/refresh", 401),
    ("auth/logout", 401),
    ("auth/forgot-password", 202),
    ("auth/resend-code", 202),
    ("auth/reset-password", 422),
    ("users/list-users", 200),
    ("users/create-user", 201),
    ("users/get-me", 200),
    ("users/export-me", 200),
    ("users/phone-code", 409),
    ("users/phone-verify", 422),
    ("users/list-notifications", 200),
    ("users/get-user", 200),
    ("users/update-user", 200),
    ("users/delete-user", 204),
    ("users/set-roles", 200),
    ("users/audit-log", 200),
    ("products/list-products", 200),
    ("products/get-product", 200),
    ("products/create-product", 201),
    ("products/update-product", 200),
    ("products/delete-product", 204),
    ("products/adjust-stock", 200),
    ("imports/upload", 200),
    ("images/upload", 200),
    ("products/update-variant", 200),
    ("products/adjust-variant-stock", 200),
    ("products/product-sales", 200),
    ("products/list-categories", 200),
    ("cart/get-cart", 200),
    ("cart/clear-cart", 204),
    ("cart/set-item", 200),
    ("cart/remove-item", 204),
    ("orders/place-order", 201),
    ("orders/list-orders", 200),
    ("orders/get-order", 200),
    ("orders/cancel-order", 200),
    ("orders/set-status", 200),
    // The sample order is paid, not delivered: nothing comes back yet.
    ("orders/request-return", 409),
    ("orders/list-returns", 200),
    ("payments/pay-order", 201),
    // The unpaid sample order has no payment the buyer approved: nothing to capture.
    ("payments/capture-payment", 409),
    ("payments/refund-order", 201),
    // Signed on 2026-11-26: stale now. The test signs it again and checks it is applied.
    ("payments/stripe-webhook", 400),
    // Sent on 2026-11-26: stale, refused before its certificate is fetched (the PayPal adapter's
    // tests verify genuine deliveries signed by the fake PayPal).
    ("payments/paypal-webhook", 400),
    // Not HTTP: 200 means the handler succeeded; `not_http` checks what it did.
    ("expiry/scheduled", 200),
    ("recovery/scheduled", 200),
    ("publisher/stream", 200),
    ("notifications/queue", 200),
    ("sales/queue", 200),
    ("deliveries/queue", 200),
    ("feedback/queue", 200),
    ("refunds/queue", 200),
    ("search/search", 200),
    ("search/suggest", 200),
    ("storefront/page", 200),
    ("indexer/queue", 200),
];

/// The product and order ids the sample events name; the fixture's real ids take their place.
const SAMPLE_PRODUCT: &str = "01JD0000000000000000000001";
const SAMPLE_ORDER: &str = "01JD0000000000000000000002";
/// The sample product's one variant.
const SAMPLE_VARIANT: &str = "01JD0000000000000000000009";
/// The unpaid order the payment samples name.
const SAMPLE_UNPAID_ORDER: &str = "01JD0000000000000000000004";
/// The account the roles sample gives a staff role.
const SAMPLE_STAFF: &str = "33333333-3333-4333-8333-333333333333";
/// The PaymentIntent the Stripe webhook sample pays the unpaid order with.
const SAMPLE_INTENT: &str = "pi_3QSample0000000000000001";
/// The webhook signing secret the Stripe webhook sample was signed with.
const WEBHOOK_SECRET: &str = "whsec_sample_events_secret";

struct World {
    table: Arc<dyn Table>,
    identity: Arc<dyn Identity>,
    /// The simulated provider that took the paid order's payment.
    payments: Arc<Simulated>,
    product: String,
    variant: String,
    /// Where an import's file is kept.
    objects: Arc<dyn shop::objects::ObjectStore>,
    /// Paid, ready to ship or cancel.
    order: String,
    /// Placed, not paid.
    unpaid: String,
    /// An account of the identity provider's, with its profile: the roles sample's.
    staff: String,
    /// An empty search index (the indexer sample fills it).
    search: Arc<dyn shop::search::SearchIndex>,
    _dir: tempfile::TempDir,
}

/// The users the events' claims name, the shopper's account, and one product.
async fn world() -> World {
    let dir = shop_tests::temp_dir("events");
    let table: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.path().join("shop.db")).unwrap());
    let config = EmbeddedConfig {
        issuer: "http://localhost".into(),
        client_id: "events".into(),
        auto_confirm: true,
        clock: Default::default(),
    };
    let identity: Arc<dyn Identity> = Arc::new(EmbeddedIdentity::new(table.clone(), SigningKey::generate(), config));
    let users = Users::new(table.clone());
    for (id, email, name) in [
        ("11111111-1111-4111-8111-111111111111", "admin@example.com", "Admin"),
        ("22222222-2222-4222-8222-222222222222", "shopper@example.com", "Shopper"),
    ] {
        let (email, name) = (Email::parse(email).unwrap(), Name::parse(name).unwrap());
        users
            .create(&UserProfile::new(UserId::parse(id).unwrap(), email.clone(), name.clone(), None), true)
            .await
            .unwrap();
        let password = Password::parse(shop_tests::PASSWORD).unwrap();
        identity.create_user(&NewAccount { email, password, name, phone: None }).await.unwrap();
    }
    let staff = NewAccount {
        email: Email::parse("clerk@example.com").unwrap(),
        password: Password::parse(shop_tests::PASSWORD).unwrap(),
        name: Name::parse("Clerk").unwrap(),
        phone: None,
    };
    let staff_id = identity.create_user(&staff).await.unwrap();
    users.create(&UserProfile::new(staff_id.clone(), staff.email, staff.name, None), true).await.unwrap();
    let product = shop_tests::draft("BOOK-001", "The Pragmatic Programmer", "books", 3499)
        .create(&Catalog::new(table.clone()), shop_tests::stock(40))
        .await;
    let shopper = UserId::parse("22222222-2222-4222-8222-222222222222").unwrap();
    let line =
        shop::cart::Line { product: product.id, variant: product.variants[0].id, quantity: Quantity::new(1).unwrap() };
    shop::cart::Carts::new(table.clone()).set(&shopper, line).await.unwrap();
    // A paid order of the shopper's (paid through the simulated provider), ready to ship or
    // cancel, and an unpaid one.
    let orders = shop::orders::Orders::new(table.clone());
    let place = async |product| {
        let request = shop::orders::CheckoutRequest {
            guest_email: None,
            user: shopper.clone(),
            items: Some(vec![shop::orders::Wanted::of(product, Quantity::new(1).unwrap())]),
            ship_to: shop_tests::shipping_address().into(),
            shipping_option: None,
            promotion_code: None,
            idempotency: None,
        };
        orders.checkout(request).await.unwrap().order
    };
    // The unpaid order buys another book at the same price, so the sample product's revision
    // (its ETag in the samples) moves once only.
    let other = shop_tests::draft("BOOK-002", "Refactoring", "books", 3499)
        .create(&Catalog::new(table.clone()), shop_tests::stock(40))
        .await;
    let (order, unpaid) = (place(product.id).await, place(other.id).await);
    let simulated = Arc::new(Simulated::new(table.clone(), WEBHOOK_SECRET));
    let payments = Payments::new(table.clone(), vec![simulated.clone()]);
    let (checkout, _) = payments.checkout(order.clone(), Provider::Stripe).await.unwrap();
    simulated.confirm(&checkout.payment_id, shop_embedded::payments::CARD_SUCCEEDS).await.unwrap();
    let paid = WebhookKind::Succeeded { payment_id: checkout.payment_id, amount: order.total };
    let event = WebhookEvent { id: "evt_fixture".into(), order_id: Some(order.id), kind: paid };
    assert_eq!(payments.apply(Provider::Stripe, &event).await.unwrap(), Applied::Changed);
    // The unpaid order's checkout started the PaymentIntent the Stripe webhook sample pays.
    let (_, started) = orders.amending(&unpaid, |o| {
        o.payment = Some(shop::domain::Payment::pending(Provider::Stripe, SAMPLE_INTENT, 1, unpaid.total));
    });
    table.write(started).await.unwrap();
    World {
        table,
        identity,
        payments: simulated,
        product: product.id.to_string(),
        variant: product.variants[0].id.to_string(),
        objects: Arc::new(
            shop_embedded::objects::LocalObjects::open(&dir.path().join("objects"), "http://localhost", [7; 32]).0,
        ),
        order: order.id.to_string(),
        unpaid: unpaid.id.to_string(),
        staff: staff_id.to_string(),
        search: Arc::new(shop_tantivy::TantivyIndex::open(&dir.path().join("search")).unwrap().0),
        _dir: dir,
    }
}

fn router(function: &str, world: &World) -> shop_aws::lambda::Handler {
    let (table, identity) = (world.table.clone(), world.identity.clone());
    let router = match function {
        "auth" => auth::router(auth::AuthState::new(table, identity, Default::default())),
        "users" => users::router(users::UsersState::new(table, identity, Default::default())),
        "products" => {
            products::router(products::ProductsState::new(table, world.objects.clone(), "https://media.example.com"))
        }
        "cart" => cart::router(cart::CartState::new(table)),
        "orders" => orders::router(orders::OrdersState::new(table)),
        "payments" => {
            let paypal = shop_paypal::Config::new("sample-client", "sample-secret", "sample-webhook");
            let paypal = Arc::new(shop_paypal::PaypalPayments::new(paypal).unwrap());
            let payments = Payments::new(table.clone(), vec![world.payments.clone(), paypal]);
            payments::router(payments::PaymentsState::new(table, payments))
        }
        "search" => search::router(search::SearchState { index: world.search.clone() }),
        "storefront" => storefront::router(storefront::Settings {
            cards: storefront::Cards::Stripe {
                js: storefront::STRIPE_JS.into(),
                publishable_key: "pk_test_sample".into(),
            },
            sign_in: Some(storefront::SignIn::at("https://shop-dev.auth.us-east-1.amazoncognito.com", "sample")),
            media: Default::default(),
        }),
        other => panic!("events/{other}/ names no function"),
    };
    shop_aws::lambda::handler(router)
}

/// A sample as the type the runtime hands its handler.
fn typed<T: serde::de::DeserializeOwned>(event: &Value) -> T {
    serde_json::from_value(event.clone()).unwrap_or_else(|e| panic!("a sample the runtime would refuse: {e}"))
}

/// An answer as the runtime sends it back.
fn wire(answer: impl serde::Serialize) -> Value {
    serde_json::to_value(answer).unwrap()
}

/// The schedule, stream and queue events: each handler's answer and effect.
async fn not_http(name: &str, event: Value, world: &World) {
    let failures = |answer: Value| -> Vec<String> {
        let list = answer["batchItemFailures"].as_array().unwrap_or_else(|| panic!("{name}: {answer}"));
        list.iter().map(|f| f["itemIdentifier"].as_str().unwrap().to_owned()).collect()
    };
    let shopper = "22222222-2222-4222-8222-222222222222";
    match name {
        "imports/upload" => {
            // The sample's file: one product.
            let csv = "handle,name,category,sku,price,currency,stock\nsample-lamp,Sample lamp,lighting,SAMPLE-1,12.50,EUR,4\n";
            let file = shop::objects::Object::new(csv.as_bytes().to_vec(), "text/csv");
            world.objects.put("imports/01JD0000000000000000000006.csv", file).await.unwrap();
            let runner = imports::Runner::new(world.table.clone(), world.objects.clone());
            for key in shop_aws::lambda::stored_keys(typed(&event)) {
                runner.run(&key).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
            }
            let status = shop::imports::Imports::new(world.table.clone()).status("01JD0000000000000000000006").await;
            let status = status.unwrap().expect("the import's record");
            assert_eq!((status.products_created, status.rows_refused), (1, 0), "{status:?}");
            assert!(
                world.objects.get("imports/01JD0000000000000000000006.csv").await.unwrap().is_none(),
                "the file goes"
            );
        }
        "images/upload" => {
            // The sample's upload: a 300 × 200 PNG for the sample product.
            let id = shop::domain::UploadId::parse("01JD0000000000000000000007").unwrap();
            let mut png = std::io::Cursor::new(Vec::new());
            image::DynamicImage::new_rgb8(300, 200).write_to(&mut png, image::ImageFormat::Png).unwrap();
            let png = png.into_inner();
            let now = shop::time::Timestamp::now();
            let upload = shop::media::Upload {
                id,
                product_id: shop::domain::ProductId::parse(&world.product).unwrap(),
                variant_id: None,
                alt: shop::domain::AltText::parse("The sample book's cover").unwrap(),
                content_type: "image/png".into(),
                size: png.len() as u64,
                state: shop::media::UploadState::Waiting,
                reason: None,
                image_id: None,
                created_at: now,
                updated_at: now,
            };
            world
                .table
                .write(shop::table::Write::put(shop::table::Item::new(&shop::keys::upload(&id), &upload)))
                .await
                .unwrap();
            let file = shop::objects::Object::new(png, "image/png");
            world.objects.put("uploads/01JD0000000000000000000007", file).await.unwrap();
            let maker = images::maker(world.table.clone(), world.objects.clone(), "https://media.example.com");
            for key in shop_aws::lambda::stored_keys(typed(&event)) {
                maker.run(&key).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
            }
            let product =
                shop::catalog::Catalog::new(world.table.clone()).get(&upload.product_id).await.unwrap().unwrap();
            let widths: Vec<u32> = product.media[0].sizes.iter().map(|s| s.width).collect();
            assert_eq!(widths, [200], "{product:?}");
        }
        "recovery/scheduled" => {
            // The shopper's cart, left behind, with marketing email turned on: one reminder.
            let _: Value = typed(&event);
            let users = Users::new(world.table.clone());
            let shopper = UserId::parse("22222222-2222-4222-8222-222222222222").unwrap();
            let preferences = shop::users::NotificationPreferences { marketing: true, ..Default::default() };
            let changes = shop::users::ProfileChanges { preferences: Some(preferences), ..Default::default() };
            users.update(&shopper, changes, None, true).await.unwrap();
            let policy = shop::recovery::RecoveryPolicy { idle: time::Duration::ZERO, ..Default::default() };
            let sweep =
                shop::recovery::CartRecovery::new(world.table.clone(), policy, "https://shop.example.com/".into());
            let swept = sweep.sweep(shop::time::Timestamp::now(), 10).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!((swept.read, swept.reminded), (1, 1), "{swept:?}");
        }
        "expiry/scheduled" => {
            let job = expiry::Expiry::new(world.table.clone(), Vec::new(), expiry::Windows::default());
            let answer = job.handle(typed(&event)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                wire(answer),
                json!({"looked_at": 0, "cancelled": 0, "failed": 0}),
                "the fixture's order is paid"
            );
        }
        "publisher/stream" => {
            // The publisher publishes to SNS: the emulator's, with a queue subscribed as the
            // template subscribes the notifications queue.
            let config = shop_tests::emulator().await;
            let stack = format!("shop-sample-{}", ulid::Ulid::new());
            let topic = local::provision::events(&config, &stack).await.unwrap();
            let publisher = shop_sns::SnsPublisher::new(aws_sdk_sns::Client::new(&config), topic);
            let answer = shop_sns::handle_stream(&publisher, typed(&event)).await.unwrap();
            assert_eq!(failures(wire(answer)), Vec::<String>::new());
            let sqs = aws_sdk_sqs::Client::new(&config);
            let queue = local::aws_events::queue_name(&stack, &shop::events::NOTIFICATIONS);
            let url = sqs.get_queue_url().queue_name(queue).send().await.unwrap().queue_url().unwrap().to_owned();
            let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
            let kinds: Vec<String> = got
                .messages()
                .iter()
                .map(|m| serde_json::from_str::<shop::events::Event>(m.body().unwrap()).unwrap().kind().to_string())
                .collect();
            assert_eq!(kinds, ["OrderPlaced"], "the inserted event item, not the expired one");
        }
        "notifications/queue" => {
            let consumer = shop::notifications::OrderNotifications::new(world.table.clone(), "/".into());
            let answer = shop_aws::lambda::handle_queue(&consumer, typed(&event)).await;
            assert_eq!(
                failures(wire(answer)),
                ["2e1424d4-f796-459a-8184-9c92662be6d2"],
                "only the poison message fails"
            );
            let notes = shop_tests::outbox(&*world.table, shopper).await;
            assert!(notes.iter().any(|n| n["kind"] == "OrderPlaced" && n["order_id"] == world.order.as_str()));
        }
        "refunds/queue" => {
            // The fixture's paid order, cancelled: the event refunds it, once.
            let order_id = shop::domain::OrderId::parse(&world.order).unwrap();
            let payments = Payments::new(world.table.clone(), vec![world.payments.clone()]);
            let cancel = shop::orders::Transition::Cancel(shop::orders::CancelReason::Shopper);
            payments.orders().transition(&order_id, cancel, shopper).await.unwrap();
            let consumer = shop::payments::Refunder::new(payments.clone());
            let answer = shop_aws::lambda::handle_queue(&consumer, typed(&event)).await;
            assert_eq!(failures(wire(answer)), Vec::<String>::new());
            let answer = shop_aws::lambda::handle_queue(&consumer, typed(&event)).await;
            assert_eq!(failures(wire(answer)), Vec::<String>::new(), "a redelivery");
            let order = payments.orders().get(&order_id).await.unwrap().unwrap();
            let payment = order.payment.unwrap();
            assert_eq!((payment.paid, payment.refunded, payment.refunds.len()), (3499, 3499, 1));
        }
        "sales/queue" => {
            let consumer = shop::sales::Sales::new(world.table.clone());
            let answer = shop_aws::lambda::handle_queue(&consumer, typed(&event)).await;
            assert_eq!(failures(wire(answer)), Vec::<String>::new());
            let product = shop::domain::ProductId::parse(&world.product).unwrap();
            let counted = consumer.of(&product).await.unwrap();
            assert_eq!(counted, shop::sales::ProductSales { units: 1, orders: 1 }, "the redelivery counted once");
        }
        "deliveries/queue" => {
            // The message the sample names, waiting; the batch holds its event twice.
            use shop::notifications::{Channel, Deliveries, DeliveryStatus, Message, Senders};
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(1_795_600_000_000 * 1_000_000).unwrap();
            let message = Message {
                id: "01JD0000000000000000000003-email".into(),
                subject: Some("Order received".into()),
                text: "Thank you".into(),
                html: Some("<p>Thank you</p>".into()),
                created_at: shop::time::Timestamp::at(at),
                ..Message::new(
                    &shop::domain::UserId::parse(shopper).unwrap(),
                    "OrderPlaced",
                    Channel::Email,
                    "shopper@example.com",
                )
            };
            world.table.write(shop::table::Write::put(message.item())).await.unwrap();
            let mailbox = shop_embedded::mailbox::Mailbox::new(world.table.clone());
            let senders = Senders { email: Arc::new(mailbox.clone()), sms: Arc::new(mailbox.clone()) };
            let consumer = Deliveries::new(world.table.clone(), senders);
            let answer = shop_aws::lambda::handle_queue(&consumer, typed(&event)).await;
            assert_eq!(failures(wire(answer)), Vec::<String>::new());
            let sent = mailbox.all().await.unwrap();
            assert_eq!(sent.len(), 1, "sent once: {sent:?}");
            assert_eq!(
                (sent[0].to.as_str(), sent[0].message_id.as_str()),
                ("shopper@example.com", message.id.as_str())
            );
            let stored: Message = world.table.get(&message.key()).await.unwrap().unwrap().decode().unwrap();
            assert_eq!((stored.status, stored.provider_id), (DeliveryStatus::Sent, Some(sent[0].id.clone())));
        }
        "feedback/queue" => {
            // A permanent bounce of the shopper's address, tagged with their id.
            let answer =
                feedback::handle(&shop::notifications::Feedback::new(world.table.clone()), typed(&event)).await;
            assert_eq!(failures(wire(answer)), Vec::<String>::new());
            let suppressed = world.table.get(&shop::notifications::suppression("shopper@example.com")).await.unwrap();
            assert_eq!(suppressed.unwrap().str("reason"), Some("the address bounced"));
            let user = Users::new(world.table.clone()).get(&UserId::parse(shopper).unwrap()).await.unwrap().unwrap();
            assert!(!user.preferences.email, "email is off for the shopper");
        }
        "indexer/queue" => {
            // A product update delivered twice: the product, as the table holds it, is found.
            let consumer = shop::search::Indexer::new(world.table.clone(), world.search.clone());
            let answer = shop_aws::lambda::handle_queue(&consumer, typed(&event)).await;
            assert_eq!(failures(wire(answer)), Vec::<String>::new());
            let found =
                world.search.search(&shop::search::SearchQuery::new("pragmatic", 0, 10).unwrap()).await.unwrap();
            let ids: Vec<String> = found.items.iter().map(|hit| hit.product.id.to_string()).collect();
            assert_eq!(ids, std::slice::from_ref(&world.product));
        }
        other => panic!("events/{other}.json names no handler"),
    }
}

/// The Stripe webhook sample, signed again now with the secret it was signed with: applied,
/// it pays the unpaid order.
async fn stripe_webhook_signed_now(text: &str, world: &World) {
    let mut event: Value = serde_json::from_str(text).unwrap();
    let body = event["body"].as_str().unwrap().to_owned();
    let signature = shop_stripe::sign(WEBHOOK_SECRET, &body, shop::time::epoch_now());
    event["headers"]["Stripe-Signature"] = json!(signature);
    event["multiValueHeaders"]["Stripe-Signature"] = json!([signature]);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = router("payments", world).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let unpaid = shop::domain::OrderId::parse(&world.unpaid).unwrap();
    let order = shop::orders::Orders::new(world.table.clone()).get(&unpaid).await.unwrap().unwrap();
    assert_eq!(order.status, shop::domain::OrderStatus::Paid);
}

#[tokio::test]
async fn every_sample_event_gets_its_expected_answer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut seen = Vec::new();
    for function in std::fs::read_dir(&root).unwrap() {
        let function = function.unwrap().path();
        for file in std::fs::read_dir(&function).unwrap() {
            let file = file.unwrap().path();
            let name = format!(
                "{}/{}",
                function.file_name().unwrap().to_str().unwrap(),
                file.file_stem().unwrap().to_str().unwrap()
            );
            let expected = EXPECTED
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("events/{name}.json has no expected answer"))
                .1;
            let world = world().await;
            let text = std::fs::read_to_string(&file)
                .unwrap()
                .replace(SAMPLE_PRODUCT, &world.product)
                .replace(SAMPLE_VARIANT, &world.variant)
                .replace(SAMPLE_ORDER, &world.order)
                .replace(SAMPLE_UNPAID_ORDER, &world.unpaid)
                .replace(SAMPLE_STAFF, &world.staff);
            if !text.contains("\"httpMethod\"") {
                assert_eq!(expected, 200);
                not_http(&name, serde_json::from_str(&text).unwrap(), &world).await;
                seen.push(name);
                continue;
            }
            let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let function_name = name.split('/').next().unwrap();
            let response = router(function_name, &world).oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert_eq!(status, expected, "events/{name}.json answered {body:#}");
            if status >= 400 {
                assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{name}");
            }
            if name == "payments/stripe-webhook" {
                stripe_webhook_signed_now(&text, &world).await;
            }
            seen.push(name);
        }
    }
    assert_eq!(seen.len(), EXPECTED.len(), "every expectation has its event file");
}
