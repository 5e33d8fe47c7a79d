//! The embedded bus: SNS and SQS's jobs for the local stack, persisted in one SQLite file.
//!
//! [`Bus::pump`] reads the table's change stream after the bus's cursor and, in one SQLite
//! transaction, adds a message per (queue, event) for every queue whose filter takes the event
//! and moves the cursor past what it read: a crash before the commit reads the same changes
//! again, a crash after it never reads them twice, and a (queue, event) pair is stored once
//! whatever happens. Consumers receive messages as from SQS: a receive counts and hides the
//! message for a while; success deletes it; a failure makes it visible again after a backoff,
//! and the receive that reaches the limit moves it to the queue's dead letters, from which
//! [`Bus::redrive`] sends it back. A restart makes every message that was in flight visible
//! again at once (only this process consumes the bus); the consumers' own once-per-event
//! records keep a redelivered message from applying its effect twice.

use std::path::Path;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use shop::events::{Consumer, Published, QUEUES, Queue};
use shop::table::ChangeFeed;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    queue TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    receives INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL DEFAULT 0,
    dead_at INTEGER,
    last_error TEXT,
    PRIMARY KEY (queue, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at) WHERE dead_at IS NULL;
";

/// The most messages one receive hands a consumer (an SQS batch).
const BATCH: usize = 10;

/// Workers per queue, each receiving and handling batches on its own, as Lambda's SQS poller
/// starts with five batches at a time. One wakes another when its receive came back full, so a
/// backlog is drained by all of them and a trickle by one.
const WORKERS: usize = 5;

/// The queues' delivery rules (SQS's redrive policy and visibility timeout).
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// Receives before a failing message becomes a dead letter (SQS `maxReceiveCount`).
    pub max_receives: u32,
    /// How long a received message stays hidden while its consumer works.
    pub visibility: Duration,
    /// The wait after the first failure; it doubles with each further failure.
    pub retry_after: Duration,
    /// How often an idle worker looks for new changes or messages.
    pub poll: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            max_receives: 5,
            visibility: Duration::from_secs(60),
            retry_after: Duration::from_secs(1),
            poll: Duration::from_millis(100),
        }
    }
}

/// A message received from a queue.
#[derive(Debug, Clone)]
pub struct Message {
    pub event_id: String,
    /// The event, as JSON ([`Published`]).
    pub body: String,
    /// How many times it has been received, this time included.
    pub receives: u32,
}

/// A message that ran out of receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub queue: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub receives: u32,
    pub error: Option<String>,
    /// When it became a dead letter, milliseconds since the epoch.
    pub dead_at: i64,
}

/// The query for up to `max` visible messages of queue `?1` at time `?2`, oldest first. The
/// limit is part of the text: SQLite plans with a bound LIMIT's value, so binding one would
/// compile the statement again at every receive.
fn visible(max: usize) -> String {
    format!(
        "SELECT event_id, body, receives FROM messages
         WHERE queue = ?1 AND dead_at IS NULL AND visible_at <= ?2 ORDER BY visible_at, event_id LIMIT {max}"
    )
}

/// The bus over its SQLite file.
pub struct Bus {
    conn: Mutex<Connection>,
    delivery: Delivery,
    /// One per queue of [`QUEUES`], in its order: notified when messages were put on it.
    queued: Vec<Arc<tokio::sync::Notify>>,
    /// When the pump last dropped published changes past the stream's retention.
    trimmed: Mutex<Option<std::time::Instant>>,
}

fn now_ms() -> i64 {
    (shop::time::now().unix_timestamp_nanos() / 1_000_000) as i64
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Bus {
    /// Opens (creating if needed) the bus in the file at `path`.
    pub fn open(path: &Path, delivery: Delivery) -> anyhow::Result<Self> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // As the table's file: a killed process loses nothing committed.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA).context("creating the bus schema")?;
        let queued = QUEUES.iter().map(|_| Arc::default()).collect();
        Ok(Self { conn: Mutex::new(conn), delivery, queued, trimmed: Mutex::default() })
    }

    /// The bus as the process that consumes it opens it: whatever was in flight when the last
    /// process stopped is visible again now.
    pub fn open_for_consuming(path: &Path, delivery: Delivery) -> anyhow::Result<Self> {
        let bus = Self::open(path, delivery)?;
        bus.conn().execute("UPDATE messages SET visible_at = 0 WHERE dead_at IS NULL", [])?;
        Ok(bus)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the table's new changes onto the queues; answers how many changes it read (0: up
    /// to date). Once a minute it also lets the feed drop what it published more than the
    /// stream's retention ago; nothing unpublished is ever dropped.
    pub async fn pump(self: &Arc<Self>, feed: &dyn ChangeFeed) -> anyhow::Result<usize> {
        let cursor = self
            .blocking(|bus| {
                Ok(bus.conn().query_row("SELECT seq FROM cursor", [], |r| r.get(0)).optional()?.unwrap_or(0))
            })
            .await?;
        let due = {
            let mut trimmed = self.trimmed.lock().unwrap_or_else(|p| p.into_inner());
            let due = trimmed.is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
            if due {
                *trimmed = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            let before = shop::time::epoch_now() - shop::table::STREAM_RETENTION_SECONDS;
            feed.forget(cursor, before).await?;
        }
        let changes = feed.changes_after(cursor, 500).await?;
        if changes.is_empty() {
            return Ok(0);
        }
        self.blocking(move |bus| bus.enqueue(&changes)).await
    }

    /// Puts the events among `changes` on the queues that take them, and moves the cursor past
    /// them, in one SQLite transaction; answers how many changes it read.
    fn enqueue(&self, changes: &[shop::table::Change]) -> anyhow::Result<usize> {
        let Some(last) = changes.last().map(|c| c.sequence) else { return Ok(0) };
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another pump may have moved the cursor meanwhile: take only what is still ahead of it.
        let at: i64 = tx.query_row("SELECT seq FROM cursor", [], |r| r.get(0)).optional()?.unwrap_or(0);
        let ahead = changes.iter().filter(|c| c.sequence > at);
        let events: Vec<Published> =
            ahead.clone().filter_map(|c| Published::by(c.old.as_ref(), c.new.as_ref())).collect();
        let sold_out = ahead.map(|c| shop::catalog::sold_out(c.old.as_ref(), c.new.as_ref())).sum();
        let mut queued = vec![false; QUEUES.len()];
        for event in &events {
            for (i, queue) in QUEUES.iter().enumerate().filter(|(_, q)| q.accepts(event.kind)) {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO messages (queue, event_id, type, body) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![queue.name, event.event_id, event.kind.as_str(), event.body])?;
                queued[i] = true;
            }
        }
        tx.execute(
            "INSERT INTO cursor (id, seq) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET seq = max(seq, ?1)",
            [last],
        )?;
        tx.commit()?;
        for (wake, _) in self.queued.iter().zip(queued).filter(|(_, queued)| *queued) {
            wake.notify_one();
        }
        events.iter().for_each(Published::measure);
        shop::metrics::stock_outs(sold_out);
        Ok(changes.len())
    }

    /// Receives up to `max` visible messages of `queue`, hiding them for the visibility timeout.
    pub fn receive(&self, queue: &Queue, max: usize) -> anyhow::Result<Vec<Message>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        let rows: Vec<(String, String, u32)> = tx
            .prepare_cached(&visible(max))?
            .query_map(params![queue.name, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut messages = Vec::with_capacity(rows.len());
        for (event_id, body, receives) in rows {
            tx.prepare_cached(
                "UPDATE messages SET receives = receives + 1, visible_at = ?3 WHERE queue = ?1 AND event_id = ?2",
            )?
            .execute(params![queue.name, event_id, now + millis(self.delivery.visibility)])?;
            messages.push(Message { event_id, body, receives: receives + 1 });
        }
        tx.commit()?;
        Ok(messages)
    }

    /// The consumer applied these messages: they leave the queue.
    pub fn delete(&self, queue: &Queue, event_ids: &[String]) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for event_id in event_ids {
            tx.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND event_id = ?2")?
                .execute(params![queue.name, event_id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The consumer failed: the message comes back after a backoff, or, out of receives,
    /// becomes a dead letter.
    pub fn failed(&self, queue: &Queue, message: &Message, error: &str) -> anyhow::Result<()> {
        let now = now_ms();
        let (visible_at, dead_at) = if message.receives >= self.delivery.max_receives {
            (now, Some(now))
        } else {
            let backoff = self.delivery.retry_after.saturating_mul(1 << (message.receives - 1).min(10));
            (now + millis(backoff.min(self.delivery.visibility)), None)
        };
        self.conn().execute(
            "UPDATE messages SET visible_at = ?3, dead_at = ?4, last_error = ?5 WHERE queue = ?1 AND event_id = ?2",
            params![queue.name, message.event_id, visible_at, dead_at, error],
        )?;
        if dead_at.is_some() {
            shop::metrics::dead_lettered(queue.name);
        }
        Ok(())
    }

    /// How many messages are still to be consumed, on every queue (waiting or in flight; dead
    /// letters aside).
    pub fn pending(&self) -> anyhow::Result<usize> {
        let n: i64 = self.conn().query_row("SELECT count(*) FROM messages WHERE dead_at IS NULL", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// The dead letters of one queue, or of all, oldest first.
    pub fn dead_letters(&self, queue: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT queue, event_id, type, receives, last_error, dead_at FROM messages
             WHERE dead_at IS NOT NULL AND (?1 IS NULL OR queue = ?1) ORDER BY dead_at, event_id",
        )?;
        let letters = statement
            .query_map([queue], |r| {
                Ok(DeadLetter {
                    queue: r.get(0)?,
                    event_id: r.get(1)?,
                    kind: r.get(2)?,
                    receives: r.get(3)?,
                    error: r.get(4)?,
                    dead_at: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(letters)
    }

    /// Sends the dead letters of one queue, or of all, back to their queues with a fresh
    /// receive count; answers how many.
    pub fn redrive(&self, queue: Option<&str>) -> anyhow::Result<usize> {
        let moved = self.conn().execute(
            "UPDATE messages SET dead_at = NULL, receives = 0, visible_at = 0
             WHERE dead_at IS NOT NULL AND (?1 IS NULL OR queue = ?1)",
            [queue],
        )?;
        self.queued.iter().for_each(|wake| wake.notify_one());
        Ok(moved)
    }

    /// Runs SQLite work on the blocking pool, off the threads that serve requests.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Bus) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let bus = self.clone();
        tokio::task::spawn_blocking(move || work(&bus)).await?
    }

    /// Delivers `queue`'s visible messages to `consumer` until none is left; answers how many
    /// it handled. The messages of one receive (up to ten, as an SQS batch) are handed over
    /// together, each on its own: the consumers apply each event once, in whatever order.
    pub async fn drain(self: &Arc<Self>, consumer: &dyn Consumer) -> anyhow::Result<usize> {
        let queue = consumer.queue();
        let mut handled = 0;
        loop {
            let messages = self.blocking(move |bus| bus.receive(queue, BATCH)).await?;
            if messages.is_empty() {
                return Ok(handled);
            }
            if messages.len() == BATCH {
                // A full batch: there may be more, for another of the queue's workers.
                self.queued[QUEUES.iter().position(|q| *q == queue).expect("one of QUEUES")].notify_one();
            }
            let outcomes =
                futures::future::join_all(messages.iter().map(|m| shop::events::deliver(consumer, &m.body))).await;
            let mut done = Vec::with_capacity(messages.len());
            for (message, outcome) in messages.iter().zip(outcomes) {
                match outcome {
                    Ok(()) => done.push(message.event_id.as_str()),
                    Err(e) => {
                        tracing::warn!(
                            queue = queue.name, event_id = %message.event_id, receives = message.receives,
                            error = format!("{e:#}"), "a consumer failed; the message will come back"
                        );
                        let (message, error) = (message.clone(), format!("{e:#}"));
                        self.blocking(move |bus| bus.failed(queue, &message, &error)).await?;
                    }
                }
                handled += 1;
            }
            let done: Vec<String> = done.into_iter().map(str::to_owned).collect();
            self.blocking(move |bus| bus.delete(queue, &done)).await?;
        }
    }

    /// Runs the publisher and every consumer until the task is dropped: the local stack's
    /// stream-to-SNS-to-SQS-to-Lambda, in-process.
    pub async fn run(self: Arc<Self>, feed: Arc<dyn ChangeFeed>, consumers: Vec<Arc<dyn Consumer>>) {
        use shop::events::{Idle, keep_working};
        let poll = self.delivery.poll;
        let mut workers = tokio::task::JoinSet::new();
        let bus = self.clone();
        // Each worker looks again as soon as there may be work, and every poll in any case (a
        // failed message's backoff ends unannounced).
        let changes = feed.committed().map_or(Idle::polling(poll), |wake| Idle::woken_by(wake, poll));
        workers.spawn(keep_working("publishing events", changes, move || {
            let (bus, feed) = (bus.clone(), feed.clone());
            async move { bus.pump(&*feed).await }
        }));
        for consumer in consumers {
            let queue = QUEUES.iter().position(|q| *q == consumer.queue()).expect("a consumer drains one of QUEUES");
            for _ in 0..WORKERS {
                let (bus, consumer) = (self.clone(), consumer.clone());
                let messages = Idle::woken_by(self.queued[queue].clone(), poll);
                workers.spawn(keep_working("consuming events", messages, move || {
                    let (bus, consumer) = (bus.clone(), consumer.clone());
                    async move { bus.drain(&*consumer).await }
                }));
            }
        }
        while workers.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteTable;
    use async_trait::async_trait;
    use shop::events::{DomainEvent, Event, EventKind, NOTIFICATIONS, SALES};
    use shop::table::{Item, Key, Table, Write};
    use shop::time::Timestamp;
    use std::sync::atomic::{AtomicUsize, Ordering};

    impl Bus {
        /// Messages waiting (not dead) on `queue`, in flight or not.
        fn depth(&self, queue: &Queue) -> anyhow::Result<usize> {
            let n: i64 = self.conn().query_row(
                "SELECT count(*) FROM messages WHERE queue = ?1 AND dead_at IS NULL",
                [queue.name],
                |r| r.get(0),
            )?;
            Ok(n as usize)
        }
    }

    /// A table and a bus in a fresh folder, removed when the first value is dropped.
    fn world() -> (tempfile::TempDir, SqliteTable, Arc<Bus>) {
        let dir = tempfile::tempdir().unwrap();
        let table = SqliteTable::open(&dir.path().join("shop.db")).unwrap();
        let bus = Arc::new(Bus::open(&dir.path().join("bus.db"), FAST).unwrap());
        (dir, table, bus)
    }

    const FAST: Delivery = Delivery {
        max_receives: 3,
        visibility: Duration::from_secs(30),
        retry_after: Duration::ZERO,
        poll: Duration::from_millis(10),
    };

    async fn emit(table: &SqliteTable, id: &str, kind: EventKind) {
        let event = Event { event_id: id.into(), at: Timestamp::now(), event: DomainEvent::example(kind) };
        let item = Item::new(&Key::new(format!("EVENT#{id}"), "EVENT"), &event);
        table.write(Write::create(item)).await.unwrap();
    }

    /// Fails its first `failures` deliveries, then counts the events it was given.
    struct Flaky {
        failures: AtomicUsize,
        seen: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Consumer for Flaky {
        fn queue(&self) -> &'static Queue {
            &SALES
        }
        async fn handle(&self, event: &Event) -> anyhow::Result<()> {
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                anyhow::bail!("not now");
            }
            self.seen.lock().unwrap().push(event.event_id.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn each_event_reaches_each_queue_that_takes_its_type_once() {
        let (_dir, table, bus) = world();
        emit(&table, "01A", EventKind::OrderPlaced).await;
        emit(&table, "01B", EventKind::OrderShipped).await;
        table.write(Write::put(Item::marker(&Key::new("ORDER#1", "ORDER")))).await.unwrap();
        assert_eq!(bus.pump(&table).await.unwrap(), 3);
        assert_eq!(bus.pump(&table).await.unwrap(), 0, "the cursor moved past them");
        assert_eq!((bus.depth(&NOTIFICATIONS).unwrap(), bus.depth(&SALES).unwrap()), (2, 1));
        // A second bus reading the same changes (a crash before the cursor was saved) adds nothing.
        bus.conn().execute("UPDATE cursor SET seq = 0", []).unwrap();
        bus.pump(&table).await.unwrap();
        assert_eq!((bus.depth(&NOTIFICATIONS).unwrap(), bus.depth(&SALES).unwrap()), (2, 1));
        let got: Vec<String> = bus.receive(&SALES, 10).unwrap().into_iter().map(|m| m.event_id).collect();
        assert_eq!(got, ["01A"]);
        assert!(bus.receive(&SALES, 10).unwrap().is_empty(), "hidden while in flight");
    }

    #[tokio::test]
    async fn a_receive_reuses_its_compiled_query() {
        let (_dir, table, bus) = world();
        emit(&table, "01A", EventKind::OrderPlaced).await;
        bus.pump(&table).await.unwrap();
        for queue in [&SALES, &NOTIFICATIONS, &SALES] {
            bus.receive(queue, BATCH).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let conn = bus.conn();
        let query = conn.prepare_cached(&visible(BATCH)).unwrap();
        assert_eq!(query.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    #[tokio::test]
    async fn failures_retry_then_dead_letter_and_redrive() {
        let (_dir, table, bus) = world();
        emit(&table, "01A", EventKind::OrderPlaced).await;
        bus.pump(&table).await.unwrap();
        let flaky = Flaky { failures: AtomicUsize::new(2), seen: Mutex::default() };
        assert_eq!(bus.drain(&flaky).await.unwrap(), 3, "two failures, then success");
        assert_eq!(*flaky.seen.lock().unwrap(), ["01A"]);
        assert_eq!(bus.depth(&SALES).unwrap(), 0);

        emit(&table, "01B", EventKind::OrderPlaced).await;
        bus.pump(&table).await.unwrap();
        let broken = Flaky { failures: AtomicUsize::new(usize::MAX), seen: Mutex::default() };
        assert_eq!(bus.drain(&broken).await.unwrap(), 3, "three receives, the limit");
        let dead = bus.dead_letters(None).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].event_id.as_str(), dead[0].kind.as_str(), dead[0].receives), ("01B", "OrderPlaced", 3));
        assert_eq!(dead[0].error.as_deref(), Some("not now"));
        assert!(bus.receive(&SALES, 10).unwrap().is_empty(), "a dead letter is not delivered");

        assert_eq!(bus.redrive(Some("notifications")).unwrap(), 0);
        assert_eq!(bus.redrive(Some("sales")).unwrap(), 1);
        assert!(bus.dead_letters(None).unwrap().is_empty());
        assert_eq!(bus.drain(&flaky).await.unwrap(), 1);
        assert_eq!(*flaky.seen.lock().unwrap(), ["01A", "01B"]);
    }

    /// Panics once, then applies every event.
    struct Panicky {
        panicked: AtomicUsize,
        seen: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Consumer for Panicky {
        fn queue(&self) -> &'static Queue {
            &SALES
        }

        async fn handle(&self, event: &Event) -> anyhow::Result<()> {
            if self.panicked.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a bug in a consumer");
            }
            self.seen.lock().unwrap().push(event.event_id.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_panicking_consumer_fails_its_message_and_its_worker_goes_on() {
        let (_dir, table, bus) = world();
        let consumer = Arc::new(Panicky { panicked: AtomicUsize::new(0), seen: Mutex::default() });
        let feed: Arc<dyn ChangeFeed> = Arc::new(table.clone());
        let running = tokio::spawn(bus.clone().run(feed, vec![consumer.clone()]));
        emit(&table, "01P", EventKind::OrderPlaced).await;
        emit(&table, "01Q", EventKind::OrderPlaced).await;
        for _ in 0..200 {
            if consumer.seen.lock().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        running.abort();
        let mut seen = consumer.seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, ["01P", "01Q"], "the panic failed one delivery, not the worker");
        assert!(bus.dead_letters(None).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_restart_delivers_what_was_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let table = SqliteTable::open(&dir.path().join("shop.db")).unwrap();
        emit(&table, "01A", EventKind::OrderPlaced).await;
        {
            let bus = Arc::new(Bus::open_for_consuming(&dir.path().join("bus.db"), FAST).unwrap());
            bus.pump(&table).await.unwrap();
            assert_eq!(bus.receive(&SALES, 10).unwrap().len(), 1);
            // The process dies here, before the consumer answers.
        }
        let bus = Arc::new(Bus::open_for_consuming(&dir.path().join("bus.db"), FAST).unwrap());
        let again = bus.receive(&SALES, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receives, 2, "the lost receive still counts");
    }

    #[tokio::test]
    async fn published_changes_outlive_the_retention_only_and_unpublished_ones_stay() {
        let (dir, table, bus) = world();
        emit(&table, "01A", EventKind::OrderPlaced).await;
        emit(&table, "01B", EventKind::OrderPlaced).await;
        bus.pump(&table).await.unwrap();
        emit(&table, "01C", EventKind::OrderPlaced).await;
        // Two days pass for every change; only the first two have been published.
        let raw = Connection::open(dir.path().join("shop.db")).unwrap();
        raw.execute("UPDATE changes SET at = at - 2 * 86400", []).unwrap();
        *bus.trimmed.lock().unwrap() = None;
        bus.pump(&table).await.unwrap();
        let left: Vec<String> = raw
            .prepare("SELECT pk FROM changes ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, ["EVENT#01C"], "the published ones went; the unpublished one was published, not lost");
        assert_eq!(bus.depth(&SALES).unwrap(), 3);
    }
}
