//! The expiry job: orders left unpaid longer than the payment window, or without a payment
//! started longer than the reservation, are cancelled and their stock goes back, one
//! transaction per order. Before cancelling an order that has a payment,
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
/// How long an order may wait for its payment to be started by default: the stock it holds
/// goes back soon when nobody is paying for it.
pub const DEFAULT_RESERVATION: Duration = Duration::minutes(10);

/// How long unpaid orders may wait: for their payment, and for it to be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub payment: Duration,
    pub reservation: Duration,
}

impl Default for Windows {
    fn default() -> Self {
        Self { payment: DEFAULT_PAYMENT_WINDOW, reservation: DEFAULT_RESERVATION }
    }
}

impl Windows {
    /// From `ORDER_PAYMENT_MINUTES` and `ORDER_RESERVATION_MINUTES`, each defaulted.
    pub fn from_env() -> anyhow::Result<Self> {
        let minutes = |name: &str, default: Duration| match std::env::var(name) {
            Ok(minutes) => minutes
                .parse()
                .map(Duration::minutes)
                .map_err(|_| anyhow::anyhow!("{name}={minutes} is not a number of minutes")),
            Err(_) => Ok(default),
        };
        Ok(Self {
            payment: minutes("ORDER_PAYMENT_MINUTES", DEFAULT_PAYMENT_WINDOW)?,
            reservation: minutes("ORDER_RESERVATION_MINUTES", DEFAULT_RESERVATION)?,
        })
    }
}

/// The job: the orders and their payments, and how long orders may stay unpaid.
#[derive(Clone)]
pub struct Expiry {
    payments: Payments,
    windows: Windows,
}

impl Expiry {
    pub fn new(table: Arc<dyn Table>, providers: Vec<Arc<dyn PaymentProvider>>, windows: Windows) -> Self {
        Self { payments: Payments::new(table, providers), windows }
    }

    /// Cancels what has waited too long; an order that fails waits for the next run.
    pub async fn run(&self) -> shop::Result<Expired> {
        let now = shop::time::now();
        let (cutoff, unstarted) = (now - self.windows.payment, now - self.windows.reservation);
        let run = self.payments.orders().expire(cutoff, unstarted, &self.payments).await?;
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
