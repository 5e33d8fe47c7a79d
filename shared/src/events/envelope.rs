//! The event as it is stored and travels: the outbox write that records it with its change, and
//! the envelope (id, type, time, detail) the bus hands over.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{EventKind, OrderEvent, StockChanged};
use crate::keys;
use crate::metrics::{self, PaymentOutcome};
use crate::table::{Item, Write};
use crate::time::Timestamp;

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
}
