//! The embedded identity's sign-in over HTTP (`shop_embedded::oauth`), where Cognito's managed
//! login is in AWS: `GET /oauth2/authorize` shows the sign-in page, `POST /oauth2/authorize`
//! signs the person in and sends them back to the client with a code, and `POST /oauth2/token`
//! trades a code and its PKCE verifier (or a refresh token) for tokens. Served by the local
//! stack only, outside the API document.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use shop::domain::{Email, Password};
use shop::http::caller::ClientAddress;
use shop::identity::{Client, IdentityError};
use shop_embedded::oauth::{AuthorizationServer, AuthorizeRequest, OAuthError, TokenRequest};

#[derive(Template)]
#[template(path = "sign-in.html")]
struct Page<'a> {
    request: Option<&'a AuthorizeRequest>,
    error: Option<String>,
    email: &'a str,
}

/// The sign-in form: the request it answers, and the person's credentials.
#[derive(Deserialize)]
struct SignInForm {
    #[serde(flatten)]
    request: AuthorizeRequest,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub fn router(server: AuthorizationServer) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(show).post(sign_in))
        .route("/oauth2/token", post(token))
        .route("/logout", get(sign_out))
        .with_state(server)
}

/// The page, with `status`; its form posts here only, and the answer may send the browser on
/// to the client's redirect URI.
fn page(status: StatusCode, request: Option<&AuthorizeRequest>, error: Option<String>, email: &str) -> Response {
    let html = match (Page { request, error, email }).render() {
        Ok(html) => html,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("the sign-in page failed: {e}")).into_response(),
    };
    let to = request.map(|r| origin(&r.redirect_uri)).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; style-src 'self'; form-action 'self' {to}; frame-ancestors 'none'; base-uri 'none'"
    );
    (status, [(header::CONTENT_SECURITY_POLICY, policy), (header::CACHE_CONTROL, "no-store".into())], Html(html))
        .into_response()
}

fn origin(url: &str) -> String {
    reqwest::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// Sends the browser back to the client's (registered) redirect URI with `params` and the
/// request's state.
fn back(request: &AuthorizeRequest, params: &[(&str, &str)]) -> Response {
    let Ok(mut to) = reqwest::Url::parse(&request.redirect_uri) else {
        return page(StatusCode::BAD_REQUEST, None, Some(OAuthError::NotRegistered.to_string()), "");
    };
    {
        let mut query = to.query_pairs_mut();
        query.extend_pairs(params);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// What a refused request answers: a page for the person, or the error at the redirect URI.
fn refused(request: &AuthorizeRequest, error: OAuthError, email: &str) -> Response {
    let (status, told) = match &error {
        OAuthError::NotRegistered => return page(StatusCode::BAD_REQUEST, None, Some(error.to_string()), ""),
        OAuthError::InvalidRequest(why) => {
            return back(request, &[("error", error.code()), ("error_description", why)]);
        }
        OAuthError::Identity(IdentityError::InvalidCredentials) => (StatusCode::UNAUTHORIZED, error.to_string()),
        OAuthError::Identity(IdentityError::NotConfirmed) => (StatusCode::FORBIDDEN, error.to_string()),
        OAuthError::Identity(IdentityError::TooManyAttempts { .. }) => {
            (StatusCode::TOO_MANY_REQUESTS, error.to_string())
        }
        _ => {
            tracing::error!(error = format!("{:#}", anyhow::anyhow!(error)), "signing in");
            (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side; please retry".to_owned())
        }
    };
    page(status, Some(request), Some(told), email)
}

async fn show(State(server): State<AuthorizationServer>, Query(request): Query<AuthorizeRequest>) -> Response {
    match server.check(&request) {
        Ok(()) => page(StatusCode::OK, Some(&request), None, ""),
        Err(error) => refused(&request, error, ""),
    }
}

async fn sign_in(
    State(server): State<AuthorizationServer>,
    ClientAddress(address): ClientAddress,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return page(StatusCode::BAD_REQUEST, None, Some("the sign-in form could not be read".into()), "");
    };
    let wrong = || OAuthError::Identity(IdentityError::InvalidCredentials);
    let credentials = Email::parse(&form.email).ok().zip(Password::presented(&form.password).ok());
    let outcome = match &credentials {
        Some((email, password)) => server.authorize(&form.request, email, password, &Client(address)).await,
        None => server.check(&form.request).and(Err(wrong())),
    };
    match outcome {
        Ok(code) => back(&form.request, &[("code", &code)]),
        Err(error) => refused(&form.request, error, &form.email),
    }
}

/// Where Cognito's `/logout` sends a signed-out browser.
#[derive(Deserialize)]
struct SignOut {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    logout_uri: String,
}

/// Cognito's `/logout`: the sign-in keeps no session of its own here (every sign-in asks for the
/// password), so it only sends the browser back, to a registered address only.
async fn sign_out(State(server): State<AuthorizationServer>, Query(to): Query<SignOut>) -> Response {
    match server.check_sign_out(&to.client_id, &to.logout_uri) {
        Ok(()) => (StatusCode::FOUND, [(header::LOCATION, to.logout_uri)]).into_response(),
        Err(error) => page(StatusCode::BAD_REQUEST, None, Some(error.to_string()), ""),
    }
}

async fn token(State(server): State<AuthorizationServer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut answer = tokens(&server, &body).await;
    // A page at another name of this stack's address (`localhost`) reads the answer too.
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).filter(|o| server.serves_origin(o));
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        answer.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        answer.headers_mut().insert(header::VARY, HeaderValue::from_static("origin"));
    }
    answer
}

async fn tokens(server: &AuthorizationServer, body: &[u8]) -> Response {
    let headers = [(header::CACHE_CONTROL, "no-store")];
    let request = match serde_urlencoded::from_bytes::<TokenRequest>(body) {
        Ok(request) => request,
        Err(_) => {
            let told = json!({"error": "invalid_request", "error_description": "send a form"});
            return (StatusCode::BAD_REQUEST, headers, axum::Json(told)).into_response();
        }
    };
    match server.token(&request).await {
        Ok(tokens) => (StatusCode::OK, headers, axum::Json(tokens)).into_response(),
        Err(OAuthError::Identity(IdentityError::Other(e))) => {
            tracing::error!(error = format!("{e:#}"), "issuing tokens");
            (StatusCode::INTERNAL_SERVER_ERROR, headers, axum::Json(json!({"error": "server_error"}))).into_response()
        }
        Err(error) => {
            let told = json!({"error": error.code(), "error_description": error.to_string()});
            (StatusCode::BAD_REQUEST, headers, axum::Json(told)).into_response()
        }
    }
}
