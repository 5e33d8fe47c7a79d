//! The HTTP conventions every service follows, implemented once: JSON in and out with
//! problem+json errors ([`json`]), the caller from the authorizer's claims ([`caller`]), lists
//! with tamper-evident cursors ([`page`]), and versions as ETags ([`etag`]).

pub mod caller;
pub mod etag;
pub mod json;
pub mod page;

pub use caller::Caller;
pub use etag::{IfMatch, Versioned};
pub use json::{Json, Query};
pub use page::{Cursor, Page, PageParams};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// 201 Created with the new resource's `Location`, version as ETag, and body.
pub fn created<T: Serialize>(location: &str, version: u64, body: T) -> Response {
    let mut response = Versioned(version, body).into_response();
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Applies the cross-cutting conventions to a service's routes: conditional GETs
/// (`If-None-Match` -> 304) and the body-size limit.
pub fn conventions<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(axum::middleware::from_fn(etag::not_modified))
        .layer(axum::extract::DefaultBodyLimit::max(json::BODY_LIMIT))
}

/// A service's router from its documented routes: the routes with the conventions applied,
/// ready to serve. Each service's `router(state)` is this call.
pub fn service<S: Clone + Send + Sync + 'static>(routes: utoipa_axum::router::OpenApiRouter<S>, state: S) -> Router {
    conventions(routes.split_for_parts().0.with_state(state))
}

/// Problem+json answers for unknown paths (404) and methods (405). Applied once to the router
/// that is served (one service on Lambda, all of them merged locally).
pub fn fallbacks(router: Router) -> Router {
    router
        .fallback(|| async { crate::Error::NotFound("route") })
        .method_not_allowed_fallback(|| async { crate::Error::MethodNotAllowed })
}
