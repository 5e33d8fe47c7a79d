//! `shop-dynamodb`: the DynamoDB adapter of [`Table`]: aws-sdk-dynamodb with serde_dynamo. `AttributeValue`
//! never leaves this module; conditions become condition expressions, so DynamoDB itself
//! enforces every invariant.

use shop::time::epoch_now;
use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValue, TransactWriteItem, Update as DynUpdate,
};
use serde_json::{Map, Value};

use shop::table::{
    Condition, EXPIRES_AT, GSI1PK, GSI1SK, Index, Item, Key, PK, Query, QueryPage, SK, SortKey, Step, Table, Update,
    Write, WriteError, top_level,
};

pub const GSI1: &str = "GSI1";

/// The DynamoDB adapter: a client built once per process and the table's name.
#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

type Attributes = HashMap<String, AttributeValue>;

fn to_attributes(map: &Map<String, Value>) -> anyhow::Result<Attributes> {
    serde_dynamo::to_item(map).context("converting an item to DynamoDB attributes")
}

fn from_attributes(attrs: Attributes) -> anyhow::Result<Item> {
    let map: Map<String, Value> = serde_dynamo::from_item(attrs).context("reading DynamoDB attributes")?;
    Ok(Item(map))
}

fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([(PK.into(), AttributeValue::S(key.pk.clone())), (SK.into(), AttributeValue::S(key.sk.clone()))])
}

fn value(v: &Value) -> anyhow::Result<AttributeValue> {
    serde_dynamo::to_attribute_value(v).context("converting a value to a DynamoDB attribute")
}

fn fail(context: &'static str) -> impl FnOnce(String) -> anyhow::Error {
    move |e| anyhow::anyhow!("{context}: {e}")
}

/// Placeholders for one expression: `#n0` names and `:v0` values.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: Attributes,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// A document path (`variants[2].stock`) with its names as placeholders (`#n0[2].#n1`).
    fn path(&mut self, path: &str) -> String {
        let mut written = String::new();
        for step in shop::table::steps(path) {
            match step {
                Step::Name(name) => {
                    if !written.is_empty() {
                        written.push('.');
                    }
                    written += &self.name(name);
                }
                Step::Index(i) => written += &format!("[{i}]"),
            }
        }
        written
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), v);
        placeholder
    }

    fn condition(&mut self, condition: &Condition) -> anyhow::Result<String> {
        Ok(match condition {
            Condition::Exists => {
                let (pk, exp) = (self.name(PK), self.name(EXPIRES_AT));
                let t = self.value(AttributeValue::N(epoch_now().to_string()));
                format!("(attribute_exists({pk}) AND (attribute_not_exists({exp}) OR {exp} > {t}))")
            }
            // An expired item that TTL has not swept yet counts as absent, as in every read.
            Condition::NotExists => {
                let (pk, exp) = (self.name(PK), self.name(EXPIRES_AT));
                let t = self.value(AttributeValue::N(epoch_now().to_string()));
                format!("(attribute_not_exists({pk}) OR {exp} <= {t})")
            }
            Condition::Equals(path, v) => {
                let (n, v) = (self.path(path), value(v)?);
                format!("{n} = {}", self.value(v))
            }
            Condition::AtLeast(path, min) => {
                let n = self.path(path);
                format!("{n} >= {}", self.value(AttributeValue::N(min.to_string())))
            }
            Condition::Under(path, n) => {
                let n_name = self.path(path);
                let v = self.value(AttributeValue::N(n.to_string()));
                format!("(attribute_not_exists({n_name}) OR {n_name} < {v})")
            }
            Condition::OneOf(path, values) => {
                let n = self.path(path);
                let list =
                    values.iter().map(|v| Ok(self.value(value(v)?))).collect::<anyhow::Result<Vec<_>>>()?.join(", ");
                format!("{n} IN ({list})")
            }
            Condition::And(all) => {
                let parts = all.iter().map(|c| self.condition(c)).collect::<anyhow::Result<Vec<_>>>()?;
                format!("({})", parts.join(" AND "))
            }
        })
    }

    fn update(&mut self, update: &Update) -> anyhow::Result<String> {
        let mut clauses = Vec::new();
        let mut sets = update
            .set
            .iter()
            .map(|(n, v)| Ok(format!("{} = {}", self.name(n), self.value(value(v)?))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut adds = Vec::new();
        for (path, by) in &update.add {
            let (p, by) = (self.path(path), self.value(AttributeValue::N(by.to_string())));
            // ADD takes top-level attributes only; a number inside one is set to itself plus.
            if top_level(path) { adds.push(format!("{p} {by}")) } else { sets.push(format!("{p} = {p} + {by}")) }
        }
        if !sets.is_empty() {
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !adds.is_empty() {
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        if !update.remove.is_empty() {
            let removes: Vec<String> = update.remove.iter().map(|n| self.name(n)).collect();
            clauses.push(format!("REMOVE {}", removes.join(", ")));
        }
        Ok(clauses.join(" "))
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Attributes> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

impl DynamoTable {
    fn transact_item(&self, write: &Write) -> anyhow::Result<TransactWriteItem> {
        let mut expr = Expr::default();
        let condition = write.condition().map(|c| expr.condition(c)).transpose()?;
        let built = match write {
            Write::Put { item, .. } => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attributes(&item.0)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(|e| fail("building a put")(e.to_string()))?,
            ),
            Write::Update { key, update, .. } => {
                let update = expr.update(update)?;
                TransactWriteItem::builder().update(
                    DynUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .update_expression(update)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(|e| fail("building an update")(e.to_string()))?,
                )
            }
            Write::Delete { key, .. } => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(|e| fail("building a delete")(e.to_string()))?,
            ),
            Write::Check { key, .. } => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(|e| fail("building a condition check")(e.to_string()))?,
            ),
        };
        Ok(built.build())
    }
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.as_service_error().and_then(|s| s.code()).is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("reading {key:?}: {}", DisplayErrorContext(e)))?;
        let now = epoch_now();
        out.item.map(from_attributes).transpose().map(|i| i.filter(|i| !i.expired(now)))
    }

    async fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>> {
        let now = epoch_now();
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(key_attributes).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| fail("building a batch get")(e.to_string()))?,
            );
            let mut attempt = 0u32;
            while let Some(request) = pending.take() {
                let out =
                    self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(|e| {
                        anyhow::anyhow!("batch reading {} keys: {}", chunk.len(), DisplayErrorContext(e))
                    })?;
                for attrs in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    let item = from_attributes(attrs)?;
                    if !item.expired(now) {
                        found.push(item);
                    }
                }
                pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table));
                if pending.is_some() {
                    attempt += 1;
                    anyhow::ensure!(attempt < 8, "DynamoDB left keys unprocessed after {attempt} attempts");
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                }
            }
        }
        Ok(found)
    }

    async fn query(&self, query: &Query) -> anyhow::Result<QueryPage> {
        let mut expr = Expr::default();
        let (pname, sname) = match query.index {
            Index::Primary => (PK, SK),
            Index::Gsi1 => (GSI1PK, GSI1SK),
        };
        let p = expr.name(pname);
        let pv = expr.value(AttributeValue::S(query.partition.clone()));
        let mut key_condition = format!("{p} = {pv}");
        match &query.sort {
            SortKey::Any => {}
            SortKey::Prefix(prefix) => {
                let s = expr.name(sname);
                let v = expr.value(AttributeValue::S(prefix.clone()));
                key_condition.push_str(&format!(" AND begins_with({s}, {v})"));
            }
            SortKey::Between(from, to) => {
                let s = expr.name(sname);
                let a = expr.value(AttributeValue::S(from.clone()));
                let b = expr.value(AttributeValue::S(to.clone()));
                key_condition.push_str(&format!(" AND {s} BETWEEN {a} AND {b}"));
            }
        }
        let exp = expr.name(EXPIRES_AT);
        let t = expr.value(AttributeValue::N(epoch_now().to_string()));
        let filter = format!("attribute_not_exists({exp}) OR {exp} > {t}");
        let start = match &query.after {
            Some(Value::Object(map)) => Some(to_attributes(map)?),
            Some(_) => anyhow::bail!("a query position must be an object of keys"),
            None => None,
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(key_condition)
            .filter_expression(filter)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .scan_index_forward(query.ascending)
            // Strongly consistent on the table's own key; a GSI can only be read eventually.
            .consistent_read(query.index == Index::Primary)
            .limit(query.limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start);
        if query.index == Index::Gsi1 {
            request = request.index_name(GSI1);
        }
        let out = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("querying {}: {}", query.partition, DisplayErrorContext(e)))?;
        let items = out.items.unwrap_or_default().into_iter().map(from_attributes).collect::<anyhow::Result<_>>()?;
        let next = out
            .last_evaluated_key
            .map(|k| serde_dynamo::from_item::<_, Map<String, Value>>(k).map(Value::Object))
            .transpose()
            .context("reading LastEvaluatedKey")?;
        Ok(QueryPage { items, next })
    }

    async fn write(&self, write: Write) -> Result<(), WriteError> {
        match write {
            Write::Check { .. } => self.transact(vec![write]).await,
            Write::Update { key, update, condition } => self.update(&key, update, condition).await.map(|_| ()),
            Write::Put { item, condition } => {
                let mut expr = Expr::default();
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_attributes(&item.0)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if is_condition_failure(&e) => Err(WriteError::ConditionFailed { index: None }),
                    Err(e) => Err(anyhow::anyhow!("writing {:?}: {}", item.key(), DisplayErrorContext(e)).into()),
                }
            }
            Write::Delete { key, condition } => {
                let mut expr = Expr::default();
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(&key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if is_condition_failure(&e) => Err(WriteError::ConditionFailed { index: None }),
                    Err(e) => Err(anyhow::anyhow!("deleting {key:?}: {}", DisplayErrorContext(e)).into()),
                }
            }
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        shop::table::check_transaction(&writes)?;
        let items = writes.iter().map(|w| self.transact_item(w)).collect::<anyhow::Result<Vec<_>>>()?;
        // A cancelled transaction applied nothing, so one that lost a race is tried again,
        // with jittered backoff, before the conflict reaches the caller.
        let mut attempt = 0;
        loop {
            match self.transact_once(items.clone()).await {
                Err(WriteError::Conflict) if attempt < 4 => {
                    attempt += 1;
                    let jitter = rand::random::<u64>() % (10 << attempt);
                    tokio::time::sleep(std::time::Duration::from_millis(jitter + 5)).await;
                }
                other => return other,
            }
        }
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        let mut expr = Expr::default();
        let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        let update_expression = expr.update(&update)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(from_attributes(out.attributes.unwrap_or_default())?),
            Err(e) if is_condition_failure(&e) => Err(WriteError::ConditionFailed { index: None }),
            Err(e) => Err(anyhow::anyhow!("updating {key:?}: {}", DisplayErrorContext(e)).into()),
        }
    }
}

impl DynamoTable {
    async fn transact_once(&self, items: Vec<TransactWriteItem>) -> Result<(), WriteError> {
        let count = items.len();
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let Err(e) = result else { return Ok(()) };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = e.as_service_error() {
            let reasons = cancelled.cancellation_reasons();
            if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                return Err(WriteError::ConditionFailed { index: Some(index) });
            }
            if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                return Err(WriteError::Conflict);
            }
            if reasons.is_empty() && cancelled.message().is_some_and(|m| m.contains("ConditionalCheckFailed")) {
                return Err(WriteError::ConditionFailed { index: None });
            }
        }
        if matches!(e.as_service_error(), Some(TransactWriteItemsError::TransactionInProgressException(_))) {
            return Err(WriteError::Conflict);
        }
        Err(anyhow::anyhow!("transaction of {count} writes: {}", DisplayErrorContext(e)).into())
    }
}

/// The DynamoDB table named by `TABLE_NAME`.
pub fn table(config: &aws_config::SdkConfig) -> anyhow::Result<std::sync::Arc<dyn Table>> {
    Ok(table_named(config, &shop_aws::env("TABLE_NAME")?))
}

pub fn table_named(config: &aws_config::SdkConfig, name: &str) -> std::sync::Arc<dyn Table> {
    std::sync::Arc::new(DynamoTable::new(Client::new(config), name))
}
