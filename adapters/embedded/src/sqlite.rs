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
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use shop::table::{
    Change, ChangeFeed, Condition, GSI1PK, GSI1SK, Index, Item, Key, PK, Query, QueryPage, Record, SK, SortKey, Table,
    Update, Write, WriteError,
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

/// The SQLite adapter of [`Table`] and [`ChangeFeed`]. SQLite's calls block, so queries run
/// on tokio's blocking pool and writes on the writer's own thread, never on a runtime thread
/// that serves requests; only a read of one item by its key runs in place (see `body`).
///
/// The writer commits in groups: the writes waiting when it begins a transaction go into it
/// together, each under a savepoint of its own (a refused one takes back only itself), and
/// each is answered once that transaction is committed. Concurrent writers cost one commit,
/// not one each, and none waits on a lock another thread holds while it waits for a core.
#[derive(Clone)]
pub struct SqliteTable {
    store: Arc<Store>,
}

/// The connections: one writer (SQLite writes one transaction at a time), on its thread, and
/// a few readers.
struct Store {
    writer: std::sync::mpsc::Sender<Task>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Notified after each commit that recorded changes.
    committed: Arc<tokio::sync::Notify>,
}

impl SqliteTable {
    /// Opens (creating if needed) the table in the file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Self { store: Arc::new(Store::open(path)?) })
    }

    /// The text of the item at `key`: on the calling thread when a reader is free, else on
    /// the blocking pool. Such a read takes microseconds (the file is mapped, so its hot pages
    /// are in memory); handing it to another thread and back costs more than the read.
    async fn body(&self, key: &Key) -> anyhow::Result<Option<String>> {
        if let Some(reader) = self.store.free_reader() {
            return load_text(&reader, key);
        }
        let key = key.clone();
        self.blocking(move |s| load_text(&s.reader(), &key)).await
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

    /// Runs `work` on the writer's thread, in the transaction of the group it joins: what it
    /// did is kept when it answers `Ok` and taken back otherwise, and its answer comes once
    /// the group is committed.
    async fn writing<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, WriteError> + Send + 'static,
    ) -> Result<T, WriteError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move |conn| {
            let outcome = work(conn);
            let keep = outcome.is_ok();
            let finish = move |committed: Result<(), String>| {
                let _ = answer.send(match committed {
                    Err(e) if keep => Err(anyhow::anyhow!("committing a write: {e}").into()),
                    _ => outcome,
                });
            };
            (keep, Box::new(finish))
        });
        self.store.writer.send(task).map_err(|_| anyhow::anyhow!("the table's writer has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the write was not applied: see the writer's error").into())
            .and_then(|a| a)
    }

    /// Deletes expired items, as DynamoDB's TTL sweeper does; answers how many went.
    pub async fn purge_expired(&self) -> anyhow::Result<usize> {
        Ok(self.writing(|conn| purge_expired(conn).map_err(WriteError::from)).await?)
    }
}

/// A write for the writer's thread: it runs in the group's transaction and answers whether to
/// keep what it did, and what to do once the group's commit is known.
type Task = Box<dyn FnOnce(&Connection) -> (bool, Box<dyn FnOnce(Result<(), String>) + Send>) + Send>;

/// The most writes one commit takes.
const GROUP: usize = 256;

/// The writer's thread: takes the writes waiting, applies them in one transaction, each under
/// its own savepoint, commits, and answers them; until the table is dropped.
fn write_in_groups(conn: Connection, tasks: std::sync::mpsc::Receiver<Task>, committed: Arc<tokio::sync::Notify>) {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    while let Ok(first) = tasks.recv() {
        let group: Vec<Task> =
            std::iter::once(first).chain(std::iter::from_fn(|| tasks.try_recv().ok())).take(GROUP).collect();
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropped unanswered: each caller hears that its write was not applied.
            tracing::error!(error = %e, writes = group.len(), "the table could not begin a transaction");
            continue;
        }
        let mut finishing = Vec::with_capacity(group.len());
        let mut kept = false;
        let mut outcome = Ok(());
        for task in group {
            let ran = conn.execute_batch("SAVEPOINT write").map_err(|e| e.to_string()).and_then(|()| {
                catch_unwind(AssertUnwindSafe(|| task(&conn))).map_err(|_| "a write panicked".to_owned())
            });
            let keep = matches!(ran, Ok((true, _)));
            if let Err(e) = &ran {
                // Dropped unanswered, as above.
                tracing::error!(error = %e, "a write could not run");
            }
            let end = if keep { "RELEASE write" } else { "ROLLBACK TO write; RELEASE write" };
            if let Err(e) = conn.execute_batch(end) {
                // What a refused write left could not be taken back: none of the group is kept.
                outcome = Err(format!("ending a write's savepoint: {e}"));
            }
            kept |= keep;
            if let Ok((_, finish)) = ran {
                finishing.push(finish);
            }
        }
        let outcome = outcome.and_then(|()| conn.execute_batch("COMMIT").map_err(|e| e.to_string()));
        if outcome.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        } else if kept {
            committed.notify_one();
        }
        for finish in finishing {
            finish(outcome.clone());
        }
    }
}

fn purge_expired(conn: &Connection) -> anyhow::Result<usize> {
    let expired: Vec<(String, String, String)> = conn
        .prepare("SELECT pk, sk, body FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1")?
        .query_map([epoch_now()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (pk, sk, body) in &expired {
        conn.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk])?;
        conn.execute(
            "INSERT INTO changes (pk, sk, old, new, at) VALUES (?1, ?2, ?3, NULL, ?4)",
            params![pk, sk, body, epoch_now()],
        )?;
    }
    Ok(expired.len())
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
        let committed = Arc::new(tokio::sync::Notify::new());
        let (tasks, queue) = std::sync::mpsc::channel();
        let notify = committed.clone();
        std::thread::Builder::new()
            .name("table-writer".into())
            .spawn(move || write_in_groups(writer, queue, notify))?;
        Ok(Self { writer: tasks, readers, next_reader: AtomicUsize::new(0), committed })
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader no other thread holds, if there is one.
    fn free_reader(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        (0..self.readers.len()).find_map(|n| match self.readers[(first + n) % self.readers.len()].try_lock() {
            Ok(reader) => Some(reader),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        })
    }
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL lets readers run beside the writer; NORMAL sync survives a killed process.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Pages are read through a map of the file: a connection's own page cache starts empty
    // again after every other connection's write, and reading the file then costs a system
    // call per page.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(conn)
}

/// How much of the file a connection maps (SQLite's limit is its build's, 2 GiB here).
const MMAP_BYTES: i64 = 1 << 30;

fn parse_item(body: &str) -> rusqlite::Result<Item> {
    match serde_json::from_str(body) {
        Ok(Value::Object(map)) => Ok(Item(map)),
        _ => Err(rusqlite::Error::InvalidColumnType(0, "body".into(), rusqlite::types::Type::Text)),
    }
}

fn load(conn: &Connection, key: &Key) -> rusqlite::Result<Option<Item>> {
    load_with(conn, key, parse_item)
}

/// The item at `key` as its row holds it, unless it has expired.
fn load_text(conn: &Connection, key: &Key) -> anyhow::Result<Option<String>> {
    load_with(conn, key, |body| Ok(body.to_owned())).with_context(|| format!("reading {key:?}"))
}

fn load_with<T>(
    conn: &Connection,
    key: &Key,
    read: impl FnOnce(&str) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached("SELECT body FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)")?
        .query_row(params![key.pk, key.sk, epoch_now()], |row| read(row.get_ref(0)?.as_str()?))
        .optional()
}

/// An item as its row's `body` holds it.
fn body(item: &Item) -> String {
    serde_json::to_string(&item.0).expect("a JSON map serializes")
}

/// Stores `item`, whose JSON text is `body`.
fn store(conn: &Connection, item: &Item, body: &str) -> rusqlite::Result<()> {
    let key = item.key();
    let gsi = item.gsi1();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, gsi1pk, gsi1sk, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key.pk,
        key.sk,
        gsi.as_ref().map(|g| &g.pk),
        gsi.as_ref().map(|g| &g.sk),
        item.expires_at(),
        body
    ])?;
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
    // The stored text is kept for the change's old image, and the new item is written once
    // for both its row and its change: a product is a few kilobytes of JSON.
    let (old, current) = load_with(conn, &key, |text| Ok((text.to_owned(), parse_item(text)?)))?.unzip();
    if let Some(condition) = write.condition()
        && !condition.holds(current.as_ref())
    {
        return Ok(Applied::Refused);
    }
    let next = match write {
        Write::Put { item, .. } => Some(item.clone()),
        Write::Update { update, .. } => Some(update.apply(&key, current)),
        Write::Delete { .. } => None,
        Write::Check { .. } => return Ok(Applied::Done(current)),
    };
    let new = next.as_ref().map(body);
    match next.as_ref().zip(new.as_deref()) {
        Some((item, text)) => store(conn, item, text)?,
        // Also removes an expired item the sweeper has not reached yet.
        None => {
            conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")?.execute(params![key.pk, key.sk])?;
        }
    }
    if old.is_some() || new.is_some() {
        conn.prepare_cached("INSERT INTO changes (pk, sk, old, new, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![key.pk, key.sk, old, new, epoch_now()])?;
    }
    Ok(Applied::Done(next))
}

/// Applies the writes, all or none (the caller's savepoint takes back what a refusal leaves);
/// answers the last write's item. A failing condition names its write's index when the writes
/// came as a transaction.
fn run(conn: &Connection, writes: &[Write], transaction: bool) -> Result<Option<Item>, WriteError> {
    let mut last = None;
    for (index, write) in writes.iter().enumerate() {
        match apply(conn, write)? {
            Applied::Refused => return Err(WriteError::ConditionFailed { index: transaction.then_some(index) }),
            Applied::Done(item) => last = item,
        }
    }
    Ok(last)
}

impl Store {
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
        // The limit is in the text, as a bound one would compile the statement at every call.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT seq, pk, sk, old, new FROM changes WHERE seq > ?1 ORDER BY seq LIMIT {limit}"
        ))?;
        let rows = stmt.query_map(params![sequence], |row| {
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
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        let Some(body) = self.body(key).await? else { return Ok(None) };
        Ok(Some(parse_item(&body).with_context(|| format!("reading {key:?}"))?))
    }

    /// The row's text, decoded straight into the record.
    async fn get_into(&self, key: &Key, record: &mut (dyn Record + Send)) -> anyhow::Result<bool> {
        let Some(body) = self.body(key).await? else { return Ok(false) };
        record.text(key, &body)?;
        Ok(true)
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
        self.writing(move |conn| run(conn, std::slice::from_ref(&write), false).map(|_| ())).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        shop::table::check_transaction(&writes)?;
        self.writing(move |conn| run(conn, &writes, true).map(|_| ())).await
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        let write = Write::Update { key: key.clone(), update, condition };
        let key = key.clone();
        self.writing(move |conn| run(conn, std::slice::from_ref(&write), false))
            .await?
            .ok_or_else(|| anyhow::anyhow!("the updated item {key:?} is gone").into())
    }
}

#[async_trait]
impl ChangeFeed for SqliteTable {
    async fn changes_after(&self, sequence: i64, limit: usize) -> anyhow::Result<Vec<Change>> {
        self.blocking(move |s| s.changes_after(sequence, limit)).await
    }

    async fn forget(&self, through: i64, before: i64) -> anyhow::Result<usize> {
        let forget = move |conn: &Connection| {
            conn.execute("DELETE FROM changes WHERE seq <= ?1 AND coalesce(at, 0) < ?2", params![through, before])
                .map_err(|e| WriteError::from(anyhow::Error::from(e)))
        };
        Ok(self.writing(forget).await?)
    }

    fn committed(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(self.store.committed.clone())
    }
}
