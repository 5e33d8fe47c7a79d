//! template.yaml against the code: every function's API events are exactly the routes its
//! router serves and documents, with the authorizer exactly where the code wants a caller; the
//! local gateway uses that same route table.

use std::collections::BTreeSet;

use serde_yaml::Value;

type Route = (String, String, bool);

pub(crate) fn template() -> Value {
    serde_yaml::from_str(local::provision::TEMPLATE).expect("template.yaml is YAML")
}

/// (method, path, needs the authorizer) of one function's Api events.
fn template_routes(function: &Value) -> BTreeSet<Route> {
    let events = function["Properties"]["Events"].as_mapping().expect("the function has events");
    events
        .values()
        .filter(|e| e["Type"] == "Api")
        .map(|e| {
            let p = &e["Properties"];
            let authorized = p["Auth"]["Authorizer"].as_str() == Some("CognitoAuthorizer");
            (p["Method"].as_str().unwrap().to_uppercase(), p["Path"].as_str().unwrap().to_owned(), authorized)
        })
        .collect()
}

fn code_routes(doc: &utoipa::openapi::OpenApi) -> BTreeSet<Route> {
    local::gateway::routes(doc).into_iter().map(|r| (r.method, r.path, r.needs_caller)).collect()
}

#[test]
fn each_function_deploys_exactly_the_routes_it_serves() {
    let template = template();
    let services = [
        ("AuthFunction", "auth", auth::openapi()),
        ("UsersFunction", "users", users::openapi()),
        ("ProductsFunction", "products", products::openapi()),
        ("CartFunction", "cart", cart::openapi()),
        ("OrdersFunction", "orders", orders::openapi()),
        ("PaymentsFunction", "payments", payments::openapi()),
        ("SearchFunction", "search", search::openapi()),
    ];
    let mut all = BTreeSet::new();
    for (resource, binary, doc) in services {
        let function = &template["Resources"][resource];
        assert_eq!(
            function["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(binary),
            "{resource} builds {binary}"
        );
        assert_eq!(function["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
        let deployed = template_routes(function);
        let served = code_routes(&doc);
        assert_eq!(deployed, served, "{resource}: template.yaml events vs the router's routes");
        all.extend(served);
    }
    assert_eq!(all, code_routes(&local::openapi()), "the local gateway's route table is the template's");

    // The storefront's pages: public, outside the API document, none of them under /api.
    let storefront = &template["Resources"]["StorefrontFunction"];
    assert_eq!(storefront["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("storefront"));
    let pages: BTreeSet<Route> = ["/", "/assets/{proxy+}", "/storefront.json"]
        .into_iter()
        .map(|path| ("GET".to_owned(), path.to_owned(), false))
        .collect();
    assert_eq!(template_routes(storefront), pages);
}

#[test]
fn the_gateway_caches_public_reads_only_keyed_by_all_they_read() {
    use utoipa::openapi::path::ParameterIn;
    let template = template();

    // The methods the stage caches: exactly the GETs that need no caller.
    let settings = template["Resources"]["Api"]["Properties"]["MethodSettings"].as_sequence().unwrap();
    let stage_wide = settings.iter().find(|s| s["ResourcePath"] == "/*").expect("stage-wide settings");
    assert_eq!(stage_wide["CachingEnabled"], Value::Bool(false), "caching is off by default");
    let cached: BTreeSet<(String, String)> = settings
        .iter()
        .filter(|s| s["ResourcePath"] != "/*" && !s["CachingEnabled"].is_null())
        .map(|s| {
            assert_eq!(s["CacheDataEncrypted"], Value::Bool(true));
            // "/~1api~1products": a leading "/", then the path with its slashes as "~1".
            let path = s["ResourcePath"].as_str().unwrap().strip_prefix('/').unwrap().replace("~1", "/");
            (s["HttpMethod"].as_str().unwrap().to_owned(), path)
        })
        .collect();
    let doc = local::openapi();
    let public_reads: BTreeSet<(String, String)> = code_routes(&doc)
        .into_iter()
        // A guest's reads are the guest's own: never kept.
        .filter(|(method, path, needs_caller)| method == "GET" && !needs_caller && !path.starts_with("/api/guest/"))
        .map(|(method, path, _)| (method, path))
        .collect();
    assert_eq!(cached, public_reads, "the cached methods are the public reads");

    // Each is keyed by every parameter it reads, and by If-None-Match (a 304 is not a 200).
    let events: Vec<&Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| r["Properties"]["Events"].as_mapping())
        .flat_map(|events| events.values())
        .filter(|e| e["Type"] == "Api")
        .collect();
    for (_, path) in &public_reads {
        let event = events
            .iter()
            .find(|e| e["Properties"]["Path"] == path.as_str() && e["Properties"]["Method"] == "get")
            .unwrap();
        let keys: BTreeSet<String> = event["Properties"]["RequestParameters"]
            .as_sequence()
            .unwrap_or_else(|| panic!("GET {path} declares its cache keys"))
            .iter()
            .flat_map(|p| p.as_mapping().unwrap())
            .map(|(name, options)| {
                assert_eq!(options["Caching"], Value::Bool(true), "{name:?}");
                name.as_str().unwrap().to_owned()
            })
            .collect();
        let operation = doc.paths.paths[path].get.as_ref().unwrap();
        let mut read: BTreeSet<String> = operation
            .parameters
            .iter()
            .flatten()
            .map(|p| {
                let place = match p.parameter_in {
                    ParameterIn::Query => "querystring",
                    ParameterIn::Path => "path",
                    ParameterIn::Header => "header",
                    ParameterIn::Cookie => panic!("GET {path} reads a cookie"),
                };
                format!("method.request.{place}.{}", p.name)
            })
            .collect();
        read.insert("method.request.header.If-None-Match".into());
        assert_eq!(keys, read, "GET {path}: the cache keys are what the route reads");
    }
}

#[test]
fn functions_are_arm64_on_the_os_only_runtime_with_their_own_policies() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    let architecture = reference(&globals["Architectures"][0]);
    assert_eq!(architecture, "!Ref FunctionArchitecture");
    assert_eq!(template["Parameters"]["FunctionArchitecture"]["Default"], "arm64", "deploys build arm64");
    let variables = &globals["Environment"]["Variables"];
    assert_eq!(variables["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"], "true", "routes are matched without the stage");
    assert_eq!(globals["Tracing"], "Active");
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let statements = resource["Properties"]["Policies"][0]["Statement"].as_sequence();
        let statements = statements.unwrap_or_else(|| panic!("{name:?} has an inline least-privilege policy"));
        // SMS to a phone number has no ARN: "*" only for the SMS actions, with every topic denied.
        let sms_only = |statement: &Value| {
            let actions = statement["Action"].as_sequence().unwrap();
            actions.iter().all(|a| ["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"].contains(&a.as_str().unwrap()))
        };
        let topics_denied = statements.iter().any(|s| {
            s["Effect"] == "Deny" && s["Action"][0] == "sns:Publish" && reference(&s["Resource"]).contains(":sns:*:*:*")
        });
        // A statement under `!If [condition, statement, !Ref AWS::NoValue]` is checked as if it held.
        for statement in statements.iter().map(when_it_holds) {
            let actions = statement["Action"].as_sequence().unwrap();
            assert!(actions.iter().all(|a| !a.as_str().unwrap().ends_with('*')), "{name:?}: no wildcard actions");
            let wildcard = statement["Resource"] == "*";
            assert!(!wildcard || (sms_only(statement) && topics_denied), "{name:?}: no wildcard resources");
        }
    }
}

#[test]
fn the_table_has_the_single_table_shape() {
    let template = template();
    let table = &template["Resources"]["ShopTable"]["Properties"];
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], shop::keys::EXPIRES_AT);
    assert_eq!(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(table["GlobalSecondaryIndexes"][0]["IndexName"], shop_dynamodb::GSI1);
    let policy = &template["Resources"]["UserPool"]["Properties"]["Policies"]["PasswordPolicy"];
    assert_eq!(policy["MinimumLength"].as_u64(), Some(shop::domain::Password::MIN_CHARS as u64));
}

/// A `!Ref X` or `!GetAtt X.Y` as text, for comparing references.
fn reference(v: &Value) -> String {
    match v {
        Value::Tagged(t) => format!("{} {}", t.tag, t.value.as_str().unwrap_or_default()),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_event_backbone_is_deployed_as_the_code_routes_it() {
    let template = template();
    let resources = &template["Resources"];
    for consumer in shop::consumers::CONSUMERS {
        let queue = consumer.queue;
        let stem = local::provision::resource_stem(queue.name);
        let subscription = &resources[format!("{stem}Subscription").as_str()]["Properties"];
        let types: Vec<&str> =
            subscription["FilterPolicy"]["type"].as_sequence().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let code: Vec<&str> = queue.types.iter().map(|t| t.as_str()).collect();
        assert_eq!(types, code, "{stem}: the filter policy is the code's list");
        assert_eq!(subscription["FilterPolicyScope"], "MessageAttributes");
        assert_eq!(subscription["RawMessageDelivery"], true, "consumers read the event itself");
        assert_eq!(reference(&subscription["Endpoint"]), format!("!GetAtt {stem}Queue.Arn"));

        let properties = &resources[format!("{stem}Queue").as_str()]["Properties"];
        let function = &resources[format!("{}Function", local::provision::resource_stem(consumer.function)).as_str()];
        assert_eq!(function["Metadata"]["BuildProperties"]["Binary"].as_str(), Some(consumer.function));
        let timeout = function["Properties"]["Timeout"].as_u64().unwrap();
        assert!(properties["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout, "{stem}: visibility >= 6x timeout");
        assert!(properties["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap() >= 5);
        let dlq = format!("{stem}DeadLetterQueue");
        assert_eq!(reference(&properties["RedrivePolicy"]["deadLetterTargetArn"]), format!("!GetAtt {dlq}.Arn"));
        let alarm = &resources[format!("{stem}DeadLettersAlarm").as_str()]["Properties"];
        assert_eq!(reference(&alarm["Dimensions"][0]["Value"]), format!("!GetAtt {dlq}.QueueName"));

        let trigger = &function["Properties"]["Events"]["Queue"];
        assert_eq!(trigger["Type"], "SQS");
        assert_eq!(reference(&trigger["Properties"]["Queue"]), format!("!GetAtt {stem}Queue.Arn"));
        assert_eq!(trigger["Properties"]["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    }

    let publisher = &resources["PublisherFunction"]["Properties"];
    assert_eq!(reference(&publisher["Environment"]["Variables"]["TOPIC_ARN"]), "!Ref EventsTopic");
    let stream = &publisher["Events"]["TableStream"]["Properties"];
    assert_eq!(reference(&stream["Stream"]), "!GetAtt ShopTable.StreamArn");
    assert_eq!(stream["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    let pattern: serde_json::Value =
        serde_json::from_str(stream["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    assert_eq!(pattern["dynamodb"]["Keys"]["PK"]["S"][0]["prefix"], shop::keys::EVENT_PREFIX);
}

/// Every route the template deploys reaches a handler: none falls through to the router's
/// "route not found" or "method not allowed" answers, so a documented route is a routed one.
#[tokio::test]
async fn every_deployed_route_is_served() {
    let app = shop_tests::TestApp::spawn().await;
    // An admin's token passes the gateway on every protected route, so each request reaches
    // the routers (a request without one would stop at the gateway's 401).
    let mut admin = app.admin().await;
    // A guest's token passes the guest routes' own check likewise.
    let guest = app.post("/api/guest/tokens", None, serde_json::json!({})).await.expect(201).body["token"].clone();
    let guest = [("guest-token", guest.as_str().unwrap())];
    let template = template();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        for (method, path, _) in template_routes(resource) {
            let concrete = path
                .replace("{id}", "01J00000000000000000000000")
                .replace("{product_id}", "01J00000000000000000000000")
                .replace("{proxy+}", "js/app.js");
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let body = Some(serde_json::json!({}));
            let answer = match path.starts_with("/api/guest/") {
                true => app.send(method.clone(), &concrete, None, body, &guest).await,
                false => app.call(method.clone(), &concrete, Some(&admin), body).await,
            };
            assert_ne!(answer.status, 401, "{method} {path}: the token did not pass: {:#}", answer.body);
            let fell_through = answer.status == 405 || answer.body["detail"] == "route not found";
            assert!(!fell_through, "{method} {path} is deployed but not routed: {:#}", answer.body);
            if path == "/api/auth/logout" {
                // That ended the admin's sessions.
                admin = app.admin().await;
            }
        }
    }
}

/// Each function's dependency tree (as `cargo tree` resolves it for that package alone, as
/// cargo-lambda builds it) holds the adapters its `main.rs` calls and no other: no embedded
/// adapter anywhere, Cognito only where accounts are, SNS only in the publisher.
#[test]
fn each_function_links_only_its_own_adapters() {
    const ADAPTERS: &[&str] = &[
        "aws-sdk-dynamodb",
        "aws-sdk-cognitoidentityprovider",
        "aws-sdk-sns",
        "aws-sdk-sqs",
        "aws-sdk-dynamodbstreams",
        "aws-sdk-secretsmanager",
        "shop-stripe",
        "shop-paypal",
        "rcgen",
        // A second TLS crypto provider next to ring (the SDK's default one), or the SDK's own
        // HTTPS client, which brings it.
        "aws-lc-rs",
        "rusqlite",
        "argon2",
        "p256",
        "jsonwebtoken",
        "tantivy",
        "shop-opensearch",
        "aws-sdk-opensearch",
        "shop-s3",
        "aws-sdk-s3",
    ];
    let expected: &[(&str, &[&str])] = &[
        ("auth", &["aws-sdk-dynamodb", "aws-sdk-cognitoidentityprovider"]),
        // The lists read the key that signs their cursors from Secrets Manager.
        ("users", &["aws-sdk-dynamodb", "aws-sdk-cognitoidentityprovider", "aws-sdk-secretsmanager"]),
        // An import's file goes to S3 for the imports function.
        ("products", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager", "shop-s3"]),
        // Guests' tokens are signed with the shop's key, from Secrets Manager.
        ("cart", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager"]),
        ("orders", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager"]),
        // Asks the provider about a pending payment before cancelling its order.
        ("expiry", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager", "shop-stripe", "shop-paypal"]),
        ("payments", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager", "shop-stripe", "shop-paypal"]),
        ("refunds", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager", "shop-stripe", "shop-paypal"]),
        ("publisher", &["aws-sdk-sns"]),
        ("notifications", &["aws-sdk-dynamodb"]),
        ("sales", &["aws-sdk-dynamodb"]),
        ("search", &["shop-opensearch", "aws-sdk-secretsmanager"]),
        ("indexer", &["aws-sdk-dynamodb", "shop-opensearch"]),
        ("imports", &["aws-sdk-dynamodb", "shop-s3"]),
        ("images", &["aws-sdk-dynamodb", "shop-s3"]),
        ("storefront", &[]),
        // Signs the reminders' links with the shop's key, from Secrets Manager.
        ("recovery", &["aws-sdk-dynamodb", "aws-sdk-secretsmanager"]),
    ];
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (function, wanted) in expected {
        let out = std::process::Command::new(&cargo)
            .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-p", function])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "cargo tree -p {function}: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8(out.stdout).unwrap();
        let mut linked: Vec<&str> =
            ADAPTERS.iter().copied().filter(|a| tree.lines().any(|line| line.split(' ').next() == Some(*a))).collect();
        linked.sort();
        let mut wanted = wanted.to_vec();
        wanted.sort();
        assert_eq!(linked, wanted, "{function} links exactly the adapters it calls");
    }
}

/// The template's resources with every `Fn::ForEach` expanded, as the LanguageExtensions
/// transform expands them: each value of the collection put for the identifier in the
/// fragment's keys and strings.
fn resources(template: &Value) -> Vec<(String, Value)> {
    fn put(value: &Value, from: &str, to: &str) -> Value {
        match value {
            Value::String(s) => Value::String(s.replace(from, to)),
            Value::Sequence(items) => Value::Sequence(items.iter().map(|v| put(v, from, to)).collect()),
            Value::Mapping(map) => {
                Value::Mapping(map.iter().map(|(k, v)| (put(k, from, to), put(v, from, to))).collect())
            }
            Value::Tagged(tagged) => Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                tag: tagged.tag.clone(),
                value: put(&tagged.value, from, to),
            })),
            other => other.clone(),
        }
    }
    let mut out = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if !name.starts_with("Fn::ForEach::") {
            out.push((name.to_owned(), resource.clone()));
            continue;
        }
        let identifier = format!("${{{}}}", resource[0].as_str().unwrap());
        for item in resource[1].as_sequence().unwrap() {
            let fragment = put(&resource[2], &identifier, item.as_str().unwrap());
            for (name, resource) in fragment.as_mapping().unwrap() {
                out.push((name.as_str().unwrap().to_owned(), resource.clone()));
            }
        }
    }
    out
}

/// The AWS metrics the dashboard and alarms may name: by namespace, the resource type that
/// makes them, and the metric names AWS documents for it.
const AWS_METRICS: &[(&str, &str, &[&str])] = &[
    (
        "AWS/ApiGateway",
        "AWS::Serverless::Api",
        &["Count", "4XXError", "5XXError", "Latency", "CacheHitCount", "CacheMissCount"],
    ),
    ("AWS/Lambda", "AWS::Serverless::Function", &["Errors", "Throttles", "Duration", "Invocations", "IteratorAge"]),
    (
        "AWS/DynamoDB",
        "AWS::DynamoDB::Table",
        &["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents"],
    ),
    ("AWS/SQS", "AWS::SQS::Queue", &["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"]),
    (
        "AWS/ES",
        "AWS::OpenSearchService::Domain",
        &["ClusterStatus.red", "ClusterStatus.yellow", "SearchLatency", "FreeStorageSpace"],
    ),
    ("AWS/SES", "AWS::SES::ConfigurationSet", &["Reputation.BounceRate", "Reputation.ComplaintRate"]),
];

/// Checks one metric a dashboard or an alarm names: the shop's own (in the stack's namespace)
/// must be one the code records, with exactly its labels as dimensions, or one a log metric
/// filter of the template makes; an AWS metric must belong to a resource type the template
/// deploys and be one AWS publishes for it.
fn check_metric(
    what: &str,
    namespace: &str,
    name: &str,
    dimensions: &BTreeSet<String>,
    filters: &BTreeSet<String>,
    types: &BTreeSet<String>,
) {
    if namespace == "STACK" {
        if filters.contains(name) {
            return;
        }
        let metric = shop::metrics::ALL
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{what}: {name} is not a metric the code records"));
        let labels: BTreeSet<String> = metric.labels.iter().map(|(label, _)| label.to_string()).collect();
        assert_eq!(dimensions, &labels, "{what}: {name}'s dimensions are its labels");
        return;
    }
    let (_, kind, names) = AWS_METRICS
        .iter()
        .find(|(ns, _, _)| *ns == namespace)
        .unwrap_or_else(|| panic!("{what}: {namespace} is not the namespace of a resource of the template"));
    assert!(types.contains(*kind), "{what}: {namespace} needs a {kind} in the template");
    assert!(names.contains(&name), "{what}: {namespace} has no metric {name}");
}

/// `SEARCH('{Namespace,Dim,...} MetricName="name" ...', 'Stat', period)`: (namespace,
/// dimensions, name).
fn search_expression(expression: &str) -> (String, BTreeSet<String>, String) {
    let schema = expression.split_once("SEARCH('{").unwrap().1.split_once('}').unwrap().0;
    let mut parts = schema.split(',').map(str::to_owned);
    let namespace = parts.next().unwrap();
    let name = expression.split_once("MetricName=\"").unwrap().1.split_once('"').unwrap().0;
    (namespace, parts.collect(), name.to_owned())
}

#[test]
fn the_dashboard_and_the_alarms_name_only_metrics_that_exist() {
    let template = template();
    let resources = resources(&template);
    let types: BTreeSet<String> = resources.iter().filter_map(|(_, r)| r["Type"].as_str().map(str::to_owned)).collect();
    let names: BTreeSet<String> = resources
        .iter()
        .map(|(n, _)| n.clone())
        .chain(template["Parameters"].as_mapping().unwrap().keys().map(|k| k.as_str().unwrap().to_owned()))
        .collect();
    let filters: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Logs::MetricFilter")
        .flat_map(|(_, r)| r["Properties"]["MetricTransformations"].as_sequence().unwrap().clone())
        .map(|t| t["MetricName"].as_str().unwrap().to_owned())
        .collect();

    // The dashboard: its body is JSON once Fn::Sub has put in what it names, each of which is
    // a parameter, a resource or a pseudo parameter of the template.
    let dashboard =
        resources.iter().find(|(_, r)| r["Type"] == "AWS::CloudWatch::Dashboard").expect("a dashboard").1.clone();
    let Value::Tagged(body) = &dashboard["Properties"]["DashboardBody"] else { panic!("the body is a !Sub") };
    let mut text = body.value.as_str().unwrap().to_owned();
    while let Some(start) = text.find("${") {
        let end = start + text[start..].find('}').unwrap();
        let reference = text[start + 2..end].to_owned();
        let named = reference.split('.').next().unwrap();
        assert!(
            named.starts_with("AWS::") || names.contains(named),
            "the dashboard names {reference}, which the template lacks"
        );
        let put = if reference == "AWS::StackName" { "STACK" } else { named };
        text.replace_range(start..=end, put);
    }
    let body: serde_json::Value = serde_json::from_str(&text).expect("the dashboard body is JSON");
    let widgets = body["widgets"].as_array().unwrap();
    assert!(widgets.len() >= 12);
    let mut shown = BTreeSet::new();
    for widget in widgets {
        let title = widget["properties"]["title"].as_str().unwrap();
        for metric in widget["properties"]["metrics"].as_array().unwrap() {
            let metric = metric.as_array().unwrap();
            if let Some(expression) = metric[0]["expression"].as_str() {
                let (namespace, dimensions, name) = search_expression(expression);
                check_metric(title, &namespace, &name, &dimensions, &filters, &types);
                shown.insert(name);
                continue;
            }
            let strings: Vec<&str> = metric.iter().filter_map(|v| v.as_str()).collect();
            let dimensions: BTreeSet<String> = strings[2..].iter().step_by(2).map(|d| d.to_string()).collect();
            check_metric(title, strings[0], strings[1], &dimensions, &filters, &types);
            shown.insert(strings[1].to_owned());
        }
    }
    // Dead letters are counted by the embedded bus only; in AWS the dashboard shows the DLQs.
    for metric in shop::metrics::ALL.iter().filter(|m| m.name != shop::metrics::DEAD_LETTERS.name) {
        assert!(shown.contains(metric.name), "the dashboard shows {}", metric.name);
    }
    assert!(shown.contains("ApproximateNumberOfMessagesVisible"));

    // The alarms, the expanded ones included.
    let alarms: Vec<&(String, Value)> =
        resources.iter().filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm").collect();
    for (name, alarm) in &alarms {
        let properties = &alarm["Properties"];
        let namespace = match &properties["Namespace"] {
            Value::String(s) => s.clone(),
            Value::Tagged(t) if t.value == "AWS::StackName" => "STACK".into(),
            other => panic!("{name}: namespace {other:?}"),
        };
        let dimensions: BTreeSet<String> = properties["Dimensions"]
            .as_sequence()
            .map(|d| d.iter().map(|d| d["Name"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        check_metric(name, &namespace, properties["MetricName"].as_str().unwrap(), &dimensions, &filters, &types);
    }

    // Every function has its errors and throttles alarms, its canary watches the errors, and
    // its logs go to a group of its own with a retention.
    for (function, resource) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::Serverless::Function") {
        let stem = function.strip_suffix("Function").unwrap();
        for alarm in ["ErrorsAlarm", "ThrottlesAlarm"] {
            assert!(alarms.iter().any(|(name, _)| *name == format!("{stem}{alarm}")), "{function} has {stem}{alarm}");
        }
        let group = reference(&resource["Properties"]["LoggingConfig"]["LogGroup"]);
        let group = resources.iter().find(|(name, _)| format!("!Ref {name}") == group).expect("its log group");
        assert_eq!(group.1["Type"], "AWS::Logs::LogGroup");
        assert!(!group.1["Properties"]["RetentionInDays"].is_null(), "{function}'s logs have a retention");
        let watched = &resource["Properties"]["DeploymentPreference"]["Alarms"];
        assert_eq!(reference(&watched[0]), format!("!Ref {stem}ErrorsAlarm"), "{function}'s canary watches its errors");
    }
    // Each bus queue has its event-lag alarm, each dead-letter queue its age alarm.
    for queue in shop::events::QUEUES {
        assert!(alarms.iter().any(|(name, _)| *name == format!("{}EventLagAlarm", queue.name)), "{} lag", queue.name);
    }
    for (dlq, _) in resources.iter().filter(|(n, _)| n.ends_with("DeadLetterQueue")) {
        let stem = dlq.strip_suffix("DeadLetterQueue").unwrap();
        assert!(alarms.iter().any(|(name, _)| *name == format!("{stem}DeadLetterAgeAlarm")), "{dlq} age");
    }
}

/// A `!If [condition, x, !Ref AWS::NoValue]` as the `x` it deploys when the condition holds.
fn when_it_holds(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) if t.tag == "!If" => &t.value[1],
        other => other,
    }
}

/// No function's environment or the template's parameters hold a secret's value: a variable
/// that names a secret is `..._SECRET_ARN`, a `!Ref` of a Secrets Manager secret of the stack,
/// which that function's policy lets it read; and each function whose `main.rs` signs list
/// cursors is told where their key is.
#[test]
fn functions_are_given_secrets_arns_never_their_values() {
    let template = template();
    let parameters = template["Parameters"].as_mapping().unwrap();
    assert!(parameters.keys().all(|p| !p.as_str().unwrap().contains("Secret")), "no secret is a parameter");
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let properties = &resource["Properties"];
        let readable: Vec<String> = properties["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(when_it_holds)
            .filter(|s| s["Action"].as_sequence().unwrap().iter().any(|a| a == "secretsmanager:GetSecretValue"))
            .flat_map(|s| s["Resource"].as_sequence().cloned().unwrap_or_else(|| vec![s["Resource"].clone()]))
            .map(|r| reference(&r))
            .collect();
        let variables = properties["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
        for (variable, value) in &variables {
            let variable = variable.as_str().unwrap();
            if !variable.contains("SECRET") {
                continue;
            }
            assert!(variable.ends_with("_SECRET_ARN"), "{name:?}: {variable} names a secret, not a value");
            let secret = reference(when_it_holds(value));
            let resource = secret.strip_prefix("!Ref ").unwrap_or_else(|| panic!("{name:?}: {variable} is a !Ref"));
            assert_eq!(template["Resources"][resource]["Type"], "AWS::SecretsManager::Secret", "{name:?}: {variable}");
            assert!(readable.contains(&secret), "{name:?} may read the secret {variable} names");
        }
        let main = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(properties["CodeUri"].as_str().unwrap())
            .join("src/main.rs");
        let main = std::fs::read_to_string(&main).unwrap_or_else(|e| panic!("{}: {e}", main.display()));
        if main.contains("signing_key_from_env") {
            let given = variables.get("SIGNING_SECRET_ARN").map(reference);
            assert_eq!(given.as_deref(), Some("!Ref SigningSecret"), "{name:?} signs with the stack's key");
        }
    }
}

/// The local stack hands each function the table as its role reaches it in AWS: what
/// template.yaml's `dynamodb:LeadingKeys` do not name is refused (every journey runs so).
#[tokio::test]
async fn each_function_reaches_locally_only_what_its_role_reaches_in_aws() {
    use shop::table::{Query, Write};
    let app = shop_tests::TestApp::spawn().await;
    let user = shop::domain::UserId::parse("user-1").unwrap();
    let cart = local::iam::scoped(&app.running.table, "cart").unwrap();
    cart.get(&shop::keys::cart(&user)).await.unwrap();
    let refused = cart.get(&shop::keys::order(&shop::domain::OrderId::new())).await.unwrap_err().to_string();
    assert!(refused.contains("AccessDenied") && refused.contains("cart"), "{refused}");
    let sales = local::iam::scoped(&app.running.table, "sales").unwrap();
    let write = Write::put(shop::table::Item::marker(&shop::keys::user_profile(&user)));
    assert!(sales.write(write).await.is_err(), "sales writes no profile");
    let users = local::iam::scoped(&app.running.table, "users").unwrap();
    users.query(&Query::gsi1(shop::keys::USERS_PARTITION)).await.unwrap();
    assert!(users.query(&Query::gsi1(shop::keys::CATEGORIES_PARTITION)).await.is_err());
}

/// The cost model prices the bench's counts with the template's functions, queues, alarms and
/// defaults: every line of the bill is there, and an order costs more than nothing. Each route and
/// queue the bench counts is one a function of the template serves; a count none serves (the
/// bench and the template drifted apart) is an error that names it, not a guessed memory size.
#[test]
fn the_cost_model_prices_the_benchs_counts_from_the_template() {
    let order_routes = serde_json::json!({
        "/api/cart": 1.0, "/api/cart/items/{variant_id}": 1.0, "/api/orders": 1.0, "/api/orders/{id}": 1.85,
        "/api/orders/{id}/payment": 1.0, "/api/payments/stripe/webhook": 1.0, "/api/products": 1.0,
        "/api/products/{id}": 3.0, "/api/search": 1.0,
    });
    let journey = |api: &serde_json::Value, events: f64| {
        serde_json::json!({
            "journeys": 40, "api_requests": api,
            "queue_deliveries": {"deliveries": 2.0, "notifications": 2.0, "sales": 1.0, "search": 1.0, "webhooks": 3.0},
            "dynamodb": {"GetItem": {"requests": 3.0, "read_units": 3.0, "write_units": 0.0},
                         "TransactWriteItems": {"requests": 2.0, "read_units": 0.0, "write_units": 20.0}},
            "items_written": {"EVENT": events}, "emails": events,
        })
    };
    let dir = shop_tests::temp_dir("cost-model");
    let model = |order_routes: &serde_json::Value| {
        let counts = serde_json::json!({
            "order": journey(order_routes, 2.0),
            "visit": journey(&serde_json::json!({"/api/products/{id}": 3.0}), 0.0),
        });
        let path = dir.path().join("costs.json");
        std::fs::write(&path, counts.to_string()).unwrap();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        std::process::Command::new(format!("{root}/.venv/bin/python"))
            .arg(format!("{root}/scripts/cost_model.py"))
            .args(["--counts", path.to_str().unwrap(), "--orders", "1000000", "--cognito-tier", "lite"])
            .output()
            .expect("the test command's virtualenv runs the cost model")
    };

    let drifted = model(&serde_json::json!({"/api/basket": 1.0}));
    let said = String::from_utf8_lossy(&drifted.stderr);
    assert!(!drifted.status.success() && said.contains("serves the route /api/basket"), "{said}");

    let ran = model(&order_routes);
    let out = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "{out}{}", String::from_utf8_lossy(&ran.stderr));
    for item in [
        "API Gateway (REST) requests",
        "Lambda duration",
        "DynamoDB writes",
        "SNS publishes",
        "SQS requests",
        "SES email",
        "Cognito (lite",
        "OpenSearch domain (fixed)",
        "CloudWatch alarms and dashboard (fixed)",
    ] {
        assert!(out.contains(item), "{item} in\n{out}");
    }
    let per_order = out.lines().find_map(|l| l.strip_prefix("| per order | ")).expect("a cost per order");
    let per_order: f64 = per_order.split(' ').next().unwrap().parse().unwrap();
    assert!(per_order > 0.0 && per_order < 1.0, "{out}");
}
