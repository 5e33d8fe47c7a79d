//! The cart service: the shopper's own cart (signed in, or a guest's by their token), priced from the catalogue, with the
//! shipping options and tax of where it would go; and the back office's pricing settings (tax
//! rates, shipping zones) that price it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shop::cart::{CartView, Carts, Line, ShippingQuote};
use shop::catalog::Catalog;
use shop::domain::{Country, Handle, Quantity, Region, VariantId};
use shop::guests::Guest;
use shop::http::caller::Revocations;
use shop::http::{IfMatch, Json, Query, Shopper, Staff, Versioned};
use shop::openapi::Shared;
use shop::pricing::{Destination, Pricing, Shipping, ShippingZone, TaxRule, TaxSettings};
use shop::promotions::{PromoCode, Promotion, Promotions};
use shop::{Error, Result};
use std::collections::BTreeMap;
use utoipa::{IntoParams, OpenApi, ToSchema};

mod recovery;
pub use recovery::*;

/// What the cart service needs.
#[derive(Clone)]
pub struct CartState {
    pub carts: Carts,
    pub catalog: Catalog,
    pub pricing: Pricing,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
    /// The addresses that unsubscribed from marketing email.
    pub table: std::sync::Arc<dyn shop::table::Table>,
}

impl CartState {
    pub fn new(table: std::sync::Arc<dyn shop::table::Table>) -> Self {
        Self {
            carts: Carts::new(table.clone()),
            catalog: Catalog::new(table.clone()),
            pricing: Pricing::new(table.clone()),
            revocations: Revocations::new(table.clone()),
            table,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    tags((name = "cart", description = "The shopper's cart"),
         (name = "settings", description = "Tax rates and shipping zones (admin)")),
    modifiers(&Shared)
)]
struct Doc;

shop::service!(
    CartState,
    Doc,
    [
        get_cart,
        clear_cart,
        set_item,
        remove_item,
        shipping_options,
        apply_code,
        remove_code,
        get_tax,
        set_tax,
        get_zones,
        put_zone,
        delete_zone,
        get_promotions,
        put_promotion,
        delete_promotion,
        guest_token,
        set_contact,
        get_contact,
        restore_cart,
        unsubscribe
    ],
    guest [get_cart, clear_cart, set_item, remove_item, shipping_options, apply_code, remove_code, restore_cart]
);

/// A new guest's token.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestToken {
    /// Sent as `Guest-Token` on the guest routes (`/api/guest/...`): the guest's cart, checkout
    /// and orders. Keep it; it does not expire (a new signing key ends it).
    token: String,
}

/// Start shopping as a guest, without an account: answers a token for the guest routes, which
/// mirror the cart's, checkout's and orders' under `/api/guest/`. Nothing is stored until the
/// guest's cart holds something.
#[utoipa::path(post, path = "/api/guest/tokens", tag = "cart", responses((status = 201, body = GuestToken)))]
async fn guest_token() -> Result<(StatusCode, Json<GuestToken>)> {
    let (_, token) = Guest::new().await?;
    Ok((StatusCode::CREATED, Json(GuestToken { token })))
}

/// A discount code for the cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    #[schema(value_type = PromoCode)]
    code: String,
}

/// Apply a discount code to the cart (one at a time: it replaces the one before). Answers the
/// cart with what the code takes off.
#[utoipa::path(put, path = "/api/cart/promotion", tag = "cart", security(("cognito" = [])), request_body = CodeBody,
    responses((status = 200, body = CartView), (status = 401, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "`/problems/promotion-unavailable`: no such \
              code, not running now, or used as often as it may be"),
              (status = 422, body = shop::error::Problem)))]
async fn apply_code(
    State(state): State<CartState>,
    shopper: Shopper,
    Json(body): Json<CodeBody>,
) -> Result<Json<CartView>> {
    let buyer = shopper.buyer()?;
    let code = PromoCode::parse(&body.code).map_err(|e| Error::invalid("code", e))?;
    state.carts.set_promotion(buyer, &code).await?;
    Ok(Json(state.carts.view(buyer, None).await?))
}

/// Take the discount code off the cart.
#[utoipa::path(delete, path = "/api/cart/promotion", tag = "cart", security(("cognito" = [])),
    responses((status = 204), (status = 401, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn remove_code(State(state): State<CartState>, shopper: Shopper) -> Result<StatusCode> {
    let buyer = shopper.buyer()?;
    if state.carts.clear_promotion(buyer).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("discount code"))
    }
}

/// The shop's promotions, with how many orders each was used for.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionsView {
    #[serde(flatten)]
    promotions: Promotions,
    /// Orders each promotion was used for, by id (cancelled ones give theirs back).
    uses: BTreeMap<String, i64>,
}

/// The promotions (admin), with their uses.
#[utoipa::path(get, path = "/api/promotions", tag = "settings", security(("cognito" = ["admin"])),
    responses((status = 200, body = PromotionsView), (status = 403, body = shop::error::Problem)))]
async fn get_promotions(State(state): State<CartState>, _: Staff) -> Result<Versioned<PromotionsView>> {
    let promotions = state.pricing.promotions().await?;
    let uses = state.pricing.uses(&promotions).await?;
    Ok(Versioned(promotions.version, PromotionsView { promotions, uses }))
}

/// Add a promotion, or replace the promotion of that id (admin). The promotions change as one:
/// send `If-Match` with the ETag of `GET /api/promotions` (`"0"` before the first). Orders
/// placed keep what a promotion gave them, whatever it becomes.
#[utoipa::path(put, path = "/api/promotions/{promotion_id}", tag = "settings", security(("cognito" = ["admin"])),
    request_body = Promotion,
    params(("promotion_id" = String, Path), ("If-Match" = String, Header, description = "The promotions' ETag you read")),
    responses((status = 200, body = Promotions), (status = 403, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn put_promotion(
    State(state): State<CartState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(promotion): Json<Promotion>,
) -> Result<Versioned<Promotions>> {
    let id = Handle::parse(&id).map_err(|e| Error::invalid("promotion_id", e))?;
    if promotion.id != id {
        return Err(Error::invalid("id", shop::domain::Invalid::new("must be the promotion_id of the path")));
    }
    let promotions = state.pricing.put_promotion(promotion, if_match.required()?).await?;
    tracing::info!(promotion = %id, revision = promotions.version, "promotion saved");
    Ok(Versioned(promotions.version, promotions))
}

/// Remove a promotion (admin), with `If-Match` as for saving one.
#[utoipa::path(delete, path = "/api/promotions/{promotion_id}", tag = "settings", security(("cognito" = ["admin"])),
    params(("promotion_id" = String, Path), ("If-Match" = String, Header, description = "The promotions' ETag you read")),
    responses((status = 200, body = Promotions), (status = 403, body = shop::error::Problem),
              (status = 404, body = shop::error::Problem), (status = 412, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn delete_promotion(
    State(state): State<CartState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Versioned<Promotions>> {
    let id = shop::http::path_id(&id, Handle::parse, "promotion")?;
    let promotions = state.pricing.delete_promotion(&id, if_match.required()?).await?;
    tracing::info!(promotion = %id, revision = promotions.version, "promotion removed");
    Ok(Versioned(promotions.version, promotions))
}

/// Where the cart would go, to price its shipping and tax.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Where {
    /// ISO 3166-1 alpha-2; with it, the cart answers `totals`.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// The region, where tax depends on it (US states, Canadian provinces).
    #[param(value_type = Option<Region>)]
    region: Option<String>,
    /// A shipping option that applies (from `/api/cart/shipping-options`), priced into `totals`.
    #[param(value_type = Option<Handle>)]
    shipping_option: Option<String>,
}

/// Where the cart would go, to list the shipping options there.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShippingTo {
    /// ISO 3166-1 alpha-2.
    #[param(value_type = Country)]
    country: String,
    /// The region (US states, Canadian provinces), for zones that name regions.
    #[param(value_type = Option<Region>)]
    region: Option<String>,
}

impl Where {
    /// The destination asked about, if any, and the option named.
    fn parse(&self) -> Result<Option<(Destination, Option<Handle>)>> {
        let Some(country) = &self.country else {
            return match (&self.region, &self.shipping_option) {
                (None, None) => Ok(None),
                _ => Err(Error::invalid(
                    "country",
                    shop::domain::Invalid::new("is required with region or shipping_option"),
                )),
            };
        };
        let country = Country::parse(country).map_err(|e| Error::invalid("country", e))?;
        let region = self.region.as_deref().map(Region::parse).transpose().map_err(|e| Error::invalid("region", e))?;
        let option = self
            .shipping_option
            .as_deref()
            .map(Handle::parse)
            .transpose()
            .map_err(|e| Error::invalid("shipping_option", e))?;
        Ok(Some((Destination { country, region }, option)))
    }
}

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

/// The caller's cart with today's prices, line totals and the total; with a `country`, its
/// `totals` (subtotal, discount, shipping, tax and total), the shipping priced in only once a
/// `shipping_option` is named.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("cognito" = [])), params(Where),
    responses((status = 200, body = CartView), (status = 401, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem, description = "A malformed destination, or \
              `/problems/shipping-unavailable`: not shipped there, or not by that option")))]
async fn get_cart(State(state): State<CartState>, shopper: Shopper, Query(at): Query<Where>) -> Result<Json<CartView>> {
    let buyer = shopper.buyer()?;
    let at = at.parse()?;
    let at = at.as_ref().map(|(to, option)| (to, option.as_ref()));
    Ok(Json(state.carts.view(buyer, at).await?))
}

/// The shipping options that apply to the cart going to `country` (and `region`), priced for
/// it, cheapest first; none when the shop does not ship there (or has no zones: then it ships
/// for nothing and a checkout names no option).
#[utoipa::path(get, path = "/api/cart/shipping-options", tag = "cart", security(("cognito" = [])), params(ShippingTo),
    responses((status = 200, body = Vec<ShippingQuote>), (status = 401, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem)))]
async fn shipping_options(
    State(state): State<CartState>,
    shopper: Shopper,
    Query(to): Query<ShippingTo>,
) -> Result<Json<Vec<ShippingQuote>>> {
    let buyer = shopper.buyer()?;
    let at = Where { country: Some(to.country), region: to.region, shipping_option: None };
    let (to, _) = at.parse()?.expect("a country");
    Ok(Json(state.carts.shipping_options(buyer, &to).await?))
}

/// The tax settings (admin).
#[utoipa::path(get, path = "/api/tax-settings", tag = "settings", security(("cognito" = ["admin"])),
    responses((status = 200, body = TaxSettings), (status = 403, body = shop::error::Problem)))]
async fn get_tax(State(state): State<CartState>, _: Staff) -> Result<Versioned<TaxSettings>> {
    let settings = state.pricing.tax().await?;
    Ok(Versioned(settings.version, settings))
}

/// New tax settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxBody {
    /// Whether catalogue and shipping prices include tax (the EU way) or have it added at
    /// checkout (the US way).
    prices_include_tax: bool,
    /// Each country's (or region's) rate per tax class; a country without one taxes at zero.
    #[schema(max_items = 500)]
    rates: Vec<TaxRule>,
}

/// Replace the tax settings (admin). Send `If-Match` with the ETag you read (`"0"` before the
/// first save). Placed orders keep the rates they were placed with.
#[utoipa::path(put, path = "/api/tax-settings", tag = "settings", security(("cognito" = ["admin"])), request_body = TaxBody,
    params(("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = TaxSettings), (status = 403, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn set_tax(
    State(state): State<CartState>,
    _: Staff,
    if_match: IfMatch,
    Json(body): Json<TaxBody>,
) -> Result<Versioned<TaxSettings>> {
    let settings = state.pricing.set_tax(body.prices_include_tax, body.rates, if_match.required()?).await?;
    tracing::info!(revision = settings.version, rates = settings.rates.len(), "tax settings changed");
    Ok(Versioned(settings.version, settings))
}

/// The shipping zones and their options (admin).
#[utoipa::path(get, path = "/api/shipping-zones", tag = "settings", security(("cognito" = ["admin"])),
    responses((status = 200, body = Shipping), (status = 403, body = shop::error::Problem)))]
async fn get_zones(State(state): State<CartState>, _: Staff) -> Result<Versioned<Shipping>> {
    let shipping = state.pricing.shipping().await?;
    Ok(Versioned(shipping.version, shipping))
}

/// Add a shipping zone, or replace the zone of that id (admin). The zones change as one: send
/// `If-Match` with the ETag of `GET /api/shipping-zones` (`"0"` before the first zone).
/// Answers every zone.
#[utoipa::path(put, path = "/api/shipping-zones/{zone_id}", tag = "settings", security(("cognito" = ["admin"])),
    request_body = ShippingZone,
    params(("zone_id" = String, Path), ("If-Match" = String, Header, description = "The zones' ETag you read")),
    responses((status = 200, body = Shipping), (status = 403, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn put_zone(
    State(state): State<CartState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(zone): Json<ShippingZone>,
) -> Result<Versioned<Shipping>> {
    let id = Handle::parse(&id).map_err(|e| Error::invalid("zone_id", e))?;
    if zone.id != id {
        return Err(Error::invalid("id", shop::domain::Invalid::new("must be the zone_id of the path")));
    }
    let shipping = state.pricing.put_zone(zone, if_match.required()?).await?;
    tracing::info!(zone = %id, revision = shipping.version, "shipping zone saved");
    Ok(Versioned(shipping.version, shipping))
}

/// Remove a shipping zone (admin), with `If-Match` as for saving one. Answers every zone left.
#[utoipa::path(delete, path = "/api/shipping-zones/{zone_id}", tag = "settings", security(("cognito" = ["admin"])),
    params(("zone_id" = String, Path), ("If-Match" = String, Header, description = "The zones' ETag you read")),
    responses((status = 200, body = Shipping), (status = 403, body = shop::error::Problem),
              (status = 404, body = shop::error::Problem), (status = 412, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn delete_zone(
    State(state): State<CartState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Versioned<Shipping>> {
    let id = shop::http::path_id(&id, Handle::parse, "shipping zone")?;
    let shipping = state.pricing.delete_zone(&id, if_match.required()?).await?;
    tracing::info!(zone = %id, revision = shipping.version, "shipping zone removed");
    Ok(Versioned(shipping.version, shipping))
}

/// Empty the cart.
#[utoipa::path(delete, path = "/api/cart", tag = "cart", security(("cognito" = [])), responses((status = 204)))]
async fn clear_cart(State(state): State<CartState>, shopper: Shopper) -> Result<StatusCode> {
    let buyer = shopper.buyer()?;
    state.carts.clear(buyer).await?;
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
    shopper: Shopper,
    Path(id): Path<String>,
    Json(body): Json<CartItemBody>,
) -> Result<Json<CartView>> {
    let buyer = shopper.buyer()?;
    let id = shop::http::path_id(&id, VariantId::parse, "variant")?;
    let quantity = Quantity::new(body.quantity).map_err(|e| Error::invalid("quantity", e))?;
    let (product, variant) = state.catalog.locate(&id).await?.ok_or(Error::NotFound("variant"))?;
    if !product.active {
        return Err(shop::orders::OrderError::NotOnSale { products: vec![product.id] }.into());
    }
    state.carts.set(buyer, Line { product: product.id, variant, quantity }).await?;
    Ok(Json(state.carts.view(buyer, None).await?))
}

/// Take a variant out of the cart. The id of a product sold as one variant names that
/// variant.
#[utoipa::path(delete, path = "/api/cart/items/{variant_id}", tag = "cart", security(("cognito" = [])),
    params(("variant_id" = String, Path)), responses((status = 204), (status = 404, body = shop::error::Problem)))]
async fn remove_item(State(state): State<CartState>, shopper: Shopper, Path(id): Path<String>) -> Result<StatusCode> {
    let buyer = shopper.buyer()?;
    let id = shop::http::path_id(&id, VariantId::parse, "variant")?;
    if state.carts.remove(buyer, &id).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    // A product's id: its one variant's line.
    let named = match state.catalog.locate(&id).await {
        Ok(Some((_, variant))) if variant != id => Some(variant),
        Ok(_) | Err(shop::catalog::CatalogError::VariantRequired { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    match named {
        Some(variant) if state.carts.remove(buyer, &variant).await? => Ok(StatusCode::NO_CONTENT),
        _ => Err(Error::NotFound("cart line")),
    }
}
