//! The `refunds` queue's consumer.

use async_trait::async_trait;

use super::service::{PaymentError, Payments, Refunding};
use crate::domain::{OrderStatus, RefundedLine, ReturnStatus};
use crate::events::{Consumer, DomainEvent, Event, OrderEvent, Queue, REFUNDS};
use crate::returns::{ReturnPolicy, Returns, refund_key};

/// The `refunds` queue's consumer: money back for a paid order that was cancelled, and for
/// returned goods once received.
pub struct Refunder {
    payments: Payments,
    returns: Returns,
}

impl Refunder {
    pub fn new(payments: Payments) -> Self {
        // Recording a refund takes no policy: what it pays back was settled at receipt.
        let returns = Returns::new(payments.table(), ReturnPolicy::default());
        Self { payments, returns }
    }

    async fn cancelled(&self, cancelled: &OrderEvent) -> anyhow::Result<()> {
        let id = cancelled.order_id;
        let Some(order) = self.payments.orders().get(&id).await? else { return Ok(()) };
        if order.status != OrderStatus::Cancelled {
            tracing::warn!(order = %id, status = order.status.as_str(), "OrderCancelled for an order that is not cancelled");
            return Ok(());
        }
        // One key per order: a redelivery resumes the same refund.
        match self.payments.refund(&id, &Refunding::Rest, "the order was cancelled", &format!("cancel-{id}")).await {
            Ok(refund) => {
                tracing::info!(order = %id, refund = ?refund.id, amount = %refund.amount, "cancelled order refunded");
                Ok(())
            }
            // Never paid, or already given back in full.
            Err(PaymentError::NothingPaid | PaymentError::OverRefund { available: 0 }) => Ok(()),
            // A refused refund leaves money with the shop: retried, then dead-lettered (alarmed).
            Err(e) => Err(anyhow::anyhow!("refunding cancelled order {id}: {e}")),
        }
    }

    async fn received(&self, told: &OrderEvent) -> anyhow::Result<()> {
        let (order_id, Some(told)) = (told.order_id, &told.returned) else { return Ok(()) };
        let Some(order) = self.payments.orders().get(&order_id).await? else { return Ok(()) };
        let Some(returned) = order.returns.iter().find(|r| r.id == told.id) else { return Ok(()) };
        if returned.status != ReturnStatus::Received {
            return Ok(());
        }
        let lines =
            returned.received.iter().map(|l| RefundedLine { variant_id: l.variant_id, quantity: l.quantity }).collect();
        let what = Refunding::Returned { lines, shipping: returned.with_shipping };
        // One key per return: a redelivery resumes the same refund.
        let refund = self
            .payments
            .refund(&order_id, &what, "returned goods", &refund_key(&returned.id))
            .await
            .map_err(|e| anyhow::anyhow!("refunding return {} of order {order_id}: {e}", returned.id))?;
        self.returns.refunded(&order_id, &returned.id, refund.amount).await?;
        tracing::info!(order = %order_id, r#return = %returned.id, amount = %refund.amount, "return refunded");
        Ok(())
    }
}

#[async_trait]
impl Consumer for Refunder {
    fn queue(&self) -> &'static Queue {
        &REFUNDS
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        match &event.event {
            DomainEvent::OrderCancelled(cancelled) => self.cancelled(cancelled).await,
            DomainEvent::ReturnReceived(told) => self.received(told).await,
            _ => Ok(()),
        }
    }
}
