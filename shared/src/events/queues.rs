//! The bus's queues and the event types each one's subscription lets through.

use super::schema::EventKind;

/// A queue of the bus: its name and the event types its subscription lets through.
#[derive(Debug, PartialEq, Eq)]
pub struct Queue {
    pub name: &'static str,
    pub types: &'static [EventKind],
}

impl Queue {
    pub fn accepts(&self, kind: EventKind) -> bool {
        self.types.contains(&kind)
    }
}

/// An order's steps from checkout to refund.
const ORDER_STEPS: [EventKind; 6] = [
    EventKind::OrderPlaced,
    EventKind::OrderPaid,
    EventKind::OrderShipped,
    EventKind::OrderDelivered,
    EventKind::OrderCancelled,
    EventKind::OrderRefunded,
];

/// A return's steps.
const RETURN_STEPS: [EventKind; 5] = [
    EventKind::ReturnRequested,
    EventKind::ReturnApproved,
    EventKind::ReturnRefused,
    EventKind::ReturnReceived,
    EventKind::ReturnRefunded,
];

/// Changes to the catalogue.
const PRODUCT_CHANGES: [EventKind; 4] =
    [EventKind::ProductCreated, EventKind::ProductUpdated, EventKind::ProductDeleted, EventKind::StockChanged];

/// `parts` one after the other, as a constant.
const fn joined<const N: usize>(parts: &[&[EventKind]]) -> [EventKind; N] {
    let mut all = [EventKind::OrderPlaced; N];
    let (mut at, mut part) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            all[at] = parts[part][i];
            (at, i) = (at + 1, i + 1);
        }
        part += 1;
    }
    assert!(at == N, "the parts fill the array");
    all
}

/// Order and return events composed into messages to the shopper
/// (`notifications::OrderNotifications`).
pub const NOTIFICATIONS: Queue = Queue {
    name: "notifications",
    types: &joined::<12>(&[&ORDER_STEPS, &[EventKind::OrderPaymentFailed], &RETURN_STEPS]),
};

/// Units sold per product, for the back office.
pub const SALES: Queue = Queue { name: "sales", types: &[EventKind::OrderPlaced, EventKind::OrderCancelled] };

/// Refunds of paid orders that were cancelled, and of returned goods once received.
pub const REFUNDS: Queue = Queue { name: "refunds", types: &[EventKind::OrderCancelled, EventKind::ReturnReceived] };

/// Messages to send (`notifications::Deliveries`).
pub const DELIVERIES: Queue = Queue { name: "deliveries", types: &[EventKind::MessageQueued] };

/// Product changes for the search index (`search::Indexer`).
pub const SEARCH: Queue = Queue { name: "search", types: &PRODUCT_CHANGES };

/// Events partners hear of through their webhook endpoints (`partners::PartnerDeliveries`).
pub const WEBHOOKS: Queue =
    Queue { name: "webhooks", types: &joined::<15>(&[&ORDER_STEPS, &RETURN_STEPS, &PRODUCT_CHANGES]) };

/// Every queue; template.yaml subscribes one SQS queue (with a DLQ) per entry, with these types
/// as its filter policy (a test holds them equal).
pub const QUEUES: [&Queue; 6] = [&NOTIFICATIONS, &SALES, &REFUNDS, &DELIVERIES, &SEARCH, &WEBHOOKS];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_label_each_queue_of_the_bus() {
        let mut queues: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
        let mut labelled = crate::metrics::EVENTS_CONSUMED.labels[0].1.to_vec();
        queues.sort();
        labelled.sort();
        assert_eq!(queues, labelled);
    }
}
