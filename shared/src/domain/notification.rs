//! How a message to a person travels, and where it is on its way.

use serde::{Deserialize, Serialize};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// Its name on the wire (`email`, `sms`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// Where a message is on its way to its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Stored, waiting for its sender.
    #[default]
    Queued,
    /// Accepted by the provider.
    Sent,
    /// The provider refused it, or stayed unavailable through every try.
    Failed,
    /// Not sent: the channel is off, or the address bounced or opted out.
    Suppressed,
}
