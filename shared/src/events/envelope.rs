//! The event as it is stored and travels: the outbox write that records it with its change, and
//! the envelope (id, type, time, detail) the bus hands over.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::{DomainEvent, EventKind};
use crate::keys;
use crate::metrics::{self, PaymentOutcome};
use crate::table::{Item, Write};
use crate::time::Timestamp;

/// How long event items stay in the table once written (the stream has taken them by then).
pub const EVENT_SECONDS: i64 = 24 * 3600;

/// The one way to record an event: the write that puts it in the outbox, to commit in the same
/// transaction as the change it tells of, with a new id and the time now.
pub fn record(event: DomainEvent) -> Write {
    let id = crate::domain::monotonic_ulid();
    let event = Event { event_id: id.to_string(), at: Timestamp::now(), event };
    let item = Item::new(&keys::event(&id), &event).expiring_at(crate::time::epoch_now() + EVENT_SECONDS);
    Write::create(item)
}

/// One domain event as it is stored and travels: its id (a ULID, also its order in time), when
/// the change it tells of was made, and the event itself (its `type` and payload, flattened
/// beside them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: DomainEvent,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.event.kind()
    }

    /// The event a message's body holds.
    pub fn parse(body: &str) -> anyhow::Result<Event> {
        serde_json::from_str(body).map_err(|e| anyhow::anyhow!("a message that does not parse as an event: {e}"))
    }

    fn measure(&self) {
        match &self.event {
            DomainEvent::OrderPlaced(order) => metrics::order_placed(order.total, order.recovered),
            DomainEvent::OrderPaid(_) => metrics::payment(PaymentOutcome::Succeeded),
            DomainEvent::OrderPaymentFailed(_) => metrics::payment(PaymentOutcome::Failed),
            DomainEvent::OrderCancelled(order) => {
                if let Some(reason) = order.reason {
                    metrics::cancellation(reason);
                }
            }
            _ => {}
        }
    }

    /// The event an event item holds (its keys and expiry left behind).
    pub fn from_item(item: &Item) -> anyhow::Result<Event> {
        Published::from_item(item)?.open()
    }

    /// How long ago the change it tells of was made.
    pub fn age(&self) -> std::time::Duration {
        let millis = Timestamp::now().unix_millis().saturating_sub(self.at.unix_millis()).max(0);
        std::time::Duration::from_millis(millis as u64)
    }
}

/// An event as the transport carries it (the publisher, SNS and SQS, the embedded bus): routed
/// by its id and type, its body (the whole event, as JSON) read only by the consumer. An event a
/// consumer cannot read (a newer schema than it knows, a faulty release) so goes to that
/// consumer's dead letters instead of getting lost on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub event_id: String,
    pub kind: EventKind,
    pub body: String,
}

impl Published {
    /// The event a change to the table publishes: an event item coming into existence.
    pub fn by(old: Option<&Item>, new: Option<&Item>) -> Option<Published> {
        match (old, new) {
            (None, Some(item)) if item.key().pk.starts_with(keys::EVENT_PREFIX) => {
                let published = Published::from_item(item);
                published
                    .map_err(|e| tracing::error!(error = format!("{e:#}"), key = ?item.key(), "not published"))
                    .ok()
            }
            _ => None,
        }
    }

    fn from_item(item: &Item) -> anyhow::Result<Published> {
        let mut body = item.0.clone();
        for attribute in [keys::PK, keys::SK, keys::EXPIRES_AT] {
            body.remove(attribute);
        }
        let field = |name: &str| body.get(name).cloned().unwrap_or_default();
        let (event_id, kind) = serde_json::from_value::<String>(field("event_id"))
            .and_then(|id| Ok((id, serde_json::from_value::<EventKind>(field("type"))?)))
            .map_err(|e| anyhow::anyhow!("an event item without an event's id and type: {e}"))?;
        Ok(Published { event_id, kind, body: Value::Object(body).to_string() })
    }

    /// The event, as its consumer reads it.
    pub fn open(&self) -> anyhow::Result<Event> {
        Event::parse(&self.body)
    }

    /// Records the business figures that follow from this event, once it reached the bus (each
    /// committed event is published once).
    pub fn measure(&self) {
        match self.open() {
            Ok(event) => event.measure(),
            Err(e) => tracing::warn!(error = format!("{e:#}"), event_id = self.event_id, "an event not measured"),
        }
    }
}

impl From<&Event> for Published {
    fn from(event: &Event) -> Self {
        let body = serde_json::to_string(event).expect("an event serializes");
        Published { event_id: event.event_id.clone(), kind: event.kind(), body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProductId;
    use crate::events::ProductEvent;
    use crate::table::Key;
    use serde_json::json;

    fn deleted() -> Event {
        let product_id = ProductId::parse("01JD0000000000000000000001").unwrap();
        let event = DomainEvent::ProductDeleted(ProductEvent { product_id, revision: 2, product: None });
        Event { event_id: "01J".into(), at: Timestamp::now(), event }
    }

    fn item(pk: &str) -> Item {
        Item::new(&Key::new(pk, "EVENT"), &deleted()).expiring_at(10)
    }

    #[test]
    fn an_event_travels_as_one_object_with_its_type_beside_its_payload() {
        let event = deleted();
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(
            wire,
            json!({"event_id": "01J", "at": event.at, "type": "ProductDeleted",
                "product_id": "01JD0000000000000000000001", "revision": 2})
        );
        assert_eq!(serde_json::from_value::<Event>(wire).unwrap(), event);
        let mislabelled = json!({"event_id": "01J", "at": event.at, "type": "OrderPlaced", "product_id": "01JD0000000000000000000001", "revision": 2});
        assert!(serde_json::from_value::<Event>(mislabelled).is_err(), "a type with another type's payload");
    }

    #[test]
    fn only_new_event_items_publish_and_a_body_no_consumer_reads_still_travels() {
        let published = Published::by(None, Some(&item("EVENT#01J"))).unwrap();
        let event = published.open().unwrap();
        assert_eq!(event, Event { at: event.at, ..deleted() }, "keys and expiry left out");
        assert_eq!((published.event_id.as_str(), published.kind), ("01J", EventKind::ProductDeleted));
        assert_eq!(Published::by(Some(&item("EVENT#01J")), None), None, "the TTL deleting it");
        assert_eq!(Published::by(Some(&item("EVENT#01J")), Some(&item("EVENT#01J"))), None);
        assert_eq!(Published::by(None, Some(&item("ORDER#01J"))), None);

        let mut unreadable = item("EVENT#01K");
        unreadable.0.remove("revision");
        let published = Published::by(None, Some(&unreadable)).expect("routed by its id and type");
        assert!(published.open().is_err(), "left for the consumer to refuse");
    }
}
