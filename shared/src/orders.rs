//! Orders: checkout, the status machine, cancellation and expiry.
//!
//! Checkout is one transaction: every line's stock goes down under `stock >= quantity` (and
//! the product's version as it was read, so the price charged is the price shown), the order is
//! created, its list rows and its `OrderPlaced` event item are written, the cart is emptied and
//! the idempotency record is stored. Concurrent buyers can never oversell, and an order never
//! exists without its event. Every later change of status is a transaction too, conditioned on
//! a legal source status, with its own event.

use crate::time::epoch_now;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::cart::Carts;
use crate::catalog::Product;
use crate::domain::{Address, Money, OrderId, OrderStatus, ProductId, Quantity, UserId};
use crate::keys;
use crate::table::{Condition, Item, Key, Query, Table, Update, Write, WriteError};
use crate::time::Timestamp;
use crate::{Error, Result};

/// How long an idempotency key holds its first answer.
pub const IDEMPOTENCY_SECONDS: i64 = 24 * 3600;
/// How long event items stay in the table once written (the stream has taken them by then).
pub const EVENT_SECONDS: i64 = 24 * 3600;

/// One bought line, priced at checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    #[schema(value_type = String)]
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: Money,
    #[schema(value_type = u32)]
    pub quantity: Quantity,
    pub line_total: Money,
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: Timestamp,
    /// Who made the change: a user id, or `system` for expiry.
    pub by: String,
}

/// An order as stored and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    #[schema(value_type = String)]
    pub id: OrderId,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub shipping_address: Address,
    #[serde(default)]
    pub tracking_number: Option<String>,
    pub history: Vec<StatusChange>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl Order {
    fn created_key(&self) -> String {
        self.created_at.sort_key()
    }

    fn item(&self) -> Item {
        Item::new(&keys::order(&self.id), self).with_gsi1(&keys::order_of_user(
            &self.user_id,
            &self.created_key(),
            &self.id,
        ))
    }

    fn row(&self, key: Key) -> Item {
        Item::marker(&key).with("order_id", self.id.to_string())
    }
}

/// What a checkout asks for.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub user: UserId,
    /// Explicit lines; `None` buys the cart.
    pub items: Option<Vec<(ProductId, Quantity)>>,
    pub shipping_address: Address,
    /// `Idempotency-Key` and a fingerprint of the request it came with.
    pub idempotency: Option<(String, String)>,
}

/// What a checkout answers: the order, and whether it is the replay of an earlier request.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: Order,
    pub replayed: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    fingerprint: String,
    order_id: OrderId,
}

/// A fingerprint of a request body, to tell a retry from a different request with a reused key.
pub fn fingerprint(body: &Value) -> String {
    Sha256::digest(body.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The event item written in the same transaction as a change: the order as it now is.
fn event(order: &Order, from: Option<OrderStatus>) -> Write {
    let id = crate::domain::monotonic_ulid();
    let detail = OrderEvent {
        event_id: id.to_string(),
        kind: order.status.event().to_owned(),
        at: order.updated_at,
        order_id: order.id,
        user_id: order.user_id.clone(),
        status: order.status,
        from,
        total: order.total,
        lines: order.lines.clone(),
        tracking_number: order.tracking_number.clone(),
    };
    Write::create(Item::new(&keys::event(&id), &detail).expiring_at(epoch_now() + EVENT_SECONDS))
}

/// What every order event carries (`OrderPlaced`, `OrderPaid`, `OrderShipped`,
/// `OrderDelivered`, `OrderCancelled`): the order as the change left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
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
}

/// The order repository over the table port.
#[derive(Clone)]
pub struct Orders {
    table: Arc<dyn Table>,
    carts: Carts,
}

impl Orders {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { carts: Carts::new(table.clone()), table }
    }

    pub async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        Ok(self.table.get(&keys::order(id)).await?.map(|i| i.decode()).transpose()?)
    }

    async fn idempotent_answer(&self, user: &UserId, key: &str, fingerprint: &str) -> Result<Option<Order>> {
        let Some(item) = self.table.get(&keys::idempotency(user.as_str(), key)).await? else { return Ok(None) };
        let record: IdempotencyRecord = item.decode()?;
        if record.fingerprint != fingerprint {
            return Err(Error::invalid(
                "Idempotency-Key",
                crate::domain::Invalid::new("was already used with a different request"),
            ));
        }
        let order = self
            .get(&record.order_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("idempotent order {} is gone", record.order_id))?;
        Ok(Some(order))
    }

    /// Places an order from the cart or from explicit lines, in one transaction.
    pub async fn checkout(&self, request: CheckoutRequest) -> Result<Checkout> {
        if let Some((key, fingerprint)) = &request.idempotency
            && let Some(order) = self.idempotent_answer(&request.user, key, fingerprint).await?
        {
            return Ok(Checkout { order, replayed: true });
        }
        let from_cart = request.items.is_none();
        let wanted = match &request.items {
            Some(items) => items.clone(),
            None => self.carts.lines(&request.user).await?,
        };
        if wanted.is_empty() {
            let field = if from_cart { "cart" } else { "items" };
            return Err(Error::invalid(field, crate::domain::Invalid::new("has nothing to order")));
        }
        let mut merged: Vec<(ProductId, i64)> = Vec::new();
        for (product, quantity) in &wanted {
            match merged.iter_mut().find(|(p, _)| p == product) {
                Some((_, q)) => *q += i64::from(*quantity),
                None => merged.push((*product, i64::from(*quantity))),
            }
        }
        if merged.len() as i64 > crate::cart::MAX_LINES {
            return Err(Error::invalid(
                "items",
                crate::domain::Invalid(format!("an order holds at most {} products", crate::cart::MAX_LINES)),
            ));
        }
        // A product edited between our read and the transaction fails its version condition;
        // read again and retry, so the price charged is always the price read.
        for _ in 0..3 {
            match self.try_checkout(&request, &merged, from_cart).await {
                Err(Retry::Stale) => continue,
                Err(Retry::Failed(e)) => return Err(e),
                Ok(checkout) => return Ok(checkout),
            }
        }
        Err(Error::Conflict("the products changed while ordering; try again".into()))
    }

    async fn try_checkout(
        &self,
        request: &CheckoutRequest,
        merged: &[(ProductId, i64)],
        from_cart: bool,
    ) -> Result<Checkout, Retry> {
        let keys: Vec<Key> = merged.iter().map(|(p, _)| keys::product(p)).collect();
        let mut products: HashMap<ProductId, Product> = HashMap::new();
        for item in self.table.batch_get(&keys).await.map_err(Error::from)? {
            let product: Product = item.decode().map_err(Error::from)?;
            products.insert(product.id, product);
        }
        let mut unavailable = Vec::new();
        let mut short = Vec::new();
        let mut lines = Vec::new();
        for (id, quantity) in merged {
            match products.get(id) {
                Some(p) if p.active => {
                    if i64::from(p.stock.get()) < *quantity {
                        short.push(p.sku.to_string());
                    }
                    let quantity = Quantity::new(*quantity).map_err(|e| Error::invalid("items", e))?;
                    lines.push(OrderLine {
                        product_id: *id,
                        sku: p.sku.to_string(),
                        name: p.name.to_string(),
                        unit_price: p.price,
                        quantity,
                        line_total: Money { amount: p.price.amount * i64::from(quantity), currency: p.price.currency },
                    });
                }
                _ => unavailable.push(id.to_string()),
            }
        }
        if !unavailable.is_empty() {
            return Err(Retry::Failed(Error::invalid(
                "items",
                crate::domain::Invalid(format!("not on sale: {}", unavailable.join(", "))),
            )));
        }
        if !short.is_empty() {
            return Err(Retry::Failed(Error::Conflict(format!("not enough in stock: {}", short.join(", ")))));
        }
        let currency = lines[0].unit_price.currency;
        if lines.iter().any(|l| l.unit_price.currency != currency) {
            return Err(Retry::Failed(Error::invalid("items", crate::domain::Invalid::new("mixes currencies"))));
        }
        let now = Timestamp::now();
        let order = Order {
            id: OrderId::new(),
            user_id: request.user.clone(),
            status: OrderStatus::PendingPayment,
            total: Money { amount: lines.iter().map(|l| l.line_total.amount).sum(), currency },
            lines,
            shipping_address: request.shipping_address.clone(),
            tracking_number: None,
            history: vec![StatusChange { status: OrderStatus::PendingPayment, at: now, by: request.user.to_string() }],
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut writes = Vec::new();
        // First, so that a concurrent retry with the same key is told apart from short stock.
        if let Some((key, fingerprint)) = &request.idempotency {
            let record = IdempotencyRecord { fingerprint: fingerprint.clone(), order_id: order.id };
            let item = Item::new(&keys::idempotency(request.user.as_str(), key), &record)
                .expiring_at(epoch_now() + IDEMPOTENCY_SECONDS);
            writes.push(Write::create(item));
        }
        let first_stock_write = writes.len();
        for line in &order.lines {
            let product = &products[&line.product_id];
            let quantity = i64::from(line.quantity);
            writes.push(
                Write::update(keys::product(&line.product_id), Update::default().add("stock", -quantity)).when(
                    Condition::And(vec![
                        Condition::AtLeast("stock".into(), quantity),
                        Condition::equals("version", product.version),
                        Condition::equals("active", true),
                    ]),
                ),
            );
        }
        let created = order.created_key();
        writes.push(Write::create(order.item()));
        writes.push(Write::put(order.row(keys::orders_row(&created, &order.id))));
        writes.push(Write::put(order.row(keys::status_row(order.status, &created, &order.id))));
        writes.push(event(&order, None));
        if from_cart {
            let bought: Vec<ProductId> = order.lines.iter().map(|l| l.product_id).collect();
            writes.extend(Carts::clearing(&request.user, &bought));
        }
        match self.table.transact(writes).await {
            Ok(()) => Ok(Checkout { order, replayed: false }),
            Err(WriteError::ConditionFailed { index: Some(0) }) if request.idempotency.is_some() => {
                let (key, fingerprint) = request.idempotency.as_ref().expect("checked");
                match self.idempotent_answer(&request.user, key, fingerprint).await {
                    Ok(Some(order)) => Ok(Checkout { order, replayed: true }),
                    Ok(None) => Err(Retry::Stale),
                    Err(e) => Err(Retry::Failed(e)),
                }
            }
            Err(WriteError::ConditionFailed { index: Some(i) })
                if i >= first_stock_write && i < first_stock_write + order.lines.len() =>
            {
                Err(Retry::Stale)
            }
            Err(e) => Err(Retry::Failed(e.into())),
        }
    }

    /// The caller's orders (or everyone's, or one status's), newest first.
    pub async fn list(
        &self,
        scope: OrderScope,
        limit: usize,
        after: Option<Value>,
    ) -> Result<(Vec<Order>, Option<Value>)> {
        let query = match &scope {
            OrderScope::User(user) => Query::gsi1(keys::user_partition(user)).prefix(keys::ORDER_PREFIX),
            OrderScope::All => Query::partition(keys::ORDERS_PARTITION),
            OrderScope::Status(status) => Query::partition(keys::status_partition(*status)),
        };
        let page = self.table.query(&query.descending().limit(limit).after(after)).await?;
        let orders = match scope {
            OrderScope::User(_) => page.items.iter().map(Item::decode).collect::<anyhow::Result<Vec<Order>>>()?,
            _ => {
                crate::table::follow(&*self.table, &page.items, "order_id", |id| {
                    OrderId::parse(id).ok().map(|id| keys::order(&id))
                })
                .await?
            }
        };
        Ok((orders, page.next))
    }

    /// Moves an order to `next` if that is legal from where it is; cancelling gives the stock
    /// back. One transaction with the event; 409 for an illegal move.
    pub async fn transition(
        &self,
        id: &OrderId,
        next: OrderStatus,
        by: &str,
        tracking_number: Option<String>,
    ) -> Result<Order> {
        for _ in 0..3 {
            let current = self.get(id).await?.ok_or(Error::NotFound("order"))?;
            if !current.status.can_become(next) {
                return Err(Error::Conflict(format!(
                    "an order that is {} cannot become {}",
                    current.status.as_str(),
                    next.as_str()
                )));
            }
            let now = Timestamp::now();
            let mut order = current.clone();
            order.status = next;
            order.updated_at = now;
            order.version += 1;
            order.history.push(StatusChange { status: next, at: now, by: by.to_owned() });
            if tracking_number.is_some() {
                order.tracking_number = tracking_number.clone();
            }
            let created = order.created_key();
            let sources: Vec<Value> = OrderStatus::sources_of(next).into_iter().map(|s| json!(s)).collect();
            let mut writes = vec![
                Write::put(order.item()).when(Condition::And(vec![
                    Condition::equals("version", current.version),
                    Condition::OneOf("status".into(), sources),
                ])),
                Write::delete(keys::status_row(current.status, &created, id)),
                Write::put(order.row(keys::status_row(next, &created, id))),
            ];
            writes.push(event(&order, Some(current.status)));
            if next == OrderStatus::Cancelled {
                let existing: Vec<Key> = order.lines.iter().map(|l| keys::product(&l.product_id)).collect();
                let present: Vec<String> = self.table.batch_get(&existing).await?.iter().map(|i| i.key().pk).collect();
                for line in &order.lines {
                    let key = keys::product(&line.product_id);
                    if present.contains(&key.pk) {
                        writes.push(
                            Write::update(key, Update::default().add("stock", i64::from(line.quantity)))
                                .when(Condition::Exists),
                        );
                    }
                }
            }
            match self.table.transact(writes).await {
                Ok(()) => return Ok(order),
                // Changed meanwhile (or a product went away): look again.
                Err(WriteError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict("the order changed while updating it; retry".into()))
    }

    /// Cancels pending orders placed before `cutoff`, each in its own transaction; answers
    /// how many it cancelled.
    pub async fn expire(&self, cutoff: OffsetDateTime) -> Result<usize> {
        let until = Timestamp::at(cutoff).sort_key();
        let mut cancelled = 0;
        let mut after = None;
        loop {
            let query = Query::partition(keys::status_partition(OrderStatus::PendingPayment))
                .between("0", until.clone())
                .limit(100)
                .after(after);
            let page = self.table.query(&query).await?;
            for row in &page.items {
                let Some(id) = row.str("order_id").and_then(|id| OrderId::parse(id).ok()) else { continue };
                match self.transition(&id, OrderStatus::Cancelled, "system", None).await {
                    Ok(_) => cancelled += 1,
                    // Paid or cancelled meanwhile: nothing to do.
                    Err(Error::Conflict(_) | Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(cancelled),
            }
        }
    }
}

/// Whose orders a list shows.
#[derive(Debug, Clone)]
pub enum OrderScope {
    User(UserId),
    All,
    Status(OrderStatus),
}

enum Retry {
    Stale,
    Failed(Error),
}

impl From<Error> for Retry {
    fn from(e: Error) -> Self {
        Retry::Failed(e)
    }
}
