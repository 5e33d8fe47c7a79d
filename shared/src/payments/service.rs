//! Payments over the table and the configured providers: paying an order, applying the
//! providers' webhooks once each, refunds reserved on the order before the provider is asked.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{
    Money, OrderId, OrderStatus, Payment, PaymentStatus, Provider, Refund, RefundStatus, RefundedLine, VariantId,
};
use crate::events::DomainEvent;
use crate::keys;
use crate::orders::{Order, OrderError, Orders, PaidMeanwhile, Sequence, Transition};
use crate::table::{Item, Table, Write, WriteError, committed, retrying};
use crate::time::{Timestamp, epoch_now};

use super::provider::{PaymentProvider, ProviderError, RefundRequest, WebhookEvent, WebhookKind};

/// How long a webhook event's id is kept: longer than any provider retries (Stripe: 3 days).
pub const WEBHOOK_EVENT_SECONDS: i64 = 4 * 24 * 3600;

/// Marks the pending refund `key` done (`Succeeded`, with the provider's id) or refused
/// (`Failed`, its amount available again).
fn finish(payment: &mut Payment, key: &str, status: RefundStatus, id: Option<String>) {
    let Some(refund) = payment.refunds.iter_mut().find(|r| r.key == key && r.status == RefundStatus::Pending) else {
        return;
    };
    refund.status = status;
    refund.id = id;
    if status == RefundStatus::Failed {
        payment.refunded -= refund.amount.amount;
    }
}

/// The answer to "pay this order", kept so that a retry answers it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkout {
    pub provider: Provider,
    pub payment_id: String,
    /// For Stripe.js' `confirmCardPayment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Where PayPal's buyer approves the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_url: Option<String>,
    pub amount: Money,
    pub status: PaymentStatus,
}

/// Why a payment could not be made, refunded or applied.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Order(#[from] OrderError),
    /// The order is not awaiting payment.
    #[error("an order that is {} cannot be paid", .0.as_str())]
    NotPayable(OrderStatus),
    /// The provider asked for is not configured here.
    #[error("{} payments are not available", .0.as_str())]
    ProviderUnavailable(Provider),
    /// More than what was paid and not yet refunded.
    #[error("at most {available} (minor units) can be refunded")]
    OverRefund { available: i64 },
    /// More than the caller may refund at once (a support clerk's limit).
    #[error("your role refunds at most {most} (minor units) at a time; ask an admin")]
    BeyondLimit { most: i64 },
    /// Nothing was paid.
    #[error("the order has no payment to refund")]
    NothingPaid,
    /// A refund by lines names a variant the order did not buy.
    #[error("the order has no line of variant {0}")]
    NotInOrder(VariantId),
    /// More units of a line than were bought and not yet given back.
    #[error("at most {available} unit(s) of variant {variant_id} can be refunded")]
    UnitsRefunded { variant_id: VariantId, available: u32 },
    /// The order has no payment the buyer could have approved.
    #[error("the order has no payment to capture")]
    NothingToCapture,
    /// The provider took another amount or currency than the order's total.
    #[error("the payment's amount differs from the order's total")]
    AmountMismatch,
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for PaymentError {
    fn from(e: WriteError) -> Self {
        Self::Order(e.into())
    }
}

type Result<T, E = PaymentError> = std::result::Result<T, E>;

/// What applying a webhook event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The order changed: paid, a failure noted, a refund recorded.
    Changed,
    /// The order could not take the payment, which was refunded.
    Refunded,
    /// Seen before, for no order of the shop, or of a type the shop ignores.
    Nothing,
    /// The amount or currency differs from the order's total: the order stays unpaid.
    AmountMismatch,
}

/// Payments over the table and the configured providers.
#[derive(Clone)]
pub struct Payments {
    table: Arc<dyn Table>,
    orders: Orders,
    providers: Vec<Arc<dyn PaymentProvider>>,
}

impl Payments {
    pub fn new(table: Arc<dyn Table>, providers: Vec<Arc<dyn PaymentProvider>>) -> Self {
        Self { orders: Orders::new(table.clone()), table, providers }
    }

    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    pub fn table(&self) -> Arc<dyn Table> {
        self.table.clone()
    }

    /// The adapter of `provider`, if configured.
    pub fn provider(&self, provider: Provider) -> Result<&dyn PaymentProvider> {
        self.providers
            .iter()
            .find(|p| p.provider() == provider)
            .map(|p| &**p)
            .ok_or(PaymentError::ProviderUnavailable(provider))
    }

    /// The order's payment with `provider`: the pending one (`false`), or a new one (`true`)
    /// when there is none, the last one failed, or it was with another provider.
    pub async fn checkout(&self, order: Order, provider: Provider) -> Result<(Checkout, bool)> {
        let client = self.provider(provider)?;
        let id = order.id;
        // The caller's order first; after a lost race, the order as it now is.
        let mut given = Some(order);
        retrying(contention, || {
            let given = given.take();
            async move {
                let order = match given {
                    Some(order) => order,
                    None => self.orders.get(&id).await?.ok_or(OrderError::NotFound)?,
                };
                if order.status != OrderStatus::PendingPayment {
                    return Err(PaymentError::NotPayable(order.status));
                }
                if let Some(current) = &order.payment
                    && current.provider == provider
                    && current.status == PaymentStatus::Pending
                    && let Some(item) = self.table.get(&keys::checkout(&order.id, current.attempt)).await?
                {
                    return Ok(Some((item.decode()?, false)));
                }
                let number = order.payment.as_ref().map_or(1, |p| p.attempt + 1);
                let made = client.create(&order, number).await?;
                let checkout = Checkout {
                    provider,
                    payment_id: made.id.clone(),
                    client_secret: made.client_secret,
                    approve_url: made.approve_url,
                    amount: made.amount,
                    status: PaymentStatus::Pending,
                };
                let payment = Payment::pending(provider, &made.id, number, order.total);
                let (_, write) = self.orders.amending(&order, |o| o.payment = Some(payment));
                let keep = Write::put(Item::new(&keys::checkout(&order.id, number), &checkout));
                // Changed meanwhile (possibly by this same request, retried): look again.
                Ok(committed(self.table.transact(vec![write, keep]).await)?.then_some((checkout, true)))
            }
        })
        .await
    }

    /// The buyer's return from approving the order's payment at the provider (PayPal): takes
    /// the money and applies it as its webhook would, so the webhook, before or after, changes
    /// nothing more. Answers the order as it then is (PAID; or CANCELLED with the payment
    /// refunded, when it was cancelled meanwhile). A payment captured already answers the same.
    /// Unlike an approval's webhook ([`WebhookKind::Approved`]), a capture the provider refuses
    /// here changes nothing: the buyer may have come back before approving, and can still pay.
    pub async fn capture(&self, order: &Order) -> Result<Order> {
        let payment = order.payment.as_ref().ok_or(PaymentError::NothingToCapture)?;
        if payment.status == PaymentStatus::Succeeded {
            return Ok(order.clone());
        }
        if order.status != OrderStatus::PendingPayment {
            return Err(PaymentError::NotPayable(order.status));
        }
        let remote = self.provider(payment.provider)?.capture(&payment.payment_id).await?;
        if remote.status != PaymentStatus::Succeeded {
            return Err(ProviderError::Refused("the payment is not approved, or was declined".into()).into());
        }
        let event = WebhookEvent {
            id: format!("captured-{}", payment.payment_id),
            order_id: Some(order.id),
            kind: WebhookKind::Succeeded { payment_id: payment.payment_id.clone(), amount: remote.amount },
        };
        if self.apply(payment.provider, &event).await? == Applied::AmountMismatch {
            return Err(PaymentError::AmountMismatch);
        }
        Ok(self.orders.get(&order.id).await?.ok_or(OrderError::NotFound)?)
    }

    /// Applies a verified webhook event once: one read of the order, one transaction (the
    /// event's record first in it, so a redelivery fails there and changes nothing).
    pub async fn apply(&self, provider: Provider, event: &WebhookEvent) -> Result<Applied> {
        let Some(order_id) = event.order_id else {
            tracing::info!(event = %event.id, "webhook event for no order of the shop");
            return Ok(Applied::Nothing);
        };
        let seen = Write::create(
            Item::marker(&keys::webhook_event(provider.as_str(), &event.id))
                .expiring_at(epoch_now() + WEBHOOK_EVENT_SECONDS),
        );
        retrying(contention, || async {
            let Some(order) = self.orders.get(&order_id).await? else {
                tracing::info!(event = %event.id, order = %order_id, "webhook event for an unknown order");
                return Ok(Some(Applied::Nothing));
            };
            let (applied, writes) = match &event.kind {
                WebhookKind::Succeeded { payment_id, amount } => {
                    match self.succeeded(provider, &order, payment_id, *amount).await? {
                        Some(step) => step,
                        None => {
                            // The order cannot take it: record the money on it, refund, then
                            // mark the event applied (a retry redoes each step at most once).
                            if !self.refund_stray(provider, &order, payment_id, *amount).await? {
                                // The order changed before the money was recorded: look again.
                                return Ok(None);
                            }
                            (Applied::Refunded, Vec::new())
                        }
                    }
                }
                WebhookKind::Failed { payment_id, reason } => self.failed(&order, payment_id, reason),
                WebhookKind::Approved { payment_id } => self.approved(provider, &order, payment_id).await?,
                WebhookKind::Refunded { payment_id, refund_id, key, amount } => {
                    self.refunded(&order, payment_id, refund_id, key.as_deref(), *amount).await?
                }
                WebhookKind::Ignored(kind) => {
                    tracing::debug!(event = %event.id, kind, "webhook event ignored");
                    (Applied::Nothing, Vec::new())
                }
            };
            let mut all = vec![seen.clone()];
            all.extend(writes);
            match self.table.transact(all).await {
                // Applied before.
                Err(WriteError::ConditionFailed { index: Some(0) }) => Ok(Some(Applied::Nothing)),
                // Or the order changed between the read and the write: read it again.
                outcome => Ok(committed(outcome)?.then_some(applied)),
            }
        })
        .await
    }

    /// What a succeeded payment does to `order`, or `None` when the order cannot take it: it
    /// is not the order's own payment (the order is named by the payment's metadata, which
    /// anyone with access to the provider's account can write), or the order is past paying.
    async fn succeeded(
        &self,
        provider: Provider,
        order: &Order,
        payment_id: &str,
        amount: Money,
    ) -> Result<Option<(Applied, Vec<Write>)>> {
        let Some(ours) = order.payment.as_ref().filter(|p| p.payment_id == payment_id && p.provider == provider) else {
            return Ok(None);
        };
        if ours.status == PaymentStatus::Succeeded {
            // Already applied, through another event of the same payment.
            return Ok(Some((Applied::Nothing, Vec::new())));
        }
        if order.status != OrderStatus::PendingPayment {
            return Ok(None);
        }
        if amount != order.total {
            tracing::error!(order = %order.id, payment = payment_id, paid = %amount, total = %order.total,
                "payment amount differs from the order's total: the order stays unpaid");
            return Ok(Some((Applied::AmountMismatch, Vec::new())));
        }
        let payment = Payment::succeeded(provider, payment_id, ours.attempt, amount);
        let (_, writes) = self.orders.transitioning(order, &Transition::Pay(payment), "payments").await?;
        Ok(Some((Applied::Changed, writes)))
    }

    /// What a failed try does to `order`: its pending payment is marked failed (the order stays
    /// payable with a new payment). States only move forward: a failure after success, or of a
    /// payment that is not the order's current one, changes nothing.
    fn failed(&self, order: &Order, payment_id: &str, reason: &str) -> (Applied, Vec<Write>) {
        let pending = |p: &Payment| p.payment_id == payment_id && p.status == PaymentStatus::Pending;
        if order.status != OrderStatus::PendingPayment || !order.payment.as_ref().is_some_and(pending) {
            return (Applied::Nothing, Vec::new());
        }
        let (failed, write) = self.orders.amending(order, |o| {
            let p = o.payment.as_mut().expect("checked");
            p.status = PaymentStatus::Failed;
            p.failure = Some(reason.to_owned());
        });
        (Applied::Changed, vec![write, crate::events::record(DomainEvent::OrderPaymentFailed(failed.as_event(None)))])
    }

    /// The buyer approved `order`'s payment: it is captured now, and the order paid in the same
    /// transaction as the approval's record, so an approval is never left to expire because the
    /// buyer closed the page. A declined capture marks the payment failed; an approval of a
    /// payment that is not the order's pending one changes nothing.
    async fn approved(&self, provider: Provider, order: &Order, payment_id: &str) -> Result<(Applied, Vec<Write>)> {
        let pending = |p: &Payment| p.payment_id == payment_id && p.status == PaymentStatus::Pending;
        if order.status != OrderStatus::PendingPayment || !order.payment.as_ref().is_some_and(pending) {
            return Ok((Applied::Nothing, Vec::new()));
        }
        match self.provider(provider)?.capture(payment_id).await {
            Ok(remote) if remote.status == PaymentStatus::Succeeded => {
                let step = self.succeeded(provider, order, payment_id, remote.amount).await?;
                Ok(step.unwrap_or((Applied::Nothing, Vec::new())))
            }
            Ok(remote) => Ok(self.failed(order, payment_id, &format!("the capture is {:?}", remote.status))),
            Err(ProviderError::Refused(reason)) => Ok(self.failed(order, payment_id, &reason)),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives back a payment `order` cannot take. The order's own payment (it was cancelled
    /// while the shopper paid) is recorded as paid and refunded through [`Payments::refund`];
    /// another payment of an order paid already is refunded and listed with its refunds.
    /// Answers `false` when `order` changed before the money was recorded on it: the caller
    /// reads it again.
    async fn refund_stray(&self, provider: Provider, order: &Order, payment_id: &str, amount: Money) -> Result<bool> {
        let key = format!("stray-{payment_id}");
        let reason = "the order could not take this payment";
        let ours = order.payment.as_ref().is_none_or(|p| p.payment_id == payment_id);
        if ours {
            if order.payment.as_ref().is_none_or(|p| p.paid == 0) {
                let (_, write) = self.orders.amending(order, |o| {
                    let attempt = o.payment.as_ref().map_or(0, |p| p.attempt);
                    o.payment = Some(Payment::succeeded(provider, payment_id, attempt, amount));
                });
                if !committed(self.table.write(write).await)? {
                    return Ok(false);
                }
            }
            match self.refund(&order.id, &Refunding::Rest, reason, &key).await {
                // The cancellation's own refund, seeing the money recorded, gave it all back first.
                Ok(_) | Err(PaymentError::OverRefund { available: 0 }) => {}
                Err(e) => return Err(e),
            }
        } else if order.payment.as_ref().is_some_and(|p| !p.refunds.iter().any(|r| r.key == key)) {
            let request = RefundRequest { order: &order.id, payment_id, amount, key: &key };
            let id = self.provider(provider)?.refund(&request).await?;
            let refund = Refund::pending(&key, payment_id, amount, reason).done(&id);
            let (_, write) = self.orders.amending(order, |o| o.payment.as_mut().expect("checked").refunds.push(refund));
            // Lost a race: read again; the provider answers the same refund for the same key.
            if !committed(self.table.write(write).await)? {
                return Ok(false);
            }
        }
        tracing::warn!(order = %order.id, payment = payment_id, "payment refunded: {reason}");
        Ok(true)
    }

    /// The provider's word on a refund: one the shop reserved (found by its key) is done; one
    /// made outside the shop (the provider's dashboard) is recorded.
    async fn refunded(
        &self,
        order: &Order,
        payment_id: &str,
        refund_id: &str,
        key: Option<&str>,
        amount: Money,
    ) -> Result<(Applied, Vec<Write>)> {
        let Some(payment) = order.payment.as_ref().filter(|p| p.payment_id == payment_id) else {
            return Ok((Applied::Nothing, Vec::new()));
        };
        let known = payment.refunds.iter().find(|r| r.id.as_deref() == Some(refund_id) || Some(r.key.as_str()) == key);
        let writes = match known {
            Some(r) if r.status == RefundStatus::Succeeded => return Ok((Applied::Nothing, Vec::new())),
            Some(r) => {
                let key = r.key.clone();
                self.settled(order, |p| finish(p, &key, RefundStatus::Succeeded, Some(refund_id.to_owned()))).await?
            }
            None => {
                let refund = Refund::pending(refund_id, payment_id, amount, "refunded at the provider").done(refund_id);
                self.settled(order, |p| {
                    p.refunded += amount.amount;
                    p.refunds.push(refund);
                })
                .await?
            }
        };
        Ok((Applied::Changed, writes))
    }

    /// The writes that change the order's payment by `change`, and make the order REFUNDED
    /// when everything paid went back and its status allows.
    async fn settled(&self, order: &Order, change: impl FnOnce(&mut Payment)) -> Result<Vec<Write>> {
        let mut changed = order.clone();
        let payment = changed.payment.as_mut().ok_or(PaymentError::NothingPaid)?;
        change(payment);
        let all_back = payment.paid > 0
            && payment
                .refunds
                .iter()
                .filter(|r| r.payment_id == payment.payment_id)
                .all(|r| r.status == RefundStatus::Succeeded)
            && payment.refunded >= payment.paid;
        if all_back && order.status.can_become(OrderStatus::Refunded) {
            return Ok(self.orders.transitioning(&changed, &Transition::Refund, "payments").await?.1);
        }
        let mut writes = Vec::new();
        if all_back && order.invoice.is_some() && order.credit_note.is_none() {
            // An invoiced order cancelled and refunded in full stays CANCELLED, and its invoice
            // is credited all the same, numbered in this transaction.
            let (number, take) = self.orders.next_number(Sequence::CreditNote, Timestamp::now()).await?;
            changed.credit_note = Some(number);
            writes.push(take);
        }
        let (payment, credit_note) = (changed.payment.take(), changed.credit_note.take());
        writes.insert(0, self.orders.amending(order, |o| (o.payment, o.credit_note) = (payment, credit_note)).1);
        Ok(writes)
    }

    /// Refunds `what` of the order's payment, once per `key`: the refund is reserved on the
    /// order under its revision, then asked of the provider with the same key, then marked
    /// done. A retry with the same key resumes where it stopped.
    pub async fn refund(&self, id: &OrderId, what: &Refunding, reason: &str, key: &str) -> Result<Refund> {
        self.refund_at_most(id, what, reason, key, None).await
    }

    /// [`Payments::refund`], refused ([`PaymentError::BeyondLimit`]) when it would give back more
    /// than `most` (minor units), if given: what a support clerk may refund at once.
    pub async fn refund_at_most(
        &self,
        id: &OrderId,
        what: &Refunding,
        reason: &str,
        key: &str,
        most: Option<i64>,
    ) -> Result<Refund> {
        let (order, refund) = retrying(contention, || async {
            let order = self.orders.get(id).await?.ok_or(OrderError::NotFound)?;
            let payment = order.payment.as_ref().filter(|p| p.paid > 0).ok_or(PaymentError::NothingPaid)?;
            if let Some(existing) = payment.refunds.iter().find(|r| r.key == key) {
                return Ok(Some((order.clone(), existing.clone())));
            }
            let available = payment.paid - payment.refunded;
            let (amount, lines) = match what {
                Refunding::Rest => (available, Vec::new()),
                Refunding::Amount(amount) => (*amount, Vec::new()),
                Refunding::Lines(lines) => (worth(&order, payment, lines)?, lines.clone()),
                Refunding::Returned { lines, shipping } => {
                    let carriage =
                        order.shipping.as_ref().filter(|_| *shipping).map_or(0, |s| s.net.amount + s.tax.amount);
                    (worth(&order, payment, lines)? + carriage, lines.clone())
                }
            };
            if amount <= 0 || amount > available {
                return Err(PaymentError::OverRefund { available });
            }
            if let Some(most) = most.filter(|most| amount > *most) {
                return Err(PaymentError::BeyondLimit { most });
            }
            let money = Money { amount, currency: payment.amount.currency };
            let refund = Refund::pending(key, &payment.payment_id, money, reason).of_lines(lines);
            let (order, write) = self.orders.amending(&order, |o| {
                let p = o.payment.as_mut().expect("checked");
                p.refunded += amount;
                p.refunds.push(refund.clone());
            });
            Ok(committed(self.table.write(write).await)?.then_some((order, refund)))
        })
        .await?;
        if refund.status != RefundStatus::Pending {
            return Ok(refund);
        }
        let payment = order.payment.as_ref().expect("reserved on a paid order");
        let request = RefundRequest { order: id, payment_id: &refund.payment_id, amount: refund.amount, key };
        let outcome = self.provider(payment.provider)?.refund(&request).await;
        let (status, refund_id) = match &outcome {
            Ok(refund_id) => (RefundStatus::Succeeded, Some(refund_id.clone())),
            Err(ProviderError::Refused(_) | ProviderError::NotFound) => (RefundStatus::Failed, None),
            // Unknown whether it happened: the reservation stays, and a retry asks again.
            Err(ProviderError::Unavailable(_)) => return Err(outcome.expect_err("matched").into()),
        };
        let settled_as = &refund_id;
        retrying(
            || PaymentError::Order(OrderError::Contention),
            move || async move {
                let order = self.orders.get(id).await?.ok_or(OrderError::NotFound)?;
                let pending = |p: &Payment| p.refunds.iter().any(|r| r.key == key && r.status == RefundStatus::Pending);
                if !order.payment.as_ref().is_some_and(pending) {
                    // The provider's webhook settled it first.
                    return Ok(Some(()));
                }
                let writes = self.settled(&order, |p| finish(p, key, status, settled_as.clone())).await?;
                Ok(committed(self.table.transact(writes).await)?.then_some(()))
            },
        )
        .await?;
        outcome?;
        Ok(Refund { status, id: refund_id, ..refund })
    }

    /// Before an unpaid order expires: asks its provider about its payment. A payment that
    /// succeeded (its webhook lost) is applied, and answers `true`: the order is paid, not to be
    /// cancelled. Otherwise the payment is cancelled at the provider, and the order may go.
    pub async fn settle_before_expiry(&self, order: &Order) -> Result<bool> {
        let Some(payment) = order.payment.as_ref().filter(|p| p.status != PaymentStatus::Succeeded) else {
            return Ok(false);
        };
        let provider = self.provider(payment.provider)?;
        let mut remote = match provider.retrieve(&payment.payment_id).await {
            Ok(remote) => remote,
            Err(ProviderError::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        if remote.status != PaymentStatus::Succeeded {
            match provider.cancel(&payment.payment_id).await {
                Ok(()) | Err(ProviderError::NotFound) => return Ok(false),
                // Refused: it may have succeeded meanwhile; asked once more.
                Err(ProviderError::Refused(_)) => remote = provider.retrieve(&payment.payment_id).await?,
                Err(e) => return Err(e.into()),
            }
            if remote.status != PaymentStatus::Succeeded {
                return Ok(false);
            }
        }
        tracing::warn!(order = %order.id, payment = %payment.payment_id, "a succeeded payment's webhook never came");
        let event = WebhookEvent {
            id: format!("reconciled-{}", payment.payment_id),
            order_id: Some(order.id),
            kind: WebhookKind::Succeeded { payment_id: payment.payment_id.clone(), amount: remote.amount },
        };
        Ok(self.apply(payment.provider, &event).await? == Applied::Changed)
    }
}

#[async_trait]
impl PaidMeanwhile for Payments {
    async fn paid_meanwhile(&self, order: &Order) -> Result<bool, OrderError> {
        self.settle_before_expiry(order).await.map_err(|e| match e {
            PaymentError::Order(e) => e,
            other => OrderError::Store(anyhow::anyhow!("asking the payment provider: {other}")),
        })
    }
}

/// What a refund gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refunding {
    /// All that was paid and not yet given back.
    Rest,
    /// An amount, in minor units of the payment's currency.
    Amount(i64),
    /// Units of the order's lines: what was paid for them, their discount and tax included.
    Lines(Vec<RefundedLine>),
    /// Returned units, as [`Refunding::Lines`], and the shipping paid when `shipping` says so.
    Returned { lines: Vec<RefundedLine>, shipping: bool },
}

/// What giving back `lines` of `order` is worth: each line's units shared out of what was paid
/// for it ([`OrderLine::paid_for`](crate::domain::OrderLine::paid_for)), after the units that
/// `payment`'s earlier refunds (those not failed) gave back.
fn worth(order: &Order, payment: &Payment, lines: &[RefundedLine]) -> Result<i64> {
    let mut given = std::collections::BTreeMap::<VariantId, u32>::new();
    for earlier in payment.refunds.iter().filter(|r| r.status != RefundStatus::Failed).flat_map(|r| &r.lines) {
        *given.entry(earlier.variant_id).or_default() += earlier.quantity.get();
    }
    let mut total = 0;
    for wanted in lines {
        let line = order.lines.iter().find(|l| l.variant_id == wanted.variant_id);
        let line = line.ok_or(PaymentError::NotInOrder(wanted.variant_id))?;
        let before = given.entry(wanted.variant_id).or_default();
        let available = line.quantity.get().saturating_sub(*before);
        if wanted.quantity.get() > available {
            return Err(PaymentError::UnitsRefunded { variant_id: wanted.variant_id, available });
        }
        total += line.paid_for(*before, wanted.quantity.get()).amount;
        *before += wanted.quantity.get();
    }
    Ok(total)
}

/// The error of a change that lost every race for its order.
fn contention() -> PaymentError {
    OrderError::Contention.into()
}
