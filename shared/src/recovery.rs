//! Abandoned-cart recovery: a cart with something in it, idle for a while, whose shopper agreed
//! to marketing email and did not order, gets a reminder with a link that restores it; at most
//! [`MAX_REMINDERS`] per cart, at most [`PER_ADDRESS_WEEK`] per address a week, none to an
//! address that unsubscribed (each reminder's link works without logging in).
//!
//! Every change to a cart's lines puts its header in an index by the instant it went idle
//! ([`crate::keys::idle_cart`]); checkout takes it out. The scheduled sweep reads only the
//! carts idle for long enough, never the table: each one is reminded of, or let go (taken out
//! of the index until its next change), in one conditional write, so a cart changed meanwhile
//! is left alone and a sweep run twice sends nothing twice. An order placed from a reminded or
//! restored cart counts as recovered (`shop_recovered_order_value`).

use std::sync::Arc;

use anyhow::Context;
use time::Duration;

use crate::cart::{CartContact, Carts, Line};
use crate::domain::{Channel, Email, UserId};
use crate::guests::Guest;
use crate::keys;
use crate::notifications::Message;
use crate::table::{Condition, Item, Query, Table, Update, Write, WriteError};
use crate::time::Timestamp;
use crate::users::Users;

/// Reminders a cart gets at most.
pub const MAX_REMINDERS: i64 = 2;

/// Reminders an address gets at most in a week, whatever the carts that name it: a caller
/// cannot make the shop mail someone by filling carts with their address.
pub const PER_ADDRESS_WEEK: i64 = 2;

/// How long a reminder's link restores the cart.
pub const LINK_DAYS: i64 = 14;

const RESTORE_SCOPE: &str = "cart-restore";
const UNSUBSCRIBE_SCOPE: &str = "unsubscribe";

/// When reminders go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// A cart unchanged this long is reminded of.
    pub idle: Duration,
    /// The second reminder follows the first after this long.
    pub second: Duration,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self { idle: Duration::hours(4), second: Duration::hours(24) }
    }
}

impl RecoveryPolicy {
    /// From `RECOVERY_IDLE_MINUTES` and `RECOVERY_SECOND_MINUTES` as `var` finds them, each
    /// defaulted.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let minutes = |name: &str, default: Duration| {
            crate::settings::whole(&var, name, default.whole_minutes(), 0).map(Duration::minutes)
        };
        let default = Self::default();
        Ok(Self {
            idle: minutes("RECOVERY_IDLE_MINUTES", default.idle)?,
            second: minutes("RECOVERY_SECOND_MINUTES", default.second)?,
        })
    }
}

/// Why a reminder's link did nothing.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not one the shop made")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// The token of a link that restores `owner`'s cart until `until`.
pub async fn restore_token(owner: &UserId, until: Timestamp) -> anyhow::Result<String> {
    let payload = format!("{owner}/{}", until.unix_timestamp());
    Ok(crate::signing::key().await?.seal(RESTORE_SCOPE, payload.as_bytes()))
}

/// Whose cart a restore link's token names, if it is still good.
pub async fn restored_owner(token: &str) -> anyhow::Result<Result<UserId, LinkError>> {
    let key = crate::signing::key().await?;
    let Some(payload) = key.open(RESTORE_SCOPE, token).and_then(|p| String::from_utf8(p).ok()) else {
        return Ok(Err(LinkError::Invalid));
    };
    let Some((owner, until)) = payload.rsplit_once('/') else { return Ok(Err(LinkError::Invalid)) };
    let (Ok(owner), Ok(until)) = (UserId::parse(owner), until.parse::<i64>()) else {
        return Ok(Err(LinkError::Invalid));
    };
    Ok(match until >= crate::time::epoch_now() {
        true => Ok(owner),
        false => Err(LinkError::Expired),
    })
}

/// The token of the link that unsubscribes `email` from marketing email.
pub async fn unsubscribe_token(email: &Email) -> anyhow::Result<String> {
    Ok(crate::signing::key().await?.seal(UNSUBSCRIBE_SCOPE, email.as_str().as_bytes()))
}

/// Unsubscribes the address an unsubscribe link's token names; answers it.
pub async fn unsubscribe(table: &dyn Table, token: &str) -> anyhow::Result<Result<Email, LinkError>> {
    let key = crate::signing::key().await?;
    let email = key.open(UNSUBSCRIBE_SCOPE, token).and_then(|p| String::from_utf8(p).ok());
    let Some(email) = email.and_then(|e| Email::parse(&e).ok()) else { return Ok(Err(LinkError::Invalid)) };
    let marker = Item::marker(&keys::unsubscribed(&email)).with("at", Timestamp::now().to_string());
    table.write(Write::put(marker)).await.context("unsubscribing an address")?;
    Ok(Ok(email))
}

/// Takes an address off the unsubscribed list: its owner turned marketing email on again.
pub async fn resubscribe(table: &dyn Table, email: &Email) -> anyhow::Result<()> {
    table.write(Write::delete(keys::unsubscribed(email))).await.context("resubscribing an address")
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Idle carts read from the index.
    pub read: usize,
    pub reminded: usize,
    /// Let go until they change again.
    pub skipped: usize,
}

/// The reminder sweep.
#[derive(Clone)]
pub struct CartRecovery {
    table: Arc<dyn Table>,
    carts: Carts,
    users: Users,
    policy: RecoveryPolicy,
    /// Where the links lead: the storefront.
    storefront: String,
}

enum Outcome {
    Sent,
    Skipped,
    /// Changed since the sweep read it: the next sweep sees it as it is.
    Changed,
}

impl CartRecovery {
    pub fn new(table: Arc<dyn Table>, policy: RecoveryPolicy, storefront: String) -> Self {
        Self { carts: Carts::new(table.clone()), users: Users::new(table.clone()), table, policy, storefront }
    }

    /// Reminds of, or lets go, the carts idle for long enough at `now` (each of the index's
    /// partitions oldest first, at most `most` in all).
    pub async fn sweep(&self, now: Timestamp, most: usize) -> anyhow::Result<Swept> {
        let idle_since = Timestamp::at(*now - self.policy.idle);
        let mut swept = Swept::default();
        for shard in 0..keys::IDLE_CART_SHARDS {
            let left = most - swept.read;
            if left == 0 {
                break;
            }
            let due =
                Query::gsi1(keys::idle_carts(shard)).between("0", format!("{}~", idle_since.sort_key())).limit(left);
            let page = self.table.query(&due).await.context("reading the idle carts")?;
            swept.read += page.items.len();
            for header in &page.items {
                match self.remind(header, now).await? {
                    Outcome::Sent => swept.reminded += 1,
                    Outcome::Skipped => swept.skipped += 1,
                    Outcome::Changed => {}
                }
            }
        }
        Ok(swept)
    }

    async fn remind(&self, header: &Item, now: Timestamp) -> anyhow::Result<Outcome> {
        let (Some(user), Some(idle)) = (keys::user_of(&header.key()), header.gsi1()) else {
            return self.let_go(header).await;
        };
        let reminders = header.int("reminders").unwrap_or(0);
        if header.int("lines").unwrap_or(0) <= 0 || reminders >= MAX_REMINDERS || header.expired(now.unix_timestamp()) {
            return self.let_go(header).await;
        }
        let Some(email) = self.consenting_address(&user, header).await? else { return self.let_go(header).await };
        if self.table.get(&keys::unsubscribed(&email)).await?.is_some() {
            return self.let_go(header).await;
        }
        let view = self.carts.view(&user, None).await.map_err(|e| anyhow::anyhow!("reading a cart: {e}"))?;
        let buyable: Vec<_> = view.lines.iter().filter(|l| l.problem.is_none()).collect();
        if buyable.is_empty() {
            return self.let_go(header).await;
        }
        let until = Timestamp::at(*now + Duration::days(LINK_DAYS));
        let restore = format!("{}/#/cart/restore/{}", self.base(), restore_token(&user, until).await?);
        let unsubscribe = format!("{}/#/unsubscribe/{}", self.base(), unsubscribe_token(&email).await?);
        let items: Vec<String> = buyable
            .iter()
            .map(|l| format!("  {} x {}", l.quantity.get(), l.name.as_deref().unwrap_or("an item")))
            .collect();
        let text = format!(
            "You left these in your cart:\n\n{}\n\nPick up where you left off (the link works for {LINK_DAYS} days):\n{restore}\n\n\
             You get this because you agreed to marketing email from the shop. To get no more:\n{unsubscribe}\n",
            items.join("\n")
        );
        let message = Message {
            subject: Some("You left something in your cart".into()),
            text,
            ..Message::new(&user, "cart_reminder", Channel::Email, email.as_str())
        };

        // The header, as read (unchanged since), takes the reminder: the next one due after
        // the second wait, or none after the last.
        let sent = reminders + 1;
        let mut marks = Update::default().add("reminders", 1).set("reminded_at", now.to_string());
        marks = match sent < MAX_REMINDERS {
            true => {
                let next = keys::idle_cart(&Timestamp::at(*now + self.policy.second - self.policy.idle), &user);
                marks.set(keys::GSI1SK, next.sk)
            }
            false => marks.remove(keys::GSI1PK).remove(keys::GSI1SK),
        };
        let week = now.unix_timestamp().div_euclid(7 * 86_400);
        let counted = Update::default().add("sent", 1).set(keys::EXPIRES_AT, now.unix_timestamp() + 8 * 86_400);
        let mut writes = vec![
            Write::update(header.key(), marks).when(Condition::equals(keys::GSI1SK, idle.sk.clone())),
            Write::update(keys::reminded(&email, week), counted)
                .when(Condition::Under("sent".into(), PER_ADDRESS_WEEK)),
        ];
        writes.extend(message.writes());
        match self.table.transact(writes).await {
            Ok(()) => {
                crate::metrics::cart_reminder(true);
                Ok(Outcome::Sent)
            }
            Err(WriteError::ConditionFailed { index: Some(0) }) => Ok(Outcome::Changed),
            // The address had its reminders this week.
            Err(WriteError::ConditionFailed { index: Some(1) }) => self.let_go(header).await,
            Err(e) => Err(anyhow::Error::from(e).context("recording a cart reminder")),
        }
    }

    /// The address a cart's reminders go to, if its shopper agreed to marketing email: an
    /// account's from its profile, a guest's from the cart.
    async fn consenting_address(&self, user: &UserId, header: &Item) -> anyhow::Result<Option<Email>> {
        if Guest::is(user) {
            let contact = header.0.get("contact").and_then(|c| serde_json::from_value::<CartContact>(c.clone()).ok());
            return Ok(contact.filter(|c| c.marketing).map(|c| c.email));
        }
        let profile = self.users.get(user).await.map_err(|e| anyhow::anyhow!("reading a profile: {e}"))?;
        Ok(profile.filter(|p| p.preferences.marketing && p.preferences.email).map(|p| p.email))
    }

    /// Takes the cart out of the index until its next change (unless it changed meanwhile).
    async fn let_go(&self, header: &Item) -> anyhow::Result<Outcome> {
        let Some(idle) = header.gsi1() else { return Ok(Outcome::Changed) };
        let out = Update::default().remove(keys::GSI1PK).remove(keys::GSI1SK);
        let write = Write::update(header.key(), out).when(Condition::equals(keys::GSI1SK, idle.sk));
        match self.table.write(write).await {
            Ok(()) => {
                crate::metrics::cart_reminder(false);
                Ok(Outcome::Skipped)
            }
            Err(WriteError::ConditionFailed { .. }) => Ok(Outcome::Changed),
            Err(e) => Err(anyhow::Error::from(e).context("letting a cart go")),
        }
    }

    fn base(&self) -> &str {
        self.storefront.trim_end_matches('/')
    }
}

/// Copies the cart a restore link names into `into`'s cart (nothing when it is theirs):
/// answers how many lines it set.
pub async fn restore(carts: &Carts, token: &str, into: &UserId) -> anyhow::Result<Result<usize, LinkError>> {
    let owner = match restored_owner(token).await? {
        Ok(owner) => owner,
        Err(e) => return Ok(Err(e)),
    };
    let lines: Vec<Line> = match &owner == into {
        true => Vec::new(),
        false => carts.lines(&owner).await?,
    };
    let set = carts.restore(into, &lines).await.map_err(|e| anyhow::anyhow!("restoring a cart: {e}"))?;
    Ok(Ok(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_in_minutes_each_defaulted() {
        let policy = RecoveryPolicy::from_lookup(|n| (n == "RECOVERY_IDLE_MINUTES").then(|| "90".to_owned())).unwrap();
        assert_eq!(policy, RecoveryPolicy { idle: Duration::minutes(90), second: Duration::hours(24) });
        assert!(RecoveryPolicy::from_lookup(|n| (n == "RECOVERY_SECOND_MINUTES").then(|| "-5".to_owned())).is_err());
        assert!(RecoveryPolicy::from_lookup(|n| (n == "RECOVERY_IDLE_MINUTES").then(|| "soon".to_owned())).is_err());
    }

    #[tokio::test]
    async fn a_restore_link_names_its_cart_until_it_expires() {
        let owner = UserId::parse("guest-01JD0000000000000000000001").unwrap();
        let later = Timestamp::at(crate::time::now() + Duration::days(1));
        let token = restore_token(&owner, later).await.unwrap();
        assert_eq!(restored_owner(&token).await.unwrap().unwrap(), owner);
        let earlier = Timestamp::at(crate::time::now() - Duration::seconds(1));
        let stale = restore_token(&owner, earlier).await.unwrap();
        assert!(matches!(restored_owner(&stale).await.unwrap(), Err(LinkError::Expired)));
        assert!(matches!(restored_owner(&format!("{token}x")).await.unwrap(), Err(LinkError::Invalid)));
        let email = Email::parse("ada@example.com").unwrap();
        let unsubscribe = unsubscribe_token(&email).await.unwrap();
        assert!(matches!(restored_owner(&unsubscribe).await.unwrap(), Err(LinkError::Invalid)), "scoped");
    }
}
