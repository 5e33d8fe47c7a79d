//! The payments service: paying an order through a provider, the providers' signed webhooks,
//! and the back office's refunds.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shop::domain::{Invalid, Money, Reason, RefundedLine};
use shop::error::Validation;
use shop::http::caller::Revocations;
use shop::http::{Json, Shopper, Staff, Versioned};
use shop::metrics::WebhookOutcome;
use shop::openapi::Shared;
use shop::orders::Order;
use shop::payments::{Applied, Checkout, Payments, Provider, Refund, Refunding, WebhookError};
use shop::{Error, Result};
use utoipa::{OpenApi, ToSchema};

/// What the payments service needs.
#[derive(Clone)]
pub struct PaymentsState {
    pub payments: Payments,
    /// The most a refund by support (not an admin) gives back, in the order's minor units
    /// ([`shop::orders::Limits::support_refund`]).
    pub support_refund_limit: i64,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
}

impl PaymentsState {
    pub fn new(table: std::sync::Arc<dyn shop::table::Table>, payments: Payments) -> Self {
        let support_refund_limit = shop::orders::Limits::default().support_refund;
        Self { payments, support_refund_limit, revocations: Revocations::new(table) }
    }

    pub fn with_limits(self, limits: shop::orders::Limits) -> Self {
        Self { support_refund_limit: limits.support_refund, ..self }
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "payments", description = "Paying orders, the providers' webhooks, refunds")), modifiers(&Shared))]
struct Doc;

shop::service!(
    PaymentsState,
    Doc,
    [pay_order, capture_payment, refund_order, stripe_webhook, paypal_webhook],
    guest [pay_order, capture_payment]
);

/// Which provider pays.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    /// `stripe` (cards, the default) or `paypal`.
    #[serde(default)]
    provider: Option<Provider>,
}

/// A refund: of `amount`, of units of the order's `lines` (what was paid for them, discount and
/// tax included), or of all that is left.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    #[serde(default)]
    amount: Option<Money>,
    #[serde(default)]
    lines: Option<Vec<RefundedLine>>,
    /// Why (kept with the refund).
    #[schema(value_type = Reason)]
    reason: String,
}

/// The caller's own order named by the path (only its owner pays it; to anyone else it does
/// not exist).
async fn own_order(state: &PaymentsState, shopper: &Shopper, id: &str) -> Result<Order> {
    shop::http::order(state.payments.orders(), id, |o| shopper.owns(o)).await
}

/// Pay an order (its owner): creates the provider's payment for the order's total, or answers
/// the one already made (201 the first time, 200 after). A payment that failed (a declined
/// card) is followed by a new one.
#[utoipa::path(post, path = "/api/orders/{id}/payment", tag = "payments", security(("cognito" = [])),
    params(("id" = String, Path)), request_body = PayBody,
    responses((status = 201, body = Checkout), (status = 200, body = Checkout), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "The order is not awaiting payment"),
              (status = 502, body = shop::error::Problem, description = "The provider failed; retry")))]
async fn pay_order(
    State(state): State<PaymentsState>,
    shopper: Shopper,
    Path(id): Path<String>,
    Json(body): Json<PayBody>,
) -> Result<Response> {
    let order = own_order(&state, &shopper, &id).await?;
    let (checkout, created) = state.payments.checkout(order, body.provider.unwrap_or(Provider::Stripe)).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(checkout)).into_response())
}

/// Capture the order's approved payment (its owner, on returning from PayPal's approval page):
/// the order is PAID once the money is taken. The capture webhook, before or after, changes
/// nothing more; a payment captured already answers the order again.
#[utoipa::path(post, path = "/api/orders/{id}/payment/capture", tag = "payments", security(("cognito" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem,
               description = "Nothing to capture: no payment, not approved or declined, the order not awaiting payment"),
              (status = 502, body = shop::error::Problem, description = "The provider failed; retry")))]
async fn capture_payment(
    State(state): State<PaymentsState>,
    shopper: Shopper,
    Path(id): Path<String>,
) -> Result<Versioned<Order>> {
    let order = own_order(&state, &shopper, &id).await?;
    let order = state.payments.capture(&order).await?;
    Ok(Versioned(order.version, order))
}

/// Refund an order's payment in full or in part. The refunded total never exceeds what was
/// paid; an order refunded in full becomes REFUNDED. Support refunds at most the shop's limit
/// at a time (`SUPPORT_REFUND_LIMIT`, minor units; 403 beyond), admins any amount.
#[utoipa::path(post, path = "/api/orders/{id}/refunds", tag = "payments", security(("cognito" = ["support"])),
    params(("id" = String, Path)), request_body = RefundBody,
    responses((status = 201, body = Refund), (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "More than what is left to refund, or nothing paid"),
              (status = 422, body = shop::error::Problem), (status = 502, body = shop::error::Problem)))]
async fn refund_order(
    State(state): State<PaymentsState>,
    Staff(caller): Staff,
    Path(id): Path<String>,
    Json(body): Json<RefundBody>,
) -> Result<Response> {
    let order = shop::http::order(state.payments.orders(), &id, |_| true).await?;
    let mut v = Validation::default();
    let reason = v.field("reason", Reason::parse(&body.reason));
    let with_amount = body.amount.is_some();
    let amount = v.optional("amount", body.amount, |m| match m {
        m if m.currency != order.total.currency => {
            Err(Invalid::new(format!("must be in the order's currency, {}", order.total.currency)))
        }
        m if m.amount <= 0 => Err(Invalid::new("must be more than 0")),
        m => Ok(m.amount),
    });
    let lines = v.optional("lines", body.lines, |lines| match lines.len() {
        0 => Err(Invalid::new("must name at least one line")),
        _ if with_amount => Err(Invalid::new("is given instead of an amount, not with one")),
        _ => Ok(lines),
    });
    let (reason, what) = v.finish(|| {
        let what = match (amount?, lines?) {
            (_, Some(lines)) => Refunding::Lines(lines),
            (Some(amount), None) => Refunding::Amount(amount),
            (None, None) => Refunding::Rest,
        };
        Some((reason?, what))
    })?;
    let key = format!("admin-{}", ulid::Ulid::new());
    let most = (!caller.is_admin()).then_some(state.support_refund_limit);
    let refund = state.payments.refund_at_most(&order.id, &what, reason.as_str(), &key, most).await?;
    tracing::info!(order = %order.id, amount = %refund.amount, by = %caller.user_id, "refund made");
    Ok((StatusCode::CREATED, axum::Json(refund)).into_response())
}

/// Stripe's webhook (public; verified on the raw body with the endpoint's signing secret). A
/// bad signature, a timestamp more than 300 s away or a changed body answers 400 and changes
/// nothing; each event is applied once; an event the shop does not act on answers 200.
#[utoipa::path(post, path = "/api/payments/stripe/webhook", tag = "payments",
    params(("Stripe-Signature" = String, Header)), request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, body = serde_json::Value), (status = 400, body = shop::error::Problem)))]
async fn stripe_webhook(State(state): State<PaymentsState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    webhook(&state, Provider::Stripe, &headers, &body).await
}

/// PayPal's webhook (public; verified offline on the raw body with PayPal's certificate and the
/// shop's webhook id). A bad signature, a transmission more than 300 s away or a changed body
/// answers 400 and changes nothing; each event is applied once; an event the shop does not act
/// on answers 200.
#[utoipa::path(post, path = "/api/payments/paypal/webhook", tag = "payments",
    params(("PAYPAL-TRANSMISSION-ID" = String, Header), ("PAYPAL-TRANSMISSION-TIME" = String, Header),
           ("PAYPAL-TRANSMISSION-SIG" = String, Header), ("PAYPAL-CERT-URL" = String, Header),
           ("PAYPAL-AUTH-ALGO" = String, Header)),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, body = serde_json::Value), (status = 400, body = shop::error::Problem),
              (status = 404, body = shop::error::Problem, description = "PayPal is not configured here")))]
async fn paypal_webhook(State(state): State<PaymentsState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    webhook(&state, Provider::Paypal, &headers, &body).await
}

async fn webhook(state: &PaymentsState, provider: Provider, headers: &HeaderMap, body: &[u8]) -> Result<Response> {
    // A provider this deployment has no account for has no webhook here.
    let client = state.payments.provider(provider).map_err(|_| Error::NotFound("webhook"))?;
    let event = client.verify(headers, body).await.inspect_err(|e| {
        tracing::warn!(error = %e, "webhook refused");
        let outcome = match e {
            WebhookError::Unavailable(_) => WebhookOutcome::Failed,
            _ => WebhookOutcome::Rejected,
        };
        shop::metrics::webhook(provider, outcome);
    })?;
    let applied = state.payments.apply(provider, &event).await;
    let outcome = match &applied {
        Ok(Applied::Nothing) => WebhookOutcome::Ignored,
        Ok(_) => WebhookOutcome::Applied,
        Err(_) => WebhookOutcome::Failed,
    };
    shop::metrics::webhook(provider, outcome);
    let applied = applied?;
    let order = event.order_id.map(|id| id.to_string()).unwrap_or_default();
    tracing::info!(event = %event.id, order, outcome = ?applied, "webhook event");
    Ok(axum::Json(serde_json::json!({"received": true})).into_response())
}
