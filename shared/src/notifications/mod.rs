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

pub mod account;
mod compose;
pub mod contract;
mod delivery;
mod feedback;
mod message;
pub mod sms;

pub use crate::domain::{Channel, DeliveryStatus};
pub use compose::{OrderNotifications, code_message, order_messages};
pub use delivery::{
    DELIVERY_ATTEMPTS, Deliveries, EmailSender, OutgoingEmail, OutgoingSms, SendError, Senders, SmsSender, suppression,
};
pub use feedback::{EmailReport, Feedback};
pub use message::{Message, Notification, list};
