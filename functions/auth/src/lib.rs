//! The auth service: registration, confirmation, log-in, refresh, log-out and password reset,
//! in front of the identity provider. None of its routes needs a signed-in caller.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shop::domain::{Email, Invalid, Name, Password, Phone};
use shop::error::Validation;
use shop::http::Caller;
use shop::http::Json;
use shop::http::caller::{ClientAddress, Revocations};
use shop::identity::{Client, Identity, NewAccount, SignedUp, Tokens};
use shop::notifications::account::{self, account_exists_message};
use shop::notifications::sms::SmsCountries;
use shop::openapi::Shared;
use shop::users::{UserProfile, Users};
use shop::{Error, Result};
use utoipa::{OpenApi, ToSchema};

/// What the auth service needs.
#[derive(Clone)]
pub struct AuthState {
    pub identity: Arc<dyn Identity>,
    pub users: Users,
    /// Where the email to a taken address's owner is queued.
    pub table: Arc<dyn shop::table::Table>,
    /// The countries whose phone numbers an account may give.
    pub sms: SmsCountries,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
}

impl AuthState {
    pub fn new(table: Arc<dyn shop::table::Table>, identity: Arc<dyn Identity>, sms: SmsCountries) -> Self {
        Self { identity, users: Users::new(table.clone()), revocations: Revocations::new(table.clone()), table, sms }
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "auth", description = "Accounts and sessions")), modifiers(&Shared))]
struct Doc;

shop::service!(
    AuthState,
    Doc,
    [register, confirm, resend_code, login, refresh, logout, forgot_password, reset_password]
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[schema(value_type = Email)]
    email: String,
    /// At least 10 characters with a lower-case letter, an upper-case letter and a digit.
    #[schema(value_type = String, min_length = 10, max_length = 256)]
    password: String,
    #[schema(value_type = Name)]
    name: String,
    /// E.164, like +4915112345678.
    #[serde(default)]
    #[schema(value_type = Option<Phone>)]
    phone: Option<String>,
}

/// The same answer for a new address and a taken one (whose owner is told by email), so
/// sign-up cannot be used to learn who has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// False when a code was sent that must come back to POST /api/auth/confirm.
    confirmed: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    #[schema(value_type = Email)]
    email: String,
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = r"^ *[!-~]+ *$")]
    code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    #[schema(value_type = Email)]
    email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(value_type = Email)]
    email: String,
    #[schema(value_type = String, min_length = 1, max_length = 256)]
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    #[schema(value_type = Email)]
    email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    #[schema(value_type = Email)]
    email: String,
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = r"^ *[!-~]+ *$")]
    code: String,
    /// The new password, under the same policy as at registration.
    #[schema(value_type = String, min_length = 10, max_length = 256)]
    password: String,
}

fn code(raw: &str) -> std::result::Result<String, Invalid> {
    let code = raw.trim();
    if (1..=64).contains(&code.len()) && code.chars().all(|c| c.is_ascii_graphic()) {
        Ok(code.to_owned())
    } else {
        Err(Invalid::new("must be the code that was sent"))
    }
}

fn token(raw: &str) -> std::result::Result<&str, Error> {
    if raw.is_empty() || raw.len() > 8192 {
        return Err(Error::Unauthenticated("the token is invalid, expired or revoked".into()));
    }
    Ok(raw)
}

/// Create an account. Depending on the pool, it is confirmed at once or a code is sent. A taken
/// address gets the same answer, and its owner an email saying someone tried.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 202, body = Registered),
              (status = 422, body = shop::error::Problem, description = "Invalid field or weak password")))]
async fn register(State(state): State<AuthState>, Json(body): Json<RegisterBody>) -> Result<Response> {
    let mut v = Validation::default();
    let email = v.field("email", Email::parse(&body.email));
    let password = v.field("password", Password::parse(&body.password));
    let name = v.field("name", Name::parse(&body.name));
    let phone = v.optional("phone", body.phone.as_deref(), |raw| state.sms.phone(raw));
    let account = v.finish(|| Some(NewAccount { email: email?, password: password?, name: name?, phone: phone? }))?;
    let confirmed = match state.identity.sign_up(&account).await? {
        SignedUp::New { user_id, confirmed } => {
            let profile = UserProfile::new(user_id.clone(), account.email, account.name, account.phone);
            state.users.create(&profile, confirmed).await?;
            tracing::info!(user = %user_id, confirmed, "account registered");
            confirmed
        }
        SignedUp::Taken { owner } => {
            let told = account_exists_message(&owner, account.email.as_str());
            account::queue(&*state.table, &told, None, Vec::new()).await?;
            tracing::info!(user = %owner, "sign-up with a taken address; its owner is told");
            state.identity.confirms_at_once()
        }
    };
    Ok((StatusCode::ACCEPTED, Json(Registered { confirmed })).into_response())
}

/// Confirm an account with the code that was sent.
#[utoipa::path(post, path = "/api/auth/confirm", tag = "auth", request_body = ConfirmBody,
    responses((status = 204), (status = 422, body = shop::error::Problem)))]
async fn confirm(State(state): State<AuthState>, Json(body): Json<ConfirmBody>) -> Result<StatusCode> {
    let mut v = Validation::default();
    let email = v.field("email", Email::parse(&body.email));
    let code = v.field("code", code(&body.code));
    let (email, code) = v.finish(|| Some((email?, code?)))?;
    state.identity.confirm_sign_up(&email, &code).await?;
    keep_profile(&state, &email).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The profile of a just-confirmed account lasts from now on.
async fn keep_profile(state: &AuthState, email: &Email) -> Result<()> {
    if let Some(user) = state.identity.user_by_email(email).await? {
        state.users.keep(&user).await?;
    }
    Ok(())
}

/// Send a new confirmation code. The answer is the same whether or not the address has an
/// unconfirmed account; codes are capped per account and hour.
#[utoipa::path(post, path = "/api/auth/confirm/resend", tag = "auth", request_body = ResendBody,
    responses((status = 202), (status = 422, body = shop::error::Problem)))]
async fn resend_code(State(state): State<AuthState>, Json(body): Json<ResendBody>) -> Result<StatusCode> {
    let email = Email::parse(&body.email).map_err(|e| Error::invalid("email", e))?;
    state.identity.resend_code(&email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Log in with email and password. Failures slow down this client's next tries for the
/// address (429 with Retry-After), never anyone else's.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = Tokens), (status = 401, body = shop::error::Problem)))]
async fn login(
    State(state): State<AuthState>,
    ClientAddress(client): ClientAddress,
    Json(body): Json<LoginBody>,
) -> Result<Json<Tokens>> {
    let refused = || Error::Unauthenticated("the email or password is wrong".into());
    let email = Email::parse(&body.email).map_err(|_| refused())?;
    let password = Password::presented(&body.password).map_err(|_| refused())?;
    Ok(Json(state.identity.log_in(&email, &password, &Client(client)).await?))
}

/// New ID and access tokens for a refresh token.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = Tokens), (status = 401, body = shop::error::Problem)))]
async fn refresh(State(state): State<AuthState>, Json(body): Json<RefreshBody>) -> Result<Json<Tokens>> {
    Ok(Json(state.identity.refresh(token(&body.refresh_token)?).await?))
}

/// Sign out everywhere: every refresh token of the caller stops working, and every ID token
/// issued until now is refused on every route.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("cognito" = [])),
    responses((status = 204), (status = 401, body = shop::error::Problem)))]
async fn logout(State(state): State<AuthState>, caller: Caller) -> Result<StatusCode> {
    let email = caller.email.as_ref().ok_or(Error::Unauthenticated("the token names no email address".into()))?;
    state.identity.log_out(&caller.user_id, email).await?;
    state.revocations.end_sessions(&caller.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a password reset code. The answer is the same whether or not the account exists.
#[utoipa::path(post, path = "/api/auth/password/forgot", tag = "auth", request_body = ForgotBody,
    responses((status = 202), (status = 422, body = shop::error::Problem)))]
async fn forgot_password(State(state): State<AuthState>, Json(body): Json<ForgotBody>) -> Result<StatusCode> {
    let email = Email::parse(&body.email).map_err(|e| Error::invalid("email", e))?;
    state.identity.forgot_password(&email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the code that was sent. This confirms the address (the code reached
/// it) and ends every session of the account.
#[utoipa::path(post, path = "/api/auth/password/reset", tag = "auth", request_body = ResetBody,
    responses((status = 204), (status = 422, body = shop::error::Problem)))]
async fn reset_password(State(state): State<AuthState>, Json(body): Json<ResetBody>) -> Result<StatusCode> {
    let mut v = Validation::default();
    let email = v.field("email", Email::parse(&body.email));
    let code = v.field("code", code(&body.code));
    let password = v.field("password", Password::parse(&body.password));
    let (email, code, password) = v.finish(|| Some((email?, code?, password?)))?;
    let user = state.identity.reset_password(&email, &code, &password).await?;
    state.users.keep(&user).await?;
    state.revocations.end_sessions(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}
