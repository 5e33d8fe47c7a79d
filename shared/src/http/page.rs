//! Lists: a JSON array, `?limit=` (capped) and an opaque cursor carried in
//! `Link: <...>; rel="next"`. The cursor is signed (HMAC-SHA256) together with the path and
//! the other query parameters, so a tampered cursor, or one moved to another list, is a 400.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::signing::{self, SigningKey};

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 20;
/// The most items a page holds.
pub const MAX_LIMIT: usize = 100;

/// A cursor, the opaque position in a list: `position` sealed for the list `scope`.
fn seal(key: &SigningKey, scope: &str, position: &Value) -> String {
    key.seal(scope, &serde_json::to_vec(position).expect("a position serializes"))
}

/// The position a cursor sealed for the list `scope` holds.
fn open(key: &SigningKey, scope: &str, cursor: &str) -> Result<Value, Error> {
    let bad = || Error::BadRequest("the cursor is not valid for this list; start again without it".into());
    let payload = key.open(scope, cursor).ok_or_else(bad)?;
    serde_json::from_slice(&payload).map_err(|_| bad())
}

/// The paging parameters of every list, as the API document shows them ([`PageParams`] reads
/// them): `params(Filters, PageQuery)` in a list's `#[utoipa::path]`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `cursor` of the previous page's `Link: <...>; rel="next"` header.
    cursor: Option<String>,
}

/// What a list request asks for: how many, from where. Extracted from the query string;
/// `limit` and `cursor` are its own parameters, the rest belong to the list's filters.
#[derive(Debug, Clone)]
pub struct PageParams {
    pub limit: usize,
    pub after: Option<Value>,
    scope: String,
    filters: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map_err(|_| Error::BadRequest("the query string is malformed".into()))?;
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        let mut filters = Vec::new();
        for (name, value) in pairs {
            match name.as_str() {
                "limit" => {
                    limit = value.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                        Error::BadRequest(format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
                    })?;
                }
                "cursor" if value.is_empty() => {}
                "cursor" => cursor = Some(value),
                _ => filters.push((name, value)),
            }
        }
        filters.sort();
        let scope = format!("{}?{}", parts.uri.path(), serde_urlencoded::to_string(&filters).unwrap_or_default());
        // The key is read only for a cursor to open (and, in `page`, a next page to seal): a
        // list of one page never waits for it.
        let after = match cursor {
            Some(cursor) => Some(open(&signing::key().await?, &scope, &cursor)?),
            None => None,
        };
        Ok(Self { limit, after, scope, filters })
    }
}

impl PageParams {
    /// The page to answer with; `next` is where the following page starts, if there is one.
    pub async fn page<T>(self, items: Vec<T>, next: Option<Value>) -> Result<Page<T>, Error> {
        let link = self.link(next).await?;
        Ok(Page { items, link })
    }

    /// The `Link` header naming the page that starts at `next`, if there is one.
    pub async fn link(&self, next: Option<Value>) -> Result<Option<String>, Error> {
        let Some(position) = next else { return Ok(None) };
        let mut query = self.filters.clone();
        query.push(("limit".into(), self.limit.to_string()));
        query.push(("cursor".into(), seal(&signing::key().await?, &self.scope, &position)));
        // A query-only reference resolves against the request's own URL (RFC 3986 §5.2), so the
        // link is right behind any stage prefix or custom domain.
        Ok(Some(format!("<?{}>; rel=\"next\"", serde_urlencoded::to_string(&query).unwrap_or_default())))
    }
}

/// One page of a list: answered as a JSON array with a `Link` header to the next page.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub link: Option<String>,
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.items).into_response();
        if let Some(link) = self.link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_stay_in_their_list() {
        let key = SigningKey::of(b"0123456789abcdef0123456789abcdef");
        let position = json!({"PK": "PRODUCT#1", "SK": "PRODUCT"});
        let sealed = seal(&key, "/api/products?", &position);
        assert_eq!(open(&key, "/api/products?", &sealed).unwrap(), position);
        assert!(open(&key, "/api/products?category=x", &sealed).is_err(), "bound to its list");
        assert!(open(&key, "/api/products?", "garbage").is_err());
    }
}
