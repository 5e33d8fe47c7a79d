//! The sender contract: what every email and SMS sender must do, as one suite.
//! [`sender_contract!`] turns it into tests for an adapter;
//! `shop-embedded` runs it on the mailbox, the cross-service tests on SES and SNS (the AWS
//! emulator) and on the fake Twilio. Each check writes to a recipient of its own.

use std::sync::Arc;

use async_trait::async_trait;

use super::{EmailSender, OutgoingEmail, OutgoingSms, SmsSender};
use crate::domain::UserId;

/// A message as the provider holds it, read back: its provider id, its recipient, and its
/// words (an email's subject, an SMS's text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub id: String,
    pub to: String,
    pub words: String,
}

/// What the provider has sent, as the contract reads it back (the mailbox's rows, the
/// emulator's or the fake's state).
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn sent_to(&self, to: &str) -> Vec<Sent>;
}

/// A sender under the contract, email or SMS alike, with what its provider sent.
pub struct Subject {
    pub sender: Sender,
    pub outbox: Arc<dyn Outbox>,
}

pub enum Sender {
    Email(Arc<dyn EmailSender>),
    Sms(Arc<dyn SmsSender>),
}

impl Subject {
    /// A recipient no other run has written to: an address, or a number no test double
    /// treats specially (the emulator's opted-out numbers end in 99).
    fn recipient(&self) -> String {
        let unique = ulid::Ulid::new();
        match self.sender {
            Sender::Email(_) => format!("contract-{}@example.com", unique.to_string().to_lowercase()),
            Sender::Sms(_) => format!("+49151{:07}1", unique.random() % 10_000_000),
        }
    }

    /// Sends `words` (an email's subject, an SMS's text) to `to`; answers the provider's id.
    async fn send(&self, to: &str, words: &str) -> String {
        let sent = match &self.sender {
            Sender::Email(sender) => {
                let user = UserId::parse("44444444-4444-4444-8444-444444444444").expect("a user id");
                let email = OutgoingEmail {
                    to,
                    subject: words,
                    text: "Thank you",
                    html: "<p>Thank you</p>",
                    user_id: &user,
                    message_id: "01EVT-email",
                };
                sender.send_email(&email).await
            }
            Sender::Sms(sender) => sender.send_sms(&OutgoingSms { to, text: words, message_id: "01EVT-sms" }).await,
        };
        sent.unwrap()
    }
}

/// A message reaches its recipient once, under the id the sender answered.
pub async fn a_message_is_sent_once_under_the_id_answered(subject: &Subject) {
    let to = subject.recipient();
    let id = subject.send(&to, "Order received").await;
    assert!(!id.is_empty());
    assert_eq!(subject.outbox.sent_to(&to).await, [Sent { id, to, words: "Order received".into() }]);
}

/// Two messages to one recipient are two, each with its own id.
pub async fn each_message_is_one_of_its_own(subject: &Subject) {
    let to = subject.recipient();
    let mut ids = [subject.send(&to, "Order received").await, subject.send(&to, "Order shipped").await];
    assert_ne!(ids[0], ids[1]);
    let mut sent: Vec<String> = subject.outbox.sent_to(&to).await.into_iter().map(|s| s.id).collect();
    sent.sort();
    ids.sort();
    assert_eq!(sent, ids);
}

/// One test per check of the sender contract, each on a [`Subject`] from `$make` (an async
/// expression).
#[macro_export]
macro_rules! sender_contract {
    ($make:expr) => {
        $crate::contract_tests!(notifications, $make;
            a_message_is_sent_once_under_the_id_answered, each_message_is_one_of_its_own);
    };
}
