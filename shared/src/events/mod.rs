//! Domain events, from the outbox to the consumers.
//!
//! A state change writes its event as an `EVENT#` item in the transaction that makes the change
//! (the outbox), so no change exists without its event. A publisher reads the table's change
//! stream and hands each new event item to the bus, which fans it out to the queues whose filter
//! names its `type`. A consumer applies its effect once per event: the effect's writes commit in
//! one transaction with a record of the event's id ([`once`]), so a redelivery changes nothing.
//!
//! | | AWS | embedded (local stack) |
//! |---|---|---|
//! | publisher | Lambda on DynamoDB Streams, filtered to `EVENT#` inserts -> SNS, `type` attribute (`shop_sns`) | the SQLite change stream -> `shop_embedded::bus::Bus::pump` |
//! | queues | SQS, subscribed with a filter policy on `type`, redrive to a DLQ | rows in the bus's SQLite file (`shop_embedded::bus`) |
//! | consumers | Lambda on SQS, partial batch responses (`shop_aws::lambda::handle_queue`) | in-process workers with the same retry and dead-letter rules |

mod envelope;
mod queues;
mod schema;
mod worker;

pub use envelope::{EVENT_SECONDS, Event, Published, record};
pub use queues::{DELIVERIES, NOTIFICATIONS, QUEUES, Queue, REFUNDS, SALES, SEARCH, WEBHOOKS};
pub use schema::{
    DomainEvent, EventKind, GuestContact, MessageQueued, OrderEvent, ProductEvent, StockCause, StockChanged, StockMove,
};
pub use worker::{Consumer, Idle, PROCESSED_SECONDS, consume, deliver, keep_working, once, panic_message};
