//! JSON bodies and query strings whose rejections speak problem+json like every other error.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::domain::Whole;
use crate::error::FieldError;

/// `axum::Json` with problem+json rejections: 400 malformed, 413 too large, 415 not JSON,
/// 422 wrong types, missing or unknown fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let json = req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
        if !json {
            return Err(Error::UnsupportedMediaType("application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| match e.status().as_u16() {
            413 => Error::PayloadTooLarge(BODY_LIMIT),
            _ => Error::BadRequest(e.body_text()),
        })?;
        // Every body is an object: serde would also take a struct from an array of its fields.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
            return Err(Error::Validation { detail: "the body must be a JSON object".into(), errors: Vec::new() });
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection.into()),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text)
                    .to_owned();
                let errors = field_of(&text).into_iter().collect();
                Error::Validation { detail: text, errors }
            }
            JsonRejection::JsonSyntaxError(e) => Error::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Error::UnsupportedMediaType("application/json"),
            JsonRejection::BytesRejection(e) if e.status() == 413 => {
                Error::PayloadTooLarge(crate::http::json::BODY_LIMIT)
            }
            other => Error::BadRequest(other.body_text()),
        }
    }
}

/// The largest request body a service reads, in bytes (API Gateway allows 10 MB; a shop's
/// requests are small).
pub const BODY_LIMIT: usize = 256 * 1024;

/// Serde's "path: message" split into a field error when the path is a plain field path.
fn field_of(text: &str) -> Option<FieldError> {
    let (path, message) = text.split_once(": ")?;
    let plain = !path.is_empty() && path.chars().all(|c| c.is_alphanumeric() || "._[]".contains(c));
    plain.then(|| FieldError { field: path.to_owned(), message: message.to_owned() })
}

/// `axum::extract::Query` whose rejection is a 400 problem.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|rejection: QueryRejection| Error::BadRequest(rejection.body_text()))
    }
}

/// Reads a JSON integer, as JSON Schema's `integer` counts them ([`Whole`]). For
/// `deserialize_with`.
pub fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Whole::deserialize(deserializer).map(|Whole(n)| n)
}

/// [`integer`] for an optional field.
pub fn optional_integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
}
