//! The `refunds` queue's consumer.

use async_trait::async_trait;

use super::service::{PaymentError, Payments, Refunding};
use crate::domain::OrderStatus;
use crate::events::{Consumer, DomainEvent, Event, Queue, REFUNDS};

/// The `refunds` queue's consumer: a paid order that was cancelled gets its money back.
pub struct CancelledRefunds {
    payments: Payments,
}

impl CancelledRefunds {
    pub fn new(payments: Payments) -> Self {
        Self { payments }
    }
}

#[async_trait]
impl Consumer for CancelledRefunds {
    fn queue(&self) -> &'static Queue {
        &REFUNDS
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let DomainEvent::OrderCancelled(cancelled) = &event.event else { return Ok(()) };
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
}
