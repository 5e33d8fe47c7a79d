//! Every consumer of the event bus, listed once. The local stack runs them all from this list,
//! each consumer's Lambda function builds its own from it, and a test holds template.yaml to it
//! (a queue with its filter, DLQ and alarm, and a function named after the queue that drains
//! it), so a new consumer cannot be forgotten anywhere.

use std::sync::Arc;

use crate::events::{Consumer, NOTIFICATIONS, Queue, SALES};
use crate::notifications::OrderNotifications;
use crate::sales::Sales;
use crate::table::Table;

/// A consumer: the queue it drains (its Lambda function bears the queue's name), and how it is
/// built over the table.
pub struct Registration {
    pub queue: &'static Queue,
    pub build: fn(Arc<dyn Table>) -> Arc<dyn Consumer>,
}

fn notifications(table: Arc<dyn Table>) -> Arc<dyn Consumer> {
    Arc::new(OrderNotifications::new(table))
}

fn sales(table: Arc<dyn Table>) -> Arc<dyn Consumer> {
    Arc::new(Sales::new(table))
}

/// Every consumer, one per queue.
pub const CONSUMERS: [Registration; 2] =
    [Registration { queue: &NOTIFICATIONS, build: notifications }, Registration { queue: &SALES, build: sales }];

/// Every consumer, built over the table (the local stack runs them in-process).
pub fn all(table: Arc<dyn Table>) -> Vec<Arc<dyn Consumer>> {
    CONSUMERS.iter().map(|c| (c.build)(table.clone())).collect()
}

/// The consumer of the queue named `queue` (a consumer function's `main.rs`).
pub fn of(queue: &str, table: Arc<dyn Table>) -> anyhow::Result<Arc<dyn Consumer>> {
    let registration = CONSUMERS
        .iter()
        .find(|c| c.queue.name == queue)
        .ok_or_else(|| anyhow::anyhow!("no consumer drains a queue named {queue}"))?;
    Ok((registration.build)(table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::QUEUES;

    #[test]
    fn every_queue_has_exactly_one_consumer() {
        let drained: Vec<&str> = CONSUMERS.iter().map(|c| c.queue.name).collect();
        let queues: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
        assert_eq!(drained, queues);
    }
}
