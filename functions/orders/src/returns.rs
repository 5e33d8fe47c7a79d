//! Returns over HTTP: the shopper asks, support answers, fulfilment receives. The refund
//! follows receipt through the `refunds` queue.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shop::domain::{Description, Invalid, OrderId, Reason, ReceivedLine, Return, ReturnId, ReturnLine, ReturnStatus};
use shop::error::Validation;
use shop::http::{Json, Page, PageParams, PageQuery, Query, Shopper, Staff};
use shop::returns::QueuedReturn;
use shop::{Error, Result};
use utoipa::{IntoParams, ToSchema};

use crate::OrdersState;

/// The most lines one return names: an order's lines are as many.
const MAX_LINES: usize = 100;

/// What the shopper sends back, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    #[schema(min_items = 1, max_items = 100)]
    lines: Vec<ReturnLine>,
    /// Anything to add (at most 200 characters).
    #[schema(value_type = Option<Reason>)]
    comment: Option<String>,
}

/// How to send the goods back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Where and how to send the goods (1 to 5000 characters).
    #[schema(value_type = Description, min_length = 1)]
    instructions: String,
}

/// Why a return is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseBody {
    #[schema(value_type = Reason)]
    reason: String,
}

/// What arrived.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// Per line, the units that arrived and whether they go back to stock.
    #[schema(min_items = 1, max_items = 100)]
    lines: Vec<ReceivedLine>,
}

fn some_lines<T>(v: &mut Validation, lines: Vec<T>) -> Option<Vec<T>> {
    v.field(
        "lines",
        match lines.len() {
            0 => Err(Invalid::new("must name at least one line")),
            n if n > MAX_LINES => Err(Invalid::new(format!("must name at most {MAX_LINES} lines"))),
            _ => Ok(lines),
        },
    )
}

fn return_id(raw: &str) -> Result<ReturnId> {
    shop::http::path_id(raw, ReturnId::parse, "return")
}

/// Ask to return units of a delivered order (its owner, within the shop's return window; at
/// most three returns waiting at once). Answers the return, `requested`; the shopper hears of
/// each step by email.
#[utoipa::path(post, path = "/api/orders/{id}/returns", tag = "returns", security(("cognito" = [])),
    params(("id" = String, Path)), request_body = ReturnBody,
    responses((status = 201, body = Return),
              (status = 409, body = shop::error::Problem, description = "Not delivered, the window passed, \
               more units than can still be returned, or three returns waiting")))]
pub async fn request_return(
    State(state): State<OrdersState>,
    shopper: Shopper,
    Path(id): Path<String>,
    Json(body): Json<ReturnBody>,
) -> Result<Response> {
    let order = shop::http::order(&state.orders, &id, |o| shopper.owns(o)).await?;
    let mut v = Validation::default();
    let lines = some_lines(&mut v, body.lines);
    let comment = v.optional("comment", body.comment, |c| Reason::parse(&c));
    let (lines, comment) = v.finish(|| Some((lines?, comment?)))?;
    let (_, asked) = state.returns.request(&order.id, lines, comment, shopper.user_id().as_str()).await?;
    tracing::info!(order = %order.id, r#return = %asked.id, "return requested");
    Ok((StatusCode::CREATED, axum::Json(asked)).into_response())
}

fn order_id(raw: &str) -> Result<OrderId> {
    shop::http::path_id(raw, OrderId::parse, "order")
}

/// Approve a requested return, with the instructions the shopper gets by email.
#[utoipa::path(post, path = "/api/orders/{id}/returns/{return_id}/approve", tag = "returns",
    security(("cognito" = ["support"])), params(("id" = String, Path), ("return_id" = String, Path)),
    request_body = ApproveBody,
    responses((status = 200, body = Return), (status = 409, body = shop::error::Problem, description = "Not requested")))]
pub async fn approve_return(
    State(state): State<OrdersState>,
    Staff(caller): Staff,
    Path((id, return_id)): Path<(String, String)>,
    Json(body): Json<ApproveBody>,
) -> Result<Json<Return>> {
    let (order, id) = (order_id(&id)?, self::return_id(&return_id)?);
    let instructions = Description::parse(&body.instructions)
        .and_then(|d| if d.as_str().is_empty() { Err(Invalid::new("must not be empty")) } else { Ok(d) })
        .map_err(|e| Error::invalid("instructions", e))?;
    let (_, approved) = state.returns.approve(&order, &id, instructions, caller.user_id.as_str()).await?;
    Ok(Json(approved))
}

/// Refuse a return not yet received, with the reason the shopper gets by email.
#[utoipa::path(post, path = "/api/orders/{id}/returns/{return_id}/refuse", tag = "returns",
    security(("cognito" = ["support"])), params(("id" = String, Path), ("return_id" = String, Path)),
    request_body = RefuseBody,
    responses((status = 200, body = Return), (status = 409, body = shop::error::Problem, description = "Received or closed")))]
pub async fn refuse_return(
    State(state): State<OrdersState>,
    Staff(caller): Staff,
    Path((id, return_id)): Path<(String, String)>,
    Json(body): Json<RefuseBody>,
) -> Result<Json<Return>> {
    let (order, id) = (order_id(&id)?, self::return_id(&return_id)?);
    let reason = Reason::parse(&body.reason).map_err(|e| Error::invalid("reason", e))?;
    let (_, refused) = state.returns.refuse(&order, &id, reason, caller.user_id.as_str()).await?;
    Ok(Json(refused))
}

/// Record what of an approved return arrived and which units go back to stock. Those units
/// are refunded next (their discount and tax included; the shipping too when the shop says so
/// and they were the last of the order's goods), and the shopper hears of it.
#[utoipa::path(post, path = "/api/orders/{id}/returns/{return_id}/receive", tag = "returns",
    security(("cognito" = ["fulfilment"])), params(("id" = String, Path), ("return_id" = String, Path)),
    request_body = ReceiveBody,
    responses((status = 200, body = Return),
              (status = 409, body = shop::error::Problem, description = "Not approved, or more units than the return asked for")))]
pub async fn receive_return(
    State(state): State<OrdersState>,
    Staff(caller): Staff,
    Path((id, return_id)): Path<(String, String)>,
    Json(body): Json<ReceiveBody>,
) -> Result<Json<Return>> {
    let (order, id) = (order_id(&id)?, self::return_id(&return_id)?);
    let mut v = Validation::default();
    let lines = some_lines(&mut v, body.lines);
    let lines = v.finish(|| lines)?;
    let (_, received) = state.returns.receive(&order, &id, lines, caller.user_id.as_str()).await?;
    Ok(Json(received))
}

/// Which returns to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnsFilter {
    /// The queue: `requested` (the default: waiting for an answer), `approved` (waiting for the
    /// goods), `received` (waiting for the refund), `refunded` or `refused`.
    status: Option<ReturnStatus>,
}

/// The returns in one status, oldest first, each with its order's id.
#[utoipa::path(get, path = "/api/returns", tag = "returns", security(("cognito" = ["support", "fulfilment"])),
    params(ReturnsFilter, PageQuery), responses((status = 200, body = Vec<QueuedReturn>)))]
pub async fn list_returns(
    State(state): State<OrdersState>,
    _: Staff,
    Query(filter): Query<ReturnsFilter>,
    page: PageParams,
) -> Result<Page<QueuedReturn>> {
    let status = filter.status.unwrap_or(ReturnStatus::Requested);
    let (queued, next) = state.returns.queue(status, page.limit, page.after.clone()).await?;
    page.page(queued, next).await
}
