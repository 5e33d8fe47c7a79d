//! The audit log: one record per back-office write that succeeded (who, when, which route and
//! target, and the target as the API showed it before and after), with personal data left
//! out. Records are only ever created: no route changes or deletes one, and each expires after
//! the retention the shop sets (`AUDIT_RETENTION_DAYS`, 400 by default).
//!
//! The records are written by the one middleware every service's router carries (`http::audit`);
//! this module keeps and lists them.

use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::{Role, UserId};
use crate::table::{Item, Query, Table, Write};
use crate::time::Timestamp;

/// How long a record is kept when the shop does not say (days).
pub const DEFAULT_RETENTION_DAYS: i64 = 400;

/// Days a record is kept: `setting` when it is a positive whole number, else the default (a
/// setting that is not is logged).
pub fn retention_days(setting: Option<String>) -> i64 {
    let Some(text) = setting else { return DEFAULT_RETENTION_DAYS };
    match text.parse::<i64>().ok().filter(|d| *d > 0) {
        Some(days) => days,
        None => {
            tracing::warn!(setting = text, "AUDIT_RETENTION_DAYS is not a positive whole number: the default applies");
            DEFAULT_RETENTION_DAYS
        }
    }
}

/// What stands in for a personal value left out of a record.
pub const WITHHELD: &str = "(withheld)";

/// One back-office write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// A ULID: records sort by it in time order.
    pub id: String,
    pub at: Timestamp,
    /// The member of staff who wrote.
    #[schema(value_type = String)]
    pub actor: UserId,
    /// The roles they held.
    pub roles: Vec<Role>,
    pub method: String,
    /// The route's template (`/api/products/{id}`).
    pub route: String,
    /// The path written to (`/api/products/01J...`); for a creation, the created resource's.
    pub target: String,
    /// The answer's status.
    pub status: u16,
    /// The target as the API showed it just before the write, personal data left out (absent
    /// when there was none: a creation).
    pub before: Option<Value>,
    /// The target as the API showed it just after (absent after a deletion), or the write's
    /// own answer when the target has no reading route.
    pub after: Option<Value>,
}

/// Which records a list wants.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    /// Records at or after this instant.
    pub from: Option<time::OffsetDateTime>,
    /// Records before this instant.
    pub to: Option<time::OffsetDateTime>,
    /// Records whose target starts with this path (`/api/products/01J...`).
    pub target: Option<String>,
}

/// The most records one list request reads looking for a filter's matches: a page may hold
/// fewer than its limit, with a link to go on.
const MAX_READ: usize = 1_000;

/// The audit log.
#[derive(Clone)]
pub struct AuditLog {
    table: Arc<dyn Table>,
    retention_days: i64,
}

impl AuditLog {
    /// The log, keeping records for `AUDIT_RETENTION_DAYS` ([`retention_days`]).
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table, retention_days: retention_days(std::env::var("AUDIT_RETENTION_DAYS").ok()) }
    }

    /// Keeps `record`, never over another.
    pub async fn record(&self, record: &AuditRecord) -> anyhow::Result<()> {
        let item = Item::new(&crate::keys::audit(&record.id), record)
            .with_gsi1(&crate::keys::audit_by(&record.actor, &record.id))
            .expiring_at(record.at.unix_timestamp() + self.retention_days * 86_400);
        self.table.write(Write::create(item)).await.context("keeping an audit record")
    }

    /// Records matching `filter`, newest first: up to `limit`, and where the next page starts
    /// (`{"below": <id>}`: the records older than the last one answered).
    pub async fn list(
        &self,
        filter: &AuditFilter,
        limit: usize,
        after: Option<Value>,
    ) -> anyhow::Result<(Vec<AuditRecord>, Option<Value>)> {
        let bound = |at: time::OffsetDateTime, random| {
            let millis = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
            ulid::Ulid::from_parts(millis, random).to_string()
        };
        let from = filter.from.map_or_else(|| ulid::Ulid::nil().to_string(), |at| bound(at, 0));
        let mut to =
            filter.to.map_or_else(|| "~".to_owned(), |at| bound(at - time::Duration::milliseconds(1), u128::MAX));
        let below = after.as_ref().and_then(|a| a["below"].as_str()).map(str::to_owned);
        if let Some(below) = &below {
            to = to.min(below.clone());
        }
        if from > to {
            // An empty period (DynamoDB refuses a BETWEEN whose bounds are reversed).
            return Ok((Vec::new(), None));
        }
        let query = match &filter.actor {
            Some(actor) => Query::gsi1(crate::keys::audit_by_partition(actor)),
            None => Query::partition(crate::keys::AUDIT_PARTITION),
        };
        let query = query.between(from, to).descending();
        let (mut found, mut position, mut read) = (Vec::<AuditRecord>::new(), None, 0);
        loop {
            let want = (limit - found.len() + 1).clamp(10, MAX_READ - read);
            let page = self.table.query(&query.clone().limit(want).after(position.take())).await?;
            read += page.items.len();
            for item in &page.items {
                let record: AuditRecord = item.decode()?;
                if below.as_ref() == Some(&record.id) {
                    continue;
                }
                if found.len() == limit {
                    // There is more: the next page starts below the last record answered.
                    let last = found[limit - 1].id.clone();
                    return Ok((found, Some(serde_json::json!({"below": last}))));
                }
                if filter.target.as_deref().is_none_or(|t| record.target.starts_with(t)) {
                    found.push(record);
                }
            }
            position = page.next;
            match (position.is_some(), found.last()) {
                (false, _) => return Ok((found, None)),
                // Read as much as one request may: the next page goes on below what was read.
                (true, last) if read >= MAX_READ => {
                    let read_to = page.items.last().and_then(|i| i.decode::<AuditRecord>().ok()).map(|r| r.id);
                    let below = read_to.or_else(|| last.map(|r| r.id.clone()));
                    return Ok((found, below.map(|b| serde_json::json!({"below": b}))));
                }
                _ => {}
            }
        }
    }
}

/// `value` with personal data left out: addresses, email addresses, phone numbers, and the
/// name of a person (an object that also holds an email address) stand as [`WITHHELD`].
pub fn impersonal(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let person = map.contains_key("email");
            map.into_iter()
                .map(|(key, value)| {
                    let personal = key.contains("address")
                        || key.contains("email")
                        || key.contains("phone")
                        || (person && key == "name");
                    let value = if personal && !value.is_null() { Value::from(WITHHELD) } else { impersonal(value) };
                    (key, value)
                })
                .collect()
        }
        Value::Array(items) => items.into_iter().map(impersonal).collect(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn records_are_kept_for_the_days_the_shop_sets() {
        assert_eq!(retention_days(Some("30".into())), 30);
        assert_eq!(retention_days(None), DEFAULT_RETENTION_DAYS);
        assert_eq!(retention_days(Some("0".into())), DEFAULT_RETENTION_DAYS);
        assert_eq!(retention_days(Some("a year".into())), DEFAULT_RETENTION_DAYS);
    }

    #[test]
    fn personal_data_is_left_out_and_the_rest_kept() {
        let order = json!({
            "id": "01J", "status": "SHIPPED", "guest_email": "a@b.co",
            "shipping_address": {"name": "Ada", "line1": "1 Main St"},
            "lines": [{"name": "Lamp", "quantity": 2}],
        });
        assert_eq!(
            impersonal(order),
            json!({
                "id": "01J", "status": "SHIPPED", "guest_email": WITHHELD, "shipping_address": WITHHELD,
                "lines": [{"name": "Lamp", "quantity": 2}],
            })
        );
        let user = json!({"id": "u", "email": "a@b.co", "name": "Ada", "phone": null, "roles": ["support"]});
        assert_eq!(
            impersonal(user),
            json!({"id": "u", "email": WITHHELD, "name": WITHHELD, "phone": null, "roles": ["support"]})
        );
    }
}
