//! Abandoned-cart recovery: a cart with something in it, idle for a while, whose shopper agreed
//! to marketing email and did not order, gets a reminder with a link that restores it; at most
//! [`MAX_REMINDERS`] per cart, at most [`PER_ADDRESS_WEEK`] per mailbox a week, none to a
//! mailbox that unsubscribed (each reminder's link works without logging in), and to guests'
//! addresses, which nobody confirmed, at most [`RecoveryPolicy::guests_daily`] a day in all.
//! A reminder held back by a limit is due again when the limit's period ends.
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

use crate::cart::{CartContact, CartError, Carts, Line};
use crate::domain::{Channel, Email, UserId};
use crate::guests::Guest;
use crate::keys;
use crate::notifications::Message;
use crate::table::{Condition, Item, Query, Table, Update, Write, WriteError};
use crate::time::Timestamp;
use crate::users::Users;

/// Reminders a cart gets at most.
pub const MAX_REMINDERS: i64 = 2;

/// Reminders a mailbox ([`Email::mailbox`]) gets at most in a week (counted from the Unix
/// epoch), whatever the carts that name it: a caller who fills guest carts with someone's
/// address gets them no more than this.
pub const PER_ADDRESS_WEEK: i64 = 2;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

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
    /// Reminders to guests' addresses a day at most, in all: what anyone with a guest token
    /// can make the shop send to addresses nobody confirmed.
    pub guests_daily: i64,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self { idle: Duration::hours(4), second: Duration::hours(24), guests_daily: 500 }
    }
}

impl RecoveryPolicy {
    /// From `RECOVERY_IDLE_MINUTES`, `RECOVERY_SECOND_MINUTES` and `GUEST_REMINDERS_PER_DAY` as
    /// `var` finds them, each defaulted.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let minutes = |name: &str, default: Duration| {
            crate::settings::whole(&var, name, default.whole_minutes(), 0).map(Duration::minutes)
        };
        let default = Self::default();
        Ok(Self {
            idle: minutes("RECOVERY_IDLE_MINUTES", default.idle)?,
            second: minutes("RECOVERY_SECOND_MINUTES", default.second)?,
            guests_daily: crate::settings::whole(&var, "GUEST_REMINDERS_PER_DAY", default.guests_daily, 0)?,
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

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Idle carts read from the index.
    pub read: usize,
    pub reminded: usize,
    /// Let go until they change again.
    pub skipped: usize,
    /// Held back by a limit on the mailbox or on guests: due again when its period ends.
    pub deferred: usize,
    /// Could not be swept (logged): tried again by the next sweep.
    pub failed: usize,
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

/// What the sweep did with one cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Skipped,
    Deferred,
    /// Changed since the sweep read it: the next sweep sees it as it is.
    Changed,
}

impl CartRecovery {
    pub fn new(table: Arc<dyn Table>, policy: RecoveryPolicy, storefront: String) -> Self {
        Self { carts: Carts::new(table.clone()), users: Users::new(table.clone()), table, policy, storefront }
    }

    /// Reminds of, lets go, or defers the carts due at `now` (each of the index's partitions
    /// oldest first, at most `most` in all). A cart that cannot be swept is logged and left for
    /// the next sweep; the others are swept all the same.
    pub async fn sweep(&self, now: Timestamp, most: usize) -> anyhow::Result<Swept> {
        let due_by = Timestamp::at(*now - self.policy.idle);
        let mut swept = Swept::default();
        for shard in 0..keys::IDLE_CART_SHARDS {
            let left = most - swept.read;
            if left == 0 {
                break;
            }
            let due = Query::gsi1(keys::idle_carts(shard)).between("0", format!("{}~", due_by.sort_key())).limit(left);
            let page = self.table.query(&due).await.context("reading the idle carts")?;
            swept.read += page.items.len();
            for header in &page.items {
                let (outcome, count) = match self.remind(header, now).await {
                    Ok(Outcome::Sent) => ("sent", &mut swept.reminded),
                    Ok(Outcome::Skipped) => ("skipped", &mut swept.skipped),
                    Ok(Outcome::Deferred) => ("deferred", &mut swept.deferred),
                    Ok(Outcome::Changed) => continue,
                    Err(e) => {
                        let error = format!("{e:#}");
                        tracing::error!(cart = ?header.key(), error, "a cart left behind could not be swept");
                        ("failed", &mut swept.failed)
                    }
                };
                *count += 1;
                crate::metrics::cart_reminder(outcome);
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
        let lines = self.carts.as_they_are(&user).await.map_err(|e| anyhow::anyhow!("reading a cart: {e}"))?;
        let buyable: Vec<_> = lines.iter().filter(|l| l.problem.is_none()).collect();
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

        // In one transaction, each condition told by its index when it fails: the header, as
        // read (unchanged since), takes the reminder, with the next one due after the second
        // wait, or none after the last; the mailbox is under its weekly limit and did not
        // unsubscribe; a guest's reminder is under the guests' daily limit.
        let sent = reminders + 1;
        let mut marks = Update::default().add("reminders", 1).set("reminded_at", now.to_string());
        marks = match sent < MAX_REMINDERS {
            true => marks.set(keys::GSI1SK, self.due(Timestamp::at(*now + self.policy.second), &user).sk),
            false => marks.remove(keys::GSI1PK).remove(keys::GSI1SK),
        };
        let (week, day) = (now.unix_timestamp().div_euclid(WEEK), now.unix_timestamp().div_euclid(DAY));
        let counted = |until: i64| Update::default().add("sent", 1).set(keys::EXPIRES_AT, until);
        let guest = Guest::ends_at(&user);
        let mut writes = vec![
            Write::update(header.key(), marks).when(Condition::equals(keys::GSI1SK, idle.sk.clone())),
            Write::update(keys::reminded(&email, week), counted((week + 1) * WEEK + DAY))
                .when(Condition::Under("sent".into(), PER_ADDRESS_WEEK)),
            Write::Check { key: keys::unsubscribed(&email), condition: Condition::NotExists },
        ];
        if guest.is_some() {
            writes.push(
                Write::update(keys::guests_reminded(day), counted((day + 2) * DAY))
                    .when(Condition::Under("sent".into(), self.policy.guests_daily)),
            );
        }
        // A guest's reminder, address and all, ends with the guest.
        writes.push(Write::put(message.item_until(guest)));
        writes.extend(message.event());
        match self.table.transact(writes).await {
            Ok(()) => Ok(Outcome::Sent),
            Err(WriteError::ConditionFailed { index: Some(0) }) => Ok(Outcome::Changed),
            Err(WriteError::ConditionFailed { index: Some(1) }) => self.defer(header, (week + 1) * WEEK).await,
            Err(WriteError::ConditionFailed { index: Some(2) }) => self.let_go(header).await,
            Err(WriteError::ConditionFailed { index: Some(3) }) => self.defer(header, (day + 1) * DAY).await,
            Err(e) => Err(anyhow::Error::from(e).context("recording a cart reminder")),
        }
    }

    /// The cart's key in the idle index, due for a reminder at `at`: the index holds the
    /// instant due less the idle wait, which is the instant it went idle for a first reminder.
    fn due(&self, at: Timestamp, user: &UserId) -> crate::table::Key {
        keys::idle_cart(&Timestamp::at(*at - self.policy.idle), user)
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
        let out = Update::default().remove(keys::GSI1PK).remove(keys::GSI1SK);
        self.moved(header, out, Outcome::Skipped).await
    }

    /// Leaves the cart in the index, due again at `at` (epoch seconds), when a limit that held
    /// its reminder back has a new period (unless it changed meanwhile).
    async fn defer(&self, header: &Item, at: i64) -> anyhow::Result<Outcome> {
        let Some(user) = keys::user_of(&header.key()) else { return self.let_go(header).await };
        let at = Timestamp::at(time::OffsetDateTime::from_unix_timestamp(at).context("a period's end")?);
        self.moved(header, Update::default().set(keys::GSI1SK, self.due(at, &user).sk), Outcome::Deferred).await
    }

    /// Writes `update` to the cart's header if its index key is still the one the sweep read.
    async fn moved(&self, header: &Item, update: Update, outcome: Outcome) -> anyhow::Result<Outcome> {
        let Some(idle) = header.gsi1() else { return Ok(Outcome::Changed) };
        let write = Write::update(header.key(), update).when(Condition::equals(keys::GSI1SK, idle.sk));
        match self.table.write(write).await {
            Ok(()) => Ok(outcome),
            Err(WriteError::ConditionFailed { .. }) => Ok(Outcome::Changed),
            Err(e) => Err(anyhow::Error::from(e).context("moving a cart in the idle index")),
        }
    }

    fn base(&self) -> &str {
        self.storefront.trim_end_matches('/')
    }
}

/// Copies the cart a restore link names into `into`'s cart (nothing when it is theirs):
/// answers how many lines it set.
pub async fn restore(carts: &Carts, token: &str, into: &UserId) -> Result<Result<usize, LinkError>, CartError> {
    let owner = match restored_owner(token).await? {
        Ok(owner) => owner,
        Err(e) => return Ok(Err(e)),
    };
    let lines: Vec<Line> = match &owner == into {
        true => Vec::new(),
        false => carts.lines(&owner).await?,
    };
    Ok(Ok(carts.restore(into, &lines).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_in_minutes_each_defaulted() {
        let policy = RecoveryPolicy::from_lookup(|n| (n == "RECOVERY_IDLE_MINUTES").then(|| "90".to_owned())).unwrap();
        assert_eq!(
            policy,
            RecoveryPolicy { idle: Duration::minutes(90), second: Duration::hours(24), guests_daily: 500 }
        );
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
