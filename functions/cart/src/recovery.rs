//! Carts left behind ([`shop::recovery`]): where a guest's reminders go, the link in a
//! reminder that restores the cart, and the one that unsubscribes its address.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shop::cart::{CartContact, CartView};
use shop::domain::Email;
use shop::http::{Json, Shopper};
use shop::recovery::LinkError;
use shop::{Error, Result};
use utoipa::ToSchema;

use crate::CartState;

/// Where a guest's cart reminders go.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    #[schema(value_type = Email)]
    email: String,
    /// Agreed to marketing email (a reminder of the cart if it is left behind).
    marketing: bool,
}

/// A link's token, from a reminder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The last part of the link (`#/cart/restore/<token>`, `#/unsubscribe/<token>`).
    #[schema(max_length = 512)]
    token: String,
}

fn refused(e: LinkError) -> Error {
    Error::invalid("token", shop::domain::Invalid::new(e.to_string()))
}

/// Where the guest's cart reminders go, and whether they may be sent (an account's come from
/// its profile). A guest who gives none hears nothing of a cart left behind.
#[utoipa::path(put, path = "/api/guest/cart/contact", tag = "cart", security(("guest" = [])), request_body = ContactBody,
    responses((status = 200, body = CartContact), (status = 401, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem)))]
pub async fn set_contact(
    State(state): State<CartState>,
    shopper: Shopper,
    Json(body): Json<ContactBody>,
) -> Result<Json<CartContact>> {
    let buyer = shopper.buyer()?;
    let email = Email::parse(&body.email).map_err(|e| Error::invalid("email", e))?;
    let contact = CartContact { email, marketing: body.marketing };
    state.carts.set_contact(buyer, &contact).await?;
    Ok(Json(contact))
}

/// Where the guest's cart reminders go, if the guest said.
#[utoipa::path(get, path = "/api/guest/cart/contact", tag = "cart", security(("guest" = [])),
    responses((status = 200, body = CartContact), (status = 401, body = shop::error::Problem),
              (status = 404, body = shop::error::Problem)))]
pub async fn get_contact(State(state): State<CartState>, shopper: Shopper) -> Result<Json<CartContact>> {
    let buyer = shopper.buyer()?;
    Ok(Json(state.carts.contact(buyer).await?.ok_or(Error::NotFound("contact"))?))
}

/// The caller's cart after a restore, and how many lines the link put in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestoredCart {
    /// Lines put in the cart from the link's: none when it is the caller's own cart, or when
    /// its shopper ordered or emptied it meanwhile.
    restored: usize,
    #[serde(flatten)]
    cart: CartView,
}

/// Restore a cart from a reminder's link: its lines are put in the caller's cart (a quantity
/// already there is replaced; the shopper's own cart is already theirs). Answers the cart.
#[utoipa::path(post, path = "/api/cart/restore", tag = "cart", security(("cognito" = [])), request_body = LinkBody,
    responses((status = 200, body = RestoredCart), (status = 401, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem, description = "A link the shop did not make, or one \
              past its 14 days")))]
pub async fn restore_cart(
    State(state): State<CartState>,
    shopper: Shopper,
    Json(body): Json<LinkBody>,
) -> Result<Json<RestoredCart>> {
    let buyer = shopper.buyer()?;
    let restored = shop::recovery::restore(&state.carts, &body.token, buyer).await?.map_err(refused)?;
    tracing::info!(lines = restored, "a cart restored from a reminder");
    Ok(Json(RestoredCart { restored, cart: state.carts.view(buyer, None).await? }))
}

/// Unsubscribe from marketing email with the link every reminder carries; no log-in needed.
#[utoipa::path(post, path = "/api/unsubscribe", tag = "cart", request_body = LinkBody,
    responses((status = 204), (status = 422, body = shop::error::Problem)))]
pub async fn unsubscribe(State(state): State<CartState>, Json(body): Json<LinkBody>) -> Result<StatusCode> {
    shop::recovery::unsubscribe(state.table.as_ref(), &body.token).await?.map_err(refused)?;
    tracing::info!("an address unsubscribed from marketing email");
    Ok(StatusCode::NO_CONTENT)
}
