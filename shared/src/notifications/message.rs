//! A message as stored under its recipient, and as they see it in their list.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Channel, DeliveryStatus};
use crate::domain::{OrderId, UserId};
use crate::events::{DomainEvent, MessageQueued};
use crate::keys;
use crate::table::{Item, Key, Query, Table, Write};
use crate::time::Timestamp;

/// A message as stored under its recipient: what is sent, and how its sending went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub user_id: UserId,
    /// What it tells: an order event's type, or an account code's purpose.
    pub kind: String,
    pub channel: Channel,
    pub to: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub status: DeliveryStatus,
    pub created_at: Timestamp,
    #[serde(default)]
    pub sent_at: Option<Timestamp>,
    /// The provider's id for it, once sent.
    #[serde(default)]
    pub provider_id: Option<String>,
    /// Why it failed or was suppressed.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// A one-time code. The text and HTML hold only [`CODE_SLOT`] where it goes: it is filled
    /// in as the message is handed to its sender and removed from the record once sent, so no
    /// stored copy (an export, a backup, the list) ever holds a live code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Where a message's one-time code goes in its stored text and HTML.
pub const CODE_SLOT: &str = "{one-time code}";

impl Message {
    /// A message waiting to be sent, its words still to be written.
    pub fn new(user_id: &UserId, kind: &str, channel: Channel, to: &str) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            user_id: user_id.clone(),
            kind: kind.into(),
            channel,
            to: to.into(),
            subject: None,
            text: String::new(),
            html: None,
            status: DeliveryStatus::Queued,
            created_at: Timestamp::now(),
            sent_at: None,
            provider_id: None,
            reason: None,
            attempts: 0,
            order_id: None,
            code: None,
        }
    }

    /// The text and HTML as sent: the code, if any, in its slot.
    pub fn filled(&self) -> (String, Option<String>) {
        let fill = |part: &str| match &self.code {
            Some(code) => part.replace(CODE_SLOT, code),
            None => part.to_owned(),
        };
        (fill(&self.text), self.html.as_deref().map(fill))
    }

    pub fn key(&self) -> Key {
        keys::notification(&self.user_id, &self.created_at.sort_key(), &self.id)
    }

    /// The item that stores it.
    pub fn item(&self) -> Item {
        Item::new(&self.key(), self)
    }

    /// The item that stores it, gone at `expires` (epoch seconds) if given.
    pub fn item_until(&self, expires: Option<i64>) -> Item {
        match expires {
            Some(at) => self.item().expiring_at(at),
            None => self.item(),
        }
    }

    /// The event that gets it sent, unless it is suppressed: to commit with its item.
    pub fn event(&self) -> Option<Write> {
        let queued = MessageQueued {
            user_id: self.user_id.clone(),
            message_at: self.created_at.sort_key(),
            message_id: self.id.clone(),
            channel: self.channel,
        };
        (self.status == DeliveryStatus::Queued).then(|| crate::events::record(DomainEvent::MessageQueued(queued)))
    }

    /// Its item and its event, to commit together.
    pub fn writes(&self) -> Vec<Write> {
        std::iter::once(Write::put(self.item())).chain(self.event()).collect()
    }
}

/// A message as its recipient sees it in their list. A one-time code is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    /// What it tells: an order event (`OrderPaid`...) or an account code (`confirm`, `reset`).
    pub kind: String,
    pub channel: Channel,
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
    pub(super) fn from_item(item: &Item) -> anyhow::Result<Self> {
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
