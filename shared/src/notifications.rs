//! Order notifications: the `notifications` queue's consumer. Each order event becomes a
//! message to the shopper on every channel their preferences ask for (email, and SMS when they
//! gave a phone number), recorded in their outbox once per (event, channel).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use crate::events::{Consumer, Event, EventKind, NOTIFICATIONS, OrderEvent, Queue};
use crate::keys;
use crate::table::{Item, Table, Write};
use crate::users::Users;

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
