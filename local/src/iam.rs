//! What each function's role may do to the table in AWS, enforced on that function's code here:
//! template.yaml gives every function's DynamoDB statements their actions and a
//! `dynamodb:LeadingKeys` condition (the partition keys they apply to; GSI1's partition keys for
//! queries on the index), and the local stack hands each service and consumer a table that
//! refuses any other action or partition, as IAM would refuse it in AWS (a transaction needs
//! each of its writes' own action). A function whose code does what its role does not allow
//! fails in the local stack and the tests, not on its first deploy.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use serde_yaml::Value;
use shop::table::{Condition, Index, Item, Key, Query, QueryPage, Record, Table, Update, Write, WriteError};

use crate::provision::TEMPLATE;

/// A function's reach: the DynamoDB actions its statements allow, each on the partitions their
/// `dynamodb:LeadingKeys` patterns name (`*` and `?` as IAM's `StringLike`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// On the table's items.
    pub items: Vec<Grant>,
    /// On GSI1, by its partition keys.
    pub index: Vec<Grant>,
}

/// One statement's DynamoDB actions (without the `dynamodb:` prefix) and partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub actions: Vec<String>,
    pub partitions: Vec<String>,
}

impl Reach {
    /// The reach template.yaml gives the function whose binary is `binary`.
    pub fn of(binary: &str) -> anyhow::Result<Self> {
        static PARSED: std::sync::OnceLock<Result<Value, String>> = std::sync::OnceLock::new();
        let template = PARSED.get_or_init(|| serde_yaml::from_str(TEMPLATE).map_err(|e| e.to_string()));
        let template = template.as_ref().map_err(|e| anyhow::anyhow!("reading template.yaml: {e}"))?;
        let resources = template["Resources"].as_mapping().context("template.yaml has resources")?;
        let function = resources
            .values()
            .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
            .with_context(|| format!("template.yaml deploys no function {binary}"))?;
        let mut reach = Self::default();
        for policy in function["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let statement = match statement {
                    Value::Tagged(t) if t.tag == "!If" => &t.value[1],
                    other => other,
                };
                let actions: Vec<String> = one_or_many(&statement["Action"])
                    .iter()
                    .filter_map(|a| a.strip_prefix("dynamodb:").map(str::to_owned))
                    .collect();
                if actions.is_empty() {
                    continue;
                }
                let partitions =
                    one_or_many(&statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]);
                let on_index = one_or_many(&statement["Resource"]).iter().any(|r| r.ends_with("/index/GSI1"));
                if on_index { &mut reach.index } else { &mut reach.items }.push(Grant { actions, partitions });
            }
        }
        Ok(reach)
    }

    /// Whether a statement allows `action` on `partition`.
    fn allows(grants: &[Grant], action: &str, partition: &str) -> bool {
        grants.iter().any(|g| {
            g.actions.iter().any(|a| a == action || a == "*")
                && g.partitions.iter().any(|p| like(p.as_bytes(), partition.as_bytes()))
        })
    }
}

/// A value or a list of them as strings; a tagged value (`!GetAtt`, `!Sub`) as its text.
fn one_or_many(v: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_owned(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    match v {
        Value::Sequence(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![text(other)],
    }
}

/// IAM's `StringLike`: `*` any run of characters, `?` any one.
fn like(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => like(&pattern[1..], text) || (!text.is_empty() && like(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => like(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => like(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// The table as the function `function` may use it.
pub struct Scoped {
    inner: Arc<dyn Table>,
    function: &'static str,
    reach: Reach,
}

/// `table` limited to what template.yaml lets the function `function` reach.
pub fn scoped(table: &Arc<dyn Table>, function: &'static str) -> anyhow::Result<Arc<dyn Table>> {
    Ok(Arc::new(Scoped { inner: table.clone(), function, reach: Reach::of(function)? }))
}

impl Scoped {
    fn check(&self, action: &str, index: bool, partition: &str) -> anyhow::Result<()> {
        let grants = if index { &self.reach.index } else { &self.reach.items };
        if Reach::allows(grants, action, partition) {
            Ok(())
        } else {
            let place = if index { "GSI1 partition" } else { "partition" };
            anyhow::bail!(
                "AccessDenied: the {} function's role (template.yaml) does not allow dynamodb:{action} on the {place} {partition}",
                self.function
            )
        }
    }

    /// A transaction needs, for each of its writes, the permission of the write's own action.
    fn check_writes<'a>(&self, writes: impl IntoIterator<Item = &'a Write>) -> Result<(), WriteError> {
        let action = |w: &Write| match w {
            Write::Put { .. } => "PutItem",
            Write::Update { .. } => "UpdateItem",
            Write::Delete { .. } => "DeleteItem",
            Write::Check { .. } => "ConditionCheckItem",
        };
        writes.into_iter().try_for_each(|w| self.check(action(w), false, &w.key().pk)).map_err(WriteError::Other)
    }
}

#[async_trait]
impl Table for Scoped {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        self.check("GetItem", false, &key.pk)?;
        self.inner.get(key).await
    }

    async fn get_into(&self, key: &Key, record: &mut (dyn Record + Send)) -> anyhow::Result<bool> {
        self.check("GetItem", false, &key.pk)?;
        self.inner.get_into(key, record).await
    }

    async fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>> {
        keys.iter().try_for_each(|k| self.check("BatchGetItem", false, &k.pk))?;
        self.inner.batch_get(keys).await
    }

    async fn query(&self, query: &Query) -> anyhow::Result<QueryPage> {
        self.check("Query", query.index == Index::Gsi1, &query.partition)?;
        self.inner.query(query).await
    }

    async fn write(&self, write: Write) -> Result<(), WriteError> {
        self.check_writes([&write])?;
        self.inner.write(write).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        self.check_writes(&writes)?;
        self.inner.transact(writes).await
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        self.check("UpdateItem", false, &key.pk).map_err(WriteError::Other)?;
        self.inner.update(key, update, condition).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_iam_string_like_does() {
        assert!(like(b"USER#*", b"USER#abc") && like(b"USER#*", b"USER#"));
        assert!(like(b"USERS", b"USERS") && !like(b"USERS", b"USERS#1") && !like(b"USER#*", b"USERS"));
        assert!(like(b"PROCESSED#sales#*", b"PROCESSED#sales#evt") && !like(b"PROCESSED#sales#*", b"PROCESSED#x#evt"));
        assert!(like(b"A?C", b"ABC") && !like(b"A?C", b"AC"));
    }

    #[test]
    fn the_template_gives_each_function_its_reach() {
        let cart = Reach::of("cart").unwrap();
        assert!(Reach::allows(&cart.items, "GetItem", "USER#u1") && !Reach::allows(&cart.items, "GetItem", "ORDER#o1"));
        let recovery = Reach::of("recovery").unwrap();
        assert!(Reach::allows(&recovery.items, "ConditionCheckItem", "UNSUBSCRIBED#a@example.com"));
        assert!(!Reach::allows(&recovery.items, "PutItem", "UNSUBSCRIBED#a@example.com"), "actions count too");
        assert!(Reach::of("no-such-function").is_err());
    }
}
