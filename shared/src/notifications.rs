//! Order notifications: the `notifications` queue's consumer. Each order event becomes a
//! message to the shopper on every channel their preferences ask for (email, and SMS when they
//! gave a phone number), recorded in their outbox once per (event, channel).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::UserId;
use crate::events::{Consumer, Event, EventKind, NOTIFICATIONS, OrderEvent, Queue};
use crate::keys;
use crate::table::{Item, Query, Table, Write};
use crate::time::Timestamp;
use crate::users::Users;

/// Where a message is on its way to its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Written, not yet handed to a provider (every message is, until sending is built).
    #[default]
    Queued,
    /// Accepted by the provider.
    Sent,
    /// Refused by the provider after retries.
    Failed,
    /// Not sent: the preference is off, or the address bounced or opted out.
    Suppressed,
}

/// A message as its recipient sees it in their list. A one-time code is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    /// What it tells: an order event (`OrderPaid`...) or an account code (`confirm`, `reset`).
    pub kind: String,
    /// `email` or `sms`.
    pub channel: String,
    /// The address or number it goes to.
    pub to: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub status: DeliveryStatus,
    pub created_at: Timestamp,
    #[serde(default)]
    pub sent_at: Option<Timestamp>,
}

impl Notification {
    /// The message a stored record holds; its id is the last part of its sort key.
    fn from_item(item: &Item) -> anyhow::Result<Self> {
        let key = item.key();
        let id = key.sk.rsplit('#').next().unwrap_or_default();
        let mut record = item.0.clone();
        record.insert("id".into(), Value::from(id));
        Ok(serde_json::from_value(Value::Object(record))?)
    }
}

/// `user`'s messages, newest first: a page of at most `limit`, and where the next one starts.
pub async fn list(
    table: &dyn Table,
    user: &UserId,
    limit: usize,
    after: Option<Value>,
) -> anyhow::Result<(Vec<Notification>, Option<Value>)> {
    let query = Query::partition(keys::user_partition(user)).prefix(keys::NOTIFICATION_PREFIX);
    let page = table.query(&query.descending().limit(limit).after(after)).await?;
    let messages = page.items.iter().map(Notification::from_item).collect::<anyhow::Result<_>>()?;
    Ok((messages, page.next))
}

/// The consumer that tells shoppers what happened to their orders.
#[derive(Clone)]
pub struct OrderNotifications {
    table: Arc<dyn Table>,
    users: Users,
}

impl OrderNotifications {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { users: Users::new(table.clone()), table }
    }
}

/// The subject and text of an order event's message; None for an event shoppers do not hear of.
fn message(kind: EventKind, event: &OrderEvent) -> Option<(String, String)> {
    let order = &event.order_id;
    Some(match kind {
        EventKind::OrderPlaced => (
            format!("Order {order} received"),
            format!("Thank you: we have your order {order} for {}. It ships once paid.", event.total),
        ),
        EventKind::OrderPaid => {
            (format!("Order {order} paid"), format!("We have your payment of {} for order {order}.", event.total))
        }
        EventKind::OrderShipped => (
            format!("Order {order} shipped"),
            match &event.tracking_number {
                Some(tracking) => format!("Order {order} is on its way; tracking number {tracking}."),
                None => format!("Order {order} is on its way."),
            },
        ),
        EventKind::OrderDelivered => (format!("Order {order} delivered"), format!("Order {order} has been delivered.")),
        EventKind::OrderCancelled => (format!("Order {order} cancelled"), format!("Order {order} has been cancelled.")),
        EventKind::OrderRefunded => {
            (format!("Order {order} refunded"), format!("We have refunded {} for order {order}.", event.total))
        }
        _ => return None,
    })
}

#[async_trait]
impl Consumer for OrderNotifications {
    fn queue(&self) -> &'static Queue {
        &NOTIFICATIONS
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        if !NOTIFICATIONS.accepts(event.kind) {
            return Ok(());
        }
        let order: OrderEvent = event.decode()?;
        let Some((subject, text)) = message(event.kind, &order) else { return Ok(()) };
        // A deleted account hears nothing more.
        let Some(user) = self.users.get(&order.user_id).await? else { return Ok(()) };
        let mut to = Vec::new();
        if user.preferences.email {
            to.push(("email", user.email.to_string()));
        }
        if let (true, Some(phone)) = (user.preferences.sms, &user.phone) {
            to.push(("sms", phone.as_str().to_owned()));
        }
        let writes = to
            .into_iter()
            .map(|(channel, address)| {
                let key = keys::notification(&user.id, &order.at.sort_key(), &format!("{}-{channel}", event.event_id));
                let record = json!({
                    "kind": event.kind, "channel": channel, "to": address, "subject": subject, "text": text,
                    "order_id": order.order_id, "event_id": event.event_id, "created_at": order.at,
                });
                Write::put(Item::new(&key, &record))
            })
            .collect();
        crate::events::once(&*self.table, NOTIFICATIONS.name, event, writes).await?;
        Ok(())
    }
}
