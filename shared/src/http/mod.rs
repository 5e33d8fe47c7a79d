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

/// Applies the cross-cutting conventions to a service's router: conditional GETs
/// (`If-None-Match` -> 304) and problem+json for unknown routes and methods.
pub fn conventions<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(axum::middleware::from_fn(etag::not_modified))
        .fallback(|| async { crate::Error::NotFound("route") })
        .method_not_allowed_fallback(|| async {
            crate::Error::BadRequest("this method is not allowed on this path".into())
        })
}
