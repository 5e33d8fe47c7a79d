//! Sending: the sender ports, and the consumer that hands each queued message to its sender.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::UserId;
use crate::domain::{Channel, DeliveryStatus};
use crate::events::{Consumer, DELIVERIES, DomainEvent, Event, Queue};
use crate::keys;
use crate::table::{Condition, Key, Table, Update};
use crate::time::Timestamp;

use super::message::Message;

/// Tries of a message whose provider is unavailable before it is marked failed: the queue's
/// `maxReceiveCount` (template.yaml) and the embedded bus's `max_receives`, after which the
/// event is a dead letter.
pub const DELIVERY_ATTEMPTS: u32 = 5;

/// An email to send: both parts, and the ids that tie the provider's later reports (bounces,
/// complaints) back to the message.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingEmail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub user_id: &'a UserId,
    pub message_id: &'a str,
}

/// An SMS to send.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    pub to: &'a str,
    pub text: &'a str,
    pub message_id: &'a str,
}

/// Why a sender did not send.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The recipient must not get it (opted out, on the provider's suppression list): final.
    #[error("suppressed: {0}")]
    Suppressed(String),
    /// The provider refused this message (a malformed address...): trying again cannot help.
    #[error("refused: {0}")]
    Refused(String),
    /// The provider could not be reached or failed: the queue tries again later.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// Sends email: Amazon SES in AWS, the local mailbox in the local stack.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Answers the provider's id for the message.
    async fn send_email(&self, email: &OutgoingEmail<'_>) -> Result<String, SendError>;
}

/// Sends SMS: Amazon SNS or Twilio in AWS, the local mailbox in the local stack. A number that
/// opted out answers [`SendError::Suppressed`].
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Answers the provider's id for the message.
    async fn send_sms(&self, sms: &OutgoingSms<'_>) -> Result<String, SendError>;
}

/// An SMS sender built at its first send (Twilio, its keys read from Secrets Manager then).
#[async_trait]
impl<S: SmsSender> SmsSender for crate::deferred::Deferred<S> {
    async fn send_sms(&self, sms: &OutgoingSms<'_>) -> Result<String, SendError> {
        self.get().await?.send_sms(sms).await
    }
}

/// The senders of every channel.
#[derive(Clone)]
pub struct Senders {
    pub email: Arc<dyn EmailSender>,
    pub sms: Arc<dyn SmsSender>,
}

/// An address or number nothing is sent to again (a permanent bounce, a complaint, an opt-out).
pub fn suppression(address: &str) -> Key {
    keys::suppressed(&address.to_lowercase())
}

/// The consumer that sends queued messages.
#[derive(Clone)]
pub struct Deliveries {
    table: Arc<dyn Table>,
    senders: Senders,
}

impl Deliveries {
    pub fn new(table: Arc<dyn Table>, senders: Senders) -> Self {
        Self { table, senders }
    }

    /// Sends `message` through its channel's sender.
    async fn send(&self, message: &Message) -> Result<String, SendError> {
        if let Some(item) = self.table.get(&suppression(&message.to)).await? {
            let why = item.str("reason").unwrap_or("suppressed").to_owned();
            return Err(SendError::Suppressed(why));
        }
        let (text, html) = message.filled();
        if text.contains(super::message::CODE_SLOT) {
            return Err(SendError::Refused("its one-time code is gone".into()));
        }
        match message.channel {
            Channel::Email => {
                let email = OutgoingEmail {
                    to: &message.to,
                    subject: message.subject.as_deref().unwrap_or_default(),
                    text: &text,
                    html: html.as_deref().unwrap_or_default(),
                    user_id: &message.user_id,
                    message_id: &message.id,
                };
                self.senders.email.send_email(&email).await
            }
            Channel::Sms => {
                if !super::sms::take_daily_allowance(&*self.table, &message.user_id, &message.to).await? {
                    let why = "the day's SMS for this account or number are sent already";
                    return Err(SendError::Suppressed(why.into()));
                }
                let sms = OutgoingSms { to: &message.to, text: &text, message_id: &message.id };
                self.senders.sms.send_sms(&sms).await
            }
        }
    }

    /// Records what sending `message` came to, if it is still as it was read (a concurrent
    /// delivery of the same message marks it once).
    async fn mark(&self, message: &Message, update: Update) -> anyhow::Result<()> {
        let unchanged = Condition::And(vec![
            Condition::equals("status", serde_json::to_value(message.status)?),
            Condition::equals("attempts", message.attempts),
        ]);
        match self.table.update(&message.key(), update, Some(unchanged)).await {
            Ok(_) | Err(crate::table::WriteError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(anyhow::anyhow!("marking message {}: {e}", message.id)),
        }
    }
}

#[async_trait]
impl Consumer for Deliveries {
    fn queue(&self) -> &'static Queue {
        &DELIVERIES
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let DomainEvent::MessageQueued(queued) = &event.event else { return Ok(()) };
        let key = keys::notification(&queued.user_id, &queued.message_at, &queued.message_id);
        // Gone (the account was erased, a code's message expired): nothing to send.
        let Some(item) = self.table.get(&key).await? else { return Ok(()) };
        let message: Message = item.decode()?;
        if !matches!(message.status, DeliveryStatus::Queued | DeliveryStatus::Failed) {
            return Ok(());
        }
        let tried = message.attempts + 1;
        let update = Update::default().set("attempts", tried);
        let (status, update) = match self.send(&message).await {
            Ok(provider_id) => (
                DeliveryStatus::Sent,
                update
                    .set("provider_id", provider_id)
                    .set("sent_at", serde_json::to_value(Timestamp::now())?)
                    .remove("reason")
                    .remove("code"),
            ),
            Err(SendError::Suppressed(why)) => (DeliveryStatus::Suppressed, update.set("reason", why).remove("code")),
            Err(SendError::Refused(why)) => (DeliveryStatus::Failed, update.set("reason", why)),
            Err(SendError::Unavailable(e)) => {
                let last = tried >= DELIVERY_ATTEMPTS;
                crate::metrics::notification(
                    message.channel,
                    if last { DeliveryStatus::Failed } else { DeliveryStatus::Queued },
                );
                let status = if last { DeliveryStatus::Failed } else { message.status };
                if status == DeliveryStatus::Failed {
                    tracing::warn!(message = %message.id, channel = ?message.channel, error = format!("{e:#}"), "message not sent");
                }
                let update = update.set("reason", format!("{e:#}")).set("status", serde_json::to_value(status)?);
                self.mark(&message, update).await?;
                return Err(e.context(format!("sending message {} (try {tried})", message.id)));
            }
        };
        crate::metrics::notification(message.channel, status);
        if status == DeliveryStatus::Failed {
            tracing::warn!(message = %message.id, channel = ?message.channel, "message not sent");
        } else {
            tracing::info!(message = %message.id, channel = ?message.channel, ?status, "message delivered");
        }
        self.mark(&message, update.set("status", serde_json::to_value(status)?)).await
    }
}
