//! Returns: a shopper asks to send back units of a delivered order within the shop's window;
//! staff approve (with instructions) or refuse (with a reason), record what arrived and whether
//! it goes back to stock; the `refunds` consumer then pays back those units (their discount and
//! tax included) and, if the shop says so, the shipping.
//!
//! A return lives in its order, so each step is one transaction conditioned on the order's
//! revision that also writes the step's event (the shopper's email) and moves the return's row
//! in the queue the back office lists (`RETURNS#<status>`). No unit is returned twice: a request
//! counts the units every other return holds, and two requests at once cannot both commit.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    Description, Money, OrderId, OrderLine, OrderStatus, Reason, ReceivedLine, Return, ReturnChange, ReturnId,
    ReturnLine, ReturnStatus, VariantId,
};
use crate::events::{self, DomainEvent, StockCause, StockChanged};
use crate::orders::{Order, OrderError, Orders};
use crate::table::{Item, Query, Table, Write, committed, retrying};
use crate::time::Timestamp;

/// What the shop allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnPolicy {
    /// Days after delivery a return may be asked for.
    pub window_days: i64,
    /// Whether the last return of an order's goods pays back its shipping too.
    pub refund_shipping: bool,
    /// Returns of one order waiting on the shop at once: a shopper cannot fill the queue.
    pub open_per_order: usize,
}

impl Default for ReturnPolicy {
    fn default() -> Self {
        Self { window_days: 30, refund_shipping: false, open_per_order: 3 }
    }
}

impl ReturnPolicy {
    /// From `RETURN_WINDOW_DAYS` and `RETURNS_REFUND_SHIPPING` (`true` or `false`) as `var`
    /// finds them, each defaulted.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let default = Self::default();
        let window_days = crate::settings::whole(&var, "RETURN_WINDOW_DAYS", default.window_days, 0)?;
        let refund_shipping = match var("RETURNS_REFUND_SHIPPING").as_deref() {
            Some("true") => true,
            Some("false") | None => false,
            Some(other) => anyhow::bail!("RETURNS_REFUND_SHIPPING={other} is neither true nor false"),
        };
        Ok(Self { window_days, refund_shipping, ..default })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReturnError {
    #[error(transparent)]
    Order(#[from] OrderError),
    /// Only a delivered order's goods come back.
    #[error("only a delivered order's goods can be returned; this order is {}", .0.as_str())]
    NotDelivered(OrderStatus),
    /// The window after delivery has passed.
    #[error("returns are accepted for {days} days after delivery; that time has passed")]
    WindowClosed { days: i64 },
    /// A line names a variant the order (or, on receipt, the return) does not hold.
    #[error("variant {0} is not among what can be returned here")]
    NotInOrder(VariantId),
    /// More units than bought and not yet returned or refunded (or, on receipt, than asked for).
    #[error("at most {available} unit(s) of variant {variant_id} can be returned")]
    TooMany { variant_id: VariantId, available: u32 },
    /// The order has as many returns waiting as it may.
    #[error("this order has {most} returns waiting already; wait for an answer")]
    TooManyOpen { most: usize },
    #[error("no such return")]
    NotFound,
    /// The return is not where the step starts from.
    #[error("a return that is {} cannot become {}", .from.as_str(), .to.as_str())]
    Illegal { from: ReturnStatus, to: ReturnStatus },
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<crate::table::WriteError> for ReturnError {
    fn from(e: crate::table::WriteError) -> Self {
        Self::Order(e.into())
    }
}

type Result<T, E = ReturnError> = std::result::Result<T, E>;

/// A return as the back office's queue lists it: with its order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedReturn {
    pub order_id: OrderId,
    #[serde(flatten)]
    pub returned: Return,
}

/// Returns, kept in their orders.
#[derive(Clone)]
pub struct Returns {
    orders: Orders,
    table: Arc<dyn Table>,
    policy: ReturnPolicy,
}

impl Returns {
    pub fn new(table: Arc<dyn Table>, policy: ReturnPolicy) -> Self {
        Self { orders: Orders::new(table.clone()), table, policy }
    }

    pub fn policy(&self) -> ReturnPolicy {
        self.policy
    }

    /// The shopper asks to return `lines` of their delivered `order` (which the caller checked
    /// is theirs); `by` is who asks.
    pub async fn request(
        &self,
        order: &OrderId,
        lines: Vec<ReturnLine>,
        comment: Option<Reason>,
        by: &str,
    ) -> Result<(Order, Return)> {
        let lines = merged(lines);
        let id = ReturnId::new();
        retrying(contention, || async {
            let order = self.orders.get(order).await?.ok_or(OrderError::NotFound)?;
            if order.status != OrderStatus::Delivered {
                return Err(ReturnError::NotDelivered(order.status));
            }
            let delivered = order.history.iter().rev().find(|c| c.status == OrderStatus::Delivered);
            let window = time::Duration::days(self.policy.window_days);
            if delivered.is_some_and(|c| crate::time::now() - *c.at > window) {
                return Err(ReturnError::WindowClosed { days: self.policy.window_days });
            }
            if order.returns.iter().filter(|r| r.is_open()).count() >= self.policy.open_per_order {
                return Err(ReturnError::TooManyOpen { most: self.policy.open_per_order });
            }
            for wanted in &lines {
                let available = returnable(&order, wanted.variant_id)?;
                if wanted.quantity.get() > available {
                    return Err(ReturnError::TooMany { variant_id: wanted.variant_id, available });
                }
            }
            let now = Timestamp::now();
            let asked = Return {
                id,
                status: ReturnStatus::Requested,
                lines: lines.clone(),
                comment: comment.clone(),
                instructions: None,
                refusal: None,
                received: Vec::new(),
                with_shipping: false,
                refunded: None,
                history: vec![ReturnChange { status: ReturnStatus::Requested, at: now, by: by.to_owned() }],
                created_at: now,
            };
            let (next, write) = self.orders.amending(&order, |o| o.returns.push(asked.clone()));
            let mut writes = vec![write, Write::put(row(&next, &asked))];
            writes.push(event(&next, &asked));
            Ok(committed(self.table.transact(writes).await)?.then_some((next, asked)))
        })
        .await
    }

    /// Staff approve a requested return, telling the shopper how to send the goods.
    pub async fn approve(
        &self,
        order: &OrderId,
        id: &ReturnId,
        instructions: Description,
        by: &str,
    ) -> Result<(Order, Return)> {
        self.step(order, id, ReturnStatus::Approved, by, |_, r| {
            let changed = Return { instructions: Some(instructions.clone()), ..r };
            Box::pin(std::future::ready(Ok((changed, Vec::new()))))
        })
        .await
    }

    /// Staff refuse a return not yet received, saying why.
    pub async fn refuse(&self, order: &OrderId, id: &ReturnId, reason: Reason, by: &str) -> Result<(Order, Return)> {
        self.step(order, id, ReturnStatus::Refused, by, |_, r| {
            let changed = Return { refusal: Some(reason.clone()), ..r };
            Box::pin(std::future::ready(Ok((changed, Vec::new()))))
        })
        .await
    }

    /// Staff record what of an approved return arrived, and which units go back to stock (in
    /// the same transaction, with their `StockChanged`). The refund follows (`ReturnReceived`).
    pub async fn receive(
        &self,
        order: &OrderId,
        id: &ReturnId,
        received: Vec<ReceivedLine>,
        by: &str,
    ) -> Result<(Order, Return)> {
        let received = &received;
        self.step(order, id, ReturnStatus::Received, by, |order, r| {
            Box::pin(async move {
                let mut arrived: Vec<ReceivedLine> = Vec::new();
                for line in received {
                    let asked: u32 =
                        r.lines.iter().filter(|l| l.variant_id == line.variant_id).map(|l| l.quantity.get()).sum();
                    if asked == 0 {
                        return Err(ReturnError::NotInOrder(line.variant_id));
                    }
                    let counted: u32 =
                        arrived.iter().filter(|l| l.variant_id == line.variant_id).map(|l| l.quantity.get()).sum();
                    if counted + line.quantity.get() > asked {
                        return Err(ReturnError::TooMany { variant_id: line.variant_id, available: asked - counted });
                    }
                    arrived.push(*line);
                }
                // The units going back on the shelf, as order lines moving stock.
                let shelved: Vec<OrderLine> = arrived
                    .iter()
                    .filter(|l| l.restock)
                    .filter_map(|l| {
                        let line = order.lines.iter().find(|o| o.variant_id == l.variant_id)?;
                        Some(OrderLine { quantity: l.quantity, ..line.clone() })
                    })
                    .collect();
                let mut writes = Vec::new();
                if !shelved.is_empty() {
                    let products = self.orders.products(shelved.iter().map(|l| l.product_id)).await?;
                    let now = Timestamp::now();
                    let (stock, moves) = Orders::stock_writes(&products, &shelved, 1, false, now)
                        .ok_or_else(|| anyhow::anyhow!("restocking a return would pass a stock's maximum"))?;
                    if !moves.is_empty() {
                        writes.extend(stock);
                        let cause = StockCause::Return { order_id: order.id };
                        writes.push(events::record(DomainEvent::StockChanged(StockChanged { cause, products: moves })));
                    }
                }
                // The last of the order's goods back: its shipping too, if the shop says so.
                let done = Return { received: arrived.clone(), status: ReturnStatus::Received, ..r.clone() };
                let others = order.returns.iter().filter(|o| o.id != r.id);
                let back = |v: VariantId| -> u32 {
                    others
                        .clone()
                        .filter(|o| matches!(o.status, ReturnStatus::Received | ReturnStatus::Refunded))
                        .map(|o| o.units_of(v))
                        .sum::<u32>()
                        + done.units_of(v)
                };
                let all_back = order.lines.iter().all(|l| back(l.variant_id) >= l.quantity.get());
                let with_shipping = self.policy.refund_shipping && all_back;
                Ok((Return { received: arrived, with_shipping, ..r }, writes))
            })
        })
        .await
    }

    /// The refund of a received return went through: it paid back `amount`.
    pub async fn refunded(&self, order: &OrderId, id: &ReturnId, amount: Money) -> Result<(Order, Return)> {
        self.step(order, id, ReturnStatus::Refunded, "system", |_, r| {
            Box::pin(std::future::ready(Ok((Return { refunded: Some(amount), ..r }, Vec::new()))))
        })
        .await
    }

    /// The returns in `status`, oldest first: up to `limit`, and where the next page starts.
    pub async fn queue(
        &self,
        status: ReturnStatus,
        limit: usize,
        after: Option<serde_json::Value>,
    ) -> Result<(Vec<QueuedReturn>, Option<serde_json::Value>)> {
        let page = self
            .table
            .query(&Query::partition(crate::keys::returns_partition(status)).limit(limit).after(after))
            .await?;
        // An order with two returns in the queue is read once.
        let mut keys: Vec<crate::table::Key> = page
            .items
            .iter()
            .filter_map(|row| OrderId::parse(row.str("order_id")?).ok())
            .map(|id| crate::keys::order(&id))
            .collect();
        keys.sort_by(|a, b| (&a.pk, &a.sk).cmp(&(&b.pk, &b.sk)));
        keys.dedup();
        let orders: Vec<Order> =
            self.table.batch_get(&keys).await?.iter().map(Item::decode).collect::<anyhow::Result<_>>()?;
        let queued = page
            .items
            .iter()
            .filter_map(|row| {
                let (order, id) =
                    (OrderId::parse(row.str("order_id")?).ok()?, ReturnId::parse(row.str("return_id")?).ok()?);
                let returned = orders.iter().find(|o| o.id == order)?.returns.iter().find(|r| r.id == id)?.clone();
                Some(QueuedReturn { order_id: order, returned })
            })
            .collect();
        Ok((queued, page.next))
    }

    /// One step of a return to `to`: `change` makes the return's new fields and any writes that
    /// go with them, from the order as read; the step commits with the order's new revision,
    /// the row's move and the event, or reads again after a lost race.
    async fn step<'s>(
        &'s self,
        order: &OrderId,
        id: &ReturnId,
        to: ReturnStatus,
        by: &str,
        change: impl Fn(Order, Return) -> futures::future::BoxFuture<'s, Result<(Return, Vec<Write>)>>,
    ) -> Result<(Order, Return)> {
        retrying(contention, || async {
            let order = self.orders.get(order).await?.ok_or(OrderError::NotFound)?;
            let at = order.returns.iter().position(|r| r.id == *id).ok_or(ReturnError::NotFound)?;
            let current = order.returns[at].clone();
            if current.status == to && to == ReturnStatus::Refunded {
                // A redelivered refund: already recorded.
                return Ok(Some((order, current)));
            }
            if !current.status.next().contains(&to) {
                return Err(ReturnError::Illegal { from: current.status, to });
            }
            let (changed, extra) = change(order.clone(), current.clone()).await?;
            let moved = changed.moved(to, by, Timestamp::now());
            let (next, write) = self.orders.amending(&order, |o| o.returns[at] = moved.clone());
            let mut writes = vec![write, Write::delete(row(&next, &current).key()), Write::put(row(&next, &moved))];
            writes.push(event(&next, &moved));
            writes.extend(extra);
            Ok(committed(self.table.transact(writes).await)?.then_some((next, moved)))
        })
        .await
    }
}

/// Units of `variant` the order can still send back: bought, less those other returns hold
/// and those refunded by line outside any return.
fn returnable(order: &Order, variant: VariantId) -> Result<u32> {
    let line = order.lines.iter().find(|l| l.variant_id == variant).ok_or(ReturnError::NotInOrder(variant))?;
    let returned: u32 = order.returns.iter().map(|r| r.units_of(variant)).sum();
    let refunded: u32 = order
        .payment
        .iter()
        .flat_map(|p| &p.refunds)
        .filter(|r| r.status != crate::domain::RefundStatus::Failed && !r.key.starts_with(REFUND_KEY_PREFIX))
        .flat_map(|r| &r.lines)
        .filter(|l| l.variant_id == variant)
        .map(|l| l.quantity.get())
        .sum();
    Ok(line.quantity.get().saturating_sub(returned + refunded))
}

/// The refund key of a return's refund: `return-<id>`, one per return, so a redelivered
/// `ReturnReceived` resumes the same refund.
pub const REFUND_KEY_PREFIX: &str = "return-";

pub fn refund_key(id: &ReturnId) -> String {
    format!("{REFUND_KEY_PREFIX}{id}")
}

/// `lines` with each variant once, its quantities added (the first reason kept).
fn merged(lines: Vec<ReturnLine>) -> Vec<ReturnLine> {
    let mut merged: Vec<ReturnLine> = Vec::new();
    for line in lines {
        match merged.iter_mut().find(|m| m.variant_id == line.variant_id) {
            Some(m) => {
                let sum = i64::from(m.quantity.get()) + i64::from(line.quantity.get());
                m.quantity = crate::domain::Quantity::new(sum.min(crate::domain::Quantity::MAX)).expect("in range");
            }
            None => merged.push(line),
        }
    }
    merged
}

/// The return's row in the back office's queue of its status.
fn row(order: &Order, returned: &Return) -> Item {
    Item::marker(&crate::keys::return_row(returned.status, &returned.created_at, &order.id, &returned.id))
        .with("order_id", order.id.to_string())
        .with("return_id", returned.id.to_string())
}

/// The event of a return's step, carrying the order and the return.
fn event(order: &Order, returned: &Return) -> Write {
    let told = crate::events::OrderEvent { returned: Some(returned.clone()), ..order.as_event(None) };
    events::record(DomainEvent::of_return(told))
}

fn contention() -> ReturnError {
    OrderError::Contention.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_from_its_settings_each_defaulted() {
        let set = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        let policy =
            ReturnPolicy::from_lookup(set(&[("RETURN_WINDOW_DAYS", "14"), ("RETURNS_REFUND_SHIPPING", "true")]));
        let policy = policy.unwrap();
        assert_eq!((policy.window_days, policy.refund_shipping), (14, true));
        let default = ReturnPolicy::from_lookup(set(&[])).unwrap();
        assert_eq!((default.window_days, default.refund_shipping), (30, false));
        assert!(ReturnPolicy::from_lookup(set(&[("RETURN_WINDOW_DAYS", "-1")])).is_err());
        assert!(ReturnPolicy::from_lookup(set(&[("RETURN_WINDOW_DAYS", "two weeks")])).is_err());
        assert!(ReturnPolicy::from_lookup(set(&[("RETURNS_REFUND_SHIPPING", "yes")])).is_err());
    }
}
