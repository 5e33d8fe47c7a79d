//! What email providers report after sending: bounces and complaints suppress an address.

use std::sync::Arc;

use crate::domain::UserId;
use crate::table::{Item, Table, Write};
use crate::time::Timestamp;
use crate::users::Users;

use super::delivery::suppression;

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
