//! The simulated payment provider's control route, served by the local stack only (never
//! deployed, not in the API document): `POST /_simulator/payments/{payment_id}/confirm` with
//! `{"card": "<number>"}` does what a shopper's browser does with Stripe.js; the provider then
//! delivers its signed event to the webhook route.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use shop::Error;
use shop::http::Json;
use shop_embedded::payments::{ConfirmError, Simulated};

/// A card to pay with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    card: String,
}

async fn confirm(
    State(simulated): State<Arc<Simulated>>,
    Path(payment_id): Path<String>,
    Json(body): Json<Confirm>,
) -> Result<axum::Json<serde_json::Value>, Error> {
    let payment = simulated.confirm(&payment_id, &body.card).await.map_err(|e| match e {
        ConfirmError::NotFound => Error::NotFound("payment"),
        ConfirmError::NotConfirmable(_) => Error::Conflict(e.to_string()),
        ConfirmError::UnknownCard(_) => Error::invalid("card", shop::domain::Invalid::new(e.to_string())),
        ConfirmError::Store(e) => Error::Internal(e),
    })?;
    let status = match payment.status {
        shop::payments::PaymentStatus::Succeeded => "succeeded",
        _ => "requires_payment_method",
    };
    Ok(axum::Json(json!({"id": payment.id, "status": status})))
}

/// The control route over the simulated provider.
pub fn router(simulated: Arc<Simulated>) -> Router {
    Router::new().route("/_simulator/payments/{payment_id}/confirm", post(confirm)).with_state(simulated)
}
