//! The AWS adapters against the local AWS emulator the test command starts: the table contract
//! on DynamoDB, the identity contract on Cognito, and the local stack in AWS mode, with the
//! table and user pool provisioned from template.yaml.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use shop::events::{DomainEvent, Event, EventKind};
use shop::table::Table;
use shop_dynamodb::DynamoTable;
use shop_tests::{PASSWORD, TestApp, emulator, eventually, product_body};
use tokio::sync::OnceCell;

/// One table for the whole suite, provisioned from template.yaml once.
async fn dynamo() -> Arc<dyn Table> {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    let config = emulator().await;
    let name = TABLE
        .get_or_init(|| async {
            let name = format!("shop-contract-{}", ulid::Ulid::new());
            local::provision::table(&emulator().await, &name).await.expect("provisioning the table");
            name
        })
        .await;
    Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), name))
}

mod dynamodb_table {
    shop::table_contract!(super::dynamo());
}

#[tokio::test]
async fn the_provisioned_table_matches_the_template() {
    let config = emulator().await;
    let name = format!("shop-shape-{}", ulid::Ulid::new());
    local::provision::table(&config, &name).await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = client.describe_table().table_name(&name).send().await.unwrap().table.unwrap();
    let keys: Vec<String> = table.key_schema().iter().map(|k| k.attribute_name().to_owned()).collect();
    assert_eq!(keys, ["PK", "SK"]);
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("GSI1"));
    assert_eq!(table.stream_specification().unwrap().stream_view_type().unwrap().as_str(), "NEW_AND_OLD_IMAGES");
    let ttl = client.describe_time_to_live().table_name(&name).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description().unwrap().attribute_name(), Some("expires_at"));
    // Provisioning again is harmless.
    local::provision::table(&config, &name).await.unwrap();
}

#[tokio::test]
async fn cognito_identity_honours_the_contract() {
    let config = emulator().await;
    let (pool, client_id) = local::provision::user_pool(&config, "shop-contract").await.unwrap();
    let identity = shop_cognito::CognitoIdentity::new(
        aws_sdk_cognitoidentityprovider::Client::new(&config),
        shop_cognito::CognitoConfig { user_pool_id: pool, client_id },
    );
    // Cognito mails the codes; the emulator accepts any code that it did not issue itself.
    shop::identity::contract::run(&identity, |_email, _purpose| async { "123456".to_owned() }).await;
}

/// The local stack in AWS mode: DynamoDB and Cognito on the emulator, provisioned from
/// template.yaml, tokens verified against the emulator's JWKS.
#[tokio::test]
async fn the_local_stack_runs_on_the_aws_adapters() {
    let config = emulator().await;
    let endpoint = std::env::var("SHOP_TEST_AWS_ENDPOINT").unwrap();
    let made =
        local::provision::all(&config, &format!("shop-local-{}", ulid::Ulid::new()), "shop-local").await.unwrap();
    let app = TestApp::spawn_with(|c| {
        c.backend = local::Backend::Aws;
        c.auto_confirm = false;
        c.aws = local::AwsSettings {
            table_name: Some(made.table_name.clone()),
            user_pool_id: Some(made.user_pool_id.clone()),
            client_id: Some(made.client_id.clone()),
            topic_arn: Some(made.topic_arn.clone()),
            ..emulator_settings(&endpoint)
        };
    })
    .await;
    let admin = app.admin().await;
    let (shopper, shopper_id, _) = app.shopper("Eve").await;
    let me = app.get("/api/users/me", Some(&shopper)).await.expect(200);
    assert_eq!(me.body["id"], shopper_id.as_str());
    app.get("/api/users", Some(&shopper)).await.problem(403);
    let users = app.get("/api/users", Some(&admin)).await.expect(200);
    assert!(users.body.as_array().unwrap().len() >= 2);
    let products = app.get("/api/products?limit=100", None).await.expect(200);
    assert_eq!(products.body.as_array().unwrap().len(), 48);
    let created =
        app.post("/api/products", Some(&admin), product_body("Aws Lamp", "lighting", 1000, 3)).await.expect(201);
    let id = created.body["id"].as_str().unwrap();
    let etag = created.header("etag").unwrap().to_owned();
    let mut body = product_body("Aws Lamp 2", "lighting", 1200, 3);
    body["sku"] = created.body["variants"][0]["sku"].clone();
    body.as_object_mut().unwrap().remove("stock");
    app.send(Method::PUT, &format!("/api/products/{id}"), Some(&admin), Some(body.clone()), &[("if-match", &etag)])
        .await
        .expect(200);
    app.send(Method::PUT, &format!("/api/products/{id}"), Some(&admin), Some(body), &[("if-match", &etag)])
        .await
        .problem(412);

    // An order's events go the AWS way: DynamoDB stream -> publisher -> SNS -> filtered SQS
    // queues -> consumers, on the emulator.
    let items =
        json!({"items": [{"product_id": id, "quantity": 2}], "shipping_address": shop_tests::shipping_address()});
    let order = app.post("/api/orders", Some(&shopper), items).await.expect(201).body;
    let sales = shop::sales::Sales::new(app.running.table.clone());
    let product = shop::domain::ProductId::parse(id).unwrap();
    let counted = shop::sales::ProductSales { units: 2, orders: 1 };
    eventually(60, "the sale counted through SNS and SQS", || async {
        (sales.of(&product).await.unwrap() == counted).then_some(())
    })
    .await;
    eventually(60, "the order email through SNS and SQS", || async {
        let notes = app.outbox(&shopper_id).await;
        notes.iter().any(|n| n["order_id"] == order["id"] && n["kind"] == "OrderPlaced").then_some(())
    })
    .await;

    // A guest's checkout on DynamoDB (the guests' counter and the claim's marker in its
    // transaction), its confirmation to the address given, with the link, through SNS and SQS.
    let guest = app.post("/api/guest/tokens", None, json!({})).await.expect(201).body["token"].clone();
    let guest = [("guest-token", guest.as_str().unwrap())];
    let email = "guest-on-aws@example.com";
    let items = json!({"items": [{"product_id": id, "quantity": 1}], "shipping_address": shop_tests::shipping_address(),
                       "email": email});
    let placed = app.send(Method::POST, "/api/guest/orders", None, Some(items), &guest).await.expect(201).body;
    let guest_id = placed["user_id"].as_str().unwrap();
    eventually(60, "the guest's confirmation through SNS and SQS", || async {
        let notes = app.outbox(guest_id).await;
        let confirmation = notes.iter().find(|n| n["order_id"] == placed["id"] && n["kind"] == "OrderPlaced")?;
        assert_eq!(confirmation["to"], email);
        confirmation["text"].as_str().unwrap().contains("#/guest/orders/").then_some(())
    })
    .await;

    let etag = app.get(&format!("/api/products/{id}"), None).await.header("etag").unwrap().to_owned();
    app.send(Method::DELETE, &format!("/api/products/{id}"), Some(&admin), None, &[("if-match", &etag)])
        .await
        .expect(204);
    app.call(Method::DELETE, &format!("/api/users/{shopper_id}"), Some(&shopper), None).await.expect(204);
    app.post("/api/auth/login", None, json!({"email": me.body["email"], "password": PASSWORD})).await.problem(401);
}

/// The emulator as the stack's AWS settings name it (no test changes the process environment,
/// which the other tests of this binary read at the same time).
fn emulator_settings(endpoint: &str) -> local::AwsSettings {
    local::AwsSettings {
        endpoint: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        credentials: Some(("testing".into(), "testing".into())),
        ..local::AwsSettings::default()
    }
}

/// The checkout transaction on DynamoDB: 50 concurrent checkouts of a product with 10 in
/// stock make exactly 10 orders; one idempotency key makes one order. (The emulator applies
/// one request at a time, and every sale of the product makes the others read again, so the
/// journeys run the 200-buyer version on the embedded table.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_checkouts_never_oversell() {
    use shop::domain::{Quantity, UserId};
    use shop::orders::{CheckoutRequest, Orders};
    let table = dynamo().await;
    let catalog = shop::catalog::Catalog::new(table.clone());
    let draft = shop_tests::draft(&format!("AWS-{}", ulid::Ulid::new()), "Scarce Lamp", "lighting", 1000);
    let product = draft.create(&catalog, shop_tests::stock(10)).await;
    let orders = Orders::new(table.clone()).with_limits(shop_tests::NO_ORDER_LIMITS);
    let address = shop_tests::shipping_address();
    let request = |user: &UserId, key: Option<&str>| CheckoutRequest {
        guest_email: None,
        user: user.clone(),
        items: Some(vec![shop::orders::Wanted::of(product.id, Quantity::new(1).unwrap())]),
        ship_to: address.clone().into(),
        shipping_option: None,
        promotion_code: None,
        idempotency: key.map(|k| (k.to_owned(), "fingerprint".to_owned())),
    };
    let buyers: Vec<UserId> = (0..8).map(|_| UserId::random()).collect();
    let attempts = (0..50).map(|i| {
        let (orders, request) = (orders.clone(), request(&buyers[i % buyers.len()], None));
        async move { orders.checkout(request).await }
    });
    let results = futures::future::join_all(attempts).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let refused = results.iter().filter(|r| matches!(r, Err(shop::orders::OrderError::OutOfStock { .. }))).count();
    assert_eq!((placed, refused), (10, 40));
    assert_eq!(catalog.get(&product.id).await.unwrap().unwrap().stock, 0);

    // Restock a little, then one key, many requests: one order.
    let reason = shop::domain::Reason::parse("restock").unwrap();
    let restocked = catalog.adjust_stock(&product.id, None, 10, &reason).await.unwrap();
    assert_eq!((restocked.stock, restocked.version), (10, 1 + 10 + 1), "every sale moved the revision");
    let buyer = UserId::random();
    let same_key = (0..10).map(|_| {
        let (orders, request) = (orders.clone(), request(&buyer, Some("dynamo-key")));
        async move { orders.checkout(request).await.map(|c| c.order.id) }
    });
    let ids: Vec<_> = futures::future::join_all(same_key).await.into_iter().map(Result::unwrap).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one order for one key");
    assert_eq!(catalog.get(&product.id).await.unwrap().unwrap().stock, 9);
}

/// Promotion limits on DynamoDB: the counters move inside the checkout's transaction, so 50
/// concurrent checkouts with a code of 10 uses give exactly 10 discounted orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_code_limits_hold_under_concurrent_checkouts() {
    shop_tests::fifty_checkouts_share_ten_uses(dynamo().await).await;
}

/// The invoice sequence on DynamoDB: concurrent payments take a gapless run of numbers (five:
/// the emulator answers one request at a time, and each number taken sends the others round
/// again; the embedded table's test pays twenty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_invoice_numbers_are_gapless_under_concurrent_payments() {
    shop_tests::payments_take_a_gapless_run(dynamo().await, 5).await;
}

fn event(kind: EventKind) -> Event {
    Event {
        event_id: ulid::Ulid::new().to_string(),
        at: shop::time::Timestamp::now(),
        event: DomainEvent::example(kind),
    }
}

/// The topic and queues as provisioned from template.yaml: each queue gets the types its filter
/// policy names, with the `type` attribute; a message received five times without being deleted
/// moves to the DLQ, where the dead-letters command lists it and from which it redrives it.
#[tokio::test]
async fn events_cross_sns_to_filtered_sqs_queues_and_dead_letter() {
    use aws_sdk_sqs::types::MessageAttributeValue;
    use local::aws_events::queue_name;
    use local::dead_letters::{Action, run};
    use shop::events::{NOTIFICATIONS, SALES};
    let config = emulator().await;
    let stack = format!("shop-events-{}", ulid::Ulid::new());
    let topic = local::provision::events(&config, &stack).await.unwrap();
    let publisher = shop_sns::SnsPublisher::new(aws_sdk_sns::Client::new(&config), topic);
    let (placed, shipped) = (event(EventKind::OrderPlaced), event(EventKind::OrderShipped));
    assert_eq!(publisher.publish(&[(&placed).into(), (&shipped).into()]).await.unwrap(), 2);

    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = |name: String| {
        let sqs = sqs.clone();
        async move { sqs.get_queue_url().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned() }
    };
    let (notifications, sales) = (url(queue_name(&stack, &NOTIFICATIONS)).await, url(queue_name(&stack, &SALES)).await);
    let receive = |queue: String| {
        let sqs = sqs.clone();
        async move {
            let got = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap();
            got.messages().to_vec()
        }
    };
    let mut kinds: Vec<String> = receive(notifications.clone())
        .await
        .iter()
        .map(|m| serde_json::from_str::<Event>(m.body().unwrap()).unwrap().kind().to_string())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["OrderPlaced", "OrderShipped"]);
    let on_sales = receive(sales.clone()).await;
    assert_eq!(on_sales.len(), 1, "the sales filter lets only OrderPlaced and OrderCancelled through");
    let body: shop::events::Event = serde_json::from_str(on_sales[0].body().unwrap()).unwrap();
    assert_eq!(body, placed, "delivered raw, whole");
    let attribute = on_sales[0].message_attributes().unwrap().get("type").map(MessageAttributeValue::string_value);
    assert_eq!(attribute, Some(Some("OrderPlaced")));

    // Received four more times and never deleted (a consumer failing): the next receive moves
    // it to the DLQ instead of delivering it.
    for _ in 0..4 {
        assert_eq!(receive(sales.clone()).await.len(), 1);
    }
    assert!(receive(sales.clone()).await.is_empty());
    let endpoint = std::env::var("SHOP_TEST_AWS_ENDPOINT").unwrap();
    let settings = local::AwsSettings { table_name: Some(stack.clone()), ..emulator_settings(&endpoint) };
    let aws = local::Config { backend: local::Backend::Aws, aws: settings, ..local::Config::default() };
    let (dead, _) = run(&aws, Action::List, Some("sales")).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].event_id.as_str(), dead[0].kind.as_str()), (placed.event_id.as_str(), "OrderPlaced"));
    assert_eq!(run(&aws, Action::Redrive, None).await.unwrap().1, 1);
    assert!(run(&aws, Action::List, None).await.unwrap().0.is_empty());
    let back = receive(sales).await;
    assert_eq!(back.len(), 1);
    assert_eq!(serde_json::from_str::<Event>(back[0].body().unwrap()).unwrap(), placed);
}

/// A stream batch the publisher cannot publish (SNS refuses it) answers its first event record
/// as the batch item failure, so Lambda retries from there instead of skipping it.
#[tokio::test]
async fn the_publisher_reports_what_it_could_not_publish() {
    let config = emulator().await;
    let gone = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let publisher = shop_sns::SnsPublisher::new(aws_sdk_sns::Client::new(&config), gone);
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/publisher/stream.json")).unwrap();
    let batch: serde_json::Value = serde_json::from_str(&sample).unwrap();
    let first = batch["Records"][0]["dynamodb"]["SequenceNumber"].clone();
    let answer = shop_sns::handle_stream(&publisher, serde_json::from_value(batch).unwrap()).await.unwrap();
    assert_eq!(serde_json::to_value(answer).unwrap(), json!({"batchItemFailures": [{"itemIdentifier": first}]}));
}

#[tokio::test]
async fn secrets_are_read_from_secrets_manager_and_never_echoed() {
    let config = emulator().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let made = |name: &str, value: &str| {
        let request = secrets.create_secret().name(format!("{name}-{}", ulid::Ulid::new())).secret_string(value);
        async move { request.send().await.unwrap().arn().unwrap().to_owned() }
    };
    let stripe = made("stripe", r#"{"secret_key": "sk_test_read", "webhook_secret": "", "extra": 1}"#).await;
    let fields = shop_secrets::JsonSecret::new(&config, &stripe).read().await.unwrap();
    assert_eq!(fields.get("secret_key").unwrap(), "sk_test_read");
    // An empty, missing or non-string field is an error naming the field, not the value.
    for name in ["webhook_secret", "absent", "extra"] {
        let error = fields.get(name).unwrap_err().to_string();
        assert!(error.contains(name) && !error.contains("sk_test_read"), "{error}");
    }
    let garbled = made("garbled", "sk_live_not_json").await;
    let error = shop_secrets::JsonSecret::new(&config, &garbled).read().await.err().unwrap().to_string();
    assert!(error.contains("not a JSON object") && !error.contains("sk_live"), "{error}");
    let missing = shop_secrets::JsonSecret::new(&config, "arn:aws:secretsmanager:us-east-1:123456789012:secret:none");
    assert!(missing.read().await.is_err());

    // Stripe from its two secrets: what only calls Stripe (refunds, expiry) is never given the
    // webhook signing secret, and takes no webhook; the payments function verifies with it.
    use shop::payments::{PaymentProvider, WebhookError};
    let key = made("stripe-key", r#"{"secret_key": "sk_test_read"}"#).await;
    let signing = made("stripe-webhook", r#"{"webhook_secret": "whsec_read"}"#).await;
    let secret = |arn: &str| shop_secrets::JsonSecret::new(&config, arn);
    let body = json!({"id": "evt_1", "object": "event", "type": "customer.created", "created": shop::time::epoch_now(),
        "livemode": false, "pending_webhooks": 1, "data": {"object": {"id": "cus_1", "object": "customer"}}})
    .to_string();
    let mut headers = http::HeaderMap::new();
    let signature = shop_stripe::sign("whsec_read", &body, shop::time::epoch_now());
    headers.insert(shop_stripe::SIGNATURE_HEADER, signature.parse().unwrap());
    let taking = shop_stripe::reading(secret(&key), Some(secret(&signing)));
    assert!(taking.verify(&headers, body.as_bytes()).await.is_ok());
    let calling = shop_stripe::reading(secret(&key), None);
    assert!(matches!(calling.verify(&headers, body.as_bytes()).await, Err(WebhookError::Unavailable(_))));

    // The shop's signing key, as the template generates it; one too short to sign with is
    // refused, unechoed.
    let cursor_key = |id: &str| match shop_secrets::signing_key(&config, id) {
        shop::signing::KeySource::Deferred(key) => key,
        shop::signing::KeySource::Fixed(_) => panic!("a deployment's key is read at its first use"),
    };
    let key = "k".repeat(64);
    let cursor = made("cursor", &json!({ "key": key }).to_string()).await;
    assert_eq!(*cursor_key(&cursor).get().await.unwrap(), key.as_bytes());
    let short = made("short", r#"{"key": "sk_short_cursor_key"}"#).await;
    let error = cursor_key(&short).get().await.err().unwrap().to_string();
    assert!(error.contains("shorter than 32") && !error.contains("sk_short"), "{error}");
}

/// What the emulator's SES (`ses`) or SNS (`sns`) sent to `to`: `{"id", "to", "words",
/// "source"}` each (an email's subject, an SMS's text), from the emulator's own read-back route.
async fn emulator_sent(service: &str, to: &str) -> Vec<serde_json::Value> {
    let endpoint = std::env::var("SHOP_TEST_AWS_ENDPOINT").unwrap();
    let url = format!("{endpoint}/_shop/sent");
    let answer = reqwest::Client::new().get(url).query(&[("service", service), ("to", to)]).send().await.unwrap();
    answer.json().await.unwrap()
}

/// The sender contract on SES and SNS, read back from the emulator's state.
mod senders {
    use std::sync::Arc;

    use shop::notifications::contract::{Outbox, Sender, Sent, Subject};

    use super::{emulator, emulator_sent};

    /// What the emulator's SES (`ses`) or SNS (`sns`) sent.
    struct Emulated(&'static str);

    #[async_trait::async_trait]
    impl Outbox for Emulated {
        async fn sent_to(&self, to: &str) -> Vec<Sent> {
            let sent = emulator_sent(self.0, to).await.into_iter();
            sent.map(|m| Sent { id: text(&m["id"]), to: to.into(), words: text(&m["words"]) }).collect()
        }
    }

    fn text(value: &serde_json::Value) -> String {
        value.as_str().unwrap_or_default().to_owned()
    }

    /// SES sending from a domain it verified, through a configuration set.
    pub(super) async fn ses() -> (shop_ses::SesEmail, aws_sdk_sesv2::Client, String) {
        let ses = aws_sdk_sesv2::Client::new(&emulator().await);
        let domain = format!("shop-{}.example.com", ulid::Ulid::new().to_string().to_lowercase());
        ses.create_email_identity().email_identity(&domain).send().await.unwrap();
        let set = format!("shop-{}", ulid::Ulid::new());
        ses.create_configuration_set().configuration_set_name(&set).send().await.unwrap();
        let from = format!("orders@{domain}");
        (shop_ses::SesEmail::new(ses.clone(), from.clone(), Some(set)), ses, from)
    }

    mod email {
        use super::*;

        shop::sender_contract!(async {
            Subject { sender: Sender::Email(Arc::new(ses().await.0)), outbox: Arc::new(Emulated("ses")) }
        });
    }

    mod sms {
        use super::*;

        shop::sender_contract!(async {
            let sns = aws_sdk_sns::Client::new(&emulator().await);
            let sms = Arc::new(shop_sns::sms::SnsSms::new(sns));
            Subject { sender: Sender::Sms(sms), outbox: Arc::new(Emulated("sns")) }
        });
    }
}

/// What only SES and SNS do: SES sends from its verified identity only (anything else is
/// refused, never retried); SNS keeps opted-out numbers (suppressed, nothing published).
#[tokio::test]
async fn ses_sends_from_its_identity_and_sns_keeps_opted_out_numbers_out() {
    use shop::notifications::{EmailSender, OutgoingEmail, OutgoingSms, SendError, SmsSender};
    let (sender, ses, from) = senders::ses().await;
    let to = format!("ada-{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    let user = shop::domain::UserId::parse("44444444-4444-4444-8444-444444444444").unwrap();
    let email = OutgoingEmail {
        to: &to,
        subject: "Order received",
        text: "Thank you",
        html: "<p>Thank you</p>",
        user_id: &user,
        message_id: "01EVT-email",
    };
    sender.send_email(&email).await.unwrap();
    assert_eq!(emulator_sent("ses", &to).await[0]["source"], from);
    let unverified = shop_ses::SesEmail::new(ses, "orders@unverified.example.net", None);
    assert!(matches!(unverified.send_email(&email).await, Err(SendError::Refused(_))));

    let sms = shop_sns::sms::SnsSms::new(aws_sdk_sns::Client::new(&emulator().await));
    // The emulator's opted-out numbers end in 99.
    let opted_out = "+4915100000099";
    let refused = sms.send_sms(&OutgoingSms { to: opted_out, text: "x", message_id: "01EVT-sms2" }).await;
    assert!(matches!(refused, Err(SendError::Suppressed(_))), "{refused:?}");
    assert!(emulator_sent("sns", opted_out).await.is_empty());
}

/// SES's bounce report reaches the feedback consumer as the template wires it: SES -> SNS topic
/// -> SQS queue without raw delivery (the consumer reads SNS's envelope). The emulator reports
/// through an identity's notification topic (SES v1) and sends its own sample bounce for
/// `bounce@simulator.amazonses.com`: `recipient1@example.com` failed, `recipient2@example.com`
/// delayed.
#[tokio::test]
async fn an_ses_bounce_suppresses_the_address_through_the_feedback_queue() {
    use shop::notifications::{EmailSender, Feedback, OutgoingEmail};
    let config = emulator().await;
    let domain = format!("feedback-{}.example.com", ulid::Ulid::new().to_string().to_lowercase());
    let ses = aws_sdk_sesv2::Client::new(&config);
    ses.create_email_identity().email_identity(&domain).send().await.unwrap();
    let (sns, sqs) = (aws_sdk_sns::Client::new(&config), aws_sdk_sqs::Client::new(&config));
    let topic = sns.create_topic().name(format!("feedback-{}", ulid::Ulid::new())).send().await.unwrap();
    let topic = topic.topic_arn().unwrap();
    let queue = sqs.create_queue().queue_name(format!("feedback-{}", ulid::Ulid::new())).send().await.unwrap();
    let queue = queue.queue_url().unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = &attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn];
    sns.subscribe().topic_arn(topic).protocol("sqs").endpoint(queue_arn).send().await.unwrap();
    aws_sdk_ses::Client::new(&config)
        .set_identity_notification_topic()
        .identity(&domain)
        .notification_type(aws_sdk_ses::types::NotificationType::Bounce)
        .sns_topic(topic)
        .send()
        .await
        .unwrap();

    let sender = shop_ses::SesEmail::new(ses, format!("orders@{domain}"), None);
    let user = shop::domain::UserId::parse("66666666-6666-4666-8666-666666666666").unwrap();
    let to = "bounce@simulator.amazonses.com";
    let email = OutgoingEmail { to, subject: "s", text: "t", html: "<p>t</p>", user_id: &user, message_id: "m-email" };
    sender.send_email(&email).await.unwrap();
    let got = sqs.receive_message().queue_url(queue).max_number_of_messages(10).send().await.unwrap();
    let records: Vec<serde_json::Value> = got
        .messages()
        .iter()
        .map(|m| json!({"messageId": m.message_id(), "body": m.body(), "eventSource": "aws:sqs"}))
        .collect();
    assert_eq!(records.len(), 1, "one report");
    let table = dynamo().await;
    let batch = serde_json::from_value(json!({"Records": records})).unwrap();
    let answer = feedback::handle(&Feedback::new(table.clone()), batch).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let suppressed = |address: &'static str| {
        let table = table.clone();
        async move { table.get(&shop::notifications::suppression(address)).await.unwrap().is_some() }
    };
    assert!(suppressed("recipient1@example.com").await, "the failed recipient");
    assert!(!suppressed("recipient2@example.com").await, "a delayed recipient is not gone");
}
