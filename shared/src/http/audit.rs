//! Middleware: every back-office write that succeeds leaves a record in the audit log
//! ([`crate::audit`]). A write is a back-office one when its handler took a
//! [`Staff`](super::caller::Staff)
//! caller, which tells this layer through the request's [`Witness`]; nothing else opts in or
//! can forget to.
//!
//! What changed is the write's target as the service's own API shows it, read just before and
//! just after the write with the caller's identity: the written path itself, or the nearest
//! path above it that answers a JSON object (`/api/orders/{id}` for `/api/orders/{id}/status`).
//! A target with no such reading is recorded with the write's own answer. The reading before
//! is made when the extractor admits the caller, so only the writes recorded pay for it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde_json::Value;
use tower::ServiceExt;

use super::caller::{Caller, claims};
use crate::audit::{AuditLog, AuditRecord, impersonal};

/// Where a [`Staff`](super::caller::Staff) extractor tells the layer it admitted a caller to a
/// write: the target is read then, before the handler writes, so only the writes the audit log
/// records pay for the readings.
#[derive(Clone, Default)]
pub struct Witness(Option<Arc<Watch>>);

struct Watch {
    reader: Router,
    path: String,
    context: RequestContext,
    seen: tokio::sync::Mutex<Option<(Caller, Option<Target>)>>,
}

/// A write's target: its path, and how it read before the write.
type Target = (String, Value);

impl Witness {
    /// Records that `caller` was admitted to this write, reading its target as it stands now.
    /// Only the first call reads.
    pub async fn saw(&self, caller: &Caller) {
        let Some(watch) = &self.0 else { return };
        let mut seen = watch.seen.lock().await;
        if seen.is_none() {
            let before = target_before(&watch.reader, &watch.path, &watch.context).await;
            *seen = Some((caller.clone(), before));
        }
    }

    async fn seen(&self) -> Option<(Caller, Option<Target>)> {
        self.0.as_ref()?.seen.lock().await.take()
    }
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("path", &self.0.as_ref().map(|w| &w.path)).finish()
    }
}

/// A handler whose route any signed-in caller may call takes the request's witness to record
/// a write it lets a member of staff make to someone else's data (an admin editing a
/// customer's profile).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Witness {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Witness>().cloned().unwrap_or_default())
    }
}

/// Marks the readings this layer makes itself: neither measured nor audited.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading;

/// The largest answer read into a record.
const MAX_BODY: usize = 1 << 20;

/// `router` with every back-office write it serves recorded in `log`.
pub fn audited(router: Router, log: AuditLog) -> Router {
    let reader = router.clone();
    router.layer(axum::middleware::from_fn_with_state(Arc::new((log, reader)), record))
}

async fn record(State(audit): State<Arc<(AuditLog, Router)>>, mut request: Request, next: Next) -> Response {
    let (log, reader) = &*audit;
    let read_only = [Method::GET, Method::HEAD, Method::OPTIONS].contains(request.method());
    let context = request.request_context_ref().cloned();
    let staff =
        context.as_ref().and_then(claims).and_then(Caller::from_claims).is_some_and(|c| c.roles().next().is_some());
    if read_only || !staff || request.extensions().get::<Reading>().is_some() {
        return next.run(request).await;
    }
    let context = context.expect("a staff caller has a request context");
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let target = request.uri().path().to_owned();
    let watch =
        Watch { reader: reader.clone(), path: target.clone(), context: context.clone(), seen: Default::default() };
    let witness = Witness(Some(Arc::new(watch)));
    request.extensions_mut().insert(witness.clone());

    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let Some((actor, before)) = witness.seen().await else { return response };
    let (parts, body) = response.into_parts();
    // What a creation wrote is the resource it answers the place of.
    let created = parts.headers.get(axum::http::header::LOCATION).and_then(|l| l.to_str().ok());
    let target = created.filter(|l| l.starts_with("/api/")).map_or(target, str::to_owned);
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let after = match &before {
        Some((path, _)) => read(reader, path, &context).await,
        None => serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object),
    };
    let record = AuditRecord {
        id: crate::domain::monotonic_ulid().to_string(),
        at: crate::time::Timestamp::now(),
        actor: actor.user_id.clone(),
        roles: actor.roles().collect(),
        method,
        route,
        target,
        status: parts.status.as_u16(),
        before: before.map(|(_, value)| impersonal(value)),
        after: after.map(impersonal),
    };
    // The write is done: a record that cannot be kept is an alarm in the logs, not a failed
    // answer that would make the caller write again.
    let mut kept = log.record(&record).await;
    for attempt in 1..3 {
        if kept.is_ok() {
            break;
        }
        crate::table::backoff(attempt).await;
        kept = log.record(&record).await;
    }
    if let Err(e) = kept {
        tracing::error!(
            error = format!("{e:#}"),
            route = record.route,
            target = record.target,
            "an audit record was not kept"
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The target of a write to `path` and how it reads now: `path` itself, or the nearest path
/// above it (under `/api/<collection>`), that answers a JSON object.
async fn target_before(reader: &Router, path: &str, context: &RequestContext) -> Option<Target> {
    let mut candidate = path.trim_end_matches('/');
    while candidate.matches('/').count() >= 2 {
        if let Some(value) = read(reader, candidate, context).await {
            return Some((candidate.to_owned(), value));
        }
        candidate = &candidate[..candidate.rfind('/')?];
    }
    None
}

/// What a GET of `path` answers the same caller, if it is a JSON object.
async fn read(reader: &Router, path: &str, context: &RequestContext) -> Option<Value> {
    let mut request = Request::get(path).body(Body::empty()).ok()?;
    request.extensions_mut().insert(context.clone());
    request.extensions_mut().insert(Reading);
    let response = reader.clone().oneshot(request).await.ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY).await.ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}
