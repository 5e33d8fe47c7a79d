//! What the stack's table requests would cost as DynamoDB on-demand requests: a table that
//! passes every request through and counts the request units DynamoDB charges for it, from the
//! items' sizes (a read unit per 4 KB read, strongly consistent except GSI1's queries, which
//! are eventually consistent and count half; a write unit per 1 KB written, the larger of the
//! item before and after; twice both in a transaction; an item not found still counts one
//! read). The bench's cost model reads these counts (`SHOP_BENCH_ONLY=costs`).
//!
//! An item's size is taken as its JSON's length: DynamoDB counts attribute names and values
//! in bytes, which the JSON overstates a little (quotes, braces), never understates.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use shop::table::{Condition, Index, Item, Key, Query, QueryPage, Table, Update, Write, WriteError};

/// The request units counted so far, by the request's DynamoDB operation, and the items
/// written by the kind of their partition (`EVENT`, `USER`, ...: the key before its first `#`).
#[derive(Debug, Default)]
pub struct Meter {
    used: Mutex<BTreeMap<&'static str, Used>>,
    written: Mutex<BTreeMap<String, u64>>,
}

/// What one operation's requests used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Used {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

impl Meter {
    /// What was used since the last [`Meter::reset`], by operation.
    pub fn used(&self) -> BTreeMap<&'static str, Used> {
        self.used.lock().expect("not poisoned").clone()
    }

    /// Items written (put, updated or deleted) since the last [`Meter::reset`], by the kind of
    /// their partition: each is a record on the table's stream.
    pub fn written(&self) -> BTreeMap<String, u64> {
        self.written.lock().expect("not poisoned").clone()
    }

    pub fn reset(&self) {
        self.used.lock().expect("not poisoned").clear();
        self.written.lock().expect("not poisoned").clear();
    }

    /// Counts the writes that change an item (a condition check changes none).
    fn wrote<'a>(&self, writes: impl IntoIterator<Item = &'a Write>) {
        let mut written = self.written.lock().expect("not poisoned");
        for write in writes.into_iter().filter(|w| !matches!(w, Write::Check { .. })) {
            let key = write.key();
            *written.entry(key.pk.split('#').next().unwrap_or_default().to_owned()).or_default() += 1;
        }
    }

    fn count(&self, operation: &'static str, read_units: f64, write_units: f64) {
        let mut used = self.used.lock().expect("not poisoned");
        let used = used.entry(operation).or_default();
        used.requests += 1;
        used.read_units += read_units;
        used.write_units += write_units;
    }
}

/// `table`, its requests counted by `meter`.
pub fn metered(table: Arc<dyn Table>, meter: Arc<Meter>) -> Arc<dyn Table> {
    Arc::new(Metered { inner: table, meter })
}

struct Metered {
    inner: Arc<dyn Table>,
    meter: Arc<Meter>,
}

fn size(item: &Item) -> usize {
    serde_json::to_vec(&item.0).map_or(0, |json| json.len())
}

/// Units of `unit` bytes for `bytes`, at least one.
fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

impl Metered {
    async fn size_of(&self, key: &Key) -> usize {
        self.inner.get(key).await.ok().flatten().as_ref().map_or(0, size)
    }

    /// The (read, write) units of `write` outside a transaction, from the item's size before
    /// and after it. A condition check reads its item; DynamoDB takes one only in a transaction.
    async fn units_of(&self, write: &Write, before: usize) -> (f64, f64) {
        let after = match write {
            Write::Put { item, .. } => size(item),
            Write::Update { key, .. } => self.size_of(key).await,
            Write::Delete { .. } => 0,
            Write::Check { .. } => return (units(before, 4096), 0.0),
        };
        (0.0, units(before.max(after), 1024))
    }
}

#[async_trait]
impl Table for Metered {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        let item = self.inner.get(key).await?;
        self.meter.count("GetItem", units(item.as_ref().map_or(0, size), 4096), 0.0);
        Ok(item)
    }

    async fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>> {
        let items = self.inner.batch_get(keys).await?;
        let found: f64 = items.iter().map(|i| units(size(i), 4096)).sum();
        self.meter.count("BatchGetItem", found + (keys.len() - items.len()) as f64, 0.0);
        Ok(items)
    }

    async fn query(&self, query: &Query) -> anyhow::Result<QueryPage> {
        let page = self.inner.query(query).await?;
        let read = units(page.items.iter().map(size).sum(), 4096);
        let consistency = if query.index == Index::Primary { 1.0 } else { 0.5 };
        self.meter.count("Query", read * consistency, 0.0);
        Ok(page)
    }

    async fn write(&self, write: Write) -> Result<(), WriteError> {
        let operation = match &write {
            Write::Put { .. } => "PutItem",
            Write::Update { .. } => "UpdateItem",
            Write::Delete { .. } => "DeleteItem",
            Write::Check { .. } => "TransactWriteItems",
        };
        let before = self.size_of(&write.key()).await;
        let outcome = self.inner.write(write.clone()).await;
        if outcome.is_ok() {
            self.meter.wrote([&write]);
        }
        let factor = if operation == "TransactWriteItems" { 2.0 } else { 1.0 };
        let (read, written) = self.units_of(&write, before).await;
        self.meter.count(operation, factor * read, factor * written);
        outcome
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        let mut before = Vec::with_capacity(writes.len());
        for write in &writes {
            before.push(self.size_of(&write.key()).await);
        }
        let outcome = self.inner.transact(writes.clone()).await;
        if outcome.is_ok() {
            self.meter.wrote(&writes);
        }
        let (mut read, mut written) = (0.0, 0.0);
        for (write, before) in writes.iter().zip(before) {
            let (r, w) = self.units_of(write, before).await;
            (read, written) = (read + 2.0 * r, written + 2.0 * w);
        }
        self.meter.count("TransactWriteItems", read, written);
        outcome
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        let before = self.size_of(key).await;
        let write = Write::Update { key: key.clone(), update: update.clone(), condition: condition.clone() };
        let outcome = self.inner.update(key, update, condition).await;
        if outcome.is_ok() {
            self.meter.wrote([&write]);
        }
        let after = outcome.as_ref().map_or(0, size);
        self.meter.count("UpdateItem", 0.0, units(before.max(after), 1024));
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop::table::Query;
    use shop_embedded::sqlite::SqliteTable;

    /// An item of about `bytes` bytes under `pk`/`sk`, in GSI1's partition `G`.
    fn item(pk: &str, sk: &str, bytes: usize) -> Item {
        Item::new(&Key::new(pk, sk), &serde_json::json!({"pad": "x".repeat(bytes), "GSI1PK": "G", "GSI1SK": sk}))
    }

    #[tokio::test]
    async fn units_are_counted_as_dynamodb_charges_them() {
        let dir = tempfile::tempdir().unwrap();
        let meter = Arc::new(Meter::default());
        let table = metered(Arc::new(SqliteTable::open(&dir.path().join("t.db")).unwrap()), meter.clone());
        let used = |operation: &str| meter.used()[operation];

        table.write(Write::put(item("EVENT#1", "E", 2_500))).await.unwrap();
        assert_eq!(used("PutItem").write_units, 3.0, "a write unit per KB begun");
        table.get(&Key::new("EVENT#1", "E")).await.unwrap();
        table.get(&Key::new("EVENT#2", "E")).await.unwrap();
        assert_eq!((used("GetItem").requests, used("GetItem").read_units), (2, 2.0), "one read unit even for nothing");

        let small = [item("USER#1", "A", 100), item("USER#1", "B", 100)];
        let check = Write::Check { key: Key::new("EVENT#1", "E"), condition: Condition::Exists };
        table.transact(small.iter().cloned().map(Write::put).chain([check]).collect()).await.unwrap();
        let transaction = used("TransactWriteItems");
        assert_eq!(transaction.write_units, 4.0, "twice in a transaction");
        assert_eq!(transaction.read_units, 2.0, "a condition check reads its item, twice in a transaction");
        let page = Query::partition("USER#1");
        table.query(&page).await.unwrap();
        table.query(&Query::gsi1("G")).await.unwrap();
        assert_eq!(used("Query").read_units, 1.5, "a page under 4 KB; GSI1 reads half, eventually consistent");
        assert_eq!(meter.written(), BTreeMap::from([("EVENT".to_owned(), 1), ("USER".to_owned(), 2)]));

        meter.reset();
        assert!(meter.used().is_empty() && meter.written().is_empty());
    }
}
