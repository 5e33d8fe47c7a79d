//! Creates the table and the user pool on an AWS endpoint (a local emulator, or a sandbox
//! account) from template.yaml's own resource definitions, so the local stack in AWS mode and
//! the deployed stack cannot drift apart.

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PasswordPolicyType, UserPoolPolicyType, UsernameAttributeType,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use shop_aws::failed;

/// The deployment template, compiled in.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// What provisioning made.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub table_name: String,
    pub user_pool_id: String,
    pub client_id: String,
    pub topic_arn: String,
}

fn resource(name: &str) -> anyhow::Result<Value> {
    let template: Value = serde_yaml::from_str(TEMPLATE).context("reading template.yaml")?;
    template["Resources"][name]["Properties"]
        .as_mapping()
        .map(|m| Value::Mapping(m.clone()))
        .with_context(|| format!("template.yaml has no {name}"))
}

fn text(v: &Value) -> anyhow::Result<&str> {
    v.as_str().with_context(|| format!("expected a string, found {v:?}"))
}

fn key_schema(list: &Value) -> anyhow::Result<Vec<KeySchemaElement>> {
    list.as_sequence()
        .context("KeySchema is a list")?
        .iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(&k["AttributeName"])?)
                .key_type(KeyType::from(text(&k["KeyType"])?))
                .build()?)
        })
        .collect()
}

/// Creates the table (unless it exists) as template.yaml's `ShopTable` defines it.
pub async fn table(config: &SdkConfig, name: &str) -> anyhow::Result<()> {
    let client = aws_sdk_dynamodb::Client::new(config);
    if client.describe_table().table_name(name).send().await.is_ok() {
        return Ok(());
    }
    let def = resource("ShopTable")?;
    let attributes = def["AttributeDefinitions"]
        .as_sequence()
        .context("AttributeDefinitions is a list")?
        .iter()
        .map(|a| {
            Ok(AttributeDefinition::builder()
                .attribute_name(text(&a["AttributeName"])?)
                .attribute_type(ScalarAttributeType::from(text(&a["AttributeType"])?))
                .build()?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let indexes = def["GlobalSecondaryIndexes"]
        .as_sequence()
        .context("GlobalSecondaryIndexes is a list")?
        .iter()
        .map(|g| {
            Ok(GlobalSecondaryIndex::builder()
                .index_name(text(&g["IndexName"])?)
                .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(text(&g["Projection"]["ProjectionType"])?))
                        .build(),
                )
                .build()?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let stream = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::from(text(&def["StreamSpecification"]["StreamViewType"])?))
        .build()?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(text(&def["BillingMode"])?))
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&def["KeySchema"])?))
        .set_global_secondary_indexes(Some(indexes))
        .stream_specification(stream)
        .send()
        .await
        .map_err(failed(format!("creating table {name}")))?;
    let ttl = &def["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(text(&ttl["AttributeName"])?)
                .enabled(ttl["Enabled"].as_bool().unwrap_or(true))
                .build()?,
        )
        .send()
        .await
        .map_err(failed("enabling TTL"))?;
    Ok(())
}

/// Creates a user pool, its app client and the staff roles' groups as template.yaml defines them.
pub async fn user_pool(config: &SdkConfig, name: &str) -> anyhow::Result<(String, String)> {
    let client = aws_sdk_cognitoidentityprovider::Client::new(config);
    let pool = resource("UserPool")?;
    let policy = &pool["Policies"]["PasswordPolicy"];
    let number = |v: &Value| v.as_i64().map(|n| n as i32);
    let password_policy = PasswordPolicyType::builder()
        .set_minimum_length(number(&policy["MinimumLength"]))
        .set_require_lowercase(policy["RequireLowercase"].as_bool())
        .set_require_uppercase(policy["RequireUppercase"].as_bool())
        .set_require_numbers(policy["RequireNumbers"].as_bool())
        .set_require_symbols(policy["RequireSymbols"].as_bool())
        .build();
    let username_attributes = pool["UsernameAttributes"]
        .as_sequence()
        .context("UsernameAttributes is a list")?
        .iter()
        .map(|a| Ok(UsernameAttributeType::from(text(a)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let made = client
        .create_user_pool()
        .pool_name(name)
        .set_username_attributes(Some(username_attributes))
        .policies(UserPoolPolicyType::builder().password_policy(password_policy).build())
        .send()
        .await
        .map_err(failed("creating the user pool"))?;
    let pool_id = made.user_pool.and_then(|p| p.id).context("the new pool has no id")?;
    let app = resource("UserPoolClient")?;
    let flows = app["ExplicitAuthFlows"]
        .as_sequence()
        .context("ExplicitAuthFlows is a list")?
        .iter()
        .map(|f| Ok(ExplicitAuthFlowsType::from(text(f)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let made = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name(format!("{name}-api"))
        .generate_secret(app["GenerateSecret"].as_bool().unwrap_or(false))
        .set_explicit_auth_flows(Some(flows))
        .send()
        .await
        .map_err(failed("creating the app client"))?;
    let client_id = made.user_pool_client.and_then(|c| c.client_id).context("the new client has no id")?;
    // The staff roles' groups, as the template makes them.
    let template: Value = serde_yaml::from_str(TEMPLATE).context("reading template.yaml")?;
    let groups = template["Resources"].as_mapping().context("template.yaml has resources")?.values();
    for group in groups.filter(|r| r["Type"].as_str() == Some("AWS::Cognito::UserPoolGroup")) {
        client
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(text(&group["Properties"]["GroupName"])?)
            .send()
            .await
            .map_err(failed("creating a staff role's group"))?;
    }
    Ok((pool_id, client_id))
}

/// The template's name for a queue's or a function's resources: `notifications` -> `Notifications`.
pub fn resource_stem(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Creates the events topic and, for every queue of the bus, its DLQ, the queue with its redrive
/// policy and visibility timeout, and its raw-delivery subscription with its filter policy, all
/// as template.yaml defines them; queues are named after `stack` (see
/// [`crate::aws_events::queue_name`]). Answers the topic's ARN. Creating again changes nothing.
pub async fn events(config: &SdkConfig, stack: &str) -> anyhow::Result<String> {
    let (sns, sqs) = (aws_sdk_sns::Client::new(config), aws_sdk_sqs::Client::new(config));
    let topic =
        sns.create_topic().name(format!("{stack}-events")).send().await.map_err(failed("creating the topic"))?;
    let topic_arn = topic.topic_arn().context("the topic has no ARN")?.to_owned();
    for queue in shop::events::QUEUES {
        let stem = resource_stem(queue.name);
        let def = resource(&format!("{stem}Queue"))?;
        let dlq_name = crate::aws_events::dead_letter_queue_name(stack, queue);
        let dlq = sqs.create_queue().queue_name(&dlq_name).send().await.map_err(failed("creating a DLQ"))?;
        let dlq_arn = queue_arn(&sqs, dlq.queue_url().context("no DLQ url")?).await?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": def["RedrivePolicy"]["maxReceiveCount"].as_i64().context("maxReceiveCount")?,
        });
        let visibility = def["VisibilityTimeout"].as_i64().context("VisibilityTimeout")?;
        let made = sqs
            .create_queue()
            .queue_name(crate::aws_events::queue_name(stack, queue))
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .attributes(QueueAttributeName::VisibilityTimeout, visibility.to_string())
            .send()
            .await
            .map_err(failed("creating a queue"))?;
        let arn = queue_arn(&sqs, made.queue_url().context("no queue url")?).await?;
        let subscription = resource(&format!("{stem}Subscription"))?;
        let filter: serde_json::Value = serde_yaml::from_value(subscription["FilterPolicy"].clone())?;
        let raw = subscription["RawMessageDelivery"].as_bool().unwrap_or(false);
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", raw.to_string())
            .attributes("FilterPolicyScope", text(&subscription["FilterPolicyScope"])?)
            .attributes("FilterPolicy", filter.to_string())
            .send()
            .await
            .map_err(failed("subscribing a queue"))?;
    }
    Ok(topic_arn)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("reading a queue's ARN"))?;
    attributes.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).cloned().context("a queue without ARN")
}

/// Provisions all of it.
pub async fn all(config: &SdkConfig, table_name: &str, pool_name: &str) -> anyhow::Result<Provisioned> {
    table(config, table_name).await?;
    let (user_pool_id, client_id) = user_pool(config, pool_name).await?;
    let topic_arn = events(config, table_name).await?;
    Ok(Provisioned { table_name: table_name.into(), user_pool_id, client_id, topic_arn })
}
