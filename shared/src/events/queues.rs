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

/// Order events composed into messages to the shopper (`notifications::OrderNotifications`).
pub const NOTIFICATIONS: Queue = Queue {
    name: "notifications",
    types: &[
        EventKind::OrderPlaced,
        EventKind::OrderPaid,
        EventKind::OrderShipped,
        EventKind::OrderDelivered,
        EventKind::OrderCancelled,
        EventKind::OrderRefunded,
        EventKind::OrderPaymentFailed,
        EventKind::ReturnRequested,
        EventKind::ReturnApproved,
        EventKind::ReturnRefused,
        EventKind::ReturnReceived,
        EventKind::ReturnRefunded,
    ],
};

/// Units sold per product, for the back office.
pub const SALES: Queue = Queue { name: "sales", types: &[EventKind::OrderPlaced, EventKind::OrderCancelled] };

/// Refunds of paid orders that were cancelled, and of returned goods once received.
pub const REFUNDS: Queue = Queue { name: "refunds", types: &[EventKind::OrderCancelled, EventKind::ReturnReceived] };

/// Messages to send (`notifications::Deliveries`).
pub const DELIVERIES: Queue = Queue { name: "deliveries", types: &[EventKind::MessageQueued] };

/// Product changes for the search index (`search::Indexer`).
pub const SEARCH: Queue = Queue {
    name: "search",
    types: &[EventKind::ProductCreated, EventKind::ProductUpdated, EventKind::ProductDeleted, EventKind::StockChanged],
};

/// Every queue; template.yaml subscribes one SQS queue (with a DLQ) per entry, with these types
/// as its filter policy (a test holds them equal).
/// Events partners hear of through their webhook endpoints (`partners::PartnerDeliveries`).
pub const WEBHOOKS: Queue = Queue {
    name: "webhooks",
    types: &[
        EventKind::OrderPlaced,
        EventKind::OrderPaid,
        EventKind::OrderShipped,
        EventKind::OrderDelivered,
        EventKind::OrderCancelled,
        EventKind::OrderRefunded,
        EventKind::ReturnRequested,
        EventKind::ReturnApproved,
        EventKind::ReturnRefused,
        EventKind::ReturnReceived,
        EventKind::ReturnRefunded,
        EventKind::ProductCreated,
        EventKind::ProductUpdated,
        EventKind::ProductDeleted,
        EventKind::StockChanged,
    ],
};

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
