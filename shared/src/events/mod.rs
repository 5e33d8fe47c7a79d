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
//! | publisher | Lambda on DynamoDB Streams, filtered to `EVENT#` inserts -> SNS, `type` attribute ([`aws`]) | the SQLite change stream -> [`bus::Bus::pump`] |
//! | queues | SQS, subscribed with a filter policy on `type`, redrive to a DLQ | rows in the bus's SQLite file ([`bus`]) |
//! | consumers | Lambda on SQS, partial batch responses ([`aws::handle_queue`]) | in-process workers with the same retry and dead-letter rules |

pub mod aws;
pub mod bus;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::keys;
use crate::table::{Item, Table, Write, WriteError};

/// One domain event as it travels: its id (a ULID, also its order in time), its type, and the
/// rest of the event item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub detail: Map<String, Value>,
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

    /// The whole event as the type its kind describes.
    pub fn decode<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        let value = serde_json::to_value(self)?;
        serde_json::from_value(value).map_err(|e| anyhow::anyhow!("a {} event that does not parse: {e}", self.kind))
    }
}

/// A queue of the bus: its name and the event types its subscription lets through.
#[derive(Debug, PartialEq, Eq)]
pub struct Queue {
    pub name: &'static str,
    pub types: &'static [&'static str],
}

impl Queue {
    pub fn accepts(&self, kind: &str) -> bool {
        self.types.contains(&kind)
    }
}

/// Order notifications to the shopper (email now; SMS by preference).
pub const NOTIFICATIONS: Queue = Queue {
    name: "notifications",
    types: &["OrderPlaced", "OrderPaid", "OrderShipped", "OrderDelivered", "OrderCancelled"],
};

/// Units sold per product, for the back office.
pub const SALES: Queue = Queue { name: "sales", types: &["OrderPlaced", "OrderCancelled"] };

/// Every queue; template.yaml subscribes one SQS queue (with a DLQ) per entry, with these types
/// as its filter policy (a test holds them equal).
pub const QUEUES: [&Queue; 2] = [&NOTIFICATIONS, &SALES];

/// What a queue feeds: an effect applied once per event.
#[async_trait]
pub trait Consumer: Send + Sync {
    fn queue(&self) -> &'static Queue;

    /// Applies the event's effect. An error means "try again later"; after the queue's receive
    /// limit the event goes to its dead-letter queue.
    async fn handle(&self, event: &Event) -> anyhow::Result<()>;
}

/// Runs one worker of the bus until its task is dropped: `round` again and again, pausing
/// `poll` after a round that found nothing to do (answered 0) or failed (logged as `what`).
pub async fn keep_working<F, Fut>(what: &'static str, poll: std::time::Duration, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    loop {
        match round().await {
            Ok(0) => tokio::time::sleep(poll).await,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "{what} failed; trying again");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// How long a consumer's record of an applied event is kept: longer than any queue keeps a
/// message (SQS at most 14 days), so no redelivery can outlive it.
pub const PROCESSED_SECONDS: i64 = 15 * 24 * 3600;

/// Commits `effect` together with the record that `consumer` applied `event`, unless that
/// record exists: answers whether the effect was applied now (false: it was applied before).
pub async fn once(table: &dyn Table, consumer: &str, event: &Event, effect: Vec<Write>) -> anyhow::Result<bool> {
    let record = Item::marker(&keys::processed(consumer, &event.event_id))
        .with("type", event.kind.clone())
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
        assert_eq!((event.kind.as_str(), event.event_id.as_str()), ("OrderPlaced", "01J"));
        assert_eq!(event.detail, json!({"order_id": "o"}).as_object().unwrap().clone(), "keys and expiry left out");
        assert_eq!(Event::published_by(Some(&item("EVENT#01J")), None), None, "the TTL deleting it");
        assert_eq!(Event::published_by(Some(&item("EVENT#01J")), Some(&item("EVENT#01J"))), None);
        assert_eq!(Event::published_by(None, Some(&item("ORDER#01J"))), None);
    }

    #[test]
    fn queues_take_only_types_that_are_written() {
        use crate::domain::OrderStatus;
        let written: Vec<&str> = OrderStatus::ALL.into_iter().map(OrderStatus::event).collect();
        for queue in QUEUES {
            assert!(!queue.types.is_empty(), "{queue:?}");
            assert!(queue.types.iter().all(|t| written.contains(t)), "{queue:?} waits for a type nothing writes");
        }
        assert!(SALES.accepts("OrderPlaced") && !SALES.accepts("OrderShipped"));
    }
}
