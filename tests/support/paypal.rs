//! A PayPal of the tests' own: an HTTP server on 127.0.0.1 that keeps state the way PayPal's REST
//! API does, with the shapes of PayPal's documented examples (Orders v2, Payments v2, OAuth2,
//! webhooks), so that the PayPal adapter is tested over HTTP and never mocked.
//!
//! - OAuth2: `POST /v1/oauth2/token` checks the Basic credentials and issues bearer tokens that
//!   expire ([`FakePaypal::expire_tokens`] ends them all at once).
//! - Orders: create (one order per `PayPal-Request-Id`), get, capture (only once approved:
//!   [`FakePaypal::approve`] does what the buyer does on PayPal's page).
//! - Captures and refunds: refunds up to what is left of the capture, refused beyond with
//!   PayPal's 422 error shape; one refund per `PayPal-Request-Id`.
//! - Webhooks: an RSA key made at start, its self-signed certificate served under
//!   `/v1/notifications/certs/`, and events signed exactly as PayPal signs them ([`FakePaypal::sign`]).
//! - Counters of the calls per endpoint ([`FakePaypal::calls`]), and outages on demand
//!   ([`FakePaypal::fail_next`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "AeFakeClientId-shop-tests";
pub const CLIENT_SECRET: &str = "EFakeClientSecret-shop-tests";
/// The webhook id the fake signs with by default.
pub const WEBHOOK_ID: &str = "8PT597110X687430LKGECATA";
/// The endpoints [`FakePaypal::calls`] counts.
pub const TOKEN: &str = "oauth2.token";
pub const CREATE: &str = "orders.create";
pub const GET_ORDER: &str = "orders.get";
pub const CAPTURE: &str = "orders.capture";
pub const GET_CAPTURE: &str = "captures.get";
pub const REFUND: &str = "captures.refund";
pub const CERT: &str = "certs.get";

/// Currencies PayPal takes without decimals.
const WHOLE_UNITS: [&str; 3] = ["HUF", "JPY", "TWD"];
/// PayPal's currencies.
const CURRENCIES: &str =
    "AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP RUB SGD SEK CHF THB USD";

/// A running fake; stops when dropped.
pub struct FakePaypal {
    /// `http://127.0.0.1:{port}`: the adapter's API base and the certificate's origin.
    pub url: String,
    /// Where its webhook certificate is.
    pub cert_url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakePaypal {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Shared {
    base: String,
    cert_pem: String,
    key: rcgen::KeyPair,
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    token_lifetime: u64,
    tokens: HashMap<String, Instant>,
    orders: HashMap<String, FakeOrder>,
    captures: HashMap<String, FakeCapture>,
    refunds: HashMap<String, FakeRefund>,
    /// `{endpoint}:{PayPal-Request-Id}` to the resource that request made.
    requests: HashMap<String, String>,
    calls: HashMap<&'static str, usize>,
    /// Calls per endpoint still to answer 503.
    failing: HashMap<&'static str, usize>,
}

struct FakeOrder {
    id: String,
    status: &'static str,
    currency: String,
    value: String,
    reference_id: String,
    custom_id: Option<String>,
    capture: Option<String>,
    /// The buyer's instrument declines at capture.
    declines: bool,
    created: String,
}

struct FakeCapture {
    id: String,
    order_id: String,
    status: &'static str,
    currency: String,
    value: String,
    custom_id: Option<String>,
    created: String,
}

struct FakeRefund {
    id: String,
    capture_id: String,
    currency: String,
    value: String,
    custom_id: Option<String>,
    created: String,
}

/// A resource id as PayPal writes them: 17 upper-case letters and digits.
fn paypal_id() -> String {
    ulid::Ulid::new().to_string()[9..].to_owned()
}

fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// PayPal's time format (`2016-09-21T22:00:46Z`).
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).expect("zero nanoseconds");
    at.format(&time::format_description::well_known::Rfc3339).expect("formats")
}

/// An amount string in thousandths, if PayPal would read it.
fn thousandths(value: &str) -> Option<i128> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 3 || value.ends_with('.') {
        return None;
    }
    let fraction = format!("{fraction:0<3}");
    Some(whole.parse::<i128>().ok()? * 1000 + fraction.parse::<i128>().ok()?)
}

fn money(currency: &str, value: &str) -> Value {
    json!({"currency_code": currency, "value": value})
}

fn link(href: String, rel: &str, method: &str) -> Value {
    json!({"href": href, "rel": rel, "method": method})
}

/// A PayPal error answer: its status and body.
struct Refusal(StatusCode, Value);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

/// PayPal's error body (`error_400`, `error_422`, …).
fn failure(status: StatusCode, name: &str, message: &str, issue: &str, description: &str) -> Refusal {
    let body = json!({
        "name": name,
        "message": message,
        "debug_id": format!("f{}", &paypal_id()[..12].to_lowercase()),
        "details": [{"issue": issue, "description": description}],
        "links": [link(format!("https://developer.paypal.com/docs/api/orders/v2/#error-{issue}"), "information_link", "GET")],
    });
    Refusal(status, body)
}

fn unprocessable(issue: &str, description: &str) -> Refusal {
    failure(
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
        issue,
        description,
    )
}

fn invalid_request(issue: &str, description: &str) -> Refusal {
    failure(
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
        issue,
        description,
    )
}

fn not_found() -> Refusal {
    failure(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )
}

fn created_or_replayed(replayed: bool, body: Value) -> Response {
    let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
    (status, axum::Json(body)).into_response()
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("the fake's state")
    }

    fn order_json(&self, state: &FakeState, order: &FakeOrder) -> Value {
        let base = &self.base;
        let id = &order.id;
        let mut links = vec![link(format!("{base}/v2/checkout/orders/{id}"), "self", "GET")];
        if matches!(order.status, "CREATED" | "APPROVED") {
            links.push(link(format!("{base}/checkoutnow?token={id}"), "approve", "GET"));
            links.push(link(format!("{base}/v2/checkout/orders/{id}"), "update", "PATCH"));
            links.push(link(format!("{base}/v2/checkout/orders/{id}/capture"), "capture", "POST"));
        }
        let mut unit = json!({
            "reference_id": order.reference_id,
            "amount": money(&order.currency, &order.value),
            "payee": {"email_address": "merchant@shop.test", "merchant_id": "7KNGBPH2U58GQ"},
        });
        if let Some(custom) = &order.custom_id {
            unit["custom_id"] = json!(custom);
        }
        if let Some(capture) = order.capture.as_ref().and_then(|c| state.captures.get(c)) {
            unit["payments"] = json!({"captures": [self.capture_json(state, capture, false)]});
        }
        let mut body = json!({
            "id": id,
            "intent": "CAPTURE",
            "status": order.status,
            "purchase_units": [unit],
            "create_time": order.created,
            "links": links,
        });
        if order.status != "CREATED" {
            body["payer"] = json!({
                "name": {"given_name": "John", "surname": "Doe"},
                "email_address": "customer@example.com",
                "payer_id": "QYR5Z8XDVJNXQ",
            });
            body["payment_source"] =
                json!({"paypal": {"email_address": "customer@example.com", "account_id": "QYR5Z8XDVJNXQ"}});
        }
        body
    }

    /// A capture; `supplementary` adds `supplementary_data` (its own resource and webhooks).
    fn capture_json(&self, state: &FakeState, capture: &FakeCapture, supplementary: bool) -> Value {
        let base = &self.base;
        let id = &capture.id;
        let refunded: i128 = self.refunded(state, id);
        let status = match capture.status {
            "COMPLETED" if refunded > 0 && refunded >= thousandths(&capture.value).unwrap_or(0) => "REFUNDED",
            "COMPLETED" if refunded > 0 => "PARTIALLY_REFUNDED",
            other => other,
        };
        let mut body = json!({
            "id": id,
            "status": status,
            "amount": money(&capture.currency, &capture.value),
            "final_capture": true,
            "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
            "links": [
                link(format!("{base}/v2/payments/captures/{id}"), "self", "GET"),
                link(format!("{base}/v2/payments/captures/{id}/refund"), "refund", "POST"),
                link(format!("{base}/v2/checkout/orders/{}", capture.order_id), "up", "GET"),
            ],
            "create_time": capture.created,
            "update_time": capture.created,
        });
        if status == "DECLINED" {
            body["status_details"] = json!({"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"});
        } else {
            body["seller_receivable_breakdown"] = json!({
                "gross_amount": money(&capture.currency, &capture.value),
                "paypal_fee": money(&capture.currency, "0.00"),
                "net_amount": money(&capture.currency, &capture.value),
            });
        }
        if let Some(custom) = &capture.custom_id {
            body["custom_id"] = json!(custom);
        }
        if supplementary {
            body["supplementary_data"] = json!({"related_ids": {"order_id": capture.order_id}});
        }
        body
    }

    fn refund_json(&self, refund: &FakeRefund) -> Value {
        let base = &self.base;
        let mut body = json!({
            "id": refund.id,
            "amount": money(&refund.currency, &refund.value),
            "seller_payable_breakdown": {
                "gross_amount": money(&refund.currency, &refund.value),
                "paypal_fee": money(&refund.currency, "0.00"),
                "net_amount": money(&refund.currency, &refund.value),
                "total_refunded_amount": money(&refund.currency, &refund.value),
            },
            "status": "COMPLETED",
            "create_time": refund.created,
            "update_time": refund.created,
            "links": [
                link(format!("{base}/v2/payments/refunds/{}", refund.id), "self", "GET"),
                link(format!("{base}/v2/payments/captures/{}", refund.capture_id), "up", "GET"),
            ],
        });
        if let Some(custom) = &refund.custom_id {
            body["custom_id"] = json!(custom);
        }
        body
    }

    /// Thousandths refunded of a capture.
    fn refunded(&self, state: &FakeState, capture: &str) -> i128 {
        state.refunds.values().filter(|r| r.capture_id == capture).filter_map(|r| thousandths(&r.value)).sum()
    }

    /// Counts the call; then the bearer token must be live, and no failure be due. Answers the
    /// state, locked for the rest of the call.
    fn api_call(&self, endpoint: &'static str, headers: &HeaderMap) -> Result<MutexGuard<'_, FakeState>, Refusal> {
        let mut state = self.lock();
        *state.calls.entry(endpoint).or_default() += 1;
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let live = state.tokens.get(token).is_some_and(|until| Instant::now() < *until);
        if !live {
            let body = json!({"error": "invalid_token", "error_description": "Token signature verification failed"});
            return Err(Refusal(StatusCode::UNAUTHORIZED, body));
        }
        if let Some(failing) = state.failing.get_mut(endpoint).filter(|n| **n > 0) {
            *failing -= 1;
            return Err(failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Service Unavailable.",
                "SERVICE_UNAVAILABLE",
                "The service is temporarily unavailable.",
            ));
        }
        Ok(state)
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("paypal-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn wants_representation(headers: &HeaderMap) -> bool {
    headers.get("prefer").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("return=representation"))
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = shared.lock();
    *state.calls.entry(TOKEN).or_default() += 1;
    let expected = format!("Basic {}", BASE64.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        let body = json!({"error": "invalid_client", "error_description": "Client Authentication failed"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if body.as_ref() != b"grant_type=client_credentials" {
        let body = json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let access_token = format!("A21AA{}", ulid::Ulid::new());
    let lifetime = state.token_lifetime;
    state.tokens.insert(access_token.clone(), Instant::now() + Duration::from_secs(lifetime));
    let body = json!({
        "scope": "https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/payments/payment",
        "access_token": access_token,
        "token_type": "Bearer",
        "app_id": "APP-80W284485P519543T",
        "expires_in": lifetime,
        "nonce": format!("{}{}", now_rfc3339(), ulid::Ulid::new()),
    });
    axum::Json(body).into_response()
}

async fn create_order(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Result<Response, Refusal> {
    let mut state = shared.api_call(CREATE, &headers)?;
    let key = request_id(&headers).map(|id| format!("create:{id}"));
    if let Some(order) = key.as_ref().and_then(|k| state.requests.get(k)).and_then(|id| state.orders.get(id)) {
        return Ok(created_or_replayed(true, shared.order_json(&state, order)));
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return Err(invalid_request("MALFORMED_REQUEST_JSON", "The request JSON is not well formed."));
    };
    if request["intent"] != "CAPTURE" && request["intent"] != "AUTHORIZE" {
        return Err(invalid_request("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing."));
    }
    let unit = &request["purchase_units"][0];
    let (Some(currency), Some(value)) = (unit["amount"]["currency_code"].as_str(), unit["amount"]["value"].as_str())
    else {
        return Err(invalid_request("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing."));
    };
    if !CURRENCIES.split_whitespace().any(|c| c == currency) {
        return Err(unprocessable("CURRENCY_NOT_SUPPORTED", "Currency code is not currently supported."));
    }
    if thousandths(value).is_none() {
        return Err(invalid_request("INVALID_PARAMETER_VALUE", "The value of a field is invalid."));
    }
    let decimals = value.split_once('.').map_or(0, |(_, f)| f.len());
    if WHOLE_UNITS.contains(&currency) && decimals > 0 {
        return Err(unprocessable("DECIMALS_NOT_SUPPORTED", "Currency does not support decimals."));
    }
    if decimals > 2 {
        return Err(unprocessable(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
        ));
    }
    let order = FakeOrder {
        id: paypal_id(),
        status: "CREATED",
        currency: currency.to_owned(),
        value: value.to_owned(),
        reference_id: unit["reference_id"].as_str().unwrap_or("default").to_owned(),
        custom_id: unit["custom_id"].as_str().map(str::to_owned),
        capture: None,
        declines: false,
        created: now_rfc3339(),
    };
    let id = order.id.clone();
    if let Some(key) = key {
        state.requests.insert(key, id.clone());
    }
    state.orders.insert(id.clone(), order);
    let full = shared.order_json(&state, &state.orders[&id]);
    let body = if wants_representation(&headers) {
        full
    } else {
        json!({"id": full["id"], "status": full["status"], "links": full["links"]})
    };
    Ok(created_or_replayed(false, body))
}

async fn get_order(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let state = shared.api_call(GET_ORDER, &headers)?;
    let order = state.orders.get(&id).ok_or_else(not_found)?;
    Ok(axum::Json(shared.order_json(&state, order)).into_response())
}

async fn capture_order(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let mut state = shared.api_call(CAPTURE, &headers)?;
    let key = request_id(&headers).map(|rid| format!("capture:{rid}"));
    if let Some(order) = key.as_ref().and_then(|k| state.requests.get(k)).and_then(|id| state.orders.get(id)) {
        return Ok(created_or_replayed(true, shared.order_json(&state, order)));
    }
    let order = state.orders.get(&id).ok_or_else(not_found)?;
    match order.status {
        "CREATED" | "PAYER_ACTION_REQUIRED" => {
            return Err(unprocessable(
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.",
            ));
        }
        "COMPLETED" => {
            return Err(unprocessable(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
            ));
        }
        "VOIDED" => return Err(unprocessable("ORDER_EXPIRED", "The order has expired.")),
        _ => {}
    }
    let capture = FakeCapture {
        id: paypal_id(),
        order_id: order.id.clone(),
        status: if order.declines { "DECLINED" } else { "COMPLETED" },
        currency: order.currency.clone(),
        value: order.value.clone(),
        custom_id: order.custom_id.clone(),
        created: now_rfc3339(),
    };
    let capture_id = capture.id.clone();
    state.captures.insert(capture_id.clone(), capture);
    let order = state.orders.get_mut(&id).expect("found above");
    order.status = "COMPLETED";
    order.capture = Some(capture_id);
    if let Some(key) = key {
        state.requests.insert(key, id.clone());
    }
    Ok(created_or_replayed(false, shared.order_json(&state, &state.orders[&id])))
}

async fn get_capture(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let state = shared.api_call(GET_CAPTURE, &headers)?;
    let capture = state.captures.get(&id).ok_or_else(not_found)?;
    Ok(axum::Json(shared.capture_json(&state, capture, true)).into_response())
}

async fn refund_capture(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let mut state = shared.api_call(REFUND, &headers)?;
    let key = request_id(&headers).map(|rid| format!("refund:{rid}"));
    if let Some(refund) = key.as_ref().and_then(|k| state.requests.get(k)).and_then(|id| state.refunds.get(id)) {
        return Ok(created_or_replayed(true, shared.refund_json(refund)));
    }
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| invalid_request("MALFORMED_REQUEST_JSON", "The request JSON is not well formed."))?
    };
    let refund_id = refund(&shared, &mut state, &id, &request)?;
    if let Some(key) = key {
        state.requests.insert(key, refund_id.clone());
    }
    Ok(created_or_replayed(false, shared.refund_json(&state.refunds[&refund_id])))
}

/// Refunds `request["amount"]` (all that is left when absent) of capture `id`.
fn refund(shared: &Shared, state: &mut FakeState, id: &str, request: &Value) -> Result<String, Refusal> {
    let capture = state.captures.get(id).ok_or_else(not_found)?;
    if capture.status != "COMPLETED" {
        return Err(unprocessable("REFUND_NOT_ALLOWED", "Refund cannot be issued for this capture."));
    }
    let captured = thousandths(&capture.value).unwrap_or(0);
    let left = captured - shared.refunded(state, id);
    if left <= 0 {
        return Err(unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded"));
    }
    let value = match (request["amount"]["currency_code"].as_str(), request["amount"]["value"].as_str()) {
        (None, None) if request.get("amount").is_none() => {
            let whole = WHOLE_UNITS.contains(&capture.currency.as_str());
            if whole { format!("{}", left / 1000) } else { format!("{}.{:02}", left / 1000, left % 1000 / 10) }
        }
        (Some(currency), Some(value)) => {
            if currency != capture.currency {
                return Err(unprocessable(
                    "REFUND_CAPTURE_CURRENCY_MISMATCH",
                    "Refund must be in the same currency as the capture.",
                ));
            }
            let asked = thousandths(value)
                .filter(|v| *v > 0)
                .ok_or_else(|| invalid_request("INVALID_PARAMETER_VALUE", "The value of a field is invalid."))?;
            if asked > left {
                return Err(unprocessable(
                    "REFUND_AMOUNT_EXCEEDED",
                    "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
                ));
            }
            value.to_owned()
        }
        _ => return Err(invalid_request("MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.")),
    };
    let custom_id = match request.get("custom_id") {
        None => None,
        Some(Value::String(c)) if !c.is_empty() && c.len() <= 127 => Some(c.clone()),
        Some(_) => {
            return Err(invalid_request("INVALID_STRING_LENGTH", "The value of a field is too long or too short."));
        }
    };
    let made = FakeRefund {
        id: paypal_id(),
        capture_id: id.to_owned(),
        currency: capture.currency.clone(),
        value,
        custom_id,
        created: now_rfc3339(),
    };
    let refund_id = made.id.clone();
    state.refunds.insert(refund_id.clone(), made);
    Ok(refund_id)
}

async fn certificate(State(shared): State<Arc<Shared>>) -> Response {
    *shared.lock().calls.entry(CERT).or_default() += 1;
    ([("content-type", "application/x-x509-ca-cert")], shared.cert_pem.clone()).into_response()
}

/// How a delivery is signed: by default, as PayPal signs it now for [`WEBHOOK_ID`].
#[derive(Debug, Clone)]
pub struct Signing {
    pub transmission_id: String,
    pub transmission_time: String,
    pub webhook_id: String,
    pub cert_url: String,
}

impl FakePaypal {
    /// A fake on a free port whose tokens live an hour.
    pub async fn start() -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("an RSA key");
        let mut params =
            rcgen::CertificateParams::new(vec!["messageverificationcerts.paypal.com".to_owned()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "messageverificationcerts.paypal.com");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "PayPal, Inc.");
        let cert = params.self_signed(&key).expect("a self-signed certificate");
        let encoded = BASE64.encode(cert.der());
        let lines: Vec<&str> =
            encoded.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
        let cert_pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let shared = Arc::new(Shared {
            base: base.clone(),
            cert_pem,
            key,
            state: Mutex::new(FakeState { token_lifetime: 3600, ..FakeState::default() }),
        });
        let app = Router::new()
            .route("/v1/oauth2/token", post(token))
            .route("/v2/checkout/orders", post(create_order))
            .route("/v2/checkout/orders/{id}", get(get_order))
            .route("/v2/checkout/orders/{id}/capture", post(capture_order))
            .route("/v2/payments/captures/{id}", get(get_capture))
            .route("/v2/payments/captures/{id}/refund", post(refund_capture))
            .route("/v1/notifications/certs/{name}", get(certificate))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake PayPal serves");
        });
        let cert_url = format!("{base}/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77");
        Self { url: base, cert_url, shared, server }
    }

    /// The adapter's configuration for this fake: its credentials, [`WEBHOOK_ID`], its URL as
    /// the API base and as the only certificate origin.
    pub fn config(&self) -> shop_paypal::Config {
        shop_paypal::Config::new(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID).api_base(&self.url).cert_origins([&self.url])
    }

    /// How many calls an endpoint ([`TOKEN`], [`CREATE`], …) had, refused ones included.
    pub fn calls(&self, endpoint: &str) -> usize {
        self.shared.lock().calls.get(endpoint).copied().unwrap_or(0)
    }

    /// How many orders exist.
    pub fn orders(&self) -> usize {
        self.shared.lock().orders.len()
    }

    /// How many refunds exist.
    pub fn refunds(&self) -> usize {
        self.shared.lock().refunds.len()
    }

    /// Ends every token issued so far, as time would.
    pub fn expire_tokens(&self) {
        let past = Instant::now();
        self.shared.lock().tokens.values_mut().for_each(|until| *until = past);
    }

    /// The lifetime (`expires_in`) of the tokens issued from now on.
    pub fn token_lifetime(&self, seconds: u64) {
        self.shared.lock().token_lifetime = seconds;
    }

    /// The next `n` calls of an API endpoint ([`CREATE`], [`REFUND`], …) answer 503 and do
    /// nothing.
    pub fn fail_next(&self, endpoint: &'static str, n: usize) {
        self.shared.lock().failing.insert(endpoint, n);
    }

    /// What the buyer does on PayPal's page: approves the order, which can then be captured.
    pub fn approve(&self, order_id: &str) {
        let mut state = self.shared.lock();
        let order = state.orders.get_mut(order_id).expect("the order exists");
        assert_eq!(order.status, "CREATED", "only a created order is approved");
        order.status = "APPROVED";
    }

    /// Approves with an instrument that PayPal declines when the order is captured.
    pub fn approve_declining(&self, order_id: &str) {
        self.approve(order_id);
        self.shared.lock().orders.get_mut(order_id).expect("the order exists").declines = true;
    }

    /// Voids an order, as PayPal does when it expires unapproved or the buyer cancels.
    pub fn void(&self, order_id: &str) {
        self.shared.lock().orders.get_mut(order_id).expect("the order exists").status = "VOIDED";
    }

    /// The order as `GET /v2/checkout/orders/{id}` answers it.
    pub fn order(&self, order_id: &str) -> Value {
        let state = self.shared.lock();
        self.shared.order_json(&state, state.orders.get(order_id).expect("the order exists"))
    }

    /// The order's capture id, once captured.
    pub fn capture_id(&self, order_id: &str) -> Option<String> {
        self.shared.lock().orders.get(order_id).and_then(|o| o.capture.clone())
    }

    /// A refund made on PayPal's side (the merchant's dashboard): no `custom_id`.
    pub fn refund_outside(&self, capture_id: &str, value: &str) -> String {
        let mut state = self.shared.lock();
        let currency = state.captures.get(capture_id).expect("the capture exists").currency.clone();
        let request = json!({"amount": money(&currency, value)});
        refund(&self.shared, &mut state, capture_id, &request).unwrap_or_else(|_| panic!("refunds {value}"))
    }

    /// A webhook event of `event_type` about `resource`, in PayPal's envelope.
    pub fn event(&self, event_type: &str, resource_type: &str, summary: &str, resource: Value) -> Value {
        let id = format!("WH-{}-{}", paypal_id(), paypal_id());
        json!({
            "id": id,
            "event_version": "1.0",
            "create_time": now_rfc3339(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [
                link(format!("{}/v1/notifications/webhooks-events/{id}", self.url), "self", "GET"),
                link(format!("{}/v1/notifications/webhooks-events/{id}/resend", self.url), "resend", "POST"),
            ],
        })
    }

    /// The event PayPal sends once the order's capture is done: `PAYMENT.CAPTURE.COMPLETED`, or
    /// `PAYMENT.CAPTURE.DECLINED` for a declined one.
    pub fn capture_event(&self, order_id: &str) -> Value {
        let resource = {
            let state = self.shared.lock();
            let capture = state.orders.get(order_id).and_then(|o| o.capture.as_ref()).expect("the order is captured");
            self.shared.capture_json(&state, &state.captures[capture], true)
        };
        let (kind, summary) = match resource["status"].as_str() {
            Some("DECLINED") => ("PAYMENT.CAPTURE.DECLINED", "A payment capture was declined"),
            _ => ("PAYMENT.CAPTURE.COMPLETED", "Payment completed"),
        };
        self.event(kind, "capture", summary, resource)
    }

    /// The `CHECKOUT.ORDER.APPROVED` event PayPal sends once the buyer approved the order.
    pub fn approved_event(&self, order_id: &str) -> Value {
        self.event(
            "CHECKOUT.ORDER.APPROVED",
            "checkout-order",
            "An order has been approved by buyer",
            self.order(order_id),
        )
    }

    /// The `PAYMENT.CAPTURE.REFUNDED` event of a refund.
    pub fn refund_event(&self, refund_id: &str) -> Value {
        let resource = {
            let state = self.shared.lock();
            self.shared.refund_json(state.refunds.get(refund_id).expect("the refund exists"))
        };
        self.event("PAYMENT.CAPTURE.REFUNDED", "refund", "A payment was refunded", resource)
    }

    /// The default signing of a delivery sent now.
    pub fn signing(&self) -> Signing {
        let hex = format!("{:032x}", u128::from(ulid::Ulid::new()));
        Signing {
            transmission_id: format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]),
            transmission_time: now_rfc3339(),
            webhook_id: WEBHOOK_ID.to_owned(),
            cert_url: self.cert_url.clone(),
        }
    }

    /// `event` as PayPal delivers it now: (headers, raw body).
    pub fn sign(&self, event: &Value) -> (http::HeaderMap, String) {
        let body = event.to_string();
        (self.sign_body(body.as_bytes(), &self.signing()), body)
    }

    /// The headers PayPal sends with `body`: `SHA256withRSA` over
    /// `{transmission id}|{transmission time}|{webhook id}|{CRC-32 of body}` with the fake's key.
    pub fn sign_body(&self, body: &[u8], signing: &Signing) -> http::HeaderMap {
        use rcgen::SigningKey;
        let message = format!(
            "{}|{}|{}|{}",
            signing.transmission_id,
            signing.transmission_time,
            signing.webhook_id,
            crc32fast::hash(body)
        );
        let signature = self.shared.key.sign(message.as_bytes()).expect("signs");
        let mut headers = http::HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            headers.insert(name, http::HeaderValue::from_str(&value).expect("a header value"));
        };
        put("paypal-transmission-id", signing.transmission_id.clone());
        put("paypal-transmission-time", signing.transmission_time.clone());
        put("paypal-transmission-sig", BASE64.encode(signature));
        put("paypal-cert-url", signing.cert_url.clone());
        put("paypal-auth-algo", "SHA256withRSA".to_owned());
        put("content-type", "application/json".to_owned());
        headers
    }

    /// Signs `event` and posts it to `url`, as PayPal delivers a webhook.
    pub async fn deliver_to(&self, url: &str, event: &Value) -> reqwest::Response {
        let (headers, body) = self.sign(event);
        reqwest::Client::new().post(url).headers(headers).body(body).send().await.expect("the webhook is delivered")
    }
}
