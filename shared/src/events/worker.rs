//! Handing events to their consumers: the consumer port, the one place that delivers an event to
//! a consumer (and measures it), the workers' loop, and applying an effect once per event.

use async_trait::async_trait;

use super::envelope::Event;
use super::queues::Queue;
use crate::keys;
use crate::metrics;
use crate::table::{Item, Table, Write, WriteError};

/// What a queue feeds: an effect applied once per event.
#[async_trait]
pub trait Consumer: Send + Sync {
    fn queue(&self) -> &'static Queue;

    /// Applies the event's effect. An error means "try again later"; after the queue's receive
    /// limit the event goes to its dead-letter queue.
    async fn handle(&self, event: &Event) -> anyhow::Result<()>;
}

/// Hands `event` to `consumer`, as both buses do (the embedded one and Lambda's SQS batches):
/// a panic fails this event only, and the event's lag and outcome are measured. What the
/// consumer logs carries the queue, the event's id and type, and the order it is about.
#[tracing::instrument(skip_all, fields(queue = consumer.queue().name, event = %event.kind(),
    event_id = %event.event_id, order_id = tracing::field::Empty))]
pub async fn consume(consumer: &dyn Consumer, event: &Event) -> anyhow::Result<()> {
    use futures::FutureExt;
    if let Some(order) = event.event.order() {
        tracing::Span::current().record("order_id", tracing::field::display(order.order_id));
    }
    // A consumer is handed only the types its queue's subscription names (SQS's filter policy
    // and the embedded bus already see to it): any other is none of its business.
    if !consumer.queue().accepts(event.kind()) {
        tracing::warn!("an event of a type the queue does not take: skipped");
        return Ok(());
    }
    let outcome = std::panic::AssertUnwindSafe(consumer.handle(event))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(anyhow::anyhow!("panicked: {}", panic_message(&*panic))));
    metrics::consumed(consumer.queue().name, event.age(), outcome.is_ok());
    outcome
}

/// Hands a message's body (the whole event, as [`Published`](super::Published) carries it) to
/// `consumer`: a body that is not an event fails like any other (and so, past the queue's
/// receive limit, becomes a dead letter).
pub async fn deliver(consumer: &dyn Consumer, body: &str) -> anyhow::Result<()> {
    consume(consumer, &Event::parse(body)?).await
}

/// How an idle worker waits: `poll` at most, and no longer once `wake` is notified (work may
/// have arrived: the table committed a change, the bus queued a message).
#[derive(Clone)]
pub struct Idle {
    poll: std::time::Duration,
    wake: Option<std::sync::Arc<tokio::sync::Notify>>,
}

impl Idle {
    /// Looks again every `poll` (a queue in AWS, which tells no one).
    pub fn polling(poll: std::time::Duration) -> Self {
        Self { poll, wake: None }
    }

    /// Looks again when `wake` is notified, and every `poll` in any case.
    pub fn woken_by(wake: std::sync::Arc<tokio::sync::Notify>, poll: std::time::Duration) -> Self {
        Self { poll, wake: Some(wake) }
    }

    async fn wait(&self) {
        match &self.wake {
            Some(wake) => {
                let _ = tokio::time::timeout(self.poll, wake.notified()).await;
            }
            None => tokio::time::sleep(self.poll).await,
        }
    }
}

/// Runs one worker of the bus until its task is dropped: `round` again and again, waiting as
/// `idle` says after a round that found nothing to do (answered 0), and its whole poll after one
/// that failed or panicked (both logged as `what`): a panicking round is a failed one, and the
/// worker goes on with the next.
pub async fn keep_working<F, Fut>(what: &'static str, idle: Idle, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    use futures::FutureExt;
    loop {
        match std::panic::AssertUnwindSafe(round()).catch_unwind().await {
            Ok(Ok(0)) => idle.wait().await,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = format!("{e:#}"), "{what} failed; trying again");
                tokio::time::sleep(idle.poll).await;
            }
            Err(panic) => {
                tracing::error!(panic = panic_message(&*panic), "{what} panicked; starting it again");
                tokio::time::sleep(idle.poll).await;
            }
        }
    }
}

/// What a caught panic said.
#[doc(hidden)]
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// How long a consumer's record of an applied event is kept: longer than any queue keeps a
/// message (SQS at most 14 days), so no redelivery can outlive it.
pub const PROCESSED_SECONDS: i64 = 15 * 24 * 3600;

/// Commits `effect` together with the record that `consumer` applied `event`, unless that
/// record exists: answers whether the effect was applied now (false: it was applied before).
pub async fn once(table: &dyn Table, consumer: &str, event: &Event, effect: Vec<Write>) -> anyhow::Result<bool> {
    let record = Item::marker(&keys::processed(consumer, &event.event_id))
        .with("type", event.kind().as_str())
        .expiring_at(crate::time::epoch_now() + PROCESSED_SECONDS);
    let mut writes = vec![Write::create(record)];
    writes.extend(effect);
    match table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(WriteError::ConditionFailed { index: Some(0) }) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("{consumer} applying {} {}: {e}", event.kind(), event.event_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{DomainEvent, EventKind, SALES};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A consumer of the sales queue that counts what it is handed.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    #[async_trait]
    impl Consumer for Counting {
        fn queue(&self) -> &'static Queue {
            &SALES
        }

        async fn handle(&self, _: &Event) -> anyhow::Result<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn event(kind: EventKind) -> Event {
        Event { event_id: "01J".into(), at: crate::time::Timestamp::now(), event: DomainEvent::example(kind) }
    }

    #[tokio::test]
    async fn a_consumer_is_handed_only_the_types_its_queue_takes() {
        let consumer = Counting::default();
        consume(&consumer, &event(EventKind::MessageQueued)).await.unwrap();
        consume(&consumer, &event(EventKind::OrderShipped)).await.unwrap();
        assert_eq!(consumer.0.load(Ordering::SeqCst), 0);
        consume(&consumer, &event(EventKind::OrderPlaced)).await.unwrap();
        assert_eq!(consumer.0.load(Ordering::SeqCst), 1);
    }
}
