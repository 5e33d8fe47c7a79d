//! A stateful fake of Twilio's Messages API (2010-04-01), built from Twilio's documented
//! request and answer shapes: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form:
//! `To`, `Body`, `From` or `MessagingServiceSid`; HTTP Basic auth) answers 201 with the message
//! resource, `GET .../Messages/{Sid}.json` fetches it, and failures carry Twilio's error body
//! `{"code", "message", "more_info", "status"}` with its documented codes. Twilio's own Python
//! library drives it in a conformance test, so the fake takes what the real client sends.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

/// The fake account's credentials and its one SMS-capable number.
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const AUTH_TOKEN: &str = "fake-twilio-auth-token";
pub const FROM: &str = "+15005550006";
pub const MESSAGING_SERVICE: &str = "MG00000000000000000000000000000001";

#[derive(Default)]
struct FakeState {
    messages: Vec<Value>,
    /// Numbers that replied STOP.
    stopped: BTreeSet<String>,
    /// Requests to answer with a server error before serving again.
    failing: usize,
    calls: HashMap<&'static str, usize>,
}

/// A running fake; stops when dropped.
pub struct FakeTwilio {
    pub url: String,
    state: Arc<Mutex<FakeState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Twilio's error answer.
fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

fn authorised(headers: &HeaderMap, account: &str) -> bool {
    let expected = format!("Basic {}", BASE64.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}")));
    account == ACCOUNT_SID && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn e164(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or_default();
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// RFC 2822, as Twilio writes its dates.
fn now_rfc2822() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc2822).expect("a date formats")
}

async fn create(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut state = state.lock().expect("the fake's state");
    *state.calls.entry("create").or_default() += 1;
    if !authorised(&headers, &account) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if state.failing > 0 {
        state.failing -= 1;
        return error(StatusCode::SERVICE_UNAVAILABLE, 20503, "Service Unavailable");
    }
    let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(to) = field("To") else {
        return error(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number is required.");
    };
    let Some(text) = field("Body") else { return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.") };
    let (from, service) = match (field("From"), field("MessagingServiceSid")) {
        (Some(from), _) if from != FROM => {
            let message = format!(
                "The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."
            );
            return error(StatusCode::BAD_REQUEST, 21606, &message);
        }
        (Some(from), _) => (Some(from), None),
        (None, Some(service)) if service == MESSAGING_SERVICE => (Some(FROM), Some(service)),
        (None, Some(_)) => return error(StatusCode::BAD_REQUEST, 21705, "The Messaging Service Sid is invalid."),
        (None, None) => return error(StatusCode::BAD_REQUEST, 21603, "A 'From' phone number is required."),
    };
    if !e164(to) {
        return error(StatusCode::BAD_REQUEST, 21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    if text.chars().count() > 1600 {
        return error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    if state.stopped.contains(to) {
        return error(StatusCode::BAD_REQUEST, 21610, "Attempt to send to unsubscribed recipient");
    }
    let sid = format!("SM{:032x}", ulid::Ulid::new().0);
    let now = now_rfc2822();
    let segments = text.chars().count().div_ceil(160).max(1);
    let message = json!({
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": text, "date_created": now,
        "date_sent": null, "date_updated": now, "direction": "outbound-api", "error_code": null,
        "error_message": null, "from": from, "messaging_service_sid": service, "num_media": "0",
        "num_segments": segments.to_string(), "price": null, "price_unit": "USD", "sid": sid,
        "status": if service.is_some() { "accepted" } else { "queued" }, "to": to,
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json")},
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    state.messages.push(message.clone());
    (StatusCode::CREATED, axum::Json(message)).into_response()
}

async fn fetch(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let state = state.lock().expect("the fake's state");
    if !authorised(&headers, &account) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let sid = sid.strip_suffix(".json").unwrap_or(&sid);
    match state.messages.iter().find(|m| m["sid"] == sid) {
        Some(message) => axum::Json(message.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            20404,
            &format!("The requested resource /2010-04-01/Accounts/{account}/Messages/{sid}.json was not found"),
        ),
    }
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(create))
            .route("/2010-04-01/Accounts/{account}/Messages/{sid}", get(fetch))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake Twilio serves");
        });
        Self { url, state, server }
    }

    /// The adapter's configuration for this fake's account, sending from `from`.
    pub fn config(&self, from: &str) -> shop_twilio::Config {
        shop_twilio::Config {
            api_base: self.url.clone(),
            account_sid: ACCOUNT_SID.into(),
            auth_token: AUTH_TOKEN.into(),
            from: from.into(),
        }
    }

    /// The recipient replies STOP: Twilio refuses every later message to it with 21610.
    pub fn stop(&self, number: &str) {
        self.state.lock().expect("the fake's state").stopped.insert(number.into());
    }

    /// The next `n` sends answer 503.
    pub fn fail_next(&self, n: usize) {
        self.state.lock().expect("the fake's state").failing = n;
    }

    /// Every message accepted, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        self.state.lock().expect("the fake's state").messages.clone()
    }

    /// Send requests received, accepted or not.
    pub fn sends(&self) -> usize {
        self.state.lock().expect("the fake's state").calls.get("create").copied().unwrap_or(0)
    }
}
