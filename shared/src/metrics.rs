//! What the shop measures, named and described once. Code records through the `metrics`
//! facade with the functions below; the recorder a process installs decides where the figures
//! go: CloudWatch Embedded Metric Format lines in Lambda (`shop_aws::lambda`), Prometheus text at
//! `GET /metrics` in the local stack. With no recorder installed, recording costs nothing.
//!
//! Every label comes from a closed set (a route template, a method, a status class, a queue, a
//! provider, an outcome, a cause, a channel, a currency), so no user, order or email ever
//! becomes a label or a dimension; the functions take typed values to keep it so.

use std::time::Duration;

use metrics::{Unit, counter, histogram};

use crate::domain::{CancelReason, Channel, DeliveryStatus, Money, Provider};

/// One metric: its name (the same in Prometheus and CloudWatch), kind, unit, help text, and for
/// a histogram the upper bounds of its Prometheus buckets.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    pub help: &'static str,
    pub labels: Labels,
    pub buckets: &'static [f64],
}

/// Label names, each with every value it can take (empty: any of a closed set known only at
/// run time, such as route templates).
pub type Labels = &'static [(&'static str, &'static [&'static str])];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
}

const SECONDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const LAG_SECONDS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
const VALUES: &[f64] = &[5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0];
const QUEUES: &[&str] = &["notifications", "sales", "refunds", "deliveries", "search", "webhooks"];
const PROVIDERS: &[&str] = &["stripe", "paypal"];

const fn counter(name: &'static str, help: &'static str, labels: Labels) -> Metric {
    Metric { name, kind: Kind::Counter, unit: Unit::Count, help, labels, buckets: &[] }
}

const fn histogram(
    name: &'static str,
    unit: Unit,
    help: &'static str,
    labels: Labels,
    buckets: &'static [f64],
) -> Metric {
    Metric { name, kind: Kind::Histogram, unit, help, labels, buckets }
}

pub const HTTP_REQUESTS: Metric = counter(
    "shop_http_requests_total",
    "Answers of the HTTP API, by route template, method and status class (5xx are the errors).",
    &[("route", &[]), ("method", &[]), ("class", &["2xx", "3xx", "4xx", "5xx"])],
);

pub const HTTP_DURATION: Metric = histogram(
    "shop_http_request_duration_seconds",
    Unit::Seconds,
    "Time from a request reaching its route to its answer, by route template and method.",
    &[("route", &[]), ("method", &[])],
    SECONDS,
);

pub const ORDERS_PLACED: Metric =
    counter("shop_orders_placed_total", "Orders placed, by currency.", &[("currency", &[])]);

pub const ORDER_VALUE: Metric = histogram(
    "shop_order_value",
    Unit::Count,
    "Totals of the orders placed, in major units of their currency (19.99 for 19.99 EUR).",
    &[("currency", &[])],
    VALUES,
);

pub const PAYMENTS: Metric = counter(
    "shop_payments_total",
    "Payments that succeeded (the order was paid) or failed (declined or refused at capture).",
    &[("outcome", &["succeeded", "failed"])],
);

pub const WEBHOOK_EVENTS: Metric = counter(
    "shop_webhook_events_total",
    "Payment providers' webhook calls, by provider and outcome (applied, ignored, rejected, failed).",
    &[("provider", PROVIDERS), ("outcome", &["applied", "ignored", "rejected", "failed"])],
);

pub const STOCK_OUTS: Metric = counter("shop_stock_outs_total", "Products whose last unit was sold.", &[]);

pub const CANCELLATIONS: Metric = counter(
    "shop_cancellations_total",
    "Orders cancelled, by cause (shopper, admin, payment_expired).",
    &[("cause", &["shopper", "admin", "payment_expired"])],
);

pub const NOTIFICATIONS: Metric = counter(
    "shop_notifications_total",
    "Messages to shoppers, by channel and outcome (sent, failed, suppressed, retried).",
    &[("channel", &["email", "sms"]), ("outcome", &["sent", "failed", "suppressed", "retried"])],
);

pub const EVENTS_CONSUMED: Metric = counter(
    "shop_events_consumed_total",
    "Events handed to a queue's consumer, by queue and outcome (a failed one is a batch item failure, retried).",
    &[("queue", QUEUES), ("outcome", &["applied", "failed"])],
);

pub const EVENT_LAG: Metric = histogram(
    "shop_event_lag_seconds",
    Unit::Seconds,
    "Time from an event's change to its consumer handling it, by queue.",
    &[("queue", QUEUES)],
    LAG_SECONDS,
);

pub const DEAD_LETTERS: Metric = counter(
    "shop_dead_letters_total",
    "Events a consumer gave up on, moved to the queue's dead letters (in AWS: the DLQ's own metrics).",
    &[("queue", QUEUES)],
);

pub const PARTNER_DELIVERIES: Metric = counter(
    "shop_partner_deliveries_total",
    "Attempts to deliver an event to a partner's webhook endpoint, by outcome (delivered, failed).",
    &[("outcome", &["delivered", "failed"])],
);

pub const PARTNER_DURATION: Metric = histogram(
    "shop_partner_delivery_duration_seconds",
    Unit::Seconds,
    "Time a partner's endpoint took to answer an attempt (or to fail it).",
    &[],
    LAG_SECONDS,
);

pub const CART_REMINDERS: Metric = counter(
    "shop_cart_reminders_total",
    "Carts left behind, by what the reminder sweep did: sent a reminder, let the cart go (no consent, unsubscribed, nothing to buy, reminded enough), deferred it (a limit on the address or on guests held it back), or failed (logged; tried again).",
    &[("outcome", &["sent", "skipped", "deferred", "failed"])],
);

pub const RECOVERED_ORDER_VALUE: Metric = histogram(
    "shop_recovered_order_value",
    Unit::Count,
    "Totals of the orders placed from carts the shop reminded its shoppers of (recovered carts), in major units of their currency; its count is the orders recovered.",
    &[("currency", &[])],
    VALUES,
);

/// Every metric the code records.
pub const ALL: &[&Metric] = &[
    &CART_REMINDERS,
    &RECOVERED_ORDER_VALUE,
    &PARTNER_DELIVERIES,
    &PARTNER_DURATION,
    &HTTP_REQUESTS,
    &HTTP_DURATION,
    &ORDERS_PLACED,
    &ORDER_VALUE,
    &PAYMENTS,
    &WEBHOOK_EVENTS,
    &STOCK_OUTS,
    &CANCELLATIONS,
    &NOTIFICATIONS,
    &EVENTS_CONSUMED,
    &EVENT_LAG,
    &DEAD_LETTERS,
];

/// Gives the installed recorder every metric's unit and help text.
pub fn describe() {
    for metric in ALL {
        match metric.kind {
            Kind::Counter => metrics::describe_counter!(metric.name, metric.unit, metric.help),
            Kind::Histogram => metrics::describe_histogram!(metric.name, metric.unit, metric.help),
        }
    }
}

/// Registers every counter at 0 for each combination of its enumerable labels, so that a rate
/// or an alert sees the series before its first event (for a scraped recorder; a Lambda's
/// lines carry only what happened).
pub fn register_counters() {
    for metric in ALL.iter().filter(|m| m.kind == Kind::Counter) {
        if metric.labels.iter().any(|(_, values)| values.is_empty()) {
            continue;
        }
        let mut combinations: Vec<Vec<(&'static str, &'static str)>> = vec![Vec::new()];
        for (label, values) in metric.labels {
            combinations = combinations
                .into_iter()
                .flat_map(|done| {
                    values.iter().map(move |value| {
                        let mut more = done.clone();
                        more.push((*label, *value));
                        more
                    })
                })
                .collect();
        }
        for labels in combinations {
            let labels: Vec<metrics::Label> = labels.into_iter().map(|(k, v)| metrics::Label::new(k, v)).collect();
            counter!(metric.name, labels).absolute(0);
        }
    }
}

/// The answers of one route of the HTTP API (its template, `/api/orders/{id}`), counted and
/// timed through handles registered at the first answer of each method and status class: an
/// answer then costs two atomic updates, not a registry lookup per metric.
pub struct RouteMetrics {
    route: metrics::SharedString,
    methods: [MethodMetrics; METHODS.len()],
}

/// The methods whose handles a route keeps (any other is looked up per answer).
const METHODS: [(axum::http::Method, &str); 5] = [
    (axum::http::Method::GET, "GET"),
    (axum::http::Method::POST, "POST"),
    (axum::http::Method::PUT, "PUT"),
    (axum::http::Method::DELETE, "DELETE"),
    (axum::http::Method::PATCH, "PATCH"),
];

/// Status classes, as the `class` label names them.
const CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
struct MethodMetrics {
    answers: [std::sync::OnceLock<metrics::Counter>; CLASSES.len()],
    duration: std::sync::OnceLock<metrics::Histogram>,
}

impl RouteMetrics {
    pub fn new(route: &str) -> Self {
        Self { route: metrics::SharedString::from_owned(route.to_owned()), methods: Default::default() }
    }

    /// An answer of this route: its method, status and the time it took.
    pub fn answered(&self, method: &axum::http::Method, status: axum::http::StatusCode, took: Duration) {
        let class = match status.as_u16() {
            200..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        let counter = |method: metrics::SharedString| counter!(HTTP_REQUESTS.name, "route" => self.route.clone(), "method" => method, "class" => CLASSES[class]);
        let histogram = |method: metrics::SharedString| histogram!(HTTP_DURATION.name, "route" => self.route.clone(), "method" => method);
        let took = took.as_secs_f64();
        match METHODS.iter().position(|(m, _)| m == method) {
            Some(known) => {
                let (handles, name) = (&self.methods[known], metrics::SharedString::const_str(METHODS[known].1));
                handles.answers[class].get_or_init(|| counter(name.clone())).increment(1);
                handles.duration.get_or_init(|| histogram(name)).record(took);
            }
            None => {
                let name = metrics::SharedString::from_owned(method.as_str().to_owned());
                counter(name.clone()).increment(1);
                histogram(name).record(took);
            }
        }
    }
}

/// An order was placed: counted, and its value recorded, by currency; also as a recovered
/// one if it was placed from a cart the shop reminded its shopper of.
pub fn order_placed(total: Money, recovered: bool) {
    let currency = total.currency.to_string();
    let major = total.amount as f64 / 10f64.powi(total.currency.minor_digits() as i32);
    counter!(ORDERS_PLACED.name, "currency" => currency.clone()).increment(1);
    if recovered {
        histogram!(RECOVERED_ORDER_VALUE.name, "currency" => currency.clone()).record(major);
    }
    histogram!(ORDER_VALUE.name, "currency" => currency).record(major);
}

/// What the reminder sweep did with a cart: one of the `outcome` values [`CART_REMINDERS`] lists.
pub fn cart_reminder(outcome: &'static str) {
    counter!(CART_REMINDERS.name, "outcome" => outcome).increment(1);
}

/// How an order's payment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Succeeded,
    Failed,
}

impl PaymentOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

pub fn payment(outcome: PaymentOutcome) {
    counter!(PAYMENTS.name, "outcome" => outcome.as_str()).increment(1);
}

/// An order was cancelled, for `reason`.
pub fn cancellation(reason: CancelReason) {
    counter!(CANCELLATIONS.name, "cause" => reason.as_str()).increment(1);
}

/// `products` products sold their last unit.
pub fn stock_outs(products: usize) {
    if products > 0 {
        counter!(STOCK_OUTS.name).increment(products as u64);
    }
}

/// What became of a payment provider's webhook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Verified and applied to its order (or already applied: a repeat).
    Applied,
    /// Verified, but about nothing the shop acts on.
    Ignored,
    /// Not verified (a bad signature, a malformed body): answered 400.
    Rejected,
    /// Verified, but applying it failed: answered 5xx, and the provider will retry.
    Failed,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Ignored => "ignored",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }
}

pub fn webhook(provider: Provider, outcome: WebhookOutcome) {
    counter!(WEBHOOK_EVENTS.name, "provider" => provider.as_str(), "outcome" => outcome.as_str()).increment(1);
}

/// A message's sending came to `status` (or, for `Queued`, will be tried again).
pub fn notification(channel: Channel, status: DeliveryStatus) {
    let outcome = match status {
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Suppressed => "suppressed",
        DeliveryStatus::Queued => "retried",
    };
    counter!(NOTIFICATIONS.name, "channel" => channel.as_str(), "outcome" => outcome).increment(1);
}

/// A queue's consumer handled an event `lag` after it happened.
pub fn consumed(queue: &'static str, lag: Duration, applied: bool) {
    let outcome = if applied { "applied" } else { "failed" };
    counter!(EVENTS_CONSUMED.name, "queue" => queue, "outcome" => outcome).increment(1);
    histogram!(EVENT_LAG.name, "queue" => queue).record(lag.as_secs_f64());
}

/// An attempt to deliver an event to a partner's endpoint, and how long it took.
pub fn webhook_attempt(delivered: bool, took: Duration) {
    let outcome = if delivered { "delivered" } else { "failed" };
    counter!(PARTNER_DELIVERIES.name, "outcome" => outcome).increment(1);
    histogram!(PARTNER_DURATION.name).record(took.as_secs_f64());
}

/// An event of `queue` was moved to its dead letters.
pub fn dead_lettered(queue: &'static str) {
    counter!(DEAD_LETTERS.name, "queue" => queue).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        for metric in ALL {
            assert!(metric.name.starts_with("shop_"), "{}", metric.name);
            assert_eq!(metric.kind == Kind::Counter, metric.name.ends_with("_total"), "{}", metric.name);
            assert_eq!(metric.kind == Kind::Histogram, !metric.buckets.is_empty(), "{}", metric.name);
            assert!(metric.buckets.is_sorted(), "{}", metric.name);
        }
    }
}
