//! Account email (codes, a sign-up with a taken address): queued in the recipient's outbox
//! under one hourly cap per account, so nobody can flood a mailbox through the API.

use crate::domain::{Channel, UserId};
use crate::keys;
use crate::table::{Condition, Table, Update, Write, WriteError};
use crate::time::epoch_now;

use super::message::Message;

/// Account emails sent to one account per clock hour.
pub const ACCOUNT_EMAILS_PER_HOUR: i64 = 5;

/// Queues `message` with `with` in one transaction, unless the account had
/// [`ACCOUNT_EMAILS_PER_HOUR`] this hour already: answers whether it was queued. The message's
/// record goes at `expires` (epoch seconds), if given: a code's, when the code does.
pub async fn queue(
    table: &dyn Table,
    message: &Message,
    expires: Option<i64>,
    with: Vec<Write>,
) -> anyhow::Result<bool> {
    let hour = epoch_now() / 3600;
    let counted = Update::default().add("sent", 1).set(keys::EXPIRES_AT, (hour + 2) * 3600);
    let capped = Write::update(keys::codes_sent(&message.user_id, hour), counted)
        .when(Condition::Under("sent".into(), ACCOUNT_EMAILS_PER_HOUR));
    // The cap first, so a refusal is told by its index.
    let writes =
        [capped, Write::put(message.item_until(expires))].into_iter().chain(with).chain(message.event()).collect();
    match table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(WriteError::ConditionFailed { index: Some(0) }) => {
            tracing::warn!(user = %message.user_id, kind = %message.kind, "account email not sent: the hourly limit is reached");
            Ok(false)
        }
        Err(e) => Err(anyhow::anyhow!("queueing a {} email: {e}", message.kind)),
    }
}

/// The email telling an address's owner that someone tried to sign up with it: the answer to
/// the sign-up itself does not say the address is taken.
pub fn account_exists_message(owner: &UserId, to: &str) -> Message {
    let text = "Someone, perhaps you, tried to create an account with this email address, \
        which already has one.\n\nIf it was you, log in, or choose a new password with \
        \"Forgot password\" if you do not remember it. If it was not you, ignore this message: \
        nothing has changed.";
    Message {
        subject: Some("You already have an account".into()),
        text: text.into(),
        ..Message::new(owner, "account_exists", Channel::Email, to)
    }
}
