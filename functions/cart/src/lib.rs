//! The cart service: the signed-in shopper's own cart, priced from the catalogue.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shop::cart::{CartView, Carts, Line};
use shop::catalog::Catalog;
use shop::domain::{Quantity, VariantId};
use shop::http::caller::Revocations;
use shop::http::{Caller, Json};
use shop::openapi::Shared;
use shop::{Error, Result};
use utoipa::{OpenApi, ToSchema};

/// What the cart service needs.
#[derive(Clone)]
pub struct CartState {
    pub carts: Carts,
    pub catalog: Catalog,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
}

impl CartState {
    pub fn new(table: std::sync::Arc<dyn shop::table::Table>) -> Self {
        Self {
            carts: Carts::new(table.clone()),
            catalog: Catalog::new(table.clone()),
            revocations: Revocations::new(table),
        }
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "cart", description = "The shopper's cart")), modifiers(&Shared))]
struct Doc;

shop::service!(CartState, Doc, [get_cart, clear_cart, set_item, remove_item]);

/// How many of a product the cart should hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartItemBody {
    /// 1 to 99.
    #[schema(example = 2)]
    #[schema(value_type = Quantity)]
    #[serde(deserialize_with = "shop::http::json::integer")]
    quantity: i64,
}

/// The caller's cart with today's prices, line totals and the total.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("cognito" = [])),
    responses((status = 200, body = CartView), (status = 401, body = shop::error::Problem)))]
async fn get_cart(State(state): State<CartState>, caller: Caller) -> Result<Json<CartView>> {
    Ok(Json(state.carts.view(&caller.user_id).await?))
}

/// Empty the cart.
#[utoipa::path(delete, path = "/api/cart", tag = "cart", security(("cognito" = [])), responses((status = 204)))]
async fn clear_cart(State(state): State<CartState>, caller: Caller) -> Result<StatusCode> {
    state.carts.clear(&caller.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Put a variant in the cart, or change how many. The id of a product sold as one variant
/// names that variant.
#[utoipa::path(put, path = "/api/cart/items/{variant_id}", tag = "cart", security(("cognito" = [])),
    params(("variant_id" = String, Path)), request_body = CartItemBody,
    responses((status = 200, body = CartView), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "Not on sale (`/problems/not-on-sale`), the cart is full \
              (`/problems/conflict`), or it kept changing (`/problems/contention`)")))]
async fn set_item(
    State(state): State<CartState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CartItemBody>,
) -> Result<Json<CartView>> {
    let id = shop::http::path_id(&id, VariantId::parse, "variant")?;
    let quantity = Quantity::new(body.quantity).map_err(|e| Error::invalid("quantity", e))?;
    let (product, variant) = state.catalog.locate(&id).await?.ok_or(Error::NotFound("variant"))?;
    if !product.active {
        return Err(shop::orders::OrderError::NotOnSale { products: vec![product.id] }.into());
    }
    state.carts.set(&caller.user_id, Line { product: product.id, variant, quantity }).await?;
    Ok(Json(state.carts.view(&caller.user_id).await?))
}

/// Take a variant out of the cart. The id of a product sold as one variant names that
/// variant.
#[utoipa::path(delete, path = "/api/cart/items/{variant_id}", tag = "cart", security(("cognito" = [])),
    params(("variant_id" = String, Path)), responses((status = 204), (status = 404, body = shop::error::Problem)))]
async fn remove_item(State(state): State<CartState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode> {
    let id = shop::http::path_id(&id, VariantId::parse, "variant")?;
    if state.carts.remove(&caller.user_id, &id).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    // A product's id: its one variant's line.
    let named = match state.catalog.locate(&id).await {
        Ok(Some((_, variant))) if variant != id => Some(variant),
        Ok(_) | Err(shop::catalog::CatalogError::VariantRequired { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    match named {
        Some(variant) if state.carts.remove(&caller.user_id, &variant).await? => Ok(StatusCode::NO_CONTENT),
        _ => Err(Error::NotFound("cart line")),
    }
}
