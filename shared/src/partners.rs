//! Webhooks for other systems (an ERP, a warehouse, accounting): endpoints an admin registers
//! hear of the domain events of the types they chose, as JSON signed the way Stripe signs.
//!
//! Delivery rides on the event backbone: the `webhooks` queue takes the partner-facing types,
//! and its consumer ([`PartnerDeliveries`]) records one delivery per endpoint and event (the
//! event's id is the delivery's, so a redelivered message sends nothing twice) and tries it at
//! once. A failed delivery waits in the due index (GSI1 `WEBHOOKS#DUE`) for the sweep
//! ([`PartnerDeliveries::retry_due`], every minute) after a back-off that spans a day; one that
//! fails every time fails for good, and an endpoint with no success since that delivery began
//! is disabled and the admin who registered it is mailed.
//!
//! Signature: `Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the
//! endpoint's secret>`, with `Shop-Event` (the type) and `Shop-Delivery` (the delivery's id).

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::{Channel, Email, Invalid, Name, UserId};
use crate::events::{Consumer, Event, EventKind, Queue, WEBHOOKS};
use crate::table::{Condition, Item, Query, Table, Update, Write, WriteError};
use crate::time::Timestamp;

/// The event types partners may hear of.
pub const PARTNER_EVENTS: &[EventKind] = WEBHOOKS.types;

/// Endpoints the shop keeps at most: each event fans out to all of them.
pub const MAX_ENDPOINTS: usize = 20;

/// The waits after each failed attempt (seconds): 1 min, 5 min, 30 min, 2 h, 6 h, 15 h; seven
/// attempts over almost a day.
pub const BACKOFF: [i64; 6] = [60, 300, 1_800, 7_200, 21_600, 54_000];

/// How long an attempt waits for the partner's answer.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An endpoint's address: `https://`, or `http://` to a loopback address where the shop allows
/// it (the local stack, for tests). Private and link-local addresses are refused here when
/// written as numbers, and by the sender for names that resolve to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(raw: &str, allow_loopback: bool) -> Result<Self, Invalid> {
        let uri: http::Uri = raw.trim().parse().map_err(|_| Invalid::new("is not a URL"))?;
        let host = uri.host().ok_or_else(|| Invalid::new("has no host"))?;
        let ip = host.trim_matches(|c| c == '[' || c == ']').parse::<std::net::IpAddr>().ok();
        let loopback = ip.is_some_and(|ip| ip.is_loopback()) || host.eq_ignore_ascii_case("localhost");
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if allow_loopback && loopback => {}
            _ => return Err(Invalid::new("must be an https:// URL")),
        }
        if raw.len() > 2_000 {
            return Err(Invalid::new("must be at most 2000 characters"));
        }
        if let Some(ip) = ip
            && !(allow_loopback && ip.is_loopback())
            && !is_public(ip)
        {
            return Err(Invalid::new("must not point at a private, loopback or link-local address"));
        }
        if loopback && !allow_loopback {
            return Err(Invalid::new("must not point at a private, loopback or link-local address"));
        }
        Ok(Self(uri.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EndpointUrl {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        // Stored addresses were checked when registered.
        Self::parse(&raw, true)
    }
}

impl From<EndpointUrl> for String {
    fn from(url: EndpointUrl) -> String {
        url.0
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (100.64/10), unspecified, multicast or broadcast, nor their IPv6 kin (unique local,
/// link-local, IPv4-mapped of those).
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// A registered endpoint, as the API shows it (never its secret, which is shown once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    /// A ULID.
    pub id: String,
    #[schema(value_type = String, example = "https://erp.example.com/shop-events")]
    pub url: EndpointUrl,
    /// The event types it hears of.
    pub events: Vec<EventKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Name>,
    /// Whether deliveries are made: an endpoint that failed for a day is disabled.
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Its last delivery that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<Timestamp>,
    /// The admin who registered it, and is told when it is disabled.
    #[schema(value_type = String)]
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub version: u64,
}

/// An endpoint as the table keeps it: with its signing secret and whom to tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    endpoint: Endpoint,
    secret: String,
    notify: Email,
}

/// A new endpoint and its secret, the one time it is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewEndpoint {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The signing secret (`whsec_...`): shown now, and never again.
    pub secret: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Failed every attempt.
    Failed,
}

/// One event sent (or being sent) to one endpoint, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// The event's id for the first delivery; a ULID for a redelivery.
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: EventKind,
    pub state: DeliveryState,
    pub attempts: u32,
    /// The partner's last answer's status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// Why the last attempt failed without an answer (a timeout, a refused address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Delivery {
    /// A new delivery `id` of `event_id` to `endpoint_id`, due now.
    fn due(id: &str, endpoint_id: &str, event_id: &str, event_type: EventKind) -> Self {
        let now = Timestamp::now();
        Self {
            id: id.to_owned(),
            endpoint_id: endpoint_id.to_owned(),
            event_id: event_id.to_owned(),
            event_type,
            state: DeliveryState::Pending,
            attempts: 0,
            last_status: None,
            last_error: None,
            next_attempt_at: Some(now),
            created_at: now,
            updated_at: now,
        }
    }
}

/// A delivery as the table keeps it: with the body it sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outgoing {
    #[serde(flatten)]
    delivery: Delivery,
    body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("no such endpoint")]
    NotFound,
    #[error("no such delivery")]
    NoDelivery,
    #[error("{field} {reason}")]
    Invalid { field: &'static str, reason: Invalid },
    #[error("the shop keeps at most {MAX_ENDPOINTS} endpoints")]
    TooMany,
    /// The endpoint changed since the version the caller read.
    #[error("the endpoint changed since you read it")]
    Stale,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for PartnerError {
    fn from(e: WriteError) -> Self {
        Self::Store(e.into())
    }
}

type Result<T, E = PartnerError> = std::result::Result<T, E>;

/// What an endpoint subscribes to, checked: at least one partner event type, and no more entries
/// than there are types (as the API's schema says); a type named twice is kept once.
pub fn subscribed(events: Vec<EventKind>) -> Result<Vec<EventKind>, Invalid> {
    if events.is_empty() {
        return Err(Invalid::new("must name at least one event type"));
    }
    if events.len() > PARTNER_EVENTS.len() {
        return Err(Invalid::new(format!("may name at most {} event types", PARTNER_EVENTS.len())));
    }
    if let Some(other) = events.iter().find(|e| !PARTNER_EVENTS.contains(e)) {
        return Err(Invalid::new(format!("{other} is not an event partners hear of")));
    }
    let mut events = events;
    events.sort_by_key(|e| e.as_str());
    events.dedup();
    Ok(events)
}

/// The registry of endpoints and their deliveries.
#[derive(Clone)]
pub struct PartnerWebhooks {
    table: Arc<dyn Table>,
}

impl PartnerWebhooks {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    async fn stored(&self, id: &str) -> Result<Stored> {
        let item = self.table.get(&crate::keys::endpoint(id)).await?.ok_or(PartnerError::NotFound)?;
        Ok(item.decode()?)
    }

    fn item(stored: &Stored) -> Item {
        let id = &stored.endpoint.id;
        Item::new(&crate::keys::endpoint(id), stored).with_gsi1(&crate::keys::endpoints_index(id))
    }

    /// Registers an endpoint for `events` at `url`; `by` is the admin, told at `notify` if it
    /// is ever disabled.
    pub async fn register(
        &self,
        url: EndpointUrl,
        events: Vec<EventKind>,
        description: Option<Name>,
        by: &UserId,
        notify: Email,
    ) -> Result<NewEndpoint> {
        if self.list().await?.len() >= MAX_ENDPOINTS {
            return Err(PartnerError::TooMany);
        }
        let secret = format!("whsec_{}", hex(&rand::random::<[u8; 24]>()));
        let endpoint = Endpoint {
            id: crate::domain::monotonic_ulid().to_string(),
            url,
            events,
            description,
            enabled: true,
            disabled_reason: None,
            last_success_at: None,
            created_by: by.clone(),
            created_at: Timestamp::now(),
            version: 1,
        };
        let stored = Stored { endpoint: endpoint.clone(), secret: secret.clone(), notify };
        self.table.write(Write::create(Self::item(&stored))).await?;
        Ok(NewEndpoint { endpoint, secret })
    }

    pub async fn get(&self, id: &str) -> Result<Endpoint> {
        Ok(self.stored(id).await?.endpoint)
    }

    /// Every endpoint, oldest first.
    pub async fn list(&self) -> Result<Vec<Endpoint>> {
        Ok(self.all().await?.into_iter().map(|s| s.endpoint).collect())
    }

    async fn all(&self) -> Result<Vec<Stored>> {
        let page = self.table.query(&Query::gsi1(crate::keys::ENDPOINTS_PARTITION).limit(MAX_ENDPOINTS)).await?;
        Ok(page.items.iter().map(Item::decode).collect::<anyhow::Result<_>>()?)
    }

    /// Changes an endpoint's address, events, description or whether it is enabled (enabling
    /// again clears why it was disabled), if it is still at `expected`.
    pub async fn update(
        &self,
        id: &str,
        expected: Option<u64>,
        change: impl FnOnce(&mut Endpoint),
    ) -> Result<Endpoint> {
        let current = self.stored(id).await?;
        if expected.is_some_and(|v| v != current.endpoint.version) {
            return Err(PartnerError::Stale);
        }
        let mut next = current.clone();
        change(&mut next.endpoint);
        if next.endpoint.enabled {
            next.endpoint.disabled_reason = None;
        }
        next.endpoint.version += 1;
        let write = Write::put(Self::item(&next)).when(Condition::equals("version", current.endpoint.version));
        match self.table.write(write).await {
            Ok(()) => Ok(next.endpoint),
            Err(WriteError::ConditionFailed { .. }) => Err(PartnerError::Stale),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes an endpoint; its deliveries' log goes with its time to live.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.stored(id).await?;
        self.table.write(Write::delete(crate::keys::endpoint(id))).await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first: up to `limit`, and where the next page starts.
    pub async fn deliveries(
        &self,
        id: &str,
        limit: usize,
        after: Option<Value>,
    ) -> Result<(Vec<Delivery>, Option<Value>)> {
        self.stored(id).await?;
        let query = Query::partition(crate::keys::endpoint(id).pk).prefix(crate::keys::DELIVERY_PREFIX).descending();
        let page = self.table.query(&query.limit(limit).after(after)).await?;
        let deliveries = page.items.iter().map(|i| i.decode::<Outgoing>().map(|o| o.delivery));
        Ok((deliveries.collect::<anyhow::Result<_>>()?, page.next))
    }

    /// Sends a delivery's event again, as a new delivery due now (the sweep makes it within a
    /// minute); the endpoint must be enabled.
    pub async fn redeliver(&self, id: &str, delivery: &str) -> Result<Delivery> {
        let endpoint = self.stored(id).await?;
        let item = self.table.get(&crate::keys::delivery(id, delivery)).await?.ok_or(PartnerError::NoDelivery)?;
        let old: Outgoing = item.decode()?;
        if !endpoint.endpoint.enabled {
            let reason = Invalid::new("is disabled: enable it first");
            return Err(PartnerError::Invalid { field: "endpoint", reason });
        }
        let d = &old.delivery;
        let again = Outgoing {
            delivery: Delivery::due(
                &crate::domain::monotonic_ulid().to_string(),
                &d.endpoint_id,
                &d.event_id,
                d.event_type,
            ),
            body: old.body,
        };
        self.table.write(Write::create(outgoing_item(&again))).await?;
        Ok(again.delivery)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long a delivery's record is kept (seconds): a month.
const DELIVERY_SECONDS: i64 = 30 * 86_400;

fn outgoing_item(outgoing: &Outgoing) -> Item {
    let d = &outgoing.delivery;
    let item = Item::new(&crate::keys::delivery(&d.endpoint_id, &d.id), outgoing)
        .expiring_at(d.created_at.unix_timestamp() + DELIVERY_SECONDS);
    match (d.state, d.next_attempt_at) {
        (DeliveryState::Pending, Some(at)) => item.with_gsi1(&crate::keys::delivery_due(&at, &d.endpoint_id, &d.id)),
        _ => item,
    }
}

/// What an attempt's answer was: a status code, or why there was none.
pub type Answer = std::result::Result<u16, String>;

/// The port the deliveries go out through: an HTTP POST that refuses addresses off the public
/// internet (`shop_webhooks` in AWS and locally, where loopback may be allowed).
#[async_trait]
pub trait Poster: Send + Sync {
    async fn post(&self, url: &str, headers: Vec<(&'static str, String)>, body: String) -> Answer;
}

/// The `webhooks` queue's consumer, and the sweep that retries what failed.
pub struct PartnerDeliveries {
    table: Arc<dyn Table>,
    poster: Arc<dyn Poster>,
}

impl PartnerDeliveries {
    pub fn new(table: Arc<dyn Table>, poster: Arc<dyn Poster>) -> Self {
        Self { table, poster }
    }

    /// Attempts every delivery due by `now` (oldest first, at most `most`); answers how many.
    pub async fn retry_due(&self, now: Timestamp, most: usize) -> anyhow::Result<usize> {
        let query = Query::gsi1(crate::keys::DELIVERIES_DUE).between("0", format!("{}~", now.sort_key()));
        let page = self.table.query(&query.limit(most)).await?;
        let endpoints: Vec<Stored> = PartnerWebhooks::new(self.table.clone()).all().await?;
        for item in &page.items {
            let outgoing: Outgoing = item.decode()?;
            match endpoints.iter().find(|e| e.endpoint.id == outgoing.delivery.endpoint_id) {
                Some(endpoint) if endpoint.endpoint.enabled => self.attempt(endpoint, outgoing).await?,
                // Its endpoint was removed or disabled: it fails without an attempt.
                _ => self.settle(None, outgoing, Err("the endpoint is removed or disabled".into()), true).await?,
            }
        }
        Ok(page.items.len())
    }

    /// One attempt of `outgoing` to `endpoint`, and its record.
    async fn attempt(&self, endpoint: &Stored, outgoing: Outgoing) -> anyhow::Result<()> {
        let t = crate::time::epoch_now();
        let headers = vec![
            ("content-type", "application/json".to_owned()),
            ("shop-signature", crate::signatures::sign(&endpoint.secret, t, outgoing.body.as_bytes())),
            ("shop-event", outgoing.delivery.event_type.as_str().to_owned()),
            ("shop-delivery", outgoing.delivery.id.clone()),
        ];
        let started = std::time::Instant::now();
        let answer = self.poster.post(endpoint.endpoint.url.as_str(), headers, outgoing.body.clone()).await;
        crate::metrics::webhook_attempt(matches!(answer, Ok(200..=299)), started.elapsed());
        self.settle(Some(endpoint), outgoing, answer, false).await
    }

    /// Records an attempt's `answer`: delivered, due again after its back-off, or failed for
    /// good (`last`, or out of attempts), which disables an endpoint with no success since.
    async fn settle(
        &self,
        endpoint: Option<&Stored>,
        mut outgoing: Outgoing,
        answer: Answer,
        last: bool,
    ) -> anyhow::Result<()> {
        let now = Timestamp::now();
        let d = &mut outgoing.delivery;
        d.attempts += u32::from(endpoint.is_some());
        d.updated_at = now;
        (d.last_status, d.last_error) = match &answer {
            Ok(status) => (Some(*status), None),
            Err(why) => (None, Some(why.clone())),
        };
        let succeeded = matches!(answer, Ok(200..=299));
        let wait = BACKOFF.get(d.attempts.saturating_sub(1) as usize).filter(|_| !last && !succeeded);
        (d.state, d.next_attempt_at) = match (succeeded, wait) {
            (true, _) => (DeliveryState::Delivered, None),
            (false, Some(wait)) => (DeliveryState::Pending, Some(Timestamp::at(*now + time::Duration::seconds(*wait)))),
            (false, None) => (DeliveryState::Failed, None),
        };
        let d = outgoing.delivery.clone();
        let d = &d;
        let mut writes = vec![Write::put(outgoing_item(&outgoing))];
        if let Some(endpoint) = endpoint {
            let key = crate::keys::endpoint(&endpoint.endpoint.id);
            if succeeded {
                writes.push(Write::update(key, Update::default().set("last_success_at", now.to_string())));
            } else if d.state == DeliveryState::Failed
                && endpoint.endpoint.last_success_at.is_none_or(|at| at < d.created_at)
                && endpoint.endpoint.enabled
            {
                let reason = format!("every attempt failed for a day (delivery {}, last: {})", d.id, failure(d));
                let disabled =
                    Update::default().set("enabled", false).set("disabled_reason", reason.clone()).add("version", 1);
                writes.push(Write::update(key, disabled).when(Condition::equals("enabled", true)));
                let message = disabled_message(endpoint, &reason);
                writes.push(Write::put(message.item()));
                writes.extend(message.event());
                tracing::warn!(endpoint = %endpoint.endpoint.id, "a partner endpoint is disabled: {reason}");
            }
        }
        match self.table.transact(writes).await {
            // Disabled meanwhile (by another sweep): the delivery's record alone.
            Err(WriteError::ConditionFailed { .. }) => {
                self.table.write(Write::put(outgoing_item(&outgoing))).await.context("recording a delivery")
            }
            other => other.context("recording a delivery"),
        }
    }
}

fn failure(d: &Delivery) -> String {
    match (&d.last_status, &d.last_error) {
        (Some(status), _) => format!("answered {status}"),
        (None, Some(why)) => why.clone(),
        (None, None) => "no answer".into(),
    }
}

/// The email telling the admin who registered an endpoint that it is disabled.
fn disabled_message(endpoint: &Stored, reason: &str) -> crate::notifications::Message {
    use crate::notifications::Message;
    let e = &endpoint.endpoint;
    let text = format!(
        "The webhook endpoint {} ({}) is disabled: {reason}.\n\nNo more events are sent to it. When it \
         answers again, enable it in the back office and redeliver what it missed.",
        e.url.as_str(),
        e.id
    );
    Message {
        subject: Some("A webhook endpoint is disabled".into()),
        text,
        ..Message::new(&e.created_by, "webhook_disabled", Channel::Email, endpoint.notify.as_str())
    }
}

#[async_trait]
impl Consumer for PartnerDeliveries {
    fn queue(&self) -> &'static Queue {
        &WEBHOOKS
    }

    /// Records the event's delivery to each enabled endpoint that wants its type (once: the
    /// event's id keys it) and tries each at once. A partner's failure is the delivery's to
    /// retry, never the message's: only the table failing fails the message.
    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let endpoints = PartnerWebhooks::new(self.table.clone()).all().await?;
        let kind = event.kind();
        let mut data = serde_json::to_value(&event.event)?;
        if let Some(data) = data.as_object_mut() {
            data.remove("type");
        }
        let body =
            serde_json::json!({"id": event.event_id, "type": kind, "created": event.at, "data": data}).to_string();
        for endpoint in endpoints.iter().filter(|e| e.endpoint.enabled && e.endpoint.events.contains(&kind)) {
            let outgoing = Outgoing {
                delivery: Delivery::due(&event.event_id, &endpoint.endpoint.id, &event.event_id, kind),
                body: body.clone(),
            };
            // Recorded (and so due) before the attempt: a crash mid-attempt leaves it to the sweep.
            match self.table.write(Write::create(outgoing_item(&outgoing))).await {
                Ok(()) => self.attempt(endpoint, outgoing).await?,
                // Recorded before: this message came again; the record carries on from there.
                Err(WriteError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_names_partner_events_each_kept_once_and_no_more_entries_than_there_are_types() {
        let paid = EventKind::OrderPaid;
        assert_eq!(subscribed(vec![paid, paid]).unwrap(), vec![paid]);
        assert_eq!(subscribed(PARTNER_EVENTS.to_vec()).unwrap().len(), PARTNER_EVENTS.len());
        assert!(subscribed(vec![]).is_err());
        assert!(subscribed(vec![EventKind::MessageQueued]).is_err());
        assert!(subscribed(vec![paid; PARTNER_EVENTS.len() + 1]).is_err());
    }
}
