//! Partners' webhook endpoints, registered and watched by admins: the events each hears of,
//! the log of its deliveries, and sending one again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shop::domain::{Invalid, Name};
use shop::error::Validation;
use shop::events::EventKind;
use shop::http::{IfMatch, Json, Page, PageParams, PageQuery, Staff, Versioned};
use shop::partners::{Delivery, Endpoint, EndpointUrl, NewEndpoint, PartnerError, subscribed};
use shop::{Error, Result};
use utoipa::ToSchema;

use crate::UsersState;

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// `https://` (the local stack also takes `http://` to a loopback address).
    #[schema(example = "https://erp.example.com/shop-events", max_length = 2000, pattern = "^https?://")]
    url: String,
    /// The event types it hears of.
    #[schema(min_items = 1, max_items = 15)]
    events: Vec<EventKind>,
    #[schema(value_type = Option<Name>)]
    description: Option<String>,
}

/// Changes to an endpoint; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChanges {
    #[schema(max_length = 2000, pattern = "^https?://")]
    url: Option<String>,
    #[schema(max_items = 15)]
    events: Option<Vec<EventKind>>,
    #[schema(value_type = Option<Name>)]
    description: Option<String>,
    /// Enable again (clearing why it was disabled), or stop deliveries.
    enabled: Option<bool>,
}

fn refused(e: PartnerError) -> Error {
    match e {
        PartnerError::NotFound => Error::NotFound("endpoint"),
        PartnerError::NoDelivery => Error::NotFound("delivery"),
        PartnerError::Invalid { field, reason } => Error::invalid(field, reason),
        PartnerError::TooMany => Error::Conflict(e.to_string()),
        PartnerError::Stale => Error::PreconditionFailed,
        PartnerError::Store(e) => e.into(),
    }
}

fn description(v: &mut Validation, raw: Option<String>) -> Option<Option<Name>> {
    v.optional("description", raw, |d| Name::parse(&d))
}

/// Register an endpoint (admin): the answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", security(("cognito" = ["admin"])),
    request_body = EndpointBody,
    responses((status = 201, body = NewEndpoint), (status = 409, body = shop::error::Problem, description = "20 endpoints already")))]
pub async fn register_endpoint(
    State(state): State<UsersState>,
    Staff(caller): Staff,
    Json(body): Json<EndpointBody>,
) -> Result<Response> {
    let mut v = Validation::default();
    let url = v.field("url", EndpointUrl::parse(&body.url, state.webhooks_allow_loopback));
    let events = v.field("events", subscribed(body.events));
    let description = description(&mut v, body.description);
    let notify = v.field("caller", caller.email.clone().ok_or_else(|| Invalid::new("has no email address")));
    let (url, events, description, notify) = v.finish(|| Some((url?, events?, description?, notify?)))?;
    let registered =
        state.partners.register(url, events, description, &caller.user_id, notify).await.map_err(refused)?;
    let location = format!("/api/webhooks/{}", registered.endpoint.id);
    tracing::info!(endpoint = %registered.endpoint.id, by = %caller.user_id, "webhook endpoint registered");
    Ok(shop::http::created(&location, registered.endpoint.version, registered))
}

/// Every endpoint (admin).
#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks", security(("cognito" = ["admin"])),
    responses((status = 200, body = Vec<Endpoint>)))]
pub async fn list_endpoints(State(state): State<UsersState>, _: Staff) -> Result<Json<Vec<Endpoint>>> {
    Ok(Json(state.partners.list().await.map_err(refused)?))
}

/// One endpoint (admin), its version as ETag.
#[utoipa::path(get, path = "/api/webhooks/{id}", tag = "webhooks", security(("cognito" = ["admin"])),
    params(("id" = String, Path)), responses((status = 200, body = Endpoint)))]
pub async fn get_endpoint(
    State(state): State<UsersState>,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Versioned<Endpoint>> {
    let endpoint = state.partners.get(&id).await.map_err(refused)?;
    Ok(Versioned(endpoint.version, endpoint))
}

/// Change an endpoint (admin; `If-Match` optional): its address, events, description, or
/// whether it is enabled.
#[utoipa::path(put, path = "/api/webhooks/{id}", tag = "webhooks", security(("cognito" = ["admin"])),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)), request_body = EndpointChanges,
    responses((status = 200, body = Endpoint), (status = 412, body = shop::error::Problem)))]
pub async fn update_endpoint(
    State(state): State<UsersState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<EndpointChanges>,
) -> Result<Versioned<Endpoint>> {
    let mut v = Validation::default();
    let url = v.optional("url", body.url, |u| EndpointUrl::parse(&u, state.webhooks_allow_loopback));
    let events = v.optional("events", body.events, subscribed);
    let description = description(&mut v, body.description);
    let (url, events, description) = v.finish(|| Some((url?, events?, description?)))?;
    let expected = if_match.optional()?;
    let endpoint = state
        .partners
        .update(&id, expected, |e| {
            e.url = url.unwrap_or_else(|| e.url.clone());
            e.events = events.unwrap_or_else(|| e.events.clone());
            e.description = description.or_else(|| e.description.clone());
            e.enabled = body.enabled.unwrap_or(e.enabled);
        })
        .await
        .map_err(refused)?;
    Ok(Versioned(endpoint.version, endpoint))
}

/// Remove an endpoint (admin).
#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", security(("cognito" = ["admin"])),
    params(("id" = String, Path)), responses((status = 204)))]
pub async fn delete_endpoint(State(state): State<UsersState>, _: Staff, Path(id): Path<String>) -> Result<StatusCode> {
    state.partners.delete(&id).await.map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries, newest first (admin): each with its state, attempts and the last
/// answer's status or failure.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks", security(("cognito" = ["admin"])),
    params(("id" = String, Path), PageQuery), responses((status = 200, body = Vec<Delivery>)))]
pub async fn list_deliveries(
    State(state): State<UsersState>,
    _: Staff,
    Path(id): Path<String>,
    page: PageParams,
) -> Result<Page<Delivery>> {
    let (deliveries, next) = state.partners.deliveries(&id, page.limit, page.after.clone()).await.map_err(refused)?;
    page.page(deliveries, next).await
}

/// Send a delivery's event again (admin): a new delivery, attempted within a minute, with the
/// same body (partners tell repeats by the event's `id`).
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    security(("cognito" = ["admin"])), params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 202, body = Delivery), (status = 422, body = shop::error::Problem, description = "The endpoint is disabled")))]
pub async fn redeliver(
    State(state): State<UsersState>,
    _: Staff,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response> {
    let again = state.partners.redeliver(&id, &delivery).await.map_err(refused)?;
    Ok((StatusCode::ACCEPTED, axum::Json(again)).into_response())
}
