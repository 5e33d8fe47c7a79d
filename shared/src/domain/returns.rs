//! Returns: goods a shopper sends back from a delivered order, and each step staff take with
//! them. A return lives in its order (as a payment's refunds do), so every step is checked and
//! written under the order's revision: no unit is returned twice, whatever runs at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Description, Money, Quantity, Reason, ReturnId, VariantId};
use crate::time::Timestamp;

/// Why a shopper sends goods back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Damaged,
    Defective,
    WrongItem,
    NotAsDescribed,
    NoLongerNeeded,
    Other,
}

/// Where a return stands. `requested` -> `approved` (with instructions) or `refused` (with a
/// reason); `approved` -> `received` (or `refused`); `received` -> `refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Refused,
    Received,
    Refunded,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Received => "received",
            Self::Refunded => "refunded",
        }
    }

    /// The statuses a return may reach from this one.
    pub fn next(self) -> &'static [ReturnStatus] {
        match self {
            Self::Requested => &[Self::Approved, Self::Refused],
            Self::Approved => &[Self::Received, Self::Refused],
            Self::Received => &[Self::Refunded],
            Self::Refused | Self::Refunded => &[],
        }
    }
}

/// Units of one order line the shopper sends back, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    pub variant_id: VariantId,
    pub quantity: Quantity,
    pub reason: ReturnReason,
}

/// Units of one line that arrived, and whether they go back to stock (or are written off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLine {
    pub variant_id: VariantId,
    pub quantity: Quantity,
    pub restock: bool,
}

/// A step of a return: its new status, when and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnChange {
    pub status: ReturnStatus,
    pub at: Timestamp,
    /// A user id, or `system` for the refund.
    pub by: String,
}

/// Goods coming back from an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Return {
    pub id: ReturnId,
    pub status: ReturnStatus,
    pub lines: Vec<ReturnLine>,
    /// What the shopper added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Reason>,
    /// How to send the goods, once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Description>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Reason>,
    /// What arrived, once received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received: Vec<ReceivedLine>,
    /// Whether its refund pays back the order's shipping too: the shop says so, and it brought
    /// back the last of the order's goods.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_shipping: bool,
    /// What was paid back, once refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Money>,
    pub history: Vec<ReturnChange>,
    pub created_at: Timestamp,
}

impl Return {
    /// Units of `variant` this return holds while it is not refused: what arrived once
    /// received, what was asked for before.
    pub fn units_of(&self, variant: VariantId) -> u32 {
        match self.status {
            ReturnStatus::Refused => 0,
            ReturnStatus::Received | ReturnStatus::Refunded => {
                self.received.iter().filter(|l| l.variant_id == variant).map(|l| l.quantity.get()).sum()
            }
            _ => self.lines.iter().filter(|l| l.variant_id == variant).map(|l| l.quantity.get()).sum(),
        }
    }

    /// Whether the return still waits on the shop (neither refused nor refunded).
    pub fn is_open(&self) -> bool {
        !self.status.next().is_empty()
    }

    /// The return in `status`, moved there by `by` at `at`.
    pub fn moved(mut self, status: ReturnStatus, by: &str, at: Timestamp) -> Self {
        self.status = status;
        self.history.push(ReturnChange { status, at, by: by.to_owned() });
        self
    }
}
