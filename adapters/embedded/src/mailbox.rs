//! The local stack's mailbox: where its email and SMS go instead of a provider. Each message
//! "sent" is kept whole (codes included) under `MAILBOX` in the table, for the developer to
//! read at the local stack's `/_local/mailbox` (never deployed) and for tests to find.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shop::keys;
use shop::notifications::{Channel, EmailSender, OutgoingEmail, OutgoingSms, SendError, SmsSender};
use shop::table::{Item, Query, Table, Write};
use shop::time::Timestamp;

/// A message as the mailbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivered {
    /// The id the mailbox answered the sender with (a provider's message id).
    pub id: String,
    pub channel: Channel,
    pub to: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    /// The shop's id of the message.
    pub message_id: String,
    pub at: Timestamp,
}

/// The mailbox, over the stack's table.
#[derive(Clone)]
pub struct Mailbox {
    table: Arc<dyn Table>,
}

impl Mailbox {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    async fn keep(&self, delivered: Delivered) -> Result<String, SendError> {
        let key = keys::mailbox(&delivered.at.sort_key(), &delivered.id);
        self.table.write(Write::put(Item::new(&key, &delivered))).await.map_err(anyhow::Error::from)?;
        // The id, never the address: logs hold no personal data (the mailbox page shows it).
        tracing::info!(id = %delivered.id, channel = delivered.channel.as_str(), "message in the local mailbox");
        Ok(delivered.id)
    }

    /// Every message, oldest first.
    pub async fn all(&self) -> anyhow::Result<Vec<Delivered>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.table.query(&Query::partition(keys::MAILBOX_PARTITION).limit(100).after(after)).await?;
            all.extend(page.items.iter().map(Item::decode).collect::<anyhow::Result<Vec<Delivered>>>()?);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }
}

fn local_id() -> String {
    format!("local-{}", ulid::Ulid::new())
}

#[async_trait]
impl EmailSender for Mailbox {
    async fn send_email(&self, email: &OutgoingEmail<'_>) -> Result<String, SendError> {
        self.keep(Delivered {
            id: local_id(),
            channel: Channel::Email,
            to: email.to.into(),
            subject: Some(email.subject.into()),
            text: email.text.into(),
            html: Some(email.html.into()),
            message_id: email.message_id.into(),
            at: Timestamp::now(),
        })
        .await
    }
}

#[async_trait]
impl SmsSender for Mailbox {
    async fn send_sms(&self, sms: &OutgoingSms<'_>) -> Result<String, SendError> {
        self.keep(Delivered {
            id: local_id(),
            channel: Channel::Sms,
            to: sms.to.into(),
            subject: None,
            text: sms.text.into(),
            html: None,
            message_id: sms.message_id.into(),
            at: Timestamp::now(),
        })
        .await
    }
}
