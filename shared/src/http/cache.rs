//! Who may keep an answer. A public read says so with [`public`]: browsers and the gateway's
//! cache may keep it for a short while, and revalidate it by its ETag. Every other answer
//! (whatever a caller's token, body or id shaped, and every error) is `private, no-store`, so
//! no shared cache ever holds one caller's data and no browser keeps a token on disk.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What every answer that did not call itself public carries.
pub const NO_STORE: &str = "private, no-store";

/// An answer anyone may keep for `max_age` seconds, and serve for as long again while it
/// revalidates. Only a success is marked; an error stays `no-store`. An answer without its
/// own version gets a digest of its body as ETag (see [`cache_control`]).
pub fn public(max_age: u32, answer: impl IntoResponse) -> Response {
    let mut response = answer.into_response();
    if response.status() == StatusCode::OK {
        let policy = format!("public, max-age={max_age}, stale-while-revalidate={max_age}");
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_str(&policy).expect("a valid header"));
    }
    response
}

/// Middleware: an answer that set no `Cache-Control` gets [`NO_STORE`]; a public one without
/// an ETag gets a digest of its body, so a conditional GET of an unchanged list is a 304.
pub async fn cache_control(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
        return response;
    }
    if response.status() != StatusCode::OK || response.headers().contains_key(header::ETAG) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            parts.headers.insert(header::ETAG, digest(&bytes));
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => crate::Error::Internal(anyhow::anyhow!("an answer's body could not be read: {e}")).into_response(),
    }
}

/// A strong ETag naming these bytes (96 bits of their SHA-256).
fn digest(bytes: &[u8]) -> HeaderValue {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(bytes);
    let tag: String = hash[..12].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{tag}\"")).expect("hex is a valid header")
}
