//! Time: instants in UTC to the millisecond, RFC 3339 on the wire; whole seconds since the
//! epoch for TTLs.

use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// The current instant in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Seconds since the Unix epoch, the unit of the table's `expires_at` attribute.
pub fn epoch_seconds(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

/// Now, in seconds since the Unix epoch (TTLs, expiry checks).
pub fn epoch_now() -> i64 {
    epoch_seconds(now())
}

/// The time as a component that waits on it sees it: the system's, or, in tests, the system's
/// moved forward by the test ([`Clock::advance`]) instead of slept through.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system's time; none for the system's clock.
    ahead: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::default()
    }

    /// The system's time, until a test moves it forward.
    pub fn adjustable() -> Self {
        Self { ahead: Some(Default::default()) }
    }

    /// Moves an adjustable clock forward (a system clock cannot be moved: a no-op).
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(ahead) = &self.ahead {
            ahead.fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        let ahead = self.ahead.as_ref().map_or(0, |a| a.load(std::sync::atomic::Ordering::SeqCst));
        now() + time::Duration::milliseconds(ahead)
    }

    /// Now, in seconds since the Unix epoch.
    pub fn epoch_now(&self) -> i64 {
        epoch_seconds(self.now())
    }
}

/// An instant in UTC to the millisecond, written as RFC 3339 (`2026-11-25T19:00:00.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::at(now())
    }

    /// `instant` to the millisecond.
    pub fn at(instant: OffsetDateTime) -> Self {
        let millis = instant.millisecond() as u32 * 1_000_000;
        Self(instant.replace_nanosecond(millis).expect("a millisecond is a valid nanosecond"))
    }

    /// Milliseconds since the epoch.
    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Milliseconds since the epoch, zero-padded to 20 digits: sorts as text in time order.
    pub fn sort_key(&self) -> String {
        format!("{:020}", self.unix_millis())
    }
}

impl Deref for Timestamp {
    type Target = OffsetDateTime;
    fn deref(&self) -> &OffsetDateTime {
        &self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.format(&Rfc3339).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        time::serde::rfc3339::deserialize(deserializer).map(Self)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_to_the_millisecond() {
        let t = Timestamp::at(time::macros::datetime!(2026-11-25 19:00:00.123456 UTC));
        assert_eq!(serde_json::to_value(t).unwrap(), "2026-11-25T19:00:00.123Z");
        assert_eq!(serde_json::from_value::<Timestamp>("2026-11-25T19:00:00.123Z".into()).unwrap(), t);
        assert!(Timestamp::at(now()).sort_key() < Timestamp::at(now() + time::Duration::milliseconds(2)).sort_key());
    }
}
