//! The embedded table: one SQLite file. Items are JSON documents with their key columns beside
//! them; GSI1 is a partial index. Every write runs in an IMMEDIATE transaction, which makes
//! conditions atomic, and records its change in the `changes` table in that same transaction:
//! the change stream cannot miss or invent a write.

use shop::time::epoch_now;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};

use shop::table::{
    Change, ChangeFeed, Condition, GSI1PK, GSI1SK, Index, Item, Key, PK, Query, QueryPage, SK, SortKey, Table, Update,
    Write, WriteError,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    expires_at INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    old TEXT,
    new TEXT,
    at INTEGER
);
";

const READERS: usize = 4;

/// The SQLite adapter of [`Table`] and [`ChangeFeed`]. SQLite's calls block, so each one runs on
/// tokio's blocking pool, never on a runtime thread that serves requests.
#[derive(Clone)]
pub struct SqliteTable {
    store: Arc<Store>,
}

/// The connections: one writer (SQLite writes one transaction at a time) and a few readers.
struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteTable {
    /// Opens (creating if needed) the table in the file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Self { store: Arc::new(Store::open(path)?) })
    }

    /// Runs `work` on the blocking pool.
    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce(&Store) -> T + Send + 'static) -> T {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(answer) => answer,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down, and the task awaiting this with it.
            Err(_) => std::future::pending().await,
        }
    }

    /// Deletes expired items, as DynamoDB's TTL sweeper does; answers how many went.
    pub async fn purge_expired(&self) -> anyhow::Result<usize> {
        self.blocking(Store::purge_expired).await
    }
}

impl Store {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let writer = connect(path).with_context(|| format!("opening {}", path.display()))?;
        writer.execute_batch(SCHEMA).context("creating the schema")?;
        // Files made before changes carried their time.
        if !writer.prepare("SELECT 1 FROM pragma_table_info('changes') WHERE name = 'at'")?.exists([])? {
            writer.execute("ALTER TABLE changes ADD COLUMN at INTEGER", [])?;
        }
        let readers = (0..READERS).map(|_| connect(path).map(Mutex::new)).collect::<anyhow::Result<_>>()?;
        Ok(Self { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) })
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn purge_expired(&self) -> anyhow::Result<usize> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let expired: Vec<(String, String, String)> = tx
            .prepare("SELECT pk, sk, body FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1")?
            .query_map([epoch_now()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (pk, sk, body) in &expired {
            tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk])?;
            tx.execute(
                "INSERT INTO changes (pk, sk, old, new, at) VALUES (?1, ?2, ?3, NULL, ?4)",
                params![pk, sk, body, epoch_now()],
            )?;
        }
        tx.commit()?;
        Ok(expired.len())
    }
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL lets readers run beside the writer; NORMAL sync survives a killed process.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn parse_item(body: &str) -> rusqlite::Result<Item> {
    match serde_json::from_str(body) {
        Ok(Value::Object(map)) => Ok(Item(map)),
        _ => Err(rusqlite::Error::InvalidColumnType(0, "body".into(), rusqlite::types::Type::Text)),
    }
}

fn load(conn: &Connection, key: &Key) -> rusqlite::Result<Option<Item>> {
    conn.prepare_cached("SELECT body FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)")?
        .query_row(params![key.pk, key.sk, epoch_now()], |row| parse_item(row.get_ref(0)?.as_str()?))
        .optional()
}

fn store(conn: &Connection, item: &Item) -> rusqlite::Result<()> {
    let key = item.key();
    let gsi = item.gsi1();
    conn.execute(
        "INSERT OR REPLACE INTO items (pk, sk, gsi1pk, gsi1sk, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key.pk,
            key.sk,
            gsi.as_ref().map(|g| &g.pk),
            gsi.as_ref().map(|g| &g.sk),
            item.expires_at(),
            Value::Object(item.0.clone()).to_string()
        ],
    )?;
    Ok(())
}

/// What one write did inside an open transaction.
enum Applied {
    /// Its condition did not hold; nothing changed.
    Refused,
    /// The item as it is now (`None`: absent).
    Done(Option<Item>),
}

fn apply(conn: &Connection, write: &Write) -> anyhow::Result<Applied> {
    let key = write.key();
    if key.pk.is_empty() || key.sk.is_empty() {
        anyhow::bail!("an item needs a non-empty PK and SK");
    }
    let current = load(conn, &key)?;
    if let Some(condition) = write.condition()
        && !condition.holds(current.as_ref())
    {
        return Ok(Applied::Refused);
    }
    let next = match write {
        Write::Put { item, .. } => Some(item.clone()),
        Write::Update { update, .. } => Some(update.apply(&key, current.clone())),
        Write::Delete { .. } => None,
        Write::Check { .. } => return Ok(Applied::Done(current)),
    };
    match &next {
        Some(item) => store(conn, item)?,
        // Also removes an expired item the sweeper has not reached yet.
        None => {
            conn.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![key.pk, key.sk])?;
        }
    }
    if current.is_some() || next.is_some() {
        let image = |item: &Option<Item>| item.as_ref().map(|i| Value::Object(i.0.clone()).to_string());
        conn.execute(
            "INSERT INTO changes (pk, sk, old, new, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key.pk, key.sk, image(&current), image(&next), epoch_now()],
        )?;
    }
    Ok(Applied::Done(next))
}

impl Store {
    /// Applies the writes in one transaction, all or none; answers the last write's item.
    /// A failing condition names its write's index when the writes came as a transaction.
    fn run(&self, writes: &[Write], transaction: bool) -> Result<Option<Item>, WriteError> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context("beginning a write")?;
        let mut last = None;
        for (index, write) in writes.iter().enumerate() {
            match apply(&tx, write)? {
                Applied::Refused => return Err(WriteError::ConditionFailed { index: transaction.then_some(index) }),
                Applied::Done(item) => last = item,
            }
        }
        tx.commit().context("committing a write")?;
        Ok(last)
    }
}

impl Store {
    fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        load(&self.reader(), key).with_context(|| format!("reading {key:?}"))
    }

    fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>> {
        let conn = self.reader();
        let mut items = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(item) = load(&conn, key)? {
                items.push(item);
            }
        }
        Ok(items)
    }

    fn query(&self, query: &Query) -> anyhow::Result<QueryPage> {
        let (pcol, scol) = match query.index {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let (cmp, order) = if query.ascending { (">", "ASC") } else { ("<", "DESC") };
        let mut sql = format!("SELECT body FROM items WHERE {pcol} = ?1 AND (expires_at IS NULL OR expires_at > ?2)");
        let mut args: Vec<Value> = vec![query.partition.clone().into(), epoch_now().into()];
        let mut arg = |sql: &mut String, clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        match &query.sort {
            SortKey::Any => {}
            SortKey::Prefix(p) => {
                arg(&mut sql, &format!(" AND {scol} >= ?"), p.clone().into());
                arg(&mut sql, &format!(" AND {scol} < ?"), format!("{p}\u{10FFFF}").into());
            }
            SortKey::Between(from, to) => {
                arg(&mut sql, &format!(" AND {scol} >= ?"), from.clone().into());
                arg(&mut sql, &format!(" AND {scol} <= ?"), to.clone().into());
            }
        }
        if let Some(after) = &query.after {
            let s = |name: &str| after.get(name).and_then(Value::as_str).map(str::to_owned);
            let bad = || anyhow::anyhow!("a query position must hold the item's keys");
            match query.index {
                Index::Primary => arg(&mut sql, &format!(" AND sk {cmp} ?"), s(SK).ok_or_else(bad)?.into()),
                Index::Gsi1 => {
                    let (g, p, k) = (s(GSI1SK).ok_or_else(bad)?, s(PK).ok_or_else(bad)?, s(SK).ok_or_else(bad)?);
                    arg(&mut sql, &format!(" AND (gsi1sk, pk, sk) {cmp} (?"), g.into());
                    arg(&mut sql, ", ?", p.into());
                    arg(&mut sql, ", ?)", k.into());
                }
            }
        }
        match query.index {
            Index::Primary => sql.push_str(&format!(" ORDER BY sk {order}")),
            Index::Gsi1 => sql.push_str(&format!(" ORDER BY gsi1sk {order}, pk {order}, sk {order}")),
        }
        sql.push_str(&format!(" LIMIT {}", query.limit + 1));
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&sql)?;
        let params: Vec<rusqlite::types::Value> = args
            .into_iter()
            .map(|v| match v {
                Value::Number(n) => rusqlite::types::Value::Integer(n.as_i64().unwrap_or_default()),
                Value::String(s) => rusqlite::types::Value::Text(s),
                _ => rusqlite::types::Value::Null,
            })
            .collect();
        let mut items: Vec<Item> = stmt
            .query_map(rusqlite::params_from_iter(params), |row| parse_item(&row.get::<_, String>(0)?))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("querying {}", query.partition))?;
        let next = if items.len() > query.limit {
            items.truncate(query.limit);
            items.last().map(|last| position(last, query.index))
        } else {
            None
        };
        Ok(QueryPage { items, next })
    }

    fn write(&self, write: Write) -> Result<(), WriteError> {
        self.run(std::slice::from_ref(&write), false).map(|_| ())
    }

    fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        shop::table::check_transaction(&writes)?;
        self.run(&writes, true).map(|_| ())
    }

    fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        let write = Write::Update { key: key.clone(), update, condition };
        self.run(std::slice::from_ref(&write), false)?
            .ok_or_else(|| anyhow::anyhow!("the updated item {key:?} is gone").into())
    }
}

/// The keys that locate an item in an index, as DynamoDB's LastEvaluatedKey holds them.
pub(crate) fn position(item: &Item, index: Index) -> Value {
    let mut pos = json!({ PK: item.str(PK), SK: item.str(SK) });
    if index == Index::Gsi1 {
        pos[GSI1PK] = item.str(GSI1PK).into();
        pos[GSI1SK] = item.str(GSI1SK).into();
    }
    pos
}

impl Store {
    fn changes_after(&self, sequence: i64, limit: usize) -> anyhow::Result<Vec<Change>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached("SELECT seq, pk, sk, old, new FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![sequence, limit as i64], |row| {
            let image = |i: usize| -> rusqlite::Result<Option<Item>> {
                row.get::<_, Option<String>>(i)?.map(|b| parse_item(&b)).transpose()
            };
            Ok(Change {
                sequence: row.get(0)?,
                key: Key::new(row.get::<_, String>(1)?, row.get::<_, String>(2)?),
                old: image(3)?,
                new: image(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn forget(&self, through: i64, before: i64) -> anyhow::Result<usize> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let gone =
            conn.execute("DELETE FROM changes WHERE seq <= ?1 AND coalesce(at, 0) < ?2", params![through, before])?;
        Ok(gone)
    }
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        let key = key.clone();
        self.blocking(move |s| s.get(&key)).await
    }

    async fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>> {
        let keys = keys.to_vec();
        self.blocking(move |s| s.batch_get(&keys)).await
    }

    async fn query(&self, query: &Query) -> anyhow::Result<QueryPage> {
        let query = query.clone();
        self.blocking(move |s| s.query(&query)).await
    }

    async fn write(&self, write: Write) -> Result<(), WriteError> {
        self.blocking(move |s| s.write(write)).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        self.blocking(move |s| s.transact(writes)).await
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        let key = key.clone();
        self.blocking(move |s| s.update(&key, update, condition)).await
    }
}

#[async_trait]
impl ChangeFeed for SqliteTable {
    async fn changes_after(&self, sequence: i64, limit: usize) -> anyhow::Result<Vec<Change>> {
        self.blocking(move |s| s.changes_after(sequence, limit)).await
    }

    async fn forget(&self, through: i64, before: i64) -> anyhow::Result<usize> {
        self.blocking(move |s| s.forget(through, before)).await
    }
}
