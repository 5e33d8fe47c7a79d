//! User profiles: the shop's own record of a person, keyed by the identity provider's `sub`.
//! The identity provider owns credentials; this owns name, phone, address and preferences.

use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::codes::{self, CodeError};
use crate::domain::{Address, Email, Name, Phone, UserId};
use crate::identity::UNCONFIRMED_SECONDS;
use crate::keys;
use crate::table::{self, Condition, Item, Query, Table, Update, Write, WriteError};
use crate::time::Timestamp;
use futures::TryStreamExt;

/// Why a profile could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    /// The profile changed since the version the caller read (`If-Match`).
    #[error("the profile has changed since you read it; fetch it again")]
    Stale,
    /// Another request changed the same data at the same moment; the caller may retry.
    #[error("the profile kept changing meanwhile; retry")]
    Contention,
    /// Phone verification for a profile without a phone number.
    #[error("the profile has no phone number to verify")]
    NoPhone,
    /// The phone number is not of a country the shop sends SMS to.
    #[error("phone {0}")]
    PhoneNotServed(String),
    /// The code is wrong, expired, spent, or was sent to a number the profile no longer has.
    #[error("code {0}")]
    WrongCode(String),
    /// Staff turned marketing email on for an account: only its owner can agree to it.
    #[error("only the account's owner can agree to marketing email")]
    NotTheirConsent,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for UserError {
    fn from(e: WriteError) -> Self {
        e.into_domain(Self::Contention)
    }
}

type Result<T, E = UserError> = std::result::Result<T, E>;

/// How a person wants to hear from the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferences {
    pub email: bool,
    pub sms: bool,
    /// Marketing email: a reminder of a cart left behind. Off until the person turns it on.
    #[serde(default)]
    pub marketing: bool,
}

impl Default for NotificationPreferences {
    fn default() -> Self {
        Self { email: true, sms: false, marketing: false }
    }
}

/// A user's profile as stored and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserProfile {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    #[serde(default)]
    pub phone: Option<Phone>,
    /// Whether `phone` was verified by a code sent to it: SMS go to verified numbers only.
    #[serde(default)]
    pub phone_verified: bool,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub preferences: NotificationPreferences,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl UserProfile {
    pub fn new(id: UserId, email: Email, name: Name, phone: Option<Phone>) -> Self {
        let now = Timestamp::now();
        Self {
            id,
            email,
            name,
            phone,
            phone_verified: false,
            address: None,
            preferences: NotificationPreferences::default(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn item(&self) -> Item {
        let created = self.created_at.unix_timestamp().to_string();
        Item::new(&keys::user_profile(&self.id), self)
            .with_gsi1(&keys::users_index(&format!("{created:0>12}"), &self.id))
    }
}

/// The changes a user (or an admin) may make to a profile. `None` leaves a field alone;
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub name: Option<Name>,
    pub phone: Option<Option<Phone>>,
    pub address: Option<Option<Address>>,
    pub preferences: Option<NotificationPreferences>,
}

/// The purpose of the code that verifies a phone number ([`keys::user_code`]; the SMS
/// module sends it).
pub const PHONE_CODE: &str = "phone";

/// The user repository over the table port.
#[derive(Clone)]
pub struct Users {
    table: Arc<dyn Table>,
}

/// Attributes that are secrets or storage details, never exported.
/// Kinds of item held for a user that are secrets or copies, never exported: credentials,
/// one-time codes, refresh tokens, and idempotency records (copies of orders that are exported).
const PRIVATE_KINDS: &[&str] = &["credentials", "code", "refresh", "idempotency"];

const PRIVATE_ATTRIBUTES: &[&str] =
    &["password_hash", "code_hash", "PK", "SK", "GSI1PK", "GSI1SK", "expires_at", "code"];

impl Users {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    /// Stores a new profile; an existing one is kept (sign-up may be retried). The profile of
    /// an account not yet confirmed goes with it after [`UNCONFIRMED_SECONDS`], unless
    /// [`Users::keep`] is called meanwhile.
    pub async fn create(&self, profile: &UserProfile, confirmed: bool) -> Result<UserProfile> {
        let item = profile.item();
        let item = if confirmed { item } else { item.expiring_at(crate::time::epoch_now() + UNCONFIRMED_SECONDS) };
        match self.table.write(Write::create(item)).await {
            Ok(()) => Ok(profile.clone()),
            Err(WriteError::ConditionFailed { .. }) => self.get(&profile.id).await?.ok_or(UserError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps the profile of an account that was just confirmed.
    pub async fn keep(&self, id: &UserId) -> Result<()> {
        let kept = Write::update(keys::user_profile(id), Update::default().remove(keys::EXPIRES_AT));
        match self.table.write(kept.when(Condition::Exists)).await {
            Ok(()) | Err(WriteError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, id: &UserId) -> Result<Option<UserProfile>> {
        let item = self.table.get(&keys::user_profile(id)).await?;
        Ok(item.map(|i| i.decode()).transpose()?)
    }

    /// Every user, oldest first.
    pub async fn list(&self, limit: usize, after: Option<Value>) -> Result<(Vec<UserProfile>, Option<Value>)> {
        let page = self
            .table
            .query(&Query::gsi1(keys::USERS_PARTITION).limit(limit).after(after))
            .await
            .context("listing users")?;
        let users = page.items.iter().map(Item::decode).collect::<anyhow::Result<_>>()?;
        Ok((users, page.next))
    }

    /// Applies changes if the profile is still at `expected` (when given): 412 otherwise.
    /// `by_owner` says the account's owner makes them: only they can agree to marketing email
    /// (which also lifts an unsubscribe from a reminder's link); staff can only withdraw it.
    pub async fn update(
        &self,
        id: &UserId,
        changes: ProfileChanges,
        expected: Option<u64>,
        by_owner: bool,
    ) -> Result<UserProfile> {
        let current = self.get(id).await?.ok_or(UserError::NotFound)?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(UserError::Stale);
        }
        let mut next = current.clone();
        if let Some(name) = changes.name {
            next.name = name;
        }
        if let Some(phone) = changes.phone {
            // A new number is unverified until a code sent to it comes back.
            next.phone_verified &= phone == current.phone;
            next.phone = phone;
        }
        if let Some(address) = changes.address {
            next.address = address;
        }
        if let Some(preferences) = changes.preferences {
            next.preferences = preferences;
        }
        next.version += 1;
        next.updated_at = Timestamp::now();
        let write = Write::put(next.item()).when(Condition::equals("version", current.version));
        let consented = next.preferences.marketing && !current.preferences.marketing;
        if consented && !by_owner {
            return Err(UserError::NotTheirConsent);
        }
        let written = match consented {
            // An unsubscribe from a reminder's link no longer holds.
            true => self.table.transact(vec![write, Write::delete(keys::unsubscribed(&next.email))]).await,
            false => self.table.write(write).await,
        };
        match written {
            Ok(()) => Ok(next),
            Err(WriteError::ConditionFailed { .. }) => Err(UserError::Stale),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks the profile's phone number verified with the code sent to it.
    pub async fn verify_phone(&self, id: &UserId, code: &str) -> Result<UserProfile> {
        let wrong = |why: &str| UserError::WrongCode(why.to_owned());
        let sent_to = match codes::check(&*self.table, &keys::user_code(id, PHONE_CODE), code).await {
            Ok(sent_to) => sent_to,
            Err(CodeError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(wrong(&e.to_string())),
        };
        table::retrying(
            || UserError::Contention,
            || async {
                let current = self.get(id).await?.ok_or(UserError::NotFound)?;
                if current.phone.as_ref().map(Phone::as_str) != sent_to.as_deref() {
                    return Err(wrong("was sent to another number than the profile's"));
                }
                let mut next = current.clone();
                (next.phone_verified, next.version, next.updated_at) = (true, current.version + 1, Timestamp::now());
                let writes = vec![
                    Write::put(next.item()).when(Condition::equals("version", current.version)),
                    Write::delete(keys::user_code(id, PHONE_CODE)),
                ];
                Ok(table::committed(self.table.transact(writes).await)?.then_some(next))
            },
        )
        .await
    }

    /// Turns email off for the user (their address bounced or complained); a concurrent edit of
    /// the profile is read again, so neither change is lost. Nothing for an unknown user.
    pub async fn turn_off_email(&self, id: &UserId) -> Result<()> {
        loop {
            let Some(current) = self.get(id).await? else { return Ok(()) };
            if !current.preferences.email {
                return Ok(());
            }
            let preferences = NotificationPreferences { email: false, ..current.preferences };
            let changes = ProfileChanges { preferences: Some(preferences), ..ProfileChanges::default() };
            match self.update(id, changes, Some(current.version), false).await {
                Err(UserError::Stale) => continue,
                other => return other.map(|_| ()),
            }
        }
    }

    /// Removes the profile and everything else stored under the user (the last step of
    /// erasure: until then the profile is there for a retry to find).
    pub async fn delete(&self, id: &UserId) -> Result<()> {
        loop {
            let page = self.table.query(&Query::partition(keys::user_partition(id)).limit(100)).await?;
            if page.items.is_empty() {
                return Ok(());
            }
            for chunk in page.items.chunks(25) {
                let writes = chunk.iter().map(|i| Write::delete(i.key())).collect();
                self.table.transact(writes).await?;
            }
        }
    }

    /// Everything the shop holds about a person (GDPR access), secrets removed: the items under
    /// the user and the items indexed to them.
    pub async fn export(&self, id: &UserId) -> Result<Value> {
        let mut records = Vec::new();
        for query in [Query::partition(keys::user_partition(id)), Query::gsi1(keys::user_partition(id))] {
            let mut items = std::pin::pin!(table::items(&*self.table, query.limit(100)));
            while let Some(item) = items.try_next().await? {
                let kind = item.key().sk.split('#').next().unwrap_or_default().to_lowercase();
                if PRIVATE_KINDS.contains(&kind.as_str()) {
                    continue;
                }
                let mut data: Map<String, Value> = item.0;
                data.retain(|k, _| !PRIVATE_ATTRIBUTES.contains(&k.as_str()));
                records.push(serde_json::json!({"kind": kind, "data": data}));
            }
        }
        let exported_at = Timestamp::now();
        Ok(serde_json::json!({"user_id": id, "exported_at": exported_at, "records": records}))
    }
}
