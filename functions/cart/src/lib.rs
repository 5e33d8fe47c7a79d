//! The cart service: the signed-in shopper's own cart, priced from the catalogue.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shop::cart::{CartView, Carts};
use shop::catalog::Catalog;
use shop::domain::{ProductId, Quantity};
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

/// Put a product in the cart, or change how many.
#[utoipa::path(put, path = "/api/cart/items/{product_id}", tag = "cart", security(("cognito" = [])),
    params(("product_id" = String, Path)), request_body = CartItemBody,
    responses((status = 200, body = CartView), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "Not on sale (`/problems/not-on-sale`), the cart is full \
              (`/problems/conflict`), or it kept changing (`/problems/contention`)")))]
async fn set_item(
    State(state): State<CartState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CartItemBody>,
) -> Result<Json<CartView>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let quantity = Quantity::new(body.quantity).map_err(|e| Error::invalid("quantity", e))?;
    let product = state.catalog.get(&id).await?.ok_or(Error::NotFound("product"))?;
    if !product.active {
        return Err(shop::orders::OrderError::NotOnSale { products: vec![id] }.into());
    }
    state.carts.set(&caller.user_id, &id, quantity).await?;
    Ok(Json(state.carts.view(&caller.user_id).await?))
}

/// Take a product out of the cart.
#[utoipa::path(delete, path = "/api/cart/items/{product_id}", tag = "cart", security(("cognito" = [])),
    params(("product_id" = String, Path)), responses((status = 204), (status = 404, body = shop::error::Problem)))]
async fn remove_item(State(state): State<CartState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode> {
    if state.carts.remove(&caller.user_id, &shop::http::path_id(&id, ProductId::parse, "product")?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("cart line"))
    }
}
