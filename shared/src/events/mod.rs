//! Domain events, from the outbox to the consumers.
//!
//! A state change writes its event as an `EVENT#` item in the transaction that makes the change
//! (the outbox), so no change exists without its event. A publisher reads the table's change
//! stream and hands each new event item to the bus, which fans it out to the queues whose filter
//! names its `type`. A consumer applies its effect once per event: the effect's writes commit in
//! one transaction with a record of the event's id ([`once`]), so a redelivery changes nothing.
//!
//! | | AWS | embedded (local stack) |
//! |---|---|---|
//! | publisher | Lambda on DynamoDB Streams, filtered to `EVENT#` inserts -> SNS, `type` attribute (`shop_sns`) | the SQLite change stream -> `shop_embedded::bus::Bus::pump` |
//! | queues | SQS, subscribed with a filter policy on `type`, redrive to a DLQ | rows in the bus's SQLite file (`shop_embedded::bus`) |
//! | consumers | Lambda on SQS, partial batch responses (`shop_aws::lambda::handle_queue`) | in-process workers with the same retry and dead-letter rules |

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{CancelReason, Money, OrderId, OrderLine, OrderStatus, Product, ProductId, UserId};
use crate::keys;
use crate::metrics::{self, PaymentOutcome};
use crate::table::{Item, Table, Write, WriteError};
use crate::time::Timestamp;

/// What happened: the type of a domain event, its `type` on the wire and the SNS message
/// attribute the queues' filter policies match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    OrderPlaced,
    OrderPaid,
    OrderShipped,
    OrderDelivered,
    OrderCancelled,
    OrderRefunded,
    /// The order's payment failed (declined, or refused at capture); the order stays payable.
    OrderPaymentFailed,
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    StockChanged,
    /// A message waits for its sender (`notifications::MessageQueued`).
    MessageQueued,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        Self::OrderPlaced,
        Self::OrderPaid,
        Self::OrderShipped,
        Self::OrderDelivered,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::OrderPaymentFailed,
        Self::ProductCreated,
        Self::ProductUpdated,
        Self::ProductDeleted,
        Self::StockChanged,
        Self::MessageQueued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "OrderPlaced",
            Self::OrderPaid => "OrderPaid",
            Self::OrderShipped => "OrderShipped",
            Self::OrderDelivered => "OrderDelivered",
            Self::OrderCancelled => "OrderCancelled",
            Self::OrderRefunded => "OrderRefunded",
            Self::OrderPaymentFailed => "OrderPaymentFailed",
            Self::ProductCreated => "ProductCreated",
            Self::ProductUpdated => "ProductUpdated",
            Self::ProductDeleted => "ProductDeleted",
            Self::StockChanged => "StockChanged",
            Self::MessageQueued => "MessageQueued",
        }
    }

    /// The event an order entering `status` writes.
    pub fn entering(status: OrderStatus) -> Self {
        match status {
            OrderStatus::PendingPayment => Self::OrderPlaced,
            OrderStatus::Paid => Self::OrderPaid,
            OrderStatus::Shipped => Self::OrderShipped,
            OrderStatus::Delivered => Self::OrderDelivered,
            OrderStatus::Cancelled => Self::OrderCancelled,
            OrderStatus::Refunded => Self::OrderRefunded,
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long event items stay in the table once written (the stream has taken them by then).
pub const EVENT_SECONDS: i64 = 24 * 3600;

/// The one way to record an event: the write that puts it in the outbox, to commit in the same
/// transaction as the change it tells of. `detail` (a JSON object) gains the event's id, type
/// and time.
pub fn record(kind: EventKind, detail: &impl Serialize) -> Write {
    let id = crate::domain::monotonic_ulid();
    let item = Item::new(&keys::event(&id), detail)
        .with("event_id", id.to_string())
        .with("type", kind.as_str())
        .with("at", serde_json::to_value(Timestamp::now()).expect("a time serializes"))
        .expiring_at(crate::time::epoch_now() + EVENT_SECONDS);
    Write::create(item)
}

/// One domain event as it travels: its id (a ULID, also its order in time), its type, and the
/// rest of the event item ([`OrderEvent`], [`ProductEvent`] or [`StockChanged`], by type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

impl Event {
    /// Records the business figures that follow from this event, once it reached the bus (each
    /// committed event is published once).
    pub fn measure(&self) {
        match self.kind {
            EventKind::OrderPlaced => {
                if let Ok(order) = self.decode::<OrderEvent>() {
                    metrics::order_placed(order.total);
                }
            }
            EventKind::OrderPaid => metrics::payment(PaymentOutcome::Succeeded),
            EventKind::OrderPaymentFailed => metrics::payment(PaymentOutcome::Failed),
            EventKind::OrderCancelled => {
                if let Some(reason) = self.decode::<OrderEvent>().ok().and_then(|order| order.reason) {
                    metrics::cancellation(reason);
                }
            }
            EventKind::StockChanged => {
                if let Ok(changed) = self.decode::<StockChanged>() {
                    metrics::stock_outs(changed.products.iter().filter(|m| m.delta < 0 && m.stock == 0).count());
                }
            }
            _ => {}
        }
    }
}

impl Event {
    /// The event a change to the table publishes: an event item coming into existence.
    pub fn published_by(old: Option<&Item>, new: Option<&Item>) -> Option<Event> {
        match (old, new) {
            (None, Some(item)) if item.key().pk.starts_with(keys::EVENT_PREFIX) => Event::from_item(item),
            _ => None,
        }
    }

    /// The event an event item holds (its keys and expiry left behind).
    pub fn from_item(item: &Item) -> Option<Event> {
        let mut detail = item.0.clone();
        for attribute in [keys::PK, keys::SK, keys::EXPIRES_AT] {
            detail.remove(attribute);
        }
        match serde_json::from_value(Value::Object(detail)) {
            Ok(event) => Some(event),
            Err(e) => {
                tracing::error!(error = %e, key = ?item.key(), "an event item that is not an event");
                None
            }
        }
    }

    /// The event's detail as the schema its type names.
    pub fn decode<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        T::deserialize(&self.detail).map_err(|e| anyhow::anyhow!("a {} event that does not parse: {e}", self.kind))
    }

    /// How long ago the change it tells of was made (`None` for an event without its time).
    pub fn age(&self) -> Option<std::time::Duration> {
        let at = Timestamp::deserialize(self.detail.get("at")?).ok()?;
        let millis = Timestamp::now().unix_millis().saturating_sub(at.unix_millis()).max(0);
        Some(std::time::Duration::from_millis(millis as u64))
    }
}

/// What every order event carries (`OrderPlaced`, `OrderPaid`, `OrderShipped`,
/// `OrderDelivered`, `OrderCancelled`, `OrderRefunded`, `OrderPaymentFailed`): the order as the
/// change left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub at: Timestamp,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    /// The status before, for a change of status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderStatus>,
    pub total: Money,
    pub lines: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// Why, for a cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
}

/// What the catalogue's events carry (`ProductCreated`, `ProductUpdated`, `ProductDeleted`):
/// the product's revision and, unless it was deleted, the product as it now is. A consumer keeps
/// the highest revision it has applied and ignores an event that arrives after a newer one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductEvent {
    pub product_id: ProductId,
    pub revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
}

/// A `StockChanged` event: the products whose stock one transaction moved, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockChanged {
    pub cause: StockCause,
    pub products: Vec<StockMove>,
}

/// One product's stock movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockMove {
    pub product_id: ProductId,
    /// Units added (positive) or taken (negative).
    pub delta: i64,
    /// Units in stock afterwards.
    pub stock: u32,
    /// The product's revision afterwards.
    pub revision: u64,
}

/// Why stock moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StockCause {
    /// Sold in an order.
    Checkout { order_id: OrderId },
    /// Given back by a cancelled (or expired) order.
    Cancellation { order_id: OrderId },
    /// An admin's adjustment (restock, write-off, count correction).
    Adjustment { reason: String },
}

/// A queue of the bus: its name and the event types its subscription lets through.
#[derive(Debug, PartialEq, Eq)]
pub struct Queue {
    pub name: &'static str,
    pub types: &'static [EventKind],
}

impl Queue {
    pub fn accepts(&self, kind: EventKind) -> bool {
        self.types.contains(&kind)
    }
}

/// Order events composed into messages to the shopper (`notifications::OrderNotifications`).
pub const NOTIFICATIONS: Queue = Queue {
    name: "notifications",
    types: &[
        EventKind::OrderPlaced,
        EventKind::OrderPaid,
        EventKind::OrderShipped,
        EventKind::OrderDelivered,
        EventKind::OrderCancelled,
        EventKind::OrderRefunded,
        EventKind::OrderPaymentFailed,
    ],
};

/// Units sold per product, for the back office.
pub const SALES: Queue = Queue { name: "sales", types: &[EventKind::OrderPlaced, EventKind::OrderCancelled] };

/// Refunds of paid orders that were cancelled.
pub const REFUNDS: Queue = Queue { name: "refunds", types: &[EventKind::OrderCancelled] };

/// Messages to send (`notifications::Deliveries`).
pub const DELIVERIES: Queue = Queue { name: "deliveries", types: &[EventKind::MessageQueued] };

/// Product changes for the search index (`search::Indexer`).
pub const SEARCH: Queue = Queue {
    name: "search",
    types: &[EventKind::ProductCreated, EventKind::ProductUpdated, EventKind::ProductDeleted, EventKind::StockChanged],
};

/// Every queue; template.yaml subscribes one SQS queue (with a DLQ) per entry, with these types
/// as its filter policy (a test holds them equal).
pub const QUEUES: [&Queue; 5] = [&NOTIFICATIONS, &SALES, &REFUNDS, &DELIVERIES, &SEARCH];

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
#[tracing::instrument(skip_all, fields(queue = consumer.queue().name, event = %event.kind,
    event_id = %event.event_id, order_id = tracing::field::Empty))]
pub async fn consume(consumer: &dyn Consumer, event: &Event) -> anyhow::Result<()> {
    use futures::FutureExt;
    if let Some(order) = event.detail.get("order_id").and_then(Value::as_str) {
        tracing::Span::current().record("order_id", order);
    }
    let outcome = std::panic::AssertUnwindSafe(consumer.handle(event))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(anyhow::anyhow!("panicked: {}", panic_message(&*panic))));
    metrics::consumed(consumer.queue().name, event.age(), outcome.is_ok());
    outcome
}

/// Runs one worker of the bus until its task is dropped: `round` again and again, pausing
/// `poll` after a round that found nothing to do (answered 0), failed, or panicked (both logged
/// as `what`): a panicking round is a failed one, and the worker goes on with the next.
pub async fn keep_working<F, Fut>(what: &'static str, poll: std::time::Duration, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    use futures::FutureExt;
    loop {
        match std::panic::AssertUnwindSafe(round()).catch_unwind().await {
            Ok(Ok(0)) => tokio::time::sleep(poll).await,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = format!("{e:#}"), "{what} failed; trying again");
                tokio::time::sleep(poll).await;
            }
            Err(panic) => {
                tracing::error!(panic = panic_message(&*panic), "{what} panicked; starting it again");
                tokio::time::sleep(poll).await;
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
        .with("type", event.kind.as_str())
        .expiring_at(crate::time::epoch_now() + PROCESSED_SECONDS);
    let mut writes = vec![Write::create(record)];
    writes.extend(effect);
    match table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(WriteError::ConditionFailed { index: Some(0) }) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("{consumer} applying {} {}: {e}", event.kind, event.event_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Key;
    use serde_json::json;

    fn item(pk: &str) -> Item {
        let mut item = Item::marker(&Key::new(pk, "EVENT"));
        item.0.extend(json!({"type": "OrderPlaced", "event_id": "01J", "order_id": "o"}).as_object().unwrap().clone());
        item.expiring_at(10)
    }

    #[test]
    fn only_new_event_items_publish() {
        let event = Event::published_by(None, Some(&item("EVENT#01J"))).unwrap();
        assert_eq!((event.kind, event.event_id.as_str()), (EventKind::OrderPlaced, "01J"));
        assert_eq!(event.detail, json!({"order_id": "o"}).as_object().unwrap().clone(), "keys and expiry left out");
        assert_eq!(Event::published_by(Some(&item("EVENT#01J")), None), None, "the TTL deleting it");
        assert_eq!(Event::published_by(Some(&item("EVENT#01J")), Some(&item("EVENT#01J"))), None);
        assert_eq!(Event::published_by(None, Some(&item("ORDER#01J"))), None);
    }

    #[test]
    fn the_metrics_label_each_queue_of_the_bus() {
        let mut queues: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
        let mut labelled = crate::metrics::EVENTS_CONSUMED.labels[0].1.to_vec();
        queues.sort();
        labelled.sort();
        assert_eq!(queues, labelled);
    }
}
