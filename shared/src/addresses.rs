//! A signed-in shopper's address book: up to [`MAX_ADDRESSES`] addresses under the user, each
//! checked for its country, one of them the default for shipping and one for billing.
//!
//! A header item holds the count and the defaults; an address and the count move in one
//! transaction whose condition keeps the count under the bound. Export and erasure take the
//! book with everything else under the user.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{Address, AddressId, Invalid, Name, UserId};
use crate::keys;
use crate::table::{Condition, Item, Query, Table, Update, Write, WriteError};
use crate::time::Timestamp;

/// The most addresses one book holds.
pub const MAX_ADDRESSES: i64 = 20;

/// An address as the book keeps and answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedAddress {
    #[schema(value_type = AddressId)]
    pub id: AddressId,
    /// What the shopper calls it ("Home", "Office").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Name>)]
    pub label: Option<Name>,
    pub address: Address,
    /// Whether it is the default for shipping, and for billing.
    #[serde(default)]
    pub default_shipping: bool,
    #[serde(default)]
    pub default_billing: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an address is saved with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDraft {
    pub label: Option<Name>,
    pub address: Address,
    /// Make it the default for shipping (or billing); `false` leaves the default as it is.
    pub default_shipping: bool,
    pub default_billing: bool,
}

/// Why the book could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("address not found")]
    NotFound,
    #[error("an address book holds at most {MAX_ADDRESSES} addresses")]
    Full,
    /// The address does not fit its country: each refused field and why.
    #[error("the address is incomplete or malformed")]
    Invalid(Vec<(&'static str, Invalid)>),
    #[error("the address book kept changing meanwhile; retry")]
    Contention,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for AddressError {
    fn from(e: WriteError) -> Self {
        e.into_domain(Self::Contention)
    }
}

type Result<T, E = AddressError> = std::result::Result<T, E>;

/// The address book repository over the table port.
#[derive(Clone)]
pub struct AddressBook {
    table: Arc<dyn Table>,
}

impl AddressBook {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    /// The addresses, oldest first, with the defaults marked: the header and the addresses in
    /// one query.
    pub async fn list(&self, user: &UserId) -> Result<Vec<SavedAddress>> {
        let query = Query::partition(keys::user_partition(user))
            .prefix(keys::ADDRESS_BOOK_PREFIX)
            .limit(MAX_ADDRESSES as usize + 1);
        let page = self.table.query(&query).await?;
        let header = keys::address_book(user);
        let (mut shipping, mut billing) = (None, None);
        let mut addresses: Vec<SavedAddress> = Vec::new();
        for item in &page.items {
            if item.key() == header {
                shipping = item.str("default_shipping").map(str::to_owned);
                billing = item.str("default_billing").map(str::to_owned);
            } else {
                addresses.push(item.decode()?);
            }
        }
        for a in &mut addresses {
            a.default_shipping = shipping.as_deref() == Some(&a.id.to_string());
            a.default_billing = billing.as_deref() == Some(&a.id.to_string());
        }
        addresses.sort_by_key(|a| a.id);
        Ok(addresses)
    }

    /// One address, with the defaults marked.
    pub async fn get(&self, user: &UserId, id: &AddressId) -> Result<SavedAddress> {
        self.list(user).await?.into_iter().find(|a| a.id == *id).ok_or(AddressError::NotFound)
    }

    /// The address an address id names, as checkout reads it (no defaults).
    pub fn key(user: &UserId, id: &AddressId) -> crate::table::Key {
        keys::address(user, id)
    }

    /// Saves a new address; the first one becomes both defaults.
    pub async fn add(&self, user: &UserId, draft: AddressDraft) -> Result<SavedAddress> {
        draft.address.check().map_err(AddressError::Invalid)?;
        let first = self.list(user).await?.is_empty();
        let now = Timestamp::now();
        let saved = SavedAddress {
            id: AddressId::new(),
            label: draft.label,
            address: draft.address,
            default_shipping: false,
            default_billing: false,
            created_at: now,
            updated_at: now,
        };
        let mut header = Update::default().add("count", 1);
        if draft.default_shipping || first {
            header = header.set("default_shipping", saved.id.to_string());
        }
        if draft.default_billing || first {
            header = header.set("default_billing", saved.id.to_string());
        }
        let writes = vec![
            Write::create(Item::new(&keys::address(user, &saved.id), &saved)),
            Write::update(keys::address_book(user), header).when(Condition::Under("count".into(), MAX_ADDRESSES)),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(SavedAddress {
                default_shipping: draft.default_shipping || first,
                default_billing: draft.default_billing || first,
                ..saved
            }),
            Err(WriteError::ConditionFailed { index: Some(1) }) => Err(AddressError::Full),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces an address (and makes it a default if asked).
    pub async fn replace(&self, user: &UserId, id: &AddressId, draft: AddressDraft) -> Result<SavedAddress> {
        draft.address.check().map_err(AddressError::Invalid)?;
        let current = self.get(user, id).await?;
        let (default_shipping, default_billing) = (current.default_shipping, current.default_billing);
        let saved = SavedAddress {
            label: draft.label,
            address: draft.address,
            updated_at: Timestamp::now(),
            default_shipping: false,
            default_billing: false,
            ..current
        };
        let mut writes = vec![Write::put(Item::new(&keys::address(user, id), &saved)).when(Condition::Exists)];
        let mut header = Update::default();
        if draft.default_shipping {
            header = header.set("default_shipping", id.to_string());
        }
        if draft.default_billing {
            header = header.set("default_billing", id.to_string());
        }
        if draft.default_shipping || draft.default_billing {
            writes.push(Write::update(keys::address_book(user), header));
        }
        match self.table.transact(writes).await {
            Ok(()) => Ok(SavedAddress {
                default_shipping: default_shipping || draft.default_shipping,
                default_billing: default_billing || draft.default_billing,
                ..saved
            }),
            Err(WriteError::ConditionFailed { index: Some(0) }) => Err(AddressError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes an address; a default it was is no longer set.
    pub async fn remove(&self, user: &UserId, id: &AddressId) -> Result<()> {
        let current = self.get(user, id).await?;
        let mut header = Update::default().add("count", -1);
        if current.default_shipping {
            header = header.remove("default_shipping");
        }
        if current.default_billing {
            header = header.remove("default_billing");
        }
        let writes = vec![
            Write::delete(keys::address(user, id)).when(Condition::Exists),
            Write::update(keys::address_book(user), header),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(()),
            Err(WriteError::ConditionFailed { index: Some(0) }) => Err(AddressError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
