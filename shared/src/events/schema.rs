//! The event schema: each type of domain event and what its detail carries.

use serde::{Deserialize, Serialize};

use crate::domain::{
    CancelReason, Channel, Currency, Email, Money, Name, OrderId, OrderLine, OrderStatus, Product, ProductId, UserId,
    VariantId,
};

/// What happened: the type of a domain event, its `type` on the wire and the SNS message
/// attribute the queues' filter policies match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// A step of a return ([`OrderEvent::returned`]).
    ReturnRequested,
    ReturnApproved,
    ReturnRefused,
    ReturnReceived,
    ReturnRefunded,
}

impl EventKind {
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
            Self::ReturnRequested => "ReturnRequested",
            Self::ReturnApproved => "ReturnApproved",
            Self::ReturnRefused => "ReturnRefused",
            Self::ReturnReceived => "ReturnReceived",
            Self::ReturnRefunded => "ReturnRefunded",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain event: its type (`type` on the wire) and what that type carries. Recording one
/// ([`record`](super::record)) takes this enum, so no type travels with another type's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DomainEvent {
    OrderPlaced(OrderEvent),
    OrderPaid(OrderEvent),
    OrderShipped(OrderEvent),
    OrderDelivered(OrderEvent),
    OrderCancelled(OrderEvent),
    OrderRefunded(OrderEvent),
    OrderPaymentFailed(OrderEvent),
    ProductCreated(ProductEvent),
    ProductUpdated(ProductEvent),
    ProductDeleted(ProductEvent),
    StockChanged(StockChanged),
    MessageQueued(MessageQueued),
    ReturnRequested(OrderEvent),
    ReturnApproved(OrderEvent),
    ReturnRefused(OrderEvent),
    ReturnReceived(OrderEvent),
    ReturnRefunded(OrderEvent),
}

impl DomainEvent {
    /// The event an order entering its status writes.
    pub fn entering(order: OrderEvent) -> Self {
        match order.status {
            OrderStatus::PendingPayment => Self::OrderPlaced(order),
            OrderStatus::Paid => Self::OrderPaid(order),
            OrderStatus::Shipped => Self::OrderShipped(order),
            OrderStatus::Delivered => Self::OrderDelivered(order),
            OrderStatus::Cancelled => Self::OrderCancelled(order),
            OrderStatus::Refunded => Self::OrderRefunded(order),
        }
    }

    /// The event of a return's step: `order` carries the return as the step left it.
    pub fn of_return(order: OrderEvent) -> Self {
        use crate::domain::ReturnStatus;
        match order.returned.as_ref().map(|r| r.status) {
            Some(ReturnStatus::Approved) => Self::ReturnApproved(order),
            Some(ReturnStatus::Refused) => Self::ReturnRefused(order),
            Some(ReturnStatus::Received) => Self::ReturnReceived(order),
            Some(ReturnStatus::Refunded) => Self::ReturnRefunded(order),
            Some(ReturnStatus::Requested) | None => Self::ReturnRequested(order),
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Self::OrderPlaced(_) => EventKind::OrderPlaced,
            Self::OrderPaid(_) => EventKind::OrderPaid,
            Self::OrderShipped(_) => EventKind::OrderShipped,
            Self::OrderDelivered(_) => EventKind::OrderDelivered,
            Self::OrderCancelled(_) => EventKind::OrderCancelled,
            Self::OrderRefunded(_) => EventKind::OrderRefunded,
            Self::OrderPaymentFailed(_) => EventKind::OrderPaymentFailed,
            Self::ProductCreated(_) => EventKind::ProductCreated,
            Self::ProductUpdated(_) => EventKind::ProductUpdated,
            Self::ProductDeleted(_) => EventKind::ProductDeleted,
            Self::StockChanged(_) => EventKind::StockChanged,
            Self::MessageQueued(_) => EventKind::MessageQueued,
            Self::ReturnRequested(_) => EventKind::ReturnRequested,
            Self::ReturnApproved(_) => EventKind::ReturnApproved,
            Self::ReturnRefused(_) => EventKind::ReturnRefused,
            Self::ReturnReceived(_) => EventKind::ReturnReceived,
            Self::ReturnRefunded(_) => EventKind::ReturnRefunded,
        }
    }

    /// The order an order event tells of, as the change left it.
    pub fn order(&self) -> Option<&OrderEvent> {
        match self {
            Self::OrderPlaced(order)
            | Self::OrderPaid(order)
            | Self::OrderShipped(order)
            | Self::OrderDelivered(order)
            | Self::OrderCancelled(order)
            | Self::OrderRefunded(order)
            | Self::OrderPaymentFailed(order)
            | Self::ReturnRequested(order)
            | Self::ReturnApproved(order)
            | Self::ReturnRefused(order)
            | Self::ReturnReceived(order)
            | Self::ReturnRefunded(order) => Some(order),
            _ => None,
        }
    }

    /// An event of `kind` about an order, product or message that need not exist: for tests
    /// and samples.
    #[doc(hidden)]
    pub fn example(kind: EventKind) -> Self {
        let user_id = UserId::parse("22222222-2222-4222-8222-222222222222").expect("a user id");
        let order = |status| OrderEvent {
            order_id: OrderId::parse("01JD0000000000000000000002").expect("an order id"),
            user_id: user_id.clone(),
            status,
            from: None,
            total: Money { amount: 100, currency: Currency::EUR },
            totals: None,
            lines: Vec::new(),
            tracking_number: None,
            reason: None,
            guest: None,
            returned: None,
            recovered: false,
        };
        let product = ProductEvent {
            product_id: ProductId::parse("01JD0000000000000000000001").expect("a product id"),
            revision: 1,
            product: None,
        };
        match kind {
            EventKind::OrderPlaced => Self::OrderPlaced(order(OrderStatus::PendingPayment)),
            EventKind::OrderPaid => Self::OrderPaid(order(OrderStatus::Paid)),
            EventKind::OrderShipped => Self::OrderShipped(order(OrderStatus::Shipped)),
            EventKind::OrderDelivered => Self::OrderDelivered(order(OrderStatus::Delivered)),
            EventKind::OrderCancelled => Self::OrderCancelled(order(OrderStatus::Cancelled)),
            EventKind::OrderRefunded => Self::OrderRefunded(order(OrderStatus::Refunded)),
            EventKind::OrderPaymentFailed => Self::OrderPaymentFailed(order(OrderStatus::PendingPayment)),
            EventKind::ProductCreated => Self::ProductCreated(product),
            EventKind::ProductUpdated => Self::ProductUpdated(product),
            EventKind::ProductDeleted => Self::ProductDeleted(product),
            EventKind::StockChanged => Self::StockChanged(StockChanged {
                cause: StockCause::Adjustment { reason: "count".into() },
                products: vec![],
            }),
            EventKind::MessageQueued => Self::MessageQueued(MessageQueued {
                user_id,
                message_at: "2026-11-25T10:00:00.000Z".into(),
                message_id: "01JD0000000000000000000003-email".into(),
                channel: Channel::Email,
            }),
            EventKind::ReturnRequested
            | EventKind::ReturnApproved
            | EventKind::ReturnRefused
            | EventKind::ReturnReceived
            | EventKind::ReturnRefunded => {
                let status = match kind {
                    EventKind::ReturnApproved => crate::domain::ReturnStatus::Approved,
                    EventKind::ReturnRefused => crate::domain::ReturnStatus::Refused,
                    EventKind::ReturnReceived => crate::domain::ReturnStatus::Received,
                    EventKind::ReturnRefunded => crate::domain::ReturnStatus::Refunded,
                    _ => crate::domain::ReturnStatus::Requested,
                };
                let at = crate::time::Timestamp::now();
                let returned = crate::domain::Return {
                    id: crate::domain::ReturnId::parse("01JD0000000000000000000005").expect("a return id"),
                    status,
                    lines: Vec::new(),
                    comment: None,
                    instructions: None,
                    refusal: None,
                    received: Vec::new(),
                    with_shipping: false,
                    refunded: None,
                    history: Vec::new(),
                    created_at: at,
                };
                Self::of_return(OrderEvent { returned: Some(returned), ..order(OrderStatus::Delivered) })
            }
        }
    }

    /// The products the event names, with the revision each reached: 0, below every product's,
    /// for a move that does not know it (a checkout's), which a consumer reads the product for.
    pub fn products(&self) -> Vec<(ProductId, u64)> {
        match self {
            Self::ProductCreated(e) | Self::ProductUpdated(e) | Self::ProductDeleted(e) => {
                vec![(e.product_id, e.revision)]
            }
            Self::StockChanged(e) => e.products.iter().map(|m| (m.product_id, m.revision.unwrap_or(0))).collect(),
            _ => Vec::new(),
        }
    }
}

/// What every order event carries: the order as the change left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    /// The status before, for a change of status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderStatus>,
    pub total: Money,
    /// Subtotal, discount, shipping, tax and total (absent on orders placed before the shop
    /// computed them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<crate::pricing::Totals>,
    pub lines: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// Why, for a cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
    /// A guest's order that no account has claimed: who hears of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<GuestContact>,
    /// For a return's step: the return as the step left it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<crate::domain::Return>,
    /// On `OrderPlaced`: placed from a cart the shop reminded its shopper of.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// Where a guest's order's messages go (the guest has no profile), and, on the event of its
/// placing, the token of the link that reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestContact {
    pub email: Email,
    /// The name the order ships to.
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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

/// One variant's stock movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredMove")]
pub struct StockMove {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    /// Units added (positive) or taken (negative).
    pub delta: i64,
    /// The variant's units in stock afterwards; `None` for a checkout's, which takes stock by
    /// an atomic decrement and so learns neither this nor the revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<u32>,
    /// The product's revision afterwards (`None` as for `stock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

/// A movement as events carry it; one recorded before products had variants names no variant:
/// the product's one variant, which has the product's id.
#[derive(Deserialize)]
struct StoredMove {
    product_id: ProductId,
    variant_id: Option<VariantId>,
    delta: i64,
    #[serde(default)]
    stock: Option<u32>,
    #[serde(default)]
    revision: Option<u64>,
}

impl From<StoredMove> for StockMove {
    fn from(m: StoredMove) -> Self {
        let variant_id = m.variant_id.unwrap_or(m.product_id.into());
        Self { product_id: m.product_id, variant_id, delta: m.delta, stock: m.stock, revision: m.revision }
    }
}

/// Why stock moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StockCause {
    /// Sold in an order.
    Checkout { order_id: OrderId },
    /// Given back by a cancelled (or expired) order.
    Cancellation { order_id: OrderId },
    /// Returned goods put back on the shelf.
    Return { order_id: OrderId },
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
