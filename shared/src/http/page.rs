//! Lists: a JSON array, `?limit=` (capped) and an opaque cursor carried in
//! `Link: <...>; rel="next"`. The cursor is signed (HMAC-SHA256) together with the path and
//! the other query parameters, so a tampered cursor, or one moved to another list, is a 400.

use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::Error;
use crate::deferred::Deferred;

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 20;
/// The most items a page holds.
pub const MAX_LIMIT: usize = 100;

/// Where the key that signs cursors comes from; every instance of a deployment must share it.
pub enum CursorKey {
    /// Known at start (the local stack keeps it in its data folder).
    Fixed(Arc<Vec<u8>>),
    /// Read at the first list a process answers, and again once it is old (a function's, from
    /// Secrets Manager: its cold start reads no secret).
    Deferred(Deferred<Vec<u8>>),
}

impl CursorKey {
    /// A key known at start.
    pub fn fixed(key: &[u8]) -> Self {
        Self::Fixed(Arc::new(key.to_vec()))
    }
}

static CURSOR_KEY: OnceLock<CursorKey> = OnceLock::new();

/// Sets where the key that signs cursors comes from, once per process. Without it a random
/// per-process key is used, so cursors only survive within one process.
pub fn set_cursor_key(key: CursorKey) {
    let _ = CURSOR_KEY.set(key);
}

/// The key, read from its source if it is deferred. A source that cannot be read is an
/// infrastructure fault.
async fn key() -> Result<SigningKey, Error> {
    match CURSOR_KEY.get_or_init(|| CursorKey::fixed(&rand::random::<[u8; 32]>())) {
        CursorKey::Fixed(key) => Ok(SigningKey(key.clone())),
        CursorKey::Deferred(key) => Ok(SigningKey(key.get().await?)),
    }
}

/// The key as a list request holds it; its `Debug` shows no byte of it.
#[derive(Clone)]
struct SigningKey(Arc<Vec<u8>>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// The HMAC of `scope` and `payload`; a cursor carries its first 16 bytes.
    fn mac(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }

    /// A cursor, the opaque position in a list: `position` and its tag for the list `scope`.
    fn seal(&self, scope: &str, position: &Value) -> String {
        let payload = serde_json::to_vec(position).expect("a position serializes");
        let full = self.mac(scope, &payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&full[..16]))
    }

    /// The position a cursor sealed for the list `scope` holds.
    fn open(&self, scope: &str, cursor: &str) -> Result<Value, Error> {
        let bad = || Error::BadRequest("the cursor is not valid for this list; start again without it".into());
        let (payload, tag) = cursor.split_once('.').ok_or_else(bad)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
        if tag.len() != 16 {
            return Err(bad());
        }
        self.mac(scope, &payload).verify_truncated_left(&tag).map_err(|_| bad())?;
        serde_json::from_slice(&payload).map_err(|_| bad())
    }
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
    key: SigningKey,
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
        let key = key().await?;
        let after = cursor.map(|c| key.open(&scope, &c)).transpose()?;
        Ok(Self { limit, after, scope, filters, key })
    }
}

impl PageParams {
    /// The page to answer with; `next` is where the following page starts, if there is one.
    pub fn page<T>(self, items: Vec<T>, next: Option<Value>) -> Page<T> {
        let link = self.link(next);
        Page { items, link }
    }

    /// The `Link` header naming the page that starts at `next`, if there is one.
    pub fn link(&self, next: Option<Value>) -> Option<String> {
        next.map(|position| {
            let mut query = self.filters.clone();
            query.push(("limit".into(), self.limit.to_string()));
            query.push(("cursor".into(), self.key.seal(&self.scope, &position)));
            // A query-only reference resolves against the request's own URL (RFC 3986 §5.2),
            // so the link is right behind any stage prefix or custom domain.
            format!("<?{}>; rel=\"next\"", serde_urlencoded::to_string(&query).unwrap_or_default())
        })
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
    fn cursors_round_trip_and_detect_tampering() {
        let key = SigningKey(Arc::new(b"0123456789abcdef0123456789abcdef".to_vec()));
        let position = json!({"PK": "PRODUCT#1", "SK": "PRODUCT"});
        let sealed = key.seal("/api/products?", &position);
        assert_eq!(key.open("/api/products?", &sealed).unwrap(), position);
        assert!(key.open("/api/products?category=x", &sealed).is_err(), "bound to its list");
        let other = SigningKey(Arc::new(b"another key of another deployment".to_vec()));
        assert!(other.open("/api/products?", &sealed).is_err(), "bound to its key");
        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"PK":"USER#2","SK":"PROFILE"}"#);
        assert!(key.open("/api/products?", &format!("{forged}.{tag}")).is_err());
        assert!(key.open("/api/products?", &format!("{payload}.")).is_err());
        assert!(key.open("/api/products?", "garbage").is_err());
        assert_eq!(format!("{key:?}"), "SigningKey(..)", "a logged list request shows no key");
    }
}
