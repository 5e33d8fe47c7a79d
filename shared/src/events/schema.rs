//! The event schema: each type of domain event and what its detail carries.

use serde::{Deserialize, Serialize};

use crate::domain::{CancelReason, Channel, Money, OrderId, OrderLine, OrderStatus, Product, ProductId, UserId};
use crate::time::Timestamp;

/// What happened: the type of a domain event, its `type` on the wire and the SNS message
/// attribute the queues' filter policies match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    OrderPlaced,
    OrderPaid,
    OrderShipped,
    OrderDelivered,
    OrderCancelled,
    OrderRefunded,
    /// The order's payment failed (declined, or refused at capture); the order stays payable.
    OrderPaymentFailed,
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    StockChanged,
    /// A message waits for its sender ([`MessageQueued`]).
    MessageQueued,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        Self::OrderPlaced,
        Self::OrderPaid,
        Self::OrderShipped,
        Self::OrderDelivered,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::OrderPaymentFailed,
        Self::ProductCreated,
        Self::ProductUpdated,
        Self::ProductDeleted,
        Self::StockChanged,
        Self::MessageQueued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "OrderPlaced",
            Self::OrderPaid => "OrderPaid",
            Self::OrderShipped => "OrderShipped",
            Self::OrderDelivered => "OrderDelivered",
            Self::OrderCancelled => "OrderCancelled",
            Self::OrderRefunded => "OrderRefunded",
            Self::OrderPaymentFailed => "OrderPaymentFailed",
            Self::ProductCreated => "ProductCreated",
            Self::ProductUpdated => "ProductUpdated",
            Self::ProductDeleted => "ProductDeleted",
            Self::StockChanged => "StockChanged",
            Self::MessageQueued => "MessageQueued",
        }
    }

    /// The event an order entering `status` writes.
    pub fn entering(status: OrderStatus) -> Self {
        match status {
            OrderStatus::PendingPayment => Self::OrderPlaced,
            OrderStatus::Paid => Self::OrderPaid,
            OrderStatus::Shipped => Self::OrderShipped,
            OrderStatus::Delivered => Self::OrderDelivered,
            OrderStatus::Cancelled => Self::OrderCancelled,
            OrderStatus::Refunded => Self::OrderRefunded,
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every order event carries (`OrderPlaced`, `OrderPaid`, `OrderShipped`,
/// `OrderDelivered`, `OrderCancelled`, `OrderRefunded`, `OrderPaymentFailed`): the order as the
/// change left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub at: Timestamp,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    /// The status before, for a change of status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderStatus>,
    pub total: Money,
    pub lines: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// Why, for a cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
}

/// What the catalogue's events carry (`ProductCreated`, `ProductUpdated`, `ProductDeleted`):
/// the product's revision and, unless it was deleted, the product as it now is. A consumer keeps
/// the highest revision it has applied and ignores an event that arrives after a newer one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductEvent {
    pub product_id: ProductId,
    pub revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
}

/// A `StockChanged` event: the products whose stock one transaction moved, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockChanged {
    pub cause: StockCause,
    pub products: Vec<StockMove>,
}

/// One product's stock movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockMove {
    pub product_id: ProductId,
    /// Units added (positive) or taken (negative).
    pub delta: i64,
    /// Units in stock afterwards.
    pub stock: u32,
    /// The product's revision afterwards.
    pub revision: u64,
}

/// Why stock moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StockCause {
    /// Sold in an order.
    Checkout { order_id: OrderId },
    /// Given back by a cancelled (or expired) order.
    Cancellation { order_id: OrderId },
    /// An admin's adjustment (restock, write-off, count correction).
    Adjustment { reason: String },
}

/// What a `MessageQueued` event carries: where the message to send is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageQueued {
    pub user_id: UserId,
    /// The message's time as its key sorts it (`Timestamp::sort_key`).
    pub message_at: String,
    pub message_id: String,
    pub channel: Channel,
}
