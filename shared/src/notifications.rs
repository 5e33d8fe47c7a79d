//! What the shop tells people, and getting it to them.
//!
//! - Composing: the `notifications` queue's consumer ([`OrderNotifications`]) turns each order
//!   event a shopper hears of into one [`Message`] per channel (email; SMS when they gave a
//!   phone number), rendered from the templates compiled into the binary (`templates/`, HTML
//!   escaped, text not). A message is stored under the user with a `MessageQueued` event in the
//!   same transaction, once per (event, channel); a channel the shopper turned off gets its
//!   message stored as suppressed, with no event.
//! - Sending: the `deliveries` queue's consumer ([`Deliveries`]) takes each `MessageQueued`
//!   event and hands the message to its channel's sender port ([`EmailSender`], [`SmsSender`]),
//!   then records the outcome on the message: sent (with the provider's id), suppressed (an
//!   address that bounced or complained, a number that opted out), or, for a provider that
//!   stays unavailable, failed after [`DELIVERY_ATTEMPTS`] tries, when the queue dead-letters
//!   the event; a redriven event tries again. A message sent already is never sent again; a
//!   crash between the provider's acceptance and the mark can send it twice, see
//!   ARCHITECTURE.md.

use std::sync::Arc;

use askama::Template;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::domain::{Channel, DeliveryStatus};
use crate::domain::{Money, OrderId, OrderLine, UserId};
use crate::events::{Consumer, DELIVERIES, Event, EventKind, NOTIFICATIONS, OrderEvent, Queue};
use crate::keys;
use crate::table::{Condition, Item, Key, Query, Table, Update, Write};
use crate::time::Timestamp;
use crate::users::{UserProfile, Users};

/// Tries of a message whose provider is unavailable before it is marked failed: the queue's
/// `maxReceiveCount` (template.yaml) and the embedded bus's `max_receives`, after which the
/// event is a dead letter.
pub const DELIVERY_ATTEMPTS: u32 = 5;

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
}

/// What a `MessageQueued` event carries: where the message to send is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageQueued {
    pub user_id: UserId,
    /// The message's time as its key sorts it ([`Timestamp::sort_key`]).
    pub message_at: String,
    pub message_id: String,
    pub channel: Channel,
}

impl Message {
    pub fn key(&self) -> Key {
        keys::notification(&self.user_id, &self.created_at.sort_key(), &self.id)
    }

    /// The item that stores it.
    pub fn item(&self) -> Item {
        Item::new(&self.key(), self)
    }

    /// The event that gets it sent, unless it is suppressed: to commit with its item.
    pub fn event(&self) -> Option<Write> {
        let queued = MessageQueued {
            user_id: self.user_id.clone(),
            message_at: self.created_at.sort_key(),
            message_id: self.id.clone(),
            channel: self.channel,
        };
        (self.status == DeliveryStatus::Queued).then(|| crate::events::record(EventKind::MessageQueued, &queued))
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

#[derive(Template)]
#[template(path = "order.html")]
struct OrderHtml<'a> {
    subject: &'a str,
    name: &'a str,
    intro: &'a str,
    lines: &'a [OrderLine],
    total: &'a Money,
    tracking: &'a Option<String>,
    order_id: &'a OrderId,
}

#[derive(Template)]
#[template(path = "order.txt")]
struct OrderText<'a> {
    name: &'a str,
    intro: &'a str,
    lines: &'a [OrderLine],
    total: &'a Money,
    tracking: &'a Option<String>,
    order_id: &'a OrderId,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodeHtml<'a> {
    subject: &'a str,
    intro: &'a str,
    code: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "code.txt")]
struct CodeText<'a> {
    intro: &'a str,
    code: &'a str,
    minutes: i64,
}

/// What an order event tells, in words: (subject, the email's opening, the SMS); None for an
/// event shoppers do not hear of.
fn order_words(kind: EventKind, event: &OrderEvent) -> Option<(String, String, String)> {
    let (order, total) = (&event.order_id, &event.total);
    Some(match kind {
        EventKind::OrderPlaced => (
            format!("Order {order} received"),
            format!("Thank you: we have your order for {total}. It ships once paid."),
            format!("Shop: order {order} received, {total}."),
        ),
        EventKind::OrderPaid => (
            format!("Order {order} paid"),
            format!("We have your payment of {total}. Your order is being prepared."),
            format!("Shop: payment of {total} for order {order} received."),
        ),
        EventKind::OrderPaymentFailed => (
            format!("Payment for order {order} failed"),
            format!("Your payment of {total} did not go through. We keep your order: you can pay again."),
            format!("Shop: payment for order {order} failed; you can pay again."),
        ),
        EventKind::OrderShipped => {
            let sms = match &event.tracking_number {
                Some(tracking) => format!("Shop: order {order} shipped, tracking {tracking}."),
                None => format!("Shop: order {order} shipped."),
            };
            (format!("Order {order} shipped"), "Your order is on its way.".into(), sms)
        }
        EventKind::OrderDelivered => (
            format!("Order {order} delivered"),
            "Your order has been delivered. Enjoy it.".into(),
            format!("Shop: order {order} delivered."),
        ),
        EventKind::OrderCancelled => (
            format!("Order {order} cancelled"),
            "Your order has been cancelled. Anything you paid is refunded.".into(),
            format!("Shop: order {order} cancelled."),
        ),
        EventKind::OrderRefunded => (
            format!("Order {order} refunded"),
            format!("We have refunded {total} for your order."),
            format!("Shop: {total} refunded for order {order}."),
        ),
        _ => return None,
    })
}

/// The messages an order event makes for `user`, one per channel they can be reached on;
/// None for an event shoppers do not hear of.
pub fn order_messages(kind: EventKind, event_id: &str, event: &OrderEvent, user: &UserProfile) -> Vec<Message> {
    let Some((subject, intro, sms)) = order_words(kind, event) else { return Vec::new() };
    let (name, tracking) = (user.name.as_str(), &event.tracking_number);
    let (lines, total, order_id) = (&event.lines[..], &event.total, &event.order_id);
    let html = OrderHtml { subject: &subject, name, intro: &intro, lines, total, tracking, order_id };
    let text = OrderText { name, intro: &intro, lines, total, tracking, order_id };
    let message = |channel: Channel, to: String, wanted: bool| Message {
        id: format!("{event_id}-{}", channel.as_str()),
        user_id: user.id.clone(),
        kind: kind.as_str().into(),
        channel,
        to,
        subject: None,
        text: String::new(),
        html: None,
        status: if wanted { DeliveryStatus::Queued } else { DeliveryStatus::Suppressed },
        created_at: event.at,
        sent_at: None,
        provider_id: None,
        reason: (!wanted).then(|| format!("{} is turned off", channel.as_str())),
        attempts: 0,
        order_id: Some(event.order_id),
    };
    let mut messages = vec![Message {
        subject: Some(subject.clone()),
        text: text.render().expect("the order text template renders"),
        html: Some(html.render().expect("the order HTML template renders")),
        ..message(Channel::Email, user.email.to_string(), user.preferences.email)
    }];
    if let Some(phone) = &user.phone {
        messages.push(Message { text: sms, ..message(Channel::Sms, phone.as_str().into(), user.preferences.sms) });
    }
    messages
}

/// The email carrying a one-time code for `purpose` (`confirm`, `reset`), good for `minutes`.
pub fn code_message(user: &UserId, to: &str, purpose: &str, code: &str, minutes: i64) -> Message {
    let (subject, intro) = match purpose {
        "confirm" => ("Confirm your account", "Welcome! Enter this code to confirm your account:"),
        _ => ("Reset your password", "Enter this code to choose a new password:"),
    };
    let html = CodeHtml { subject, intro, code, minutes };
    Message {
        id: ulid::Ulid::new().to_string(),
        user_id: user.clone(),
        kind: purpose.into(),
        channel: Channel::Email,
        to: to.into(),
        subject: Some(subject.into()),
        text: CodeText { intro, code, minutes }.render().expect("the code text template renders"),
        html: Some(html.render().expect("the code HTML template renders")),
        status: DeliveryStatus::Queued,
        created_at: Timestamp::now(),
        sent_at: None,
        provider_id: None,
        reason: None,
        attempts: 0,
        order_id: None,
    }
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
        // A deleted account hears nothing more.
        let Some(user) = self.users.get(&order.user_id).await? else { return Ok(()) };
        let messages = order_messages(event.kind, &event.event_id, &order, &user);
        if messages.is_empty() {
            return Ok(());
        }
        let writes = messages.iter().flat_map(Message::writes).collect();
        crate::events::once(&*self.table, NOTIFICATIONS.name, event, writes).await?;
        Ok(())
    }
}

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
        match message.channel {
            Channel::Email => {
                let email = OutgoingEmail {
                    to: &message.to,
                    subject: message.subject.as_deref().unwrap_or_default(),
                    text: &message.text,
                    html: message.html.as_deref().unwrap_or_default(),
                    user_id: &message.user_id,
                    message_id: &message.id,
                };
                self.senders.email.send_email(&email).await
            }
            Channel::Sms => {
                let sms = OutgoingSms { to: &message.to, text: &message.text, message_id: &message.id };
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
        if !DELIVERIES.accepts(event.kind) {
            return Ok(());
        }
        let queued: MessageQueued = event.decode()?;
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
                    .remove("reason"),
            ),
            Err(SendError::Suppressed(why)) => (DeliveryStatus::Suppressed, update.set("reason", why)),
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

/// What an email provider reported about a message after accepting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailReport {
    /// Undeliverable: `permanent` (the address does not exist) or for now (a full mailbox).
    Bounce { permanent: bool, recipients: Vec<String>, user_id: Option<UserId> },
    /// The recipient marked it as spam.
    Complaint { recipients: Vec<String>, user_id: Option<UserId> },
}

/// Applies bounce and complaint reports: a permanently bounced or complaining address gets
/// nothing more ([`suppression`]), and its shopper's email is turned off.
#[derive(Clone)]
pub struct Feedback {
    table: Arc<dyn Table>,
    users: Users,
}

impl Feedback {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { users: Users::new(table.clone()), table }
    }

    pub async fn apply(&self, report: &EmailReport) -> anyhow::Result<()> {
        let (recipients, user_id, reason) = match report {
            EmailReport::Bounce { permanent: false, .. } => return Ok(()),
            EmailReport::Bounce { recipients, user_id, .. } => (recipients, user_id, "the address bounced"),
            EmailReport::Complaint { recipients, user_id } => (recipients, user_id, "the recipient complained"),
        };
        for address in recipients {
            let item = Item::marker(&suppression(address))
                .with("reason", reason)
                .with("at", serde_json::to_value(Timestamp::now())?);
            self.table.write(Write::put(item)).await?;
            tracing::info!(reason, "an address is suppressed");
        }
        if let Some(user) = user_id {
            self.users.turn_off_email(user).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderStatus;
    use crate::domain::{Currency, Email, Name, Phone, ProductId, Quantity};

    fn shopper() -> UserProfile {
        let mut user = UserProfile::new(
            UserId::parse("user-1").unwrap(),
            Email::parse("ada@example.com").unwrap(),
            Name::parse("Ada <b>Lovelace</b>").unwrap(),
            Some(Phone::parse("+4915112345678").unwrap()),
        );
        user.preferences.sms = true;
        user
    }

    fn shipped() -> OrderEvent {
        let eur = |amount| Money { amount, currency: Currency::EUR };
        OrderEvent {
            at: Timestamp::now(),
            order_id: OrderId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            user_id: UserId::parse("user-1").unwrap(),
            status: OrderStatus::Shipped,
            from: Some(OrderStatus::Paid),
            total: eur(4500),
            lines: vec![OrderLine {
                product_id: ProductId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAW").unwrap(),
                sku: "LAMP-1".into(),
                name: "Lamp <script>alert(1)</script> & shade".into(),
                unit_price: eur(1500),
                quantity: Quantity::new(3).unwrap(),
                line_total: eur(4500),
            }],
            tracking_number: Some("1Z999AA10123456784".into()),
            reason: None,
        }
    }

    #[test]
    fn an_order_email_has_both_parts_with_what_shoppers_typed_escaped_only_in_html() {
        let messages = order_messages(EventKind::OrderShipped, "01EVT", &shipped(), &shopper());
        let email = &messages[0];
        assert_eq!(
            (email.channel, email.status, email.id.as_str()),
            (Channel::Email, DeliveryStatus::Queued, "01EVT-email")
        );
        assert_eq!(email.subject.as_deref(), Some("Order 01ARZ3NDEKTSV4RRFFQ69G5FAV shipped"));
        let html = email.html.as_deref().unwrap();
        assert!(html.contains("Lamp &#60;script&#62;alert(1)&#60;/script&#62; &#38; shade"), "{html}");
        assert!(html.contains("Ada &#60;b&#62;Lovelace&#60;/b&#62;"), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
        assert!(html.contains("45.00 EUR") && html.contains("1Z999AA10123456784"), "{html}");
        let text = &email.text;
        assert!(text.contains("Lamp <script>alert(1)</script> & shade x 3: 45.00 EUR"), "{text}");
        assert!(text.contains("Hello Ada <b>Lovelace</b>,") && text.contains("Tracking number: 1Z999AA10123456784"));
    }

    #[test]
    fn an_sms_is_one_short_text_and_a_channel_turned_off_is_stored_suppressed() {
        let mut user = shopper();
        user.preferences.email = false;
        let messages = order_messages(EventKind::OrderShipped, "01EVT", &shipped(), &user);
        let (email, sms) = (&messages[0], &messages[1]);
        assert_eq!((email.status, email.writes().len()), (DeliveryStatus::Suppressed, 1), "stored, no event");
        assert_eq!((sms.channel, sms.to.as_str(), sms.writes().len()), (Channel::Sms, "+4915112345678", 2));
        assert_eq!(sms.text, "Shop: order 01ARZ3NDEKTSV4RRFFQ69G5FAV shipped, tracking 1Z999AA10123456784.");
        assert!(sms.html.is_none() && sms.text.len() <= 160);
        user.phone = None;
        assert_eq!(order_messages(EventKind::OrderShipped, "01EVT", &shipped(), &user).len(), 1);
        assert!(order_messages(EventKind::StockChanged, "01EVT", &shipped(), &user).is_empty());
    }

    #[test]
    fn a_code_message_carries_its_code_in_both_parts() {
        let message = code_message(&UserId::parse("user-1").unwrap(), "ada@example.com", "reset", "012345", 15);
        assert!(message.text.contains("012345") && message.html.as_deref().unwrap().contains("012345"));
        assert!(message.text.contains("15 minutes"));
        let listed = Notification::from_item(&message.item().with("code", "012345")).unwrap();
        assert!(!serde_json::to_string(&listed).unwrap().contains("012345"), "the list never shows a code");
    }
}
