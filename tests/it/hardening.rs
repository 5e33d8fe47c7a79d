//! template.yaml and deploy/github-oidc.yaml against the security review's findings: a firewall
//! with per-address limits in front of the API stage, tighter on sign-in and checkout; deploy
//! roles scoped to their stage that make no role without the permissions boundary; each
//! function's table access limited to the partitions its code uses; Stripe's webhook signing
//! secret out of reach of the functions that only call Stripe; no shopper changing their
//! address without verifying it, and the hosted sign-in on the authorization code flow only.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;
use shop::domain::{CategorySlug, OrderId, OrderStatus, ProductId, Sku, UserId, VariantId};
use shop::keys;

fn template() -> Value {
    serde_yaml::from_str(local::provision::TEMPLATE).expect("template.yaml is YAML")
}

fn deploy_roles() -> Value {
    serde_yaml::from_str(include_str!("../../deploy/github-oidc.yaml")).expect("deploy/github-oidc.yaml is YAML")
}

/// A `!Ref X`, `!GetAtt X.Y` or `!Sub "..."` as text (`!Ref X`); a plain string as itself.
fn text(v: &Value) -> String {
    match v {
        Value::Tagged(t) => format!("{} {}", t.tag, t.value.as_str().unwrap_or_default()),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// One value or a list of them (an `Action`, a `Resource`) as a list; a tagged value (`!If`)
/// is one value.
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The values of [`list`] as [`text`].
fn strings(v: &Value) -> Vec<String> {
    list(v).into_iter().map(text).collect()
}

/// A `!If [condition, x, !Ref AWS::NoValue]` as the `x` it deploys when the condition holds.
fn when_it_holds(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) if t.tag == "!If" => &t.value[1],
        other => other,
    }
}

/// The condition and both branches of a `!If`.
fn if_parts(v: &Value) -> Option<(&str, &Value, &Value)> {
    match v {
        Value::Tagged(t) if t.tag == "!If" => Some((t.value[0].as_str()?, &t.value[1], &t.value[2])),
        _ => None,
    }
}

/// The resources of type `kind`, by name.
fn of_type<'a>(doc: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    doc["Resources"]
        .as_mapping()
        .expect("the template has resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str().unwrap(), r))
        .collect()
}

/// The one resource of type `kind`.
fn one_of_type<'a>(doc: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let all = of_type(doc, kind);
    assert_eq!(all.len(), 1, "one {kind}");
    all[0]
}

/// The default of the parameter that `v` (a `!Ref`) names, a number.
fn default_number(template: &Value, v: &Value) -> u64 {
    let name = match v {
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str().unwrap(),
        other => panic!("{other:?} is not a !Ref of a parameter"),
    };
    let default = &template["Parameters"][name]["Default"];
    default.as_u64().unwrap_or_else(|| panic!("the parameter {name} has a number for default"))
}

// ---------------------------------------------------------------- the firewall

/// The byte-match statements `statement` holds, each with whether a `NotStatement` negates it.
fn byte_matches(statement: &Value, negated: bool) -> Vec<(bool, &Value)> {
    let mut found = Vec::new();
    match statement {
        Value::Mapping(map) => {
            for (key, value) in map {
                match key.as_str() {
                    Some("ByteMatchStatement") => found.push((negated, value)),
                    Some("NotStatement") => found.extend(byte_matches(value, !negated)),
                    _ => found.extend(byte_matches(value, negated)),
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                found.extend(byte_matches(item, negated));
            }
        }
        _ => {}
    }
    found
}

/// A rate-based rule of the web ACL: its limit (its parameter's default), what it counts by,
/// and what its scope-down statement selects of the URI path (positional constraint, search
/// string), leaves out of it, and selects of the method.
struct RateRule {
    name: String,
    limit: u64,
    key: String,
    selects: Vec<(String, String)>,
    leaves: Vec<String>,
    methods: Vec<String>,
}

fn rate_rules(template: &Value, acl: &Value) -> Vec<RateRule> {
    list(&acl["Properties"]["Rules"])
        .into_iter()
        .filter_map(|rule| {
            let rate = &rule["Statement"]["RateBasedStatement"];
            if rate.is_null() {
                return None;
            }
            let (mut selects, mut leaves, mut methods) = (Vec::new(), Vec::new(), Vec::new());
            for (negated, matched) in byte_matches(&rate["ScopeDownStatement"], false) {
                let search = matched["SearchString"].as_str().unwrap().to_owned();
                let field = &matched["FieldToMatch"];
                if field.get("UriPath").is_some() && negated {
                    leaves.push(search);
                } else if field.get("UriPath").is_some() {
                    selects.push((matched["PositionalConstraint"].as_str().unwrap().to_owned(), search));
                } else if field.get("Method").is_some() && !negated {
                    methods.push(search);
                }
            }
            Some(RateRule {
                name: rule["Name"].as_str().unwrap().to_owned(),
                limit: default_number(template, &rate["Limit"]),
                key: rate["AggregateKeyType"].as_str().unwrap_or_default().to_owned(),
                selects,
                leaves,
                methods,
            })
        })
        .collect()
}

/// The rules that select paths starting with `path` as clients send it: after the stage, which
/// the default endpoint's URLs carry (`<ApiUrl>` ends with it).
fn scoped<'a>(rules: &'a [RateRule], path: &str) -> Vec<&'a RateRule> {
    let sent = format!("/${{Stage}}{path}");
    rules.iter().filter(|r| r.selects.iter().any(|(how, s)| how == "STARTS_WITH" && *s == sent)).collect()
}

#[test]
fn a_firewall_limits_each_address_tighter_on_sign_in_and_checkout() {
    let template = template();
    let (acl_name, acl) = one_of_type(&template, "AWS::WAFv2::WebACL");
    let properties = &acl["Properties"];
    assert_eq!(properties["Scope"], "REGIONAL", "API Gateway takes a regional web ACL");
    assert_eq!(properties["VisibilityConfig"]["CloudWatchMetricsEnabled"], true);

    // In front of the API's stage (SAM's `Api.Stage` names the stage it makes).
    let associated = of_type(&template, "AWS::WAFv2::WebACLAssociation").into_iter().any(|(_, a)| {
        let stage = text(&a["Properties"]["ResourceArn"]);
        text(&a["Properties"]["WebACLArn"]) == format!("!GetAtt {acl_name}.Arn")
            && stage.contains(":apigateway:")
            && stage.ends_with("/restapis/${Api}/stages/${Api.Stage}")
    });
    assert!(associated, "{acl_name} is associated with the API's stage");

    // Per address, one rule for everything and tighter ones for sign-in and checkout.
    let rules = rate_rules(&template, acl);
    for rule in &rules {
        assert_eq!(rule.key, "IP", "{} counts each source address", rule.name);
    }
    let general: Vec<&RateRule> = rules.iter().filter(|r| r.selects.is_empty()).collect();
    assert_eq!(general.len(), 1, "one rule counts all of an address's requests");
    let general = general[0];
    for left in &general.leaves {
        assert!(
            left.contains("/api/payments/"),
            "{} leaves out only the webhooks (their own rule), not {left}",
            general.name
        );
    }
    let tighter = |what: &str, selected: Vec<&RateRule>| {
        assert_eq!(selected.len(), 1, "a rule for {what}");
        let limit = selected[0].limit;
        assert!(limit < general.limit, "{what} allows {limit} requests an address, not fewer than {}", general.limit);
    };
    tighter("the sign-in routes", scoped(&rules, "/api/auth/"));
    let checkout_route = &template["Resources"]["OrdersFunction"]["Properties"]["Events"]["PlaceOrder"]["Properties"];
    assert_eq!(
        (checkout_route["Method"].as_str(), checkout_route["Path"].as_str()),
        (Some("post"), Some("/api/orders"))
    );
    let checkout =
        scoped(&rules, "/api/orders").into_iter().filter(|r| r.methods.iter().any(|m| m == "POST")).collect();
    tighter("checkout (POST /api/orders)", checkout);

    // AWS's rules for common attacks and known bad inputs.
    let managed: BTreeMap<String, &Value> = list(&properties["Rules"])
        .into_iter()
        .filter_map(|rule| {
            let group = &rule["Statement"]["ManagedRuleGroupStatement"];
            Some((group["Name"].as_str()?.to_owned(), rule))
        })
        .collect();
    for name in ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] {
        let rule = managed.get(name).unwrap_or_else(|| panic!("the firewall applies {name}"));
        assert_eq!(rule["Statement"]["ManagedRuleGroupStatement"]["VendorName"], "AWS");
        assert!(rule["OverrideAction"].get("None").is_some(), "{name} blocks what it finds");
    }
    // The common set blocks bodies over 8 KB; the API takes larger ones, so that rule only counts.
    const { assert!(shop::http::json::BODY_LIMIT > 8 * 1024) };
    let common = managed["AWSManagedRulesCommonRuleSet"];
    let size_counted = list(&common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"])
        .into_iter()
        .any(|o| o["Name"] == "SizeRestrictions_BODY" && o["ActionToUse"].get("Count").is_some());
    assert!(size_counted, "SizeRestrictions_BODY counts bodies over 8 KB instead of blocking them");

    // Every rule is measured, and what the firewall blocks is logged without callers' tokens.
    for rule in list(&properties["Rules"]) {
        assert_eq!(rule["VisibilityConfig"]["CloudWatchMetricsEnabled"], true, "{:?}", rule["Name"]);
    }
    let logging = of_type(&template, "AWS::WAFv2::LoggingConfiguration");
    let (_, logging) = logging
        .iter()
        .find(|(_, l)| text(&l["Properties"]["ResourceArn"]) == format!("!GetAtt {acl_name}.Arn"))
        .expect("the firewall logs");
    let redacted = list(&logging["Properties"]["RedactedFields"])
        .into_iter()
        .any(|f| f["SingleHeader"]["Name"].as_str().is_some_and(|h| h.eq_ignore_ascii_case("authorization")));
    assert!(redacted, "the logs leave the Authorization header out");
}

#[test]
fn the_anonymous_routes_have_throttles_of_their_own_and_the_webhooks_no_tighter_one() {
    let template = template();
    let settings = template["Resources"]["Api"]["Properties"]["MethodSettings"].as_sequence().unwrap();
    let stage_wide = settings.iter().find(|s| s["ResourcePath"] == "/*").expect("stage-wide settings");
    let rate = stage_wide["ThrottlingRateLimit"].as_f64().unwrap();
    let burst = stage_wide["ThrottlingBurstLimit"].as_f64().unwrap();

    // The POST routes that need no caller, as the template deploys them.
    let mut anonymous = Vec::new();
    for (_, function) in of_type(&template, "AWS::Serverless::Function") {
        for event in function["Properties"]["Events"].as_mapping().into_iter().flat_map(|e| e.values()) {
            let p = &event["Properties"];
            if event["Type"] == "Api" && p["Method"] == "post" && p["Auth"]["Authorizer"].is_null() {
                anonymous.push(p["Path"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(anonymous.iter().any(|p| p.starts_with("/api/auth/")), "the sign-in routes: {anonymous:?}");
    assert!(anonymous.iter().any(|p| p.ends_with("/webhook")), "the webhooks: {anonymous:?}");
    for path in &anonymous {
        // "/api/auth/login" is "/~1api~1auth~1login".
        let resource = format!("/{}", path.replace('/', "~1"));
        let own = settings.iter().find(|s| {
            s["ResourcePath"] == resource.as_str()
                && s["HttpMethod"].as_str().is_some_and(|m| m.eq_ignore_ascii_case("POST"))
        });
        // Everything but a provider's webhook (sign-in, guests, a reminder's unsubscribe link).
        if !path.ends_with("/webhook") {
            let own = own.unwrap_or_else(|| panic!("POST {path} needs no caller: give it throttles of its own"));
            assert!(
                own["ThrottlingRateLimit"].as_f64().unwrap() < rate
                    && own["ThrottlingBurstLimit"].as_f64().unwrap() < burst,
                "POST {path} is throttled below the stage's {rate}/s (burst {burst})"
            );
        } else {
            if let Some(own) = own {
                assert!(
                    own["ThrottlingRateLimit"].as_f64().unwrap() >= rate,
                    "a provider's webhook, {path}, keeps the stage's limit"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- the deploy roles

/// Every statement of the deploy roles' policies and of the boundary, with where it is.
fn deploy_statements(doc: &Value) -> Vec<(String, &Value)> {
    let mut found = Vec::new();
    for (name, resource) in doc["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let properties = &resource["Properties"];
        let documents: Vec<(String, &Value)> = match resource["Type"].as_str() {
            Some("AWS::IAM::Role") => list(&properties["Policies"])
                .into_iter()
                .map(|p| (format!("{name} {}", text(&p["PolicyName"])), &p["PolicyDocument"]))
                .collect(),
            Some("AWS::IAM::ManagedPolicy") => vec![(name.to_owned(), &properties["PolicyDocument"])],
            _ => Vec::new(),
        };
        for (at, document) in documents {
            for statement in list(&document["Statement"]) {
                found.push((format!("{at} {}", statement["Sid"].as_str().unwrap_or("(no Sid)")), statement));
            }
        }
    }
    found
}

/// The services whose every action on every resource would let one stage's deploy read another
/// stage's secrets, decrypt its data, take its users, or make itself an administrator.
const GUARDED: [&str; 4] = ["secretsmanager", "kms", "cognito-idp", "iam"];

#[test]
fn no_deploy_policy_grants_a_whole_service_of_secrets_keys_users_or_iam() {
    let roles = deploy_roles();
    for (at, statement) in deploy_statements(&roles) {
        if statement["Effect"] != "Allow" {
            continue;
        }
        let actions = strings(&statement["Action"]);
        for action in &actions {
            assert!(action != "*", "{at}: every action of every service");
            let service = action.split(':').next().unwrap();
            assert!(
                !(GUARDED.contains(&service) && action.contains('*')),
                "{at}: {action} is a whole family of {service}'s actions"
            );
        }
        let anywhere = strings(&statement["Resource"]).iter().any(|r| r == "*");
        let guarded = actions.iter().any(|a| GUARDED.contains(&a.split(':').next().unwrap()));
        assert!(
            !(anywhere && guarded && statement["Condition"].is_null()),
            "{at}: {actions:?} on every resource without a condition"
        );
    }
}

/// The actions that make a role or put a policy on one: each needs the boundary on the role.
const ROLE_WRITES: [&str; 6] = [
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
];

/// What the deploy never needs: users, keys, policies of its own, the boundary taken off.
const NEVER: [&str; 10] = [
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:DeleteRolePermissionsBoundary",
];

#[test]
fn every_role_a_deploy_makes_carries_the_permissions_boundary() {
    let roles = deploy_roles();
    let (boundary, policy) = one_of_type(&roles, "AWS::IAM::ManagedPolicy");
    let bounded = format!("!Ref {boundary}");
    let statements = deploy_statements(&roles);
    let mut makes_roles = false;
    for (at, statement) in &statements {
        if statement["Effect"] != "Allow" {
            continue;
        }
        let actions = strings(&statement["Action"]);
        for action in &actions {
            assert!(!NEVER.contains(&action.as_str()), "{at}: {action}");
        }
        if actions.iter().any(|a| ROLE_WRITES.contains(&a.as_str()) || (a.starts_with("iam:") && a.contains('*'))) {
            makes_roles |= actions.iter().any(|a| a == "iam:CreateRole");
            assert_eq!(
                text(&statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"]),
                bounded,
                "{at}: {actions:?} only on roles bounded by {boundary}"
            );
        }
        if actions.iter().any(|a| a == "iam:AttachRolePolicy") {
            let arns = &statement["Condition"];
            assert!(
                !arns["ArnEquals"]["iam:PolicyARN"].is_null() || !arns["ArnLike"]["iam:PolicyARN"].is_null(),
                "{at}: which managed policies a role may get"
            );
        }
        if actions.iter().any(|a| a == "iam:PassRole") {
            assert!(!statement["Condition"]["StringEquals"]["iam:PassedToService"].is_null(), "{at}: to whom");
        }
    }
    assert!(makes_roles, "the execution role still makes the stack's roles");
    let denied = |action: &str| {
        statements.iter().any(|(_, s)| s["Effect"] == "Deny" && strings(&s["Action"]).iter().any(|a| a == action))
    };
    assert!(denied("iam:DeleteRolePermissionsBoundary"), "no deploy takes a role's boundary off");
    assert!(denied("iam:CreatePolicyVersion"), "no deploy rewrites the boundary");

    // The boundary: nothing of IAM, STS or Organizations, and no whole service.
    for statement in list(&policy["Properties"]["PolicyDocument"]["Statement"]) {
        for action in strings(&statement["Action"]) {
            let service = action.split(':').next().unwrap();
            assert!(!["iam", "sts", "organizations"].contains(&service), "the boundary allows {action}");
            assert!(!action.contains('*'), "the boundary allows {action}");
        }
    }
}

/// `!If [HasPermissionsBoundary, !Ref PermissionsBoundaryArn, !Ref AWS::NoValue]`.
fn is_the_boundary(v: &Value) -> bool {
    if_parts(v).is_some_and(|(condition, yes, no)| {
        condition == "HasPermissionsBoundary"
            && text(yes) == "!Ref PermissionsBoundaryArn"
            && text(no) == "!Ref AWS::NoValue"
    })
}

#[test]
fn the_stack_puts_the_boundary_on_every_role_it_makes() {
    let template = template();
    assert_eq!(template["Parameters"]["PermissionsBoundaryArn"]["Default"], "", "a deploy by hand needs none");
    assert!(!template["Conditions"]["HasPermissionsBoundary"].is_null());
    let globals = &template["Globals"]["Function"];
    assert!(is_the_boundary(&globals["PermissionsBoundary"]), "every function's role");
    // SAM's own CodeDeploy role would have no boundary: the canaries run as one of the template's.
    let canary = text(&globals["DeploymentPreference"]["Role"]);
    let role =
        canary.strip_prefix("!GetAtt ").and_then(|r| r.strip_suffix(".Arn")).unwrap_or_else(|| panic!("{canary}"));
    assert_eq!(template["Resources"][role]["Type"], "AWS::IAM::Role");
    let roles = of_type(&template, "AWS::IAM::Role");
    assert!(!roles.is_empty());
    for (name, role) in roles {
        assert!(is_the_boundary(&role["Properties"]["PermissionsBoundary"]), "{name}");
    }
    // The deploy roles' stack tells each deploy which boundary to pass.
    let deploy = deploy_roles();
    let output = text(&deploy["Outputs"]["PermissionsBoundaryArn"]["Value"]);
    let policy = output.strip_prefix("!Ref ").unwrap_or_else(|| panic!("{output}"));
    assert_eq!(deploy["Resources"][policy]["Type"], "AWS::IAM::ManagedPolicy");
}

// ---------------------------------------------------------------- the table

/// The partition-key patterns of the code's keys (shared/src/keys.rs), by what they hold: an
/// entity's prefix followed by `*`, or a fixed partition.
fn partitions() -> BTreeMap<&'static str, String> {
    fn stem(pk: &str, id: &str) -> String {
        format!("{}*", pk.strip_suffix(id).unwrap_or_else(|| panic!("{pk} ends with {id}")))
    }
    let user = UserId::parse("user-1").unwrap();
    let product = ProductId::new();
    let order = OrderId::new();
    let event = ulid::Ulid::new();
    let sku = Sku::parse("LAMP-1").unwrap();
    let variant = VariantId::new();
    let upload = shop::domain::UploadId::new();
    let category = CategorySlug::parse("lamps").unwrap();
    BTreeMap::from([
        ("user", stem(&keys::user_partition(&user), "user-1")),
        ("revoked", stem(&keys::revoked(&user).pk, "user-1")),
        ("users", keys::USERS_PARTITION.to_owned()),
        ("product", stem(&keys::product(&product).pk, &product.to_string())),
        ("products", keys::PRODUCTS_PARTITION.to_owned()),
        ("sku", stem(&keys::sku(&sku).pk, "LAMP-1")),
        ("variant", stem(&keys::variant(&variant).pk, &variant.to_string())),
        ("import", stem(&keys::import("01JD0000000000000000000005").pk, "01JD0000000000000000000005")),
        ("upload", stem(&keys::upload(&upload).pk, &upload.to_string())),
        ("settings", stem(&keys::settings("TAX").pk, "TAX")),
        ("sequence", stem(&keys::sequence("INVOICE", 2026).pk, "INVOICE#2026")),
        ("promotion", stem(&keys::promotion_uses(&shop::domain::Handle::parse("spring").unwrap()).pk, "spring")),
        ("category", stem(&keys::category_partition(&category), "lamps")),
        ("categories", keys::CATEGORIES_PARTITION.to_owned()),
        ("order", stem(&keys::order(&order).pk, &order.to_string())),
        ("guest", stem(&keys::guest_orders(&shop::domain::Email::parse("g@example.com").unwrap()), "g@example.com")),
        ("orders", keys::ORDERS_PARTITION.to_owned()),
        ("status", stem(&keys::status_partition(OrderStatus::Paid), OrderStatus::Paid.as_str())),
        ("event", stem(&keys::event(&event).pk, &event.to_string())),
        ("audit", keys::AUDIT_PARTITION.to_owned()),
        ("endpoint", stem(&keys::endpoint("E1").pk, "E1")),
        ("endpoints", keys::ENDPOINTS_PARTITION.to_owned()),
        ("webhooks due", keys::DELIVERIES_DUE.to_owned()),
        ("idle carts", stem(&keys::idle_carts(3), "3")),
        (
            "unsubscribed",
            stem(&keys::unsubscribed(&shop::domain::Email::parse("u@example.com").unwrap()).pk, "u@example.com"),
        ),
        (
            "reminded",
            stem(&keys::reminded(&shop::domain::Email::parse("r@example.com").unwrap(), 1).pk, "r@example.com"),
        ),
        ("returns", stem(&keys::returns_partition(shop::domain::ReturnStatus::Requested), "requested")),
        ("audit by", stem(&keys::audit_by_partition(&user), "user-1")),
        ("webhook", stem(&keys::webhook_event("stripe", "evt_1").pk, "stripe#evt_1")),
        ("suppressed", stem(&keys::suppressed("a@example.com").pk, "a@example.com")),
        ("sms to", stem(&keys::sms_sent_to("+4915112345678", 1).pk, "+4915112345678")),
        ("processed by sales", stem(&keys::processed(shop::events::SALES.name, "evt-1").pk, "evt-1")),
        ("processed by notifications", stem(&keys::processed(shop::events::NOTIFICATIONS.name, "evt-1").pk, "evt-1")),
    ])
}

/// What each function's code reaches of the table: the partitions of the items it reads and
/// writes (transactions included), and the GSI1 partitions (GSI1PK) it queries. Every function
/// serving back-office writes keeps their audit records. A function that
/// reads the table's stream (the publisher) reads no item.
fn expected_access() -> BTreeMap<&'static str, (Vec<&'static str>, Vec<&'static str>)> {
    BTreeMap::from([
        // Profiles, account emails under the user (hourly count, message, MessageQueued), the
        // mark a log-out or a password reset leaves.
        ("AuthFunction", (vec!["user", "revoked", "event"], vec![])),
        // Every token's revocation check; profiles; phone codes (the SMS and its MessageQueued);
        // erasure marks, deletes under the user and pseudonymises orders; the user list and a
        // user's orders by GSI1.
        // And the audit log, listed by the back office (by actor on GSI1).
        // And partners' webhook endpoints with their deliveries' log; and the unsubscribed
        // address of a profile that turns marketing email on.
        (
            "UsersFunction",
            (
                vec!["user", "revoked", "order", "event", "audit", "endpoint", "unsubscribed"],
                vec!["users", "user", "audit by", "endpoints"],
            ),
        ),
        // Partners' deliveries: the endpoints, the deliveries' records, the due index, and the
        // email (with its event) to the admin whose endpoint is disabled.
        ("WebhooksFunction", (vec!["endpoint", "user", "event"], vec!["endpoints", "webhooks due"])),
        (
            "ProductsFunction",
            // And an import's and an image upload's records (the imports and images functions
            // run them).
            (
                vec![
                    "revoked", "product", "products", "sku", "variant", "category", "event", "import", "upload",
                    "audit",
                ],
                vec!["category", "categories"],
            ),
        ),
        // The cart's lines, the products priced from, and the marker naming a variant's product.
        // The cart, and the pricing settings it is priced by and the back office edits.
        // And the address a reminder's link unsubscribes.
        (
            "CartFunction",
            (vec!["revoked", "user", "product", "variant", "settings", "promotion", "audit", "unsubscribed"], vec![]),
        ),
        // Abandoned carts: the idle index, the carts and their shoppers' profiles, the products
        // a reminder names, the reminder (with its event), the unsubscribed mailboxes and the
        // reminders each mailbox had this week and guests today.
        ("RecoveryFunction", (vec!["user", "event", "product", "unsubscribed", "reminded"], vec!["idle carts"])),
        // Checkout: stock and pricing settings, the order, its list rows and events, the cart and
        // idempotency record; a guest's order's marker under the guest's email, claimed by the
        // account that verifies it.
        (
            "OrdersFunction",
            (
                vec![
                    "revoked",
                    "user",
                    "product",
                    "order",
                    "orders",
                    "status",
                    "event",
                    "settings",
                    "promotion",
                    "guest",
                    "audit",
                    "returns",
                ],
                vec!["user"],
            ),
        ),
        // The order and its payment answers (under the order), status rows, events, webhook
        // events, and the user's count of unpaid orders (a paid or cancelled order leaves it).
        // And the invoice's and credit note's numbers, taken in the payment's and the refund's
        // transactions.
        (
            "PaymentsFunction",
            (vec!["revoked", "order", "status", "event", "webhook", "user", "sequence", "audit"], vec![]),
        ),
        // Expiry gives an unpaid order's stock and promotions' uses back.
        // A payment found succeeded before expiry is applied, with its invoice's number.
        (
            "ExpiryFunction",
            (vec!["status", "order", "product", "event", "webhook", "user", "promotion", "sequence"], vec![]),
        ),
        ("PublisherFunction", (vec![], vec![])),
        ("NotificationsFunction", (vec!["user", "processed by notifications", "event"], vec![])),
        ("SalesFunction", (vec!["processed by sales", "product"], vec![])),
        // Cancelled orders only: the refund is reserved and settled on the order.
        // The cancelled order, and a credit note's number once it is refunded in full.
        // And a received return's refund: the return moves to its refunded queue, with its event.
        ("RefundsFunction", (vec!["order", "sequence", "returns", "event"], vec![])),
        // The message, the suppression list, and the day's SMS per account and per number.
        ("DeliveriesFunction", (vec!["user", "suppressed", "sms to"], vec![])),
        ("SearchFunction", (vec![], vec![])),
        ("IndexerFunction", (vec!["product"], vec![])),
        // An import: the products it creates and updates (with their markers, category counts
        // and events) and its record.
        ("ImportsFunction", (vec!["product", "products", "sku", "variant", "category", "event", "import"], vec![])),
        // An upload's record, and the product the image is attached to (with its event).
        ("ImagesFunction", (vec!["upload", "product", "event"], vec![])),
        ("FeedbackFunction", (vec!["suppressed", "user"], vec![])),
        ("StorefrontFunction", (vec![], vec![])),
    ])
}

/// What `function`'s policies may reach of the table: the `dynamodb:LeadingKeys` patterns of
/// its statements on the table's items, and of its statements on GSI1. Panics on a statement
/// on the table without that condition, on DynamoDB actions on anything else, and on SAM's
/// DynamoDB policy templates (each reaches the whole table).
fn table_access(name: &str, function: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut items, mut index) = (BTreeSet::new(), BTreeSet::new());
    for policy in list(&function["Properties"]["Policies"]) {
        for kind in policy.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let kind = kind.as_str().unwrap_or_default();
            assert!(!kind.starts_with("DynamoDB"), "{name}: the policy template {kind} reaches the whole table");
        }
        for statement in list(&policy["Statement"]).into_iter().map(when_it_holds) {
            let actions = strings(&statement["Action"]);
            let dynamodb = actions.iter().filter(|a| a.starts_with("dynamodb:")).count();
            if dynamodb == 0 {
                continue;
            }
            assert_eq!(dynamodb, actions.len(), "{name}: DynamoDB's actions in statements of their own");
            assert_eq!(statement["Effect"], "Allow");
            let resources = strings(&statement["Resource"]);
            let patterns: BTreeSet<String> = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                .as_sequence()
                .unwrap_or_else(|| {
                    panic!("{name}: {actions:?} on {resources:?} without a dynamodb:LeadingKeys condition")
                })
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect();
            assert!(!patterns.is_empty() && patterns.iter().all(|p| p != "*"), "{name}: {patterns:?}");
            match resources.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["!GetAtt ShopTable.Arn"] => items.extend(patterns),
                ["!Sub ${ShopTable.Arn}/index/GSI1"] => {
                    assert_eq!(actions, ["dynamodb:Query"], "{name}: only queries on the index");
                    index.extend(patterns);
                }
                other => panic!("{name}: DynamoDB's actions on {other:?}"),
            }
        }
    }
    (items, index)
}

#[test]
fn each_function_reaches_only_the_partitions_it_uses() {
    let template = template();
    let partitions = partitions();
    let pattern = |what: &str| partitions.get(what).unwrap_or_else(|| panic!("no partition {what}")).clone();
    let expected = expected_access();
    let functions = of_type(&template, "AWS::Serverless::Function");
    let deployed: BTreeSet<&str> = functions.iter().map(|(name, _)| *name).collect();
    let listed: BTreeSet<&str> = expected.keys().copied().collect();
    assert_eq!(deployed, listed, "each function's partitions are listed here");
    for (name, function) in functions {
        let (items, index) = table_access(name, function);
        let (want_items, want_index) = &expected[name];
        let want_items: BTreeSet<String> = want_items.iter().map(|&p| pattern(p)).collect();
        let want_index: BTreeSet<String> = want_index.iter().map(|&p| pattern(p)).collect();
        assert_eq!(items, want_items, "{name}: the partitions of the items it reads and writes");
        assert_eq!(index, want_index, "{name}: the GSI1 partitions it queries");
    }
}

// ---------------------------------------------------------------- Stripe's secrets

/// The secrets `function` may read: the resources of its `secretsmanager:GetSecretValue` statements.
fn readable_secrets(function: &Value) -> BTreeSet<String> {
    list(&function["Properties"]["Policies"])
        .into_iter()
        .flat_map(|policy| list(&policy["Statement"]))
        .map(when_it_holds)
        .filter(|s| {
            s["Effect"] == "Allow"
                && strings(&s["Action"]).iter().any(|a| a == "secretsmanager:GetSecretValue" || a.ends_with('*'))
        })
        .flat_map(|s| strings(&s["Resource"]))
        .collect()
}

#[test]
fn only_the_payments_function_reads_the_webhook_signing_secret() {
    let template = template();
    let resources = &template["Resources"];
    assert_eq!(resources["StripeSecret"]["Type"], "AWS::SecretsManager::Secret");
    assert_eq!(resources["StripeWebhookSecret"]["Type"], "AWS::SecretsManager::Secret");
    let (api_key, webhook) = ("!Ref StripeSecret".to_owned(), "!Ref StripeWebhookSecret".to_owned());
    for (name, function) in of_type(&template, "AWS::Serverless::Function") {
        let readable = readable_secrets(function);
        assert!(readable.iter().all(|r| !r.contains('*')), "{name} reads secrets by their ARN: {readable:?}");
        let variables = &function["Properties"]["Environment"]["Variables"];
        let told = |variable: &str| text(when_it_holds(&variables[variable]));
        match name {
            // It verifies the deliveries, and pays and refunds through Stripe.
            "PaymentsFunction" => {
                assert!(readable.contains(&api_key) && readable.contains(&webhook), "{name}: {readable:?}");
                assert_eq!(told("STRIPE_SECRET_ARN"), api_key);
                assert_eq!(told("STRIPE_WEBHOOK_SECRET_ARN"), webhook);
            }
            // They call Stripe (refunds, a pending payment's state) and verify nothing.
            "RefundsFunction" | "ExpiryFunction" => {
                assert!(readable.contains(&api_key), "{name} calls Stripe");
                assert!(!readable.contains(&webhook), "{name} cannot read the webhook signing secret");
                assert!(variables["STRIPE_WEBHOOK_SECRET_ARN"].is_null(), "{name}");
            }
            _ => assert!(!readable.contains(&webhook), "{name} cannot read the webhook signing secret"),
        }
    }
}

// ---------------------------------------------------------------- Cognito

#[test]
fn shoppers_change_their_address_only_by_verifying_it_and_sign_in_by_code_flow() {
    let template = template();
    let pool = &template["Resources"]["UserPool"]["Properties"];
    let verified = strings(&pool["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"]);
    assert!(verified.iter().any(|a| a == "email"), "a new address takes effect once its code comes back");

    let client = &template["Resources"]["UserPoolClient"]["Properties"];
    assert!(strings(&client["ReadAttributes"]).iter().any(|a| a == "email"), "explicit, the address among them");
    // Explicit too: a client without WriteAttributes writes every standard attribute.
    let write = &client["WriteAttributes"];
    let (plain, federated) = match if_parts(write) {
        Some((condition, with_providers, without)) => {
            assert_eq!(condition, "UseFederatedSignIn");
            (strings(without), strings(with_providers))
        }
        None => (strings(write), strings(write)),
    };
    assert!(!plain.is_empty(), "the client's write attributes are explicit");
    assert!(!plain.iter().any(|a| a.starts_with("email")), "the client does not write the address: {plain:?}");
    // With an identity provider, Cognito must be able to write what the provider maps (and a
    // shopper's change still waits for its verification, above).
    let mapped: BTreeSet<String> = of_type(&template, "AWS::Cognito::UserPoolIdentityProvider")
        .into_iter()
        .flat_map(|(_, p)| p["Properties"]["AttributeMapping"].as_mapping().into_iter().flat_map(|m| m.keys()))
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for attribute in federated.iter().filter(|a| !plain.contains(a)) {
        assert!(mapped.contains(attribute), "{attribute} is writable only because a provider maps it");
    }
    assert!(!federated.iter().any(|a| a == "email_verified"), "nobody marks an address verified but Cognito");

    // The hosted sign-in: the authorization code flow only, for a public client (PKCE).
    assert_eq!(strings(&client["AllowedOAuthFlows"]), ["code"], "no implicit flow, no client credentials");
    assert_eq!(client["AllowedOAuthFlowsUserPoolClient"], true);
    assert_eq!(client["GenerateSecret"], false, "a page holds no secret: it proves its code with PKCE");
    let scopes = strings(&client["AllowedOAuthScopes"]);
    assert!(scopes.iter().any(|s| s == "openid"), "{scopes:?}");
    assert!(!scopes.iter().any(|s| s == "aws.cognito.signin.user.admin"), "its tokens change no attribute");
    for urls in ["CallbackURLs", "LogoutURLs"] {
        let parameter = text(&client[urls]);
        let parameter = parameter.strip_prefix("!Ref ").unwrap_or_else(|| panic!("{urls}: {parameter}"));
        assert_eq!(template["Parameters"][parameter]["Type"], "CommaDelimitedList", "{urls}");
    }
    assert!(strings(&client["SupportedIdentityProviders"]).iter().any(|p| p == "COGNITO"));
    let domains = of_type(&template, "AWS::Cognito::UserPoolDomain");
    assert!(domains.iter().any(|(_, d)| text(&d["Properties"]["UserPoolId"]) == "!Ref UserPool"), "a hosted sign-in");

    // Google's and Apple's: each only when configured, their secrets from Secrets Manager.
    for (name, provider) in of_type(&template, "AWS::Cognito::UserPoolIdentityProvider") {
        assert!(provider["Condition"].as_str().is_some(), "{name} exists only when configured");
        for (key, value) in provider["Properties"]["ProviderDetails"].as_mapping().unwrap() {
            let key = key.as_str().unwrap();
            if key.contains("secret") || key.contains("private_key") {
                let value = text(value);
                assert!(
                    value.starts_with("!Sub {{resolve:secretsmanager:"),
                    "{name}: {key} is read from Secrets Manager at deploy time, never a parameter: {value}"
                );
            }
        }
    }
}
