//! Versions as entity tags: a single resource answers with `ETag: "<version>"`, a GET with a
//! matching `If-None-Match` gets 304, and an update can require `If-Match`.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Error;

/// A JSON body with its version as the ETag.
pub struct Versioned<T>(pub u64, pub T);

impl<T: Serialize> IntoResponse for Versioned<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.1).into_response();
        response.headers_mut().insert(header::ETAG, etag(self.0));
        response
    }
}

fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header")
}

fn opaque(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/")
}

/// Middleware: a successful GET whose ETag the caller already holds becomes a bodiless 304.
pub async fn not_modified(request: Request, next: Next) -> Response {
    let conditional = matches!(*request.method(), Method::GET | Method::HEAD)
        .then(|| request.headers().get(header::IF_NONE_MATCH).cloned())
        .flatten();
    let response = next.run(request).await;
    let (Some(wanted), Some(current)) = (conditional, response.headers().get(header::ETAG)) else {
        return response;
    };
    let current = current.to_str().unwrap_or_default();
    let matches =
        wanted.to_str().unwrap_or_default().split(',').any(|tag| tag.trim() == "*" || opaque(tag) == opaque(current));
    if response.status() == StatusCode::OK && matches {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, response.headers()[header::ETAG].clone());
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    response
}

/// The version an update expects (`If-Match: "<version>"`): `None` when the header is absent
/// or `*` (any version); [`IfMatch::required`] tells those two apart. A tag that can never
/// match (not one of ours) is a 412 at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<u64>, bool);

impl IfMatch {
    /// For changes that must say which version they were based on: 428 without the header.
    pub fn required(self) -> Result<Option<u64>, Error> {
        match self {
            Self(expected, true) => Ok(expected),
            Self(_, false) => Err(Error::PreconditionRequired),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(None, false));
        };
        let value = value.to_str().map_err(|_| Error::PreconditionFailed)?.trim();
        if value == "*" {
            return Ok(Self(None, true));
        }
        opaque(value).trim_matches('"').parse().map(|v| Self(Some(v), true)).map_err(|_| Error::PreconditionFailed)
    }
}
