//! The orders service: checkout, the shopper's orders, cancellation, and the back office's
//! shipping and delivery updates.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shop::domain::{
    Address, AddressId, Email, Handle, Invalid, OrderId, OrderStatus, ProductId, Quantity, TrackingNumber, VariantId,
};
use shop::error::Validation;
use shop::http::caller::Revocations;
use shop::http::{Caller, Json, Page, PageParams, PageQuery, Query, Shopper, Staff, Versioned};
use shop::invoices::{Document, Kind, Seller};
use shop::openapi::Shared;
use shop::orders::{CancelReason, CheckoutRequest, Order, OrderScope, Orders, ShipTo, Transition, Wanted};
use shop::promotions::PromoCode;
use shop::returns::{ReturnPolicy, Returns};
use shop::{Error, Result};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// What the orders service needs.
#[derive(Clone)]
pub struct OrdersState {
    pub orders: Orders,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
    /// Who the invoices name as the seller (`SHOP_SELLER_*`).
    pub seller: std::sync::Arc<Seller>,
    /// Goods coming back, under the shop's return policy.
    pub returns: Returns,
}

impl OrdersState {
    pub fn new(table: std::sync::Arc<dyn shop::table::Table>) -> Self {
        Self {
            orders: Orders::new(table.clone()),
            returns: Returns::new(table.clone(), ReturnPolicy::default()),
            revocations: Revocations::new(table),
            seller: std::sync::Arc::new(Seller::from_lookup(|name| std::env::var(name).ok())),
        }
    }

    /// What unpaid orders may hold ([`shop::orders::Limits`]).
    pub fn with_limits(self, limits: shop::orders::Limits) -> Self {
        Self { orders: self.orders.with_limits(limits), ..self }
    }

    /// What returns the shop takes ([`ReturnPolicy`]).
    pub fn with_return_policy(self, policy: ReturnPolicy) -> Self {
        Self { returns: Returns::new(self.revocations.table(), policy), ..self }
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "orders", description = "Checkout and orders"),
                (name = "returns", description = "Goods coming back from delivered orders")), modifiers(&Shared))]
struct Doc;

shop::service!(
    OrdersState,
    Doc,
    [
        place_order,
        list_orders,
        get_order,
        cancel_order,
        set_status,
        invoice,
        credit_note,
        export_orders,
        request_return,
        approve_return,
        refuse_return,
        receive_return,
        list_returns
    ],
    guest [place_order, get_order, cancel_order, invoice, credit_note, request_return]
);

mod returns;
pub use returns::*;

/// The order's `kind` document, as PDF when the request accepts `application/pdf`, else HTML.
async fn document(
    state: &OrdersState,
    shopper: &Shopper,
    id: &str,
    headers: &HeaderMap,
    kind: Kind,
) -> Result<Response> {
    let order = visible(state, shopper, id).await?;
    let what = if kind == Kind::Invoice { "invoice" } else { "credit note" };
    let document = Document::of(&order, &state.seller, kind).ok_or(Error::NotFound(what))?;
    let pdf = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("application/pdf")));
    let (body, content_type) = if pdf {
        (document.pdf(), "application/pdf")
    } else {
        (document.html().into_bytes(), "text/html; charset=utf-8")
    };
    let disposition = format!("inline; filename=\"{}.{}\"", document.number, if pdf { "pdf" } else { "html" });
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::VARY, HeaderValue::from_static("accept"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The order's invoice (its owner or an admin), from its payment on: seller, buyer, each line's
/// net, tax rate and tax, the shipping and the totals. HTML, or PDF for `Accept:
/// application/pdf`.
#[utoipa::path(get, path = "/api/orders/{id}/invoice", tag = "orders", security(("cognito" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The invoice", content(("text/html"), ("application/pdf"))),
              (status = 404, body = shop::error::Problem, description = "No such order, or not paid")))]
async fn invoice(
    State(state): State<OrdersState>,
    shopper: Shopper,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    document(&state, &shopper, &id, &headers, Kind::Invoice).await
}

/// The order's credit note, once it was refunded in full; as the invoice.
#[utoipa::path(get, path = "/api/orders/{id}/credit-note", tag = "orders", security(("cognito" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The credit note", content(("text/html"), ("application/pdf"))),
              (status = 404, body = shop::error::Problem, description = "No such order, or not refunded in full")))]
async fn credit_note(
    State(state): State<OrdersState>,
    shopper: Shopper,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    document(&state, &shopper, &id, &headers, Kind::CreditNote).await
}

/// The period of an export: days, `to` included.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// The first day (`2026-12-01`, UTC).
    #[param(value_type = String, format = Date)]
    from: String,
    /// The last day, included.
    #[param(value_type = String, format = Date)]
    to: String,
}

/// The most orders one export holds: a larger period is refused, to be asked in parts.
const EXPORT_MOST: usize = 10_000;

/// The orders placed in a period (UTC days) as CSV for accounting (admin): one row per order
/// with its subtotal, discount, shipping, tax and total as it kept them, what was paid and
/// refunded, and its invoice and credit note; the columns are documented in ARCHITECTURE.md.
#[utoipa::path(get, path = "/api/orders/export", tag = "orders", security(("cognito" = ["admin"])), params(Period),
    responses((status = 200, content_type = "text/csv", body = String, description = "The orders, oldest first"),
              (status = 403, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem, description = "Not dates, `to` before `from`, or more than \
              10,000 orders: ask for a shorter period")))]
async fn export_orders(State(state): State<OrdersState>, _: Staff, Query(period): Query<Period>) -> Result<Response> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = |field: &'static str, text: &str| {
        time::Date::parse(text, format).map_err(|_| Error::invalid(field, Invalid::new("is not a date (YYYY-MM-DD)")))
    };
    let (from, to) = (day("from", &period.from)?, day("to", &period.to)?);
    if to < from {
        return Err(Error::invalid("to", Invalid::new("is before from")));
    }
    let start = |date: time::Date| shop::time::Timestamp::at(date.midnight().assume_utc());
    let end = to.next_day().ok_or_else(|| Error::invalid("to", Invalid::new("is too far ahead")))?;
    let orders = state.orders.placed_between(start(from), start(end), EXPORT_MOST).await?;
    let orders = orders.ok_or_else(|| {
        Error::invalid(
            "to",
            Invalid::new(format!("the period holds more than {EXPORT_MOST} orders: ask for a shorter one")),
        )
    })?;
    let csv = shop::reports::orders_csv(&orders)?;
    let name = format!("attachment; filename=\"orders-{from}-{to}.csv\"");
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
    if let Ok(value) = HeaderValue::from_str(&name) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A line to order: a product's variant (`variant_id` may be left out for a product sold as
/// one variant), and how many.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemBody {
    #[schema(value_type = ProductId)]
    product_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<VariantId>)]
    variant_id: Option<String>,
    #[schema(value_type = Quantity)]
    #[serde(deserialize_with = "shop::http::json::integer")]
    quantity: i64,
}

/// A checkout: the cart (no `items`) or explicit lines, and where to ship (an address, or the id
/// of one in the shopper's address book: one of the two).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    #[serde(default)]
    #[schema(min_items = 1, max_items = 40)]
    items: Option<Vec<OrderItemBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shipping_address: Option<Address>,
    /// A saved address (`GET /api/users/me/addresses`), instead of `shipping_address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AddressId>)]
    address_id: Option<String>,
    /// One of the options `GET /api/cart/shipping-options` answers for the address; required
    /// once the shop has shipping zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Handle>)]
    shipping_option: Option<String>,
    /// A discount code; without it, a checkout of the cart uses the cart's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PromoCode>)]
    promotion_code: Option<String>,
    /// A guest's email (required of a guest, refused of an account): the order's messages go
    /// there, the first with the link that reaches the order, and an account that verifies
    /// this address later sees the order as its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "email")]
    email: Option<String>,
}

/// An admin's status update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// SHIPPED (with `tracking_number`) or DELIVERED.
    #[schema(pattern = "^(SHIPPED|DELIVERED)$", example = "SHIPPED")]
    status: String,
    #[serde(default)]
    #[schema(value_type = Option<TrackingNumber>)]
    tracking_number: Option<String>,
}

/// Filters of the order list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Admins only: orders in this status.
    #[param(value_type = Option<OrderStatus>)]
    status: Option<String>,
}

/// The order if the shopper may see it: its owner or an admin; 404 for anyone else.
async fn visible(state: &OrdersState, shopper: &Shopper, id: &str) -> Result<Order> {
    shop::http::order(&state.orders, id, |o| shopper.may_see(o)).await
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()));
    key.map(|k| Some(k.to_owned()))
        .ok_or_else(|| Error::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into()))
}

/// Place an order from the cart, or from `items`. Prices come from the catalogue. Send an
/// `Idempotency-Key` to make retries safe: the same key and body answer the first order again.
#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("cognito" = [])), request_body = OrderBody,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Order), (status = 409, body = shop::error::Problem,
                description = "`/problems/out-of-stock` (each short line in `short`, with what is `left`), \
                `/problems/not-on-sale` (the products in `products`), `/problems/empty-cart`, or \
                `/problems/contention` (send it again after `Retry-After`)"),
              (status = 404, body = shop::error::Problem, description = "`address_id` names no address of the caller's book"),
              (status = 422, body = shop::error::Problem)))]
async fn place_order(
    State(state): State<OrdersState>,
    shopper: Shopper,
    headers: HeaderMap,
    Json(body): Json<OrderBody>,
) -> Result<Response> {
    let buyer = shopper.buyer()?;
    let guest = matches!(shopper, Shopper::Guest(_));
    let key = idempotency_key(&headers)?;
    let fingerprint = shop::orders::fingerprint(&serde_json::to_value(&body).map_err(anyhow::Error::from)?);
    let mut v = Validation::default();
    let items = body.items.map(|items| {
        v.each("items", items, |item| {
            let product = ProductId::parse(&item.product_id)?;
            let variant = item.variant_id.as_deref().map(VariantId::parse).transpose()?;
            let quantity = Quantity::new(item.quantity)?;
            Ok(Wanted { product, variant, quantity })
        })
    });
    let option = v.optional("shipping_option", body.shipping_option.as_deref(), Handle::parse);
    let code = v.optional("promotion_code", body.promotion_code.as_deref(), PromoCode::parse);
    let email = match (guest, body.email.as_deref()) {
        (true, Some(email)) => v.field("email", Email::parse(email)).map(Some),
        (true, None) => v.field("email", Err(Invalid::new("is required of a guest"))),
        (false, Some(_)) => v.field("email", Err(Invalid::new("is the account's own: leave it out"))),
        (false, None) => Some(None),
    };
    let ship_to = match (body.shipping_address, body.address_id.as_deref()) {
        (Some(address), None) => Some(ShipTo::Address(address)),
        (None, Some(_)) if guest => v.field("address_id", Err(Invalid::new("a guest has no address book"))),
        (None, Some(id)) => v.field("address_id", AddressId::parse(id)).map(ShipTo::Saved),
        (address, _) => {
            let why = if address.is_some() { "give shipping_address or address_id, not both" } else { "is required" };
            v.field::<()>("shipping_address", Err(Invalid::new(why)));
            None
        }
    };
    let (items, ship_to, shipping_option, promotion_code, guest_email) =
        v.finish(|| Some((items.map_or(Some(None), |i| i.map(Some))?, ship_to?, option?, code?, email?)))?;
    let request = CheckoutRequest {
        user: buyer.clone(),
        guest_email,
        items,
        ship_to,
        shipping_option,
        promotion_code,
        idempotency: key.map(|k| (k, fingerprint)),
    };
    let checkout = state.orders.checkout(request).await?;
    let order = checkout.order;
    if !checkout.replayed {
        tracing::info!(order = %order.id, user = %order.user_id, total = %order.total, "order placed");
    }
    let location = format!("/api/{}orders/{}", if guest { "guest/" } else { "" }, order.id);
    let mut response = shop::http::created(&location, order.version, order);
    if checkout.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The caller's orders, newest first; support, fulfilment and admins see everyone's and can
/// filter by status.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("cognito" = [])), params(ListFilter, PageQuery),
    responses((status = 200, body = [Order]), (status = 400, body = shop::error::Problem)))]
async fn list_orders(
    State(state): State<OrdersState>,
    caller: Caller,
    Query(filter): Query<ListFilter>,
    page: PageParams,
) -> Result<Page<Order>> {
    let scope = match (caller.reads_orders(), filter.status) {
        (true, Some(status)) => {
            OrderScope::Status(OrderStatus::parse(&status).map_err(|e| Error::BadRequest(format!("status {e}")))?)
        }
        (true, None) => OrderScope::All,
        (false, Some(_)) => return Err(Error::Forbidden("only staff who read orders filter them by status".into())),
        (false, None) => {
            // The orders placed as a guest with the caller's verified address are theirs now.
            if let Some(email) = caller.email.as_ref().filter(|_| caller.email_verified) {
                state.orders.claim(email, &caller.user_id).await?;
            }
            OrderScope::User(caller.user_id.clone())
        }
    };
    let (orders, next) = state.orders.list(scope, page.limit, page.after.clone()).await?;
    page.page(orders, next).await
}

/// One order (its owner, support, fulfilment or admin).
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("cognito" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = shop::error::Problem)))]
async fn get_order(
    State(state): State<OrdersState>,
    shopper: Shopper,
    Path(id): Path<String>,
) -> Result<Versioned<Order>> {
    let order = visible(&state, &shopper, &id).await?;
    Ok(Versioned(order.version, order))
}

/// Cancel an order before it ships (its owner or an admin); the stock goes back.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", security(("cognito" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "`/problems/illegal-transition` (`from` and `to`), \
                or `/problems/contention`")))]
async fn cancel_order(
    State(state): State<OrdersState>,
    shopper: Shopper,
    Path(id): Path<String>,
) -> Result<Versioned<Order>> {
    let order = visible(&state, &shopper, &id).await?;
    let reason = if shopper.owns(&order) { CancelReason::Shopper } else { CancelReason::Admin };
    let by = shopper.user_id().as_str();
    let order = state.orders.transition(&order.id, Transition::Cancel(reason), by).await?;
    Ok(Versioned(order.version, order))
}

/// Mark an order shipped (with a tracking number) or delivered (admin).
#[utoipa::path(put, path = "/api/orders/{id}/status", tag = "orders", security(("cognito" = ["fulfilment"])), params(("id" = String, Path)),
    request_body = StatusBody,
    responses((status = 200, body = Order), (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "`/problems/illegal-transition` (`from` and `to`), \
                or `/problems/contention`"), (status = 422, body = shop::error::Problem)))]
async fn set_status(
    State(state): State<OrdersState>,
    Staff(caller): Staff,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<Versioned<Order>> {
    let status = OrderStatus::parse(&body.status).map_err(|e| Error::invalid("status", e))?;
    let transition = match (status, body.tracking_number) {
        (OrderStatus::Shipped, Some(t)) => Transition::Ship {
            tracking_number: TrackingNumber::parse(&t).map_err(|e| Error::invalid("tracking_number", e))?,
        },
        (OrderStatus::Shipped, None) => {
            return Err(Error::invalid("tracking_number", Invalid::new("is required to ship")));
        }
        (OrderStatus::Delivered, None) => Transition::Deliver,
        (OrderStatus::Delivered, Some(_)) => {
            return Err(Error::invalid("tracking_number", Invalid::new("is only set when shipping")));
        }
        _ => {
            return Err(Error::invalid(
                "status",
                Invalid::new("here only SHIPPED or DELIVERED; cancel through /cancel"),
            ));
        }
    };
    let id = shop::http::path_id(&id, OrderId::parse, "order")?;
    let order = state.orders.transition(&id, transition, caller.user_id.as_str()).await?;
    Ok(Versioned(order.version, order))
}
