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
        // A 304 carries what the 200 would have said about caching.
        let mut headers = HeaderMap::new();
        for name in [header::ETAG, header::CACHE_CONTROL] {
            if let Some(value) = response.headers().get(&name) {
                headers.insert(name, value.clone());
            }
        }
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    response
}

/// The version an update expects (`If-Match: "<version>"`, or `*` for any). It is read, not
/// judged, when the request arrives: a handler asks for it after validating the body, so a bad
/// body is a 422 whatever the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(Option<Tags>);

/// What an `If-Match` header holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tags {
    /// `*`: any current version.
    Any,
    /// One of ours (the first, if it lists several).
    Version(u64),
    /// Entity tags, none of them ours: they can never match.
    Foreign,
    /// Not a list of entity tags at all.
    Malformed,
}

fn tags(value: &str) -> Tags {
    let value = value.trim();
    if value == "*" {
        return Tags::Any;
    }
    let mut rest = value;
    let mut first_ours = None;
    loop {
        rest = rest.trim_start_matches(' ');
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(open) = tag.strip_prefix('"') else { return Tags::Malformed };
        let Some(end) = open.find('"') else { return Tags::Malformed };
        if first_ours.is_none() {
            first_ours = open[..end].parse::<u64>().ok();
        }
        rest = open[end + 1..].trim_start_matches(' ');
        match rest.strip_prefix(',') {
            Some(more) => rest = more,
            None if rest.is_empty() => break,
            None => return Tags::Malformed,
        }
    }
    first_ours.map_or(Tags::Foreign, Tags::Version)
}

impl IfMatch {
    /// For changes that must say which version they were based on: 428 without the header.
    pub fn required(self) -> Result<Option<u64>, Error> {
        self.0.ok_or(Error::PreconditionRequired).and_then(Self::judge)
    }

    /// For changes that may say which version they were based on (`None`: any).
    pub fn optional(self) -> Result<Option<u64>, Error> {
        self.0.map_or(Ok(None), Self::judge)
    }

    fn judge(tags: Tags) -> Result<Option<u64>, Error> {
        match tags {
            Tags::Any => Ok(None),
            Tags::Version(v) => Ok(Some(v)),
            Tags::Foreign => Err(Error::PreconditionFailed),
            Tags::Malformed => Err(Error::BadRequest("If-Match must be * or entity tags like \"3\"".into())),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // An empty header says nothing, as if it were absent.
        let header = parts.headers.get(header::IF_MATCH).filter(|v| !v.is_empty());
        Ok(Self(header.map(|v| v.to_str().map_or(Tags::Malformed, tags))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_values() {
        assert_eq!(tags("*"), Tags::Any);
        assert_eq!(tags("\"3\""), Tags::Version(3));
        assert_eq!(tags("W/\"3\""), Tags::Version(3));
        assert_eq!(tags("\"abc\", \"7\""), Tags::Version(7));
        assert_eq!(tags("\"a,b\""), Tags::Foreign);
        for bad in ["null", "3", "\"3", "\"3\" x", "\"3\",,"] {
            assert_eq!(tags(bad), Tags::Malformed, "{bad}");
        }
    }
}
