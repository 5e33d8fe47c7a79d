//! The table port: one key-value table with a sort key, one global secondary index (GSI1),
//! conditional writes, atomic counters, transactions and a TTL attribute, the subset of
//! DynamoDB the shop relies on. Implemented by `shop_dynamodb::DynamoTable` in AWS and
//! `shop_embedded::sqlite::SqliteTable` locally; both pass the suite in [`contract`].
//!
//! Items are JSON objects whose top-level attributes are the item's attributes; `PK`, `SK`,
//! `GSI1PK`, `GSI1SK` (strings) and `expires_at` (epoch seconds) have their DynamoDB meaning.
//! Conditions and counters name an attribute, or an attribute inside one by a document path as
//! DynamoDB writes it (`variants[2].stock`); no attribute's name holds `.` or `[`.
//! Items whose `expires_at` has passed are never returned, as if TTL had already removed them.

pub mod contract;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The attributes with DynamoDB meaning: the primary key, GSI1's key, and the TTL attribute.
pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const EXPIRES_AT: &str = "expires_at";

/// The most writes one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

/// A primary key (or a GSI1 key, where noted).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// One item: a JSON object holding its keys and attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Item(pub Map<String, Value>);

impl Item {
    /// An item with this primary key and the attributes of `record` (which must serialize
    /// to a JSON object).
    pub fn new(key: &Key, record: &impl Serialize) -> Self {
        let mut map = match serde_json::to_value(record).expect("records serialize") {
            Value::Object(map) => map,
            other => panic!("a record must be a JSON object, not {other}"),
        };
        map.insert(PK.into(), key.pk.clone().into());
        map.insert(SK.into(), key.sk.clone().into());
        Self(map)
    }

    /// An item that is only a key (uniqueness markers, list rows).
    pub fn marker(key: &Key) -> Self {
        Self::new(key, &serde_json::json!({}))
    }

    pub fn with_gsi1(mut self, key: &Key) -> Self {
        self.0.insert(GSI1PK.into(), key.pk.clone().into());
        self.0.insert(GSI1SK.into(), key.sk.clone().into());
        self
    }

    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    pub fn expiring_at(self, epoch_seconds: i64) -> Self {
        self.with(EXPIRES_AT, epoch_seconds)
    }

    pub fn key(&self) -> Key {
        Key::new(self.str(PK).unwrap_or_default(), self.str(SK).unwrap_or_default())
    }

    pub fn gsi1(&self) -> Option<Key> {
        Some(Key::new(self.str(GSI1PK)?, self.str(GSI1SK)?))
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    /// The value at a document path (`variants[2].stock`), if the item has one there.
    pub fn at(&self, path: &str) -> Option<&Value> {
        let mut steps = steps(path);
        let Some(Step::Name(first)) = steps.next() else { return None };
        steps.try_fold(self.0.get(first)?, |value, step| match step {
            Step::Name(name) => value.get(name),
            Step::Index(i) => value.get(i),
        })
    }

    fn at_mut(&mut self, path: &str) -> Option<&mut Value> {
        let mut steps = steps(path);
        let Some(Step::Name(first)) = steps.next() else { return None };
        steps.try_fold(self.0.get_mut(first)?, |value, step| match step {
            Step::Name(name) => value.get_mut(name),
            Step::Index(i) => value.get_mut(i),
        })
    }

    pub fn expires_at(&self) -> Option<i64> {
        self.int(EXPIRES_AT)
    }

    /// Whether TTL would have removed the item by `now` (epoch seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// The item's attributes as a record; key attributes are ignored unless the record asks.
    pub fn decode<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        T::deserialize(&self.0).map_err(|e| anyhow::anyhow!("decoding item {:?}: {e}", self.key()))
    }

    /// [`Item::decode`], taking the item: its strings move into the record, not copied.
    pub fn into_record<T: DeserializeOwned>(self) -> anyhow::Result<T> {
        let key = self.key();
        T::deserialize(Value::Object(self.0)).map_err(|e| anyhow::anyhow!("decoding item {key:?}: {e}"))
    }
}

/// One step of a document path: `variants[2].stock` is `variants`, `[2]`, `stock`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step<'a> {
    Name(&'a str),
    Index(usize),
}

/// The steps of a document path; a step that is not a name or `[n]` ends it.
pub fn steps(path: &str) -> impl Iterator<Item = Step<'_>> {
    path.split('.')
        .flat_map(|part| {
            let (name, indexes) = part.split_at(part.find('[').unwrap_or(part.len()));
            let indexes = indexes.split_terminator(']').map(|i| i.strip_prefix('[').and_then(|i| i.parse().ok()));
            std::iter::once(Some(Step::Name(name))).chain(indexes.map(|i| i.map(Step::Index)))
        })
        .map_while(|step| step)
}

/// Whether a path names a top-level attribute.
pub fn top_level(path: &str) -> bool {
    !path.contains(['.', '['])
}

/// A condition on the current item, checked atomically with the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The item exists.
    Exists,
    /// No item has this key.
    NotExists,
    /// `attribute = value`.
    Equals(String, Value),
    /// `attribute >= n` (a number attribute).
    AtLeast(String, i64),
    /// `attribute` is one of the values.
    OneOf(String, Vec<Value>),
    /// A counter (absent counts as 0, as does a missing item) is below `n`.
    Under(String, i64),
    /// All of them.
    And(Vec<Condition>),
}

impl Condition {
    pub fn equals(name: &str, value: impl Into<Value>) -> Self {
        Self::Equals(name.into(), value.into())
    }

    /// Evaluates the condition against the current item (`None` when absent). Adapters that
    /// cannot push conditions to the store use this under their write lock.
    pub fn holds(&self, current: Option<&Item>) -> bool {
        match self {
            Self::Exists => current.is_some(),
            Self::NotExists => current.is_none(),
            Self::Equals(path, value) => current.and_then(|i| i.at(path)) == Some(value),
            Self::AtLeast(path, n) => current.and_then(|i| i.at(path)?.as_i64()).is_some_and(|v| v >= *n),
            Self::OneOf(path, values) => current.and_then(|i| i.at(path)).is_some_and(|v| values.contains(v)),
            Self::Under(path, n) => current.and_then(|i| i.at(path)?.as_i64()).unwrap_or(0) < *n,
            Self::And(all) => all.iter().all(|c| c.holds(current)),
        }
    }
}

/// Changes to some attributes of an item. Applied to a missing item it creates one (as
/// DynamoDB's UpdateItem does); guard with [`Condition::Exists`] where that is wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    pub add: Vec<(String, i64)>,
    pub remove: Vec<String>,
}

impl Update {
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.set.push((name.into(), value.into()));
        self
    }

    /// Atomically adds `n` (which may be negative) to a number attribute, starting from 0; or to
    /// a number inside one (`variants[2].stock`), which must be there: guard it with a condition
    /// (DynamoDB refuses the write, and in memory nothing changes).
    pub fn add(mut self, name: &str, n: i64) -> Self {
        self.add.push((name.into(), n));
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.into());
        self
    }

    /// Applies the changes to an item in memory (for adapters that evaluate writes themselves).
    pub fn apply(&self, key: &Key, current: Option<Item>) -> Item {
        let mut item = current.unwrap_or_else(|| Item::marker(key));
        for (name, value) in &self.set {
            item.0.insert(name.clone(), value.clone());
        }
        for (path, n) in &self.add {
            match item.at_mut(path) {
                Some(number) => *number = (number.as_i64().unwrap_or(0) + n).into(),
                None if top_level(path) => drop(item.0.insert(path.clone(), (*n).into())),
                None => {}
            }
        }
        for name in &self.remove {
            item.0.remove(name);
        }
        item
    }
}

/// One write, alone or in a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// No change; the transaction fails unless the condition holds.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl Write {
    pub fn put(item: Item) -> Self {
        Self::Put { item, condition: None }
    }

    /// A put that fails if the key is taken.
    pub fn create(item: Item) -> Self {
        Self::Put { item, condition: Some(Condition::NotExists) }
    }

    pub fn update(key: Key, update: Update) -> Self {
        Self::Update { key, update, condition: None }
    }

    pub fn delete(key: Key) -> Self {
        Self::Delete { key, condition: None }
    }

    /// Adds a condition to the write's own, if it has one.
    pub fn when(self, extra: Condition) -> Self {
        let tighten = |existing: Option<Condition>| match existing {
            None => extra,
            Some(existing) => Condition::And(vec![existing, extra]),
        };
        match self {
            Self::Put { item, condition } => Self::Put { item, condition: Some(tighten(condition)) },
            Self::Update { key, update, condition } => {
                Self::Update { key, update, condition: Some(tighten(condition)) }
            }
            Self::Delete { key, condition } => Self::Delete { key, condition: Some(tighten(condition)) },
            Self::Check { key, condition } => Self::Check { key, condition: tighten(Some(condition)) },
        }
    }

    pub fn key(&self) -> Key {
        match self {
            Self::Put { item, .. } => item.key(),
            Self::Update { key, .. } | Self::Delete { key, .. } | Self::Check { key, .. } => key.clone(),
        }
    }

    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Self::Put { condition, .. } | Self::Update { condition, .. } | Self::Delete { condition, .. } => {
                condition.as_ref()
            }
            Self::Check { condition, .. } => Some(condition),
        }
    }
}

/// Which key a query walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
}

/// Which sort keys a query wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Any,
    Prefix(String),
    /// Inclusive on both ends.
    Between(String, String),
}

/// A query of one partition in sort-key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub partition: String,
    pub sort: SortKey,
    pub ascending: bool,
    pub limit: usize,
    /// Where the previous page stopped ([`QueryPage::next`]).
    pub after: Option<Value>,
}

impl Query {
    pub fn partition(partition: impl Into<String>) -> Self {
        Self {
            index: Index::Primary,
            partition: partition.into(),
            sort: SortKey::Any,
            ascending: true,
            limit: 100,
            after: None,
        }
    }

    pub fn gsi1(partition: impl Into<String>) -> Self {
        Self { index: Index::Gsi1, ..Self::partition(partition) }
    }

    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sort = SortKey::Prefix(prefix.into());
        self
    }

    pub fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.sort = SortKey::Between(from.into(), to.into());
        self
    }

    pub fn descending(mut self) -> Self {
        self.ascending = false;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub fn after(mut self, after: Option<Value>) -> Self {
        self.after = after;
        self
    }

    /// Whether a sort key is in the query's range.
    pub fn wants(&self, sort_key: &str) -> bool {
        match &self.sort {
            SortKey::Any => true,
            SortKey::Prefix(p) => sort_key.starts_with(p.as_str()),
            SortKey::Between(from, to) => from.as_str() <= sort_key && sort_key <= to.as_str(),
        }
    }
}

/// A page of query results.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    pub items: Vec<Item>,
    /// An opaque position to pass as [`Query::after`] for the next page; `None` at the end.
    pub next: Option<Value>,
}

/// How a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A condition did not hold; for a transaction, `index` names the first failing write.
    #[error("condition failed (write {index:?})")]
    ConditionFailed { index: Option<usize> },
    /// Another transaction touched the same items at the same moment; safe to retry.
    #[error("transaction conflict")]
    Conflict,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl WriteError {
    /// A repository's own error for a write that failed unexpectedly: a lost race (DynamoDB's
    /// `TransactionConflict`) becomes `contention`, anything else a failure of the store.
    pub fn into_domain<E: From<anyhow::Error>>(self, contention: E) -> E {
        match self {
            WriteError::Conflict => contention,
            other => E::from(anyhow::anyhow!(other)),
        }
    }
}

/// One change to an item, as DynamoDB Streams reports it with NEW_AND_OLD_IMAGES.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Position in the stream; strictly increasing.
    pub sequence: i64,
    pub key: Key,
    pub old: Option<Item>,
    pub new: Option<Item>,
}

#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>>;

    /// [`Table::get`], decoded into `record` (`dyn Table`'s `record` calls it); answers
    /// whether the item was found. An adapter that keeps its items as JSON text hands
    /// `record` the text, so the read builds no [`Item`] on the way.
    async fn get_into(&self, key: &Key, record: &mut (dyn Record + Send)) -> anyhow::Result<bool> {
        let Some(item) = self.get(key).await? else { return Ok(false) };
        record.item(item)?;
        Ok(true)
    }

    /// The items that exist, in no particular order.
    async fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>>;

    /// A page of one partition. On the primary key the read is strongly consistent: it sees
    /// every write that succeeded before it (carts before checkout, user items before erasure).
    /// GSI1 can only be read eventually consistent (DynamoDB's rule), so it serves lists where
    /// a write of the last moment may be missing without harm: a category's products, the
    /// category list, the user list, a shopper's order history and a user's refresh tokens
    /// (revocation also deletes each token's own item, which `get` reads consistently).
    async fn query(&self, query: &Query) -> anyhow::Result<QueryPage>;

    async fn write(&self, write: Write) -> Result<(), WriteError>;

    /// All or nothing, at most [`MAX_TRANSACTION_WRITES`] writes, at most one per item.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError>;

    /// An update that answers the item as it is afterwards (atomic counters).
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError>;
}

/// Where [`Table::get_into`] puts the item it read.
pub trait Record {
    /// The item, as the adapter holds it.
    fn item(&mut self, item: Item) -> anyhow::Result<()>;

    /// The item as JSON text (its keys and attributes, as an [`Item`]'s map would serialize).
    fn text(&mut self, key: &Key, json: &str) -> anyhow::Result<()>;
}

/// A record being read.
struct Reading<T>(Option<T>);

impl<T: DeserializeOwned> Record for Reading<T> {
    fn item(&mut self, item: Item) -> anyhow::Result<()> {
        self.0 = Some(item.into_record()?);
        Ok(())
    }

    fn text(&mut self, key: &Key, json: &str) -> anyhow::Result<()> {
        self.0 = Some(serde_json::from_str(json).map_err(|e| anyhow::anyhow!("decoding item {key:?}: {e}"))?);
        Ok(())
    }
}

impl dyn Table + '_ {
    /// The item at `key`, decoded as a `T` ([`Item::decode`]'s rules) by the adapter's
    /// quickest way ([`Table::get_into`]).
    pub async fn record<T: DeserializeOwned + Send>(&self, key: &Key) -> anyhow::Result<Option<T>> {
        let mut reading = Reading(None);
        self.get_into(key, &mut reading).await?;
        Ok(reading.0)
    }
}

/// The table's change stream, for the embedded stack (in AWS, Lambda reads DynamoDB Streams).
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Changes after `sequence`, oldest first, at most `limit`.
    async fn changes_after(&self, sequence: i64, limit: usize) -> anyhow::Result<Vec<Change>>;

    /// Drops the changes up to `through` that were made before `before` (epoch seconds), as a
    /// stream's retention would; answers how many went.
    async fn forget(&self, through: i64, before: i64) -> anyhow::Result<usize>;

    /// Notified after each committed change, when the feed can tell: its reader need not wait
    /// for its next poll.
    fn committed(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}

/// How long the embedded change stream keeps a change its reader has taken: DynamoDB Streams'
/// retention.
pub const STREAM_RETENTION_SECONDS: i64 = 24 * 3600;

/// How often a change that lost a race is read again and tried once more. Every lost race means
/// another change committed (on a product, a sale lowering its stock), so this bounds the work
/// while letting every contender through until what it wants is gone.
pub const ATTEMPTS: usize = 64;

/// Waits before retrying a change that lost a race: nothing the first time, then a random
/// pause under a ceiling that doubles with `attempt` up to 64 ms ("full jitter"), so many
/// contenders for one item spread out instead of colliding again.
pub async fn backoff(attempt: usize) {
    if attempt == 0 {
        tokio::task::yield_now().await;
    } else {
        let ceiling = 2u64 << attempt.min(5);
        tokio::time::sleep(std::time::Duration::from_millis(rand::random::<u64>() % ceiling)).await;
    }
}

/// A read-modify-write until its writes commit: `attempt` reads what it needs, decides, and
/// writes; it answers `Some` once done and `None` when it lost a race (see [`committed`]), and
/// is then run again, after a [`backoff`], at most [`ATTEMPTS`] times in all. `contention`
/// makes the error for a change that lost every time.
pub async fn retrying<T, E, Attempt>(
    contention: impl FnOnce() -> E,
    mut attempt: impl FnMut() -> Attempt,
) -> Result<T, E>
where
    Attempt: std::future::Future<Output = Result<Option<T>, E>>,
{
    for n in 0..ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        backoff(n).await;
    }
    Err(contention())
}

/// Whether writes committed (`true`) or lost a race (`false`: a condition no longer held, or
/// DynamoDB's `TransactionConflict`), for [`retrying`]; other failures stay errors.
pub fn committed(outcome: Result<(), WriteError>) -> Result<bool, WriteError> {
    match outcome {
        Ok(()) => Ok(true),
        Err(WriteError::ConditionFailed { .. } | WriteError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every item `query` finds, page after page (its limit sizes the pages); a page is read only
/// when the items before it are taken, so a caller that stops early reads no further.
pub fn items<'a>(table: &'a dyn Table, query: Query) -> impl futures::Stream<Item = anyhow::Result<Item>> + Send + 'a {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::try_unfold(Some(query), move |query| async move {
        let Some(query) = query else { return anyhow::Ok(None) };
        let page = table.query(&query).await?;
        let next = page.next.map(|after| query.after(Some(after)));
        Ok(Some((futures::stream::iter(page.items).map(Ok), next)))
    })
    .try_flatten()
}

/// The items a page of list rows points at (each row names its target in `attribute`),
/// decoded, in the rows' order: a list row per entity keeps a list to one query and one batch
/// read. Rows whose target is gone are skipped.
pub async fn follow<T: DeserializeOwned>(
    table: &dyn Table,
    rows: &[Item],
    attribute: &str,
    key_of: impl Fn(&str) -> Option<Key>,
) -> anyhow::Result<Vec<T>> {
    let keys: Vec<Key> = rows.iter().filter_map(|row| row.str(attribute).and_then(&key_of)).collect();
    let mut found: std::collections::HashMap<Key, Item> =
        table.batch_get(&keys).await?.into_iter().map(|item| (item.key(), item)).collect();
    keys.iter().filter_map(|key| found.remove(key)).map(|item| item.decode()).collect()
}

/// Checks what both adapters refuse before touching the store.
#[doc(hidden)]
pub fn check_transaction(writes: &[Write]) -> Result<(), WriteError> {
    if writes.is_empty() || writes.len() > MAX_TRANSACTION_WRITES {
        return Err(
            anyhow::anyhow!("a transaction holds 1 to {MAX_TRANSACTION_WRITES} writes, not {}", writes.len()).into()
        );
    }
    let mut keys: Vec<Key> = writes.iter().map(Write::key).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(anyhow::anyhow!("a transaction may touch each item once").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_tighten_and_never_replace() {
        let check = Write::Check { key: Key::new("A", "B"), condition: Condition::Exists }
            .when(Condition::AtLeast("n".into(), 1));
        let both = Condition::And(vec![Condition::Exists, Condition::AtLeast("n".into(), 1)]);
        assert_eq!(check.condition(), Some(&both));
        let create = Write::create(Item::marker(&Key::new("A", "B"))).when(Condition::Exists);
        assert_eq!(create.condition(), Some(&Condition::And(vec![Condition::NotExists, Condition::Exists])));
        assert_eq!(Write::delete(Key::new("A", "B")).when(Condition::Exists).condition(), Some(&Condition::Exists));
    }
}
