//! The one error type of every service and its RFC 9457 `application/problem+json` answer.
//!
//! Each variant's doc names its status. Internal errors are logged with their whole source chain
//! and answered with a generic detail: nothing internal reaches a caller.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{Invalid, OrderStatus, ProductId};
use crate::orders::{Limit, Shortage};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One refused field of a request body or query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the caller sent it (`price.currency` for nested fields).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request cannot be read (malformed JSON or query, bad cursor, malformed id).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials, or credentials that were refused.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource, or one the caller may not see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, the method does not.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (taken email, duplicate SKU).
    #[error("{0}")]
    Conflict(String),
    /// 409: fewer units in stock than asked for; each short line says what is left. The
    /// `detail` of these three is the orders' own words ([`crate::orders::OrderError`]).
    #[error("{detail}")]
    OutOfStock { detail: String, short: Vec<Shortage> },
    /// 409: products that do not exist or are not on sale.
    #[error("{detail}")]
    NotOnSale { detail: String, products: Vec<ProductId> },
    /// 409: an order cannot move from its status to the one asked for.
    #[error("{detail}")]
    IllegalTransition { detail: String, from: OrderStatus, to: OrderStatus },
    /// 409: unpaid orders would hold more than a limit allows; `limit` names which, `max` its
    /// value.
    #[error("{detail}")]
    OrderLimit { detail: String, limit: Limit, max: i64 },
    /// 409: a checkout of an empty cart.
    #[error("the cart is empty")]
    EmptyCart,
    /// 409: a discount code that cannot be used: unknown, not running, or used as often as it
    /// may be (in all, or by this customer).
    #[error("{0}")]
    PromotionUnavailable(String),
    /// 409: other requests kept changing the same data; the same request may be sent again
    /// after `Retry-After` seconds.
    #[error("{0}")]
    Contention(String),
    /// 412: `If-Match` names a version that is no longer current.
    #[error("the resource has changed since you read it; fetch it again")]
    PreconditionFailed,
    /// 428: a change that must name the version it was based on came without `If-Match`.
    #[error("send If-Match with the ETag you read, so a change made meanwhile is not overwritten")]
    PreconditionRequired,
    /// 413: the body is larger than the limit.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not of the media type the route reads (`application/json`, mostly).
    #[error("send the body as {0}")]
    UnsupportedMediaType(&'static str),
    /// 422: well-formed but invalid; lists every refused field.
    #[error("{detail}")]
    Validation { detail: String, errors: Vec<FieldError> },
    /// 422: an address incomplete or malformed for its country (a postal code of another
    /// format, a missing state); lists every refused field.
    #[error("{detail}")]
    InvalidAddress { detail: String, errors: Vec<FieldError> },
    /// 422: the shop does not ship the order as asked: not to that address, or not by that
    /// option (the detail names those that apply).
    #[error("{0}")]
    ShippingUnavailable(String),
    /// 429: too many requests from this client; retry after the given seconds.
    #[error("too many requests; retry in {0} s")]
    TooManyRequests(u64),
    /// 502: a provider the request needed failed or could not be reached; retrying the same
    /// request is safe (provider calls carry idempotency keys).
    #[error("{0}")]
    BadGateway(String),
    /// 503: a dependency the request needs is down; retry after `Retry-After` seconds. The
    /// cause is logged, never shown.
    #[error("{} is unavailable; retry in {UNAVAILABLE_RETRY_SECONDS} s", .dependency.name())]
    Unavailable { dependency: Dependency, cause: anyhow::Error },
    /// 500: an infrastructure fault. Logged, never shown.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// How long a client should wait before sending a request that lost a race again.
pub const CONTENTION_RETRY_SECONDS: u64 = 1;

/// How long a client should wait before asking again for what needs an unavailable dependency.
pub const UNAVAILABLE_RETRY_SECONDS: u64 = 5;

/// A dependency a request may find unavailable. An adapter marks an error as this
/// dependency's unavailability with `anyhow::Context` (`.context(Dependency::Search)`): the
/// service's error then answers 503 instead of 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dependency {
    /// The search engine (OpenSearch).
    #[error("the search engine is unavailable")]
    Search,
}

impl Dependency {
    fn name(self) -> &'static str {
        match self {
            Self::Search => "search",
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast_ref::<Dependency>() {
            Some(dependency) => Error::Unavailable { dependency: *dependency, cause: e },
            None => Error::Internal(e),
        }
    }
}

impl Error {
    /// A 422 naming one field.
    pub fn invalid(field: impl Into<String>, invalid: Invalid) -> Self {
        let errors = vec![FieldError { field: field.into(), message: invalid.0 }];
        Self::Validation { detail: summary(&errors), errors }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_)
            | Self::OutOfStock { .. }
            | Self::NotOnSale { .. }
            | Self::OrderLimit { .. }
            | Self::EmptyCart
            | Self::IllegalTransition { .. }
            | Self::PromotionUnavailable(_)
            | Self::Contention(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } | Self::InvalidAddress { .. } | Self::ShippingUnavailable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable problem `type`, a URI reference relative to the API.
    pub fn problem_type(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "/problems/bad-request",
            Self::Unauthenticated(_) => "/problems/unauthenticated",
            Self::Forbidden(_) => "/problems/forbidden",
            Self::NotFound(_) => "/problems/not-found",
            Self::MethodNotAllowed => "/problems/method-not-allowed",
            Self::Conflict(_) => "/problems/conflict",
            Self::OutOfStock { .. } => "/problems/out-of-stock",
            Self::NotOnSale { .. } => "/problems/not-on-sale",
            Self::OrderLimit { .. } => "/problems/order-limit",
            Self::EmptyCart => "/problems/empty-cart",
            Self::IllegalTransition { .. } => "/problems/illegal-transition",
            Self::Contention(_) => "/problems/contention",
            Self::PreconditionFailed => "/problems/precondition-failed",
            Self::PreconditionRequired => "/problems/precondition-required",
            Self::PayloadTooLarge(_) => "/problems/payload-too-large",
            Self::UnsupportedMediaType(_) => "/problems/unsupported-media-type",
            Self::Validation { .. } => "/problems/validation",
            Self::InvalidAddress { .. } => "/problems/invalid-address",
            Self::ShippingUnavailable(_) => "/problems/shipping-unavailable",
            Self::PromotionUnavailable(_) => "/problems/promotion-unavailable",
            Self::TooManyRequests(_) => "/problems/too-many-requests",
            Self::BadGateway(_) => "/problems/bad-gateway",
            Self::Unavailable { dependency: Dependency::Search, .. } => "/problems/search-unavailable",
            Self::Internal(_) => "/problems/internal",
        }
    }

    /// Seconds after which the same request may succeed, for the answers that say so.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests(secs) => Some(*secs),
            Self::Contention(_) => Some(CONTENTION_RETRY_SECONDS),
            Self::Unavailable { .. } => Some(UNAVAILABLE_RETRY_SECONDS),
            _ => None,
        }
    }
}

// The domain's errors as HTTP answers: the only place they meet status codes.

impl From<crate::orders::OrderError> for Error {
    fn from(e: crate::orders::OrderError) -> Self {
        use crate::orders::OrderError;
        let detail = e.to_string();
        match e {
            OrderError::NotFound => Error::NotFound("order"),
            OrderError::AddressNotFound => Error::NotFound("address"),
            OrderError::OutOfStock { short } => Error::OutOfStock { detail, short },
            OrderError::NotOnSale { products } => Error::NotOnSale { detail, products },
            OrderError::OverLimit { limit, max } => Error::OrderLimit { detail, limit, max },
            OrderError::EmptyCart => Error::EmptyCart,
            OrderError::IllegalTransition { from, to } => Error::IllegalTransition { detail, from, to },
            OrderError::Contention => Error::Contention(detail),
            OrderError::Invalid { field, reason } => Error::invalid(field, reason),
            OrderError::Address(refused) => invalid_address("shipping_address", refused),
            OrderError::Pricing(e) => e.into(),
            OrderError::KeyReused => {
                Error::invalid("Idempotency-Key", Invalid::new("was already used with a different request"))
            }
            OrderError::Store(e) => e.into(),
        }
    }
}

impl From<crate::returns::ReturnError> for Error {
    fn from(e: crate::returns::ReturnError) -> Self {
        use crate::returns::ReturnError;
        match e {
            ReturnError::Order(e) => e.into(),
            ReturnError::NotFound => Error::NotFound("return"),
            ReturnError::NotInOrder(_) => Error::invalid("lines", Invalid::new(e.to_string())),
            ReturnError::TooMany { .. }
            | ReturnError::NotDelivered(_)
            | ReturnError::WindowClosed { .. }
            | ReturnError::TooManyOpen { .. }
            | ReturnError::Illegal { .. } => Error::Conflict(e.to_string()),
            ReturnError::Store(e) => e.into(),
        }
    }
}

impl From<crate::payments::PaymentError> for Error {
    fn from(e: crate::payments::PaymentError) -> Self {
        use crate::payments::{PaymentError, ProviderError};
        match e {
            PaymentError::Order(e) => e.into(),
            PaymentError::NotPayable(_)
            | PaymentError::OverRefund { .. }
            | PaymentError::UnitsRefunded { .. }
            | PaymentError::NothingPaid
            | PaymentError::NothingToCapture
            | PaymentError::AmountMismatch => Error::Conflict(e.to_string()),
            PaymentError::ProviderUnavailable(_) => Error::invalid("provider", Invalid::new(e.to_string())),
            PaymentError::BeyondLimit { .. } => Error::Forbidden(e.to_string()),
            PaymentError::NotInOrder(_) => Error::invalid("lines", Invalid::new(e.to_string())),
            PaymentError::Provider(ProviderError::Refused(reason)) => {
                Error::Conflict(format!("the payment provider refused: {reason}"))
            }
            PaymentError::Provider(ProviderError::NotFound) => {
                Error::Conflict("the payment provider does not know this payment".into())
            }
            PaymentError::Provider(ProviderError::Unavailable(e)) => {
                tracing::error!(error = format!("{e:#}"), "payment provider failed");
                Error::BadGateway("the payment provider failed; retry the same request".into())
            }
            PaymentError::Store(e) => e.into(),
        }
    }
}

impl From<crate::payments::WebhookError> for Error {
    fn from(e: crate::payments::WebhookError) -> Self {
        use crate::payments::WebhookError;
        match e {
            WebhookError::Unavailable(reason) => Error::Internal(anyhow::anyhow!("webhook: {reason}")),
            refused => Error::BadRequest(refused.to_string()),
        }
    }
}

impl From<crate::pricing::QuoteError> for Error {
    fn from(e: crate::pricing::QuoteError) -> Self {
        use crate::pricing::QuoteError;
        match e {
            QuoteError::Shipping(e) => Error::ShippingUnavailable(e.to_string()),
            QuoteError::Promotion(e) => Error::PromotionUnavailable(e.to_string()),
        }
    }
}

impl From<crate::pricing::SettingsError> for Error {
    fn from(e: crate::pricing::SettingsError) -> Self {
        use crate::pricing::SettingsError;
        match e {
            SettingsError::Invalid { field, reason } => Error::invalid(field, reason),
            SettingsError::Stale => Error::PreconditionFailed,
            SettingsError::NotFound(what) => Error::NotFound(what),
            SettingsError::Store(e) => e.into(),
        }
    }
}

impl From<crate::catalog::CatalogError> for Error {
    fn from(e: crate::catalog::CatalogError) -> Self {
        use crate::catalog::CatalogError;
        match e {
            CatalogError::NotFound => Error::NotFound("product"),
            CatalogError::VariantNotFound => Error::NotFound("variant"),
            CatalogError::ImageNotFound => Error::NotFound("image"),
            CatalogError::Invalid { field, reason } => Error::invalid(field, reason),
            CatalogError::Stale => Error::PreconditionFailed,
            CatalogError::SkuTaken(_)
            | CatalogError::VariantRequired { .. }
            | CatalogError::LastVariant
            | CatalogError::StockOutOfRange { .. }
            | CatalogError::StockIsNotEdited { .. } => Error::Conflict(e.to_string()),
            CatalogError::Contention => Error::Contention(e.to_string()),
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<crate::users::UserError> for Error {
    fn from(e: crate::users::UserError) -> Self {
        use crate::users::UserError;
        match e {
            UserError::NotFound => Error::NotFound("user"),
            UserError::Stale => Error::PreconditionFailed,
            UserError::Contention => Error::Contention(e.to_string()),
            UserError::NoPhone => Error::Conflict(e.to_string()),
            UserError::PhoneNotServed(why) => Error::invalid("phone", Invalid(why)),
            UserError::WrongCode(why) => Error::invalid("code", Invalid(why)),
            UserError::NotTheirConsent => Error::Forbidden(e.to_string()),
            UserError::Store(e) => e.into(),
        }
    }
}

impl From<crate::media::MediaError> for Error {
    fn from(e: crate::media::MediaError) -> Self {
        use crate::media::MediaError;
        match e {
            MediaError::Type => Error::invalid("content_type", Invalid::new(e.to_string())),
            MediaError::Size => Error::invalid("size", Invalid::new(e.to_string())),
            MediaError::Catalog(e) => e.into(),
            MediaError::Store(e) => e.into(),
        }
    }
}

impl From<crate::addresses::AddressError> for Error {
    fn from(e: crate::addresses::AddressError) -> Self {
        use crate::addresses::AddressError;
        match e {
            AddressError::NotFound => Error::NotFound("address"),
            AddressError::Full => Error::Conflict(e.to_string()),
            AddressError::Invalid(refused) => invalid_address("address", refused),
            AddressError::Contention => Error::Contention(e.to_string()),
            AddressError::Store(e) => e.into(),
        }
    }
}

impl From<crate::cart::CartError> for Error {
    fn from(e: crate::cart::CartError) -> Self {
        use crate::cart::CartError;
        match e {
            CartError::Full => Error::Conflict(e.to_string()),
            CartError::Contention => Error::Contention(e.to_string()),
            CartError::Pricing(e) => e.into(),
            CartError::Store(e) => e.into(),
        }
    }
}

impl From<crate::identity::IdentityError> for Error {
    fn from(e: crate::identity::IdentityError) -> Self {
        use crate::identity::IdentityError;
        match e {
            IdentityError::EmailTaken => Error::Conflict(e.to_string()),
            IdentityError::InvalidCredentials | IdentityError::InvalidToken => Error::Unauthenticated(e.to_string()),
            IdentityError::NotConfirmed => Error::Unauthenticated(e.to_string()),
            IdentityError::InvalidCode => Error::invalid("code", Invalid(e.to_string())),
            IdentityError::WeakPassword(rule) => Error::invalid("password", Invalid(rule)),
            IdentityError::TooManyAttempts { retry_after } => Error::TooManyRequests(retry_after),
            IdentityError::NoSuchUser => Error::NotFound("user"),
            IdentityError::Other(e) => e.into(),
        }
    }
}

/// `/problems/invalid-address`, each refused field named under `at`.
fn invalid_address(at: &str, refused: Vec<(&'static str, Invalid)>) -> Error {
    let errors: Vec<FieldError> =
        refused.into_iter().map(|(field, why)| FieldError { field: format!("{at}.{field}"), message: why.0 }).collect();
    Error::InvalidAddress { detail: summary(&errors), errors }
}

fn summary(errors: &[FieldError]) -> String {
    match errors {
        [one] => format!("{}: {}", one.field, one.message),
        _ => format!("{} fields are invalid", errors.len()),
    }
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem; a client acts on it, never on `detail`.
    /// 409s: `/problems/out-of-stock` (`short`: each short line with what is `left`),
    /// `/problems/not-on-sale` (`products`), `/problems/order-limit` (`limit`, `max`: what unpaid
    /// orders may hold), `/problems/empty-cart`,
    /// `/problems/illegal-transition` (`from`, `to`), `/problems/promotion-unavailable` (a
    /// discount code unknown, not running or used up), `/problems/contention` (send the same
    /// request again after `Retry-After`), `/problems/conflict` (anything else: a taken SKU or
    /// address, a refused payment). 503: `/problems/search-unavailable` (retry after
    /// `Retry-After`). The rest follow their status: `/problems/bad-request`,
    /// `/problems/unauthenticated`, `/problems/forbidden`, `/problems/not-found`,
    /// `/problems/method-not-allowed`, `/problems/precondition-failed`,
    /// `/problems/precondition-required`, `/problems/payload-too-large`,
    /// `/problems/unsupported-media-type`, `/problems/validation` (`errors`). Also 422:
    /// `/problems/invalid-address` (`errors`: the address's refused fields) and
    /// `/problems/shipping-unavailable` (not shipped there, or not by that option),
    /// `/problems/too-many-requests`, `/problems/bad-gateway`, `/problems/internal`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP reason phrase.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Every refused field (`/problems/validation` and `/problems/invalid-address` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Each line short of stock, with what is left (`/problems/out-of-stock` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub short: Vec<Shortage>,
    /// The products not on sale (`/problems/not-on-sale` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductId>,
    /// The limit passed (`/problems/order-limit` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// Its value (`/problems/order-limit` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// The order's status (`/problems/illegal-transition` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderStatus>,
    /// The status asked for (`/problems/illegal-transition` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<OrderStatus>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "request failed");
                "something went wrong on our side; please retry".to_owned()
            }
            Self::Unavailable { cause, .. } => {
                tracing::warn!(error = format!("{cause:#}"), "a dependency is unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let retry_after = self.retry_after();
        let mut problem = Problem {
            kind: self.problem_type(),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
            short: Vec::new(),
            products: Vec::new(),
            limit: None,
            max: None,
            from: None,
            to: None,
        };
        match self {
            Self::Validation { errors, .. } | Self::InvalidAddress { errors, .. } => problem.errors = errors,
            Self::OutOfStock { short, .. } => problem.short = short,
            Self::OrderLimit { limit, max, .. } => (problem.limit, problem.max) = (Some(limit), Some(max)),
            Self::NotOnSale { products, .. } => problem.products = products,
            Self::IllegalTransition { from, to, .. } => (problem.from, problem.to) = (Some(from), Some(to)),
            _ => {}
        }
        let body = serde_json::to_vec(&problem).expect("a problem serializes");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Collects every invalid field of a request before building a domain value from it, so one
/// answer names all of them.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    /// Records the field's error, if any, and hands back the value, if any.
    pub fn field<T>(&mut self, name: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.errors.push(FieldError { field: name.to_owned(), message: invalid.0 });
                None
            }
        }
    }

    /// Like [`Validation::field`] for an optional input.
    pub fn optional<T, R>(
        &mut self,
        name: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, Invalid>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(raw) => self.field(name, parse(raw)).map(Some),
        }
    }

    /// Like [`Validation::field`] for every element of a list, naming `field[i]`.
    pub fn each<T, R>(
        &mut self,
        name: &str,
        raw: impl IntoIterator<Item = R>,
        parse: impl Fn(R) -> Result<T, Invalid>,
    ) -> Option<Vec<T>> {
        let mut values = Vec::new();
        let mut ok = true;
        for (i, item) in raw.into_iter().enumerate() {
            match self.field(&format!("{name}[{i}]"), parse(item)) {
                Some(v) => values.push(v),
                None => ok = false,
            }
        }
        ok.then_some(values)
    }

    /// Builds the value when every field passed; otherwise a 422 listing the failures.
    /// `build` sees `Some` for every field that was recorded without error.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T> {
        if self.errors.is_empty() {
            Ok(build().expect("every validated field is present"))
        } else {
            Err(Error::Validation { detail: summary(&self.errors), errors: self.errors })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn internal_errors_never_leak() {
        let err = Error::Internal(anyhow::anyhow!("dynamodb: secret table name"));
        let response = err.into_response();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let json = body(response).await;
        assert!(!json.to_string().contains("secret"));
        assert_eq!(json["type"], "/problems/internal");
    }

    #[tokio::test]
    async fn validation_lists_every_field() {
        let mut v = Validation::default();
        let a = v.field("email", crate::domain::Email::parse("nope"));
        let b = v.field("name", crate::domain::Name::parse(""));
        let err = v.finish(|| Some((a?, b?))).unwrap_err();
        let response = err.into_response();
        assert_eq!(response.status(), 422);
        let json = body(response).await;
        assert_eq!(json["errors"].as_array().unwrap().len(), 2);
        assert_eq!(json["errors"][0]["field"], "email");
    }

    #[tokio::test]
    async fn throttling_says_when_to_retry() {
        let response = Error::TooManyRequests(3).into_response();
        assert_eq!(response.headers()["retry-after"], "3");
    }

    /// A lost race, in any service (the users' included), is a 409 the client may send again
    /// after `Retry-After`, never a 500.
    #[tokio::test]
    async fn contention_is_a_conflict_to_retry() {
        use crate::table::WriteError;
        let lost = [
            Error::from(crate::users::UserError::from(WriteError::Conflict)),
            Error::from(crate::cart::CartError::from(WriteError::Conflict)),
            Error::from(crate::orders::OrderError::from(WriteError::Conflict)),
            Error::from(crate::catalog::CatalogError::from(WriteError::Conflict)),
        ];
        for error in lost {
            let response = error.into_response();
            assert_eq!(
                (response.status(), &response.headers()["retry-after"]),
                (StatusCode::CONFLICT, &HeaderValue::from(1))
            );
            assert_eq!(body(response).await["type"], "/problems/contention");
        }
    }

    /// An error an adapter marks as a dependency's unavailability answers 503 naming it; the
    /// cause stays in the logs.
    #[tokio::test]
    async fn an_unavailable_dependency_is_a_503_naming_it() {
        let down = anyhow::anyhow!("connection refused: 10.0.0.7:443").context(Dependency::Search).context("searching");
        let response = Error::from(down).into_response();
        assert_eq!(
            (response.status(), &response.headers()["retry-after"]),
            (StatusCode::SERVICE_UNAVAILABLE, &HeaderValue::from(5))
        );
        let json = body(response).await;
        assert_eq!(json["type"], "/problems/search-unavailable");
        assert!(!json.to_string().contains("10.0.0.7"), "{json}");
        let other = Error::from(anyhow::anyhow!("a bug"));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
