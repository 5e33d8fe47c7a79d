//! The expiry job: orders left unpaid longer than the payment window are cancelled and their
//! stock goes back, one transaction per order. Before cancelling an order that has a payment,
//! it asks the provider: a payment that succeeded but whose webhook was lost pays the order
//! instead; any other is cancelled with the order. EventBridge runs it every five minutes in
//! AWS; the local stack runs it in-process.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use shop::orders::Expired;
use shop::payments::{PaymentProvider, Payments};
use shop::table::Table;
use time::Duration;

/// How long an order may wait for its payment by default.
pub const DEFAULT_PAYMENT_WINDOW: Duration = Duration::minutes(30);

/// The job: the orders and their payments, and how long orders may stay unpaid.
#[derive(Clone)]
pub struct Expiry {
    payments: Payments,
    window: Duration,
}

impl Expiry {
    pub fn new(table: Arc<dyn Table>, providers: Vec<Arc<dyn PaymentProvider>>, window: Duration) -> Self {
        Self { payments: Payments::new(table, providers), window }
    }

    /// The window from `ORDER_PAYMENT_MINUTES`, or [`DEFAULT_PAYMENT_WINDOW`].
    pub fn window_from_env() -> anyhow::Result<Duration> {
        match std::env::var("ORDER_PAYMENT_MINUTES") {
            Ok(minutes) => Ok(Duration::minutes(
                minutes
                    .parse()
                    .map_err(|_| anyhow::anyhow!("ORDER_PAYMENT_MINUTES={minutes} is not a number of minutes"))?,
            )),
            Err(_) => Ok(DEFAULT_PAYMENT_WINDOW),
        }
    }

    /// Cancels what has waited too long; an order that fails waits for the next run.
    pub async fn run(&self) -> shop::Result<Expired> {
        let run = self.payments.orders().expire(shop::time::now() - self.window, &self.payments).await?;
        if run.looked_at > 0 {
            tracing::info!(cancelled = run.cancelled, failed = run.failed, "unpaid orders expired");
        }
        Ok(run)
    }

    /// The Lambda handler for a scheduled event: the event says nothing the job needs. Orders
    /// that failed are logged and tried again by the next run; the invocation fails only when
    /// the run could not read the table.
    pub async fn handle(&self, _scheduled: EventBridgeEvent) -> Result<Expired, shop_aws::lambda::Error> {
        Ok(self.run().await.map_err(|e| format!("expiring orders: {e:#}"))?)
    }
}
