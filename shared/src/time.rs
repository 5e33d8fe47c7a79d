//! Timestamps: RFC 3339 in UTC on the wire, whole seconds since the epoch for TTLs.

use time::OffsetDateTime;

/// The current instant in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Seconds since the Unix epoch, the unit of the table's `expires_at` attribute.
pub fn epoch_seconds(at: OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

/// Serde for `OffsetDateTime` as RFC 3339.
pub use time::serde::rfc3339;
