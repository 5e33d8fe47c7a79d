//! Every consumer of the event bus, listed once. The local stack runs them all from this list,
//! each consumer's Lambda function builds its own from it, and a test holds template.yaml to it
//! (a queue with its filter, DLQ and alarm, and a function named after the queue that drains
//! it), so a new consumer cannot be forgotten anywhere.

use std::sync::Arc;

use crate::events::{Consumer, DELIVERIES, NOTIFICATIONS, Queue, REFUNDS, SALES, SEARCH, WEBHOOKS};
use crate::notifications::{Deliveries, OrderNotifications, Senders};
use crate::payments::{PaymentProvider, Payments, Refunder};
use crate::sales::Sales;
use crate::search::{Indexer, SearchIndex};
use crate::table::Table;

/// What consumers are built over: the table, the payment providers, the message senders and
/// the search index (for those that call them; the others' functions link none).
#[derive(Clone)]
pub struct Ports {
    pub table: Arc<dyn Table>,
    pub payments: Vec<Arc<dyn PaymentProvider>>,
    pub senders: Option<Senders>,
    pub search: Option<Arc<dyn SearchIndex>>,
    /// Where partners' webhooks go out.
    pub poster: Option<Arc<dyn crate::partners::Poster>>,
    /// The storefront's address, for the links in messages (`https://shop.example.com/`).
    pub storefront: Option<String>,
}

impl Ports {
    /// The table alone.
    pub fn table(table: Arc<dyn Table>) -> Self {
        Self { table, payments: Vec::new(), senders: None, search: None, poster: None, storefront: None }
    }
}

/// A consumer: the queue it drains, the Lambda function that drains it, and how it is built.
pub struct Registration {
    pub queue: &'static Queue,
    /// The function's binary (most bear their queue's name).
    pub function: &'static str,
    pub build: fn(&Ports) -> anyhow::Result<Arc<dyn Consumer>>,
}

fn notifications(ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    let storefront = ports.storefront.clone().unwrap_or_else(|| "/".into());
    Ok(Arc::new(OrderNotifications::new(ports.table.clone(), storefront)))
}

fn sales(ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    Ok(Arc::new(Sales::new(ports.table.clone())))
}

fn refunds(ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    Ok(Arc::new(Refunder::new(Payments::new(ports.table.clone(), ports.payments.clone()))))
}

fn deliveries(ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    let senders = ports.senders.clone().ok_or_else(|| anyhow::anyhow!("the deliveries consumer needs senders"))?;
    Ok(Arc::new(Deliveries::new(ports.table.clone(), senders)))
}

fn indexer(ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    let index = ports.search.clone().ok_or_else(|| anyhow::anyhow!("the indexer needs the search index"))?;
    Ok(Arc::new(Indexer::new(ports.table.clone(), index)))
}

fn webhooks(ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    let poster = ports.poster.clone().ok_or_else(|| anyhow::anyhow!("partners' webhooks need a sender"))?;
    Ok(Arc::new(crate::partners::PartnerDeliveries::new(ports.table.clone(), poster)))
}

/// Every consumer, one per queue.
pub const CONSUMERS: [Registration; 6] = [
    Registration { queue: &NOTIFICATIONS, function: "notifications", build: notifications },
    Registration { queue: &SALES, function: "sales", build: sales },
    Registration { queue: &REFUNDS, function: "refunds", build: refunds },
    Registration { queue: &DELIVERIES, function: "deliveries", build: deliveries },
    // The `search` function answers searches; this one writes the index.
    Registration { queue: &SEARCH, function: "indexer", build: indexer },
    Registration { queue: &WEBHOOKS, function: "webhooks", build: webhooks },
];

/// Every consumer (the local stack runs them in-process).
pub fn all(ports: &Ports) -> anyhow::Result<Vec<Arc<dyn Consumer>>> {
    CONSUMERS.iter().map(|c| (c.build)(ports)).collect()
}

/// The consumer the function named `function` runs (a consumer function's `main.rs`).
pub fn of(function: &str, ports: &Ports) -> anyhow::Result<Arc<dyn Consumer>> {
    let registration = CONSUMERS
        .iter()
        .find(|c| c.function == function)
        .ok_or_else(|| anyhow::anyhow!("no consumer function is named {function}"))?;
    (registration.build)(ports)
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
