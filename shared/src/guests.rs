//! Shopping without an account. A guest is an id the shop made (`guest-<ulid>`, which no
//! account id can be: Cognito's and the embedded identity's are UUIDs) and known by a token the
//! shop signed with its key ([`crate::signing`]): the whole guest's, kept by their browser for
//! their cart, checkout and orders, or one order's, carried by the link in that order's emails.
//! Nothing is stored for a token; a forged or altered one is refused before any read.

use crate::Error;
use crate::domain::{OrderId, UserId};

/// The scope of the shop's signing key that guests' tokens are sealed under.
const SCOPE: &str = "guest";
const PREFIX: &str = "guest-";
/// How long a guest's own token and cart last from the guest's start (a link's token lasts
/// as long as the key that signed it).
pub const GUEST_DAYS: i64 = 30;

/// What a guest's token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub id: UserId,
    /// The one order a link's token reaches; `None` for the whole guest.
    pub order: Option<OrderId>,
}

impl Guest {
    /// A new guest, and the token they keep.
    pub async fn new() -> Result<(Self, String), Error> {
        let id = UserId::parse(&format!("{PREFIX}{}", ulid::Ulid::new())).expect("a guest id is a user id");
        let guest = Self { id, order: None };
        let token = guest.token().await?;
        Ok((guest, token))
    }

    /// The holder of what all guests hold together: their unpaid orders, bounded as one.
    pub fn all() -> UserId {
        UserId::parse("guests").expect("a user id")
    }

    /// Whether `user` is a guest's id.
    pub fn is(user: &UserId) -> bool {
        user.as_str().starts_with(PREFIX)
    }

    /// When the guest's token and cart end (epoch seconds), if `user` is a guest: [`GUEST_DAYS`]
    /// after the time in their id, the same instant for every item of theirs.
    pub fn ends_at(user: &UserId) -> Option<i64> {
        let started = ulid::Ulid::from_string(user.as_str().strip_prefix(PREFIX)?).ok()?;
        Some(i64::try_from(started.timestamp_ms() / 1000).ok()? + GUEST_DAYS * 24 * 3600)
    }

    /// The token of the link to `guest`'s order `order`: it reaches that order alone.
    pub async fn link(guest: &UserId, order: &OrderId) -> anyhow::Result<String> {
        Self { id: guest.clone(), order: Some(*order) }.token().await
    }

    /// This access as a token: `<guest id>[/<order id>]`, sealed.
    pub async fn token(&self) -> anyhow::Result<String> {
        let payload = match &self.order {
            Some(order) => format!("{}/{order}", self.id),
            None => self.id.to_string(),
        };
        Ok(crate::signing::key().await?.seal(SCOPE, payload.as_bytes()))
    }

    /// The answer to a token the shop did not seal (401).
    pub fn refused() -> Error {
        Error::Unauthenticated(
            "the guest token is not valid: start a new cart, or open the link in the order's email again".into(),
        )
    }

    /// The access a token grants; any text the shop did not seal so is refused (401).
    pub async fn from_token(token: &str) -> Result<Self, Error> {
        let refused = Self::refused;
        let payload = crate::signing::key().await?.open(SCOPE, token.trim()).ok_or_else(refused)?;
        let payload = String::from_utf8(payload).map_err(|_| refused())?;
        let (id, order) = match payload.split_once('/') {
            Some((id, order)) => (id, Some(OrderId::parse(order).map_err(|_| refused())?)),
            None => (payload.as_str(), None),
        };
        let id = UserId::parse(id).ok().filter(Self::is).ok_or_else(refused)?;
        let ended = Self::ends_at(&id).is_none_or(|at| at <= crate::time::epoch_now());
        if order.is_none() && ended {
            return Err(Error::Unauthenticated("this guest token has expired; start a new cart".into()));
        }
        Ok(Self { id, order })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_grants_its_guest_or_its_one_order() {
        let (guest, token) = Guest::new().await.unwrap();
        assert!(Guest::is(&guest.id) && !Guest::is(&UserId::random()));
        let ends = Guest::ends_at(&guest.id).unwrap() - crate::time::epoch_now();
        assert!((GUEST_DAYS * 86_400 - 5..=GUEST_DAYS * 86_400).contains(&ends), "{ends}");
        assert_eq!(Guest::from_token(&token).await.unwrap(), guest);
        let order = OrderId::new();
        let link = Guest::link(&guest.id, &order).await.unwrap();
        assert_eq!(Guest::from_token(&link).await.unwrap(), Guest { id: guest.id.clone(), order: Some(order) });
        for forged in [format!("{token}x"), token.replace('.', ""), "guest-1".into(), String::new()] {
            assert!(matches!(Guest::from_token(&forged).await, Err(Error::Unauthenticated(_))), "{forged}");
        }
        // An account's id sealed by the same key under another scope is not a guest.
        let cursor = crate::signing::key().await.unwrap().seal("/api/orders?", UserId::random().as_str().as_bytes());
        assert!(Guest::from_token(&cursor).await.is_err());
    }
}
