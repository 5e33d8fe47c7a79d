//! The caller: who is asking, read from the Cognito authorizer's claims in the API Gateway
//! REST request context. The local gateway puts the same context on each request it verified,
//! so this is the only place in the shop that reads identity off a request.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde_json::Value;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::domain::{Email, Role, UserId};
use crate::guests::Guest;
use crate::table::{Item, Table, Write};

/// The signed-in user making the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub email: Option<Email>,
    /// Whether the identity provider verified `email` (`email_verified`).
    pub email_verified: bool,
    pub groups: Vec<String>,
    /// When the token was issued (`iat`, epoch seconds; 0 when it does not say).
    pub issued_at: i64,
}

impl Caller {
    /// The staff roles the caller's groups give.
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.groups.iter().filter_map(|g| Role::of_group(g))
    }

    /// Whether the caller holds `role`, or is an admin (who may do what every role may).
    pub fn holds(&self, role: Role) -> bool {
        self.roles().any(|r| r == role || r == Role::Admin)
    }

    pub fn is_admin(&self) -> bool {
        self.holds(Role::Admin)
    }

    /// Whether the caller reads every shopper's orders: support answers about them, fulfilment
    /// packs and ships them.
    pub fn reads_orders(&self) -> bool {
        self.holds(Role::Support) || self.holds(Role::Fulfilment)
    }

    /// Whether the caller may act on `user`'s data: themselves, or an admin.
    pub fn may_access(&self, user: &UserId) -> bool {
        &self.user_id == user || self.is_admin()
    }

    /// Reads the caller from authorizer claims (`sub`, `email`, `email_verified`,
    /// `cognito:groups`).
    pub fn from_claims(claims: &serde_json::Map<String, Value>) -> Option<Self> {
        let user_id = UserId::parse(claims.get("sub")?.as_str()?).ok()?;
        let email = claims.get("email").and_then(Value::as_str).and_then(|e| Email::parse(e).ok());
        let groups = claims.get("cognito:groups").map(parse_groups).unwrap_or_default();
        let issued_at = claims.get("iat").and_then(parse_time).unwrap_or(0);
        // A JSON boolean, or the string API Gateway and the local gateway hand over.
        let email_verified = claims.get("email_verified").is_some_and(|v| v == true || v == "true");
        Some(Self { user_id, email, email_verified, groups, issued_at })
    }
}

/// A time claim as epoch seconds: a JSON number, a number in a string (the local gateway), or
/// the date API Gateway's REST Cognito authorizer writes (`Thu Jan 30 14:11:50 UTC 2020`).
fn parse_time(value: &Value) -> Option<i64> {
    const AUTHORIZER: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] UTC [year]"
    );
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok().or_else(|| {
            let at = time::PrimitiveDateTime::parse(s, AUTHORIZER).ok()?;
            Some(at.assume_utc().unix_timestamp())
        }),
        _ => None,
    }
}

/// API Gateway hands `cognito:groups` over as a string, either `"a,b"` (REST API) or `"[a b]"`
/// (HTTP API); a JSON array is accepted too.
fn parse_groups(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Value::String(s) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split([',', ' '])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The claims object of a REST API request context, if an authorizer set one.
pub fn claims(context: &RequestContext) -> Option<&serde_json::Map<String, Value>> {
    match context {
        RequestContext::ApiGatewayV1(ctx) => ctx.authorizer.fields.get("claims")?.as_object(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// What the caller extractor asks before trusting a token: whether the account's sessions
/// were ended after it was issued (a log-out, a password reset) or the account erased. API
/// Gateway's Cognito authorizer accepts an ID token until it expires, even after a global
/// sign-out or of a deleted account, so every service state hands one of these to the
/// extractor (`FromRef`), and no route can read a caller without the check (one consistent
/// read of the account's mark).
#[derive(Clone)]
pub struct Revocations(Arc<dyn Table>);

/// The mark: tokens issued before `before` (epoch seconds) are refused; all, once erased.
#[derive(Debug, Serialize, Deserialize)]
struct Revoked {
    before: i64,
    #[serde(default)]
    erased: bool,
}

/// How long a mark is kept: longer than any ID or access token lives (at most a day in
/// Cognito, an hour in the embedded identity).
pub const REVOCATION_SECONDS: i64 = 2 * 24 * 3600;

impl Revocations {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self(table)
    }

    /// The table the marks are kept in.
    pub fn table(&self) -> Arc<dyn Table> {
        self.0.clone()
    }

    async fn mark(&self, user: &UserId, erased: bool) -> anyhow::Result<i64> {
        // Tokens carry whole seconds: every one issued up to now is before the next second.
        let now = crate::time::now();
        let before = now.unix_timestamp() + 1;
        let mark = Item::new(&crate::keys::revoked(user), &Revoked { before, erased })
            .expiring_at(before + REVOCATION_SECONDS);
        self.0.write(Write::put(mark)).await?;
        Ok(before)
    }

    /// Refuses every token of `user` issued until now. Answers once the second has passed, so
    /// that a token issued after the answer (the next log-in) is good.
    pub async fn end_sessions(&self, user: &UserId) -> anyhow::Result<()> {
        let before = self.mark(user, false).await?;
        let wait = time::OffsetDateTime::from_unix_timestamp(before)? - crate::time::now();
        if wait.is_positive() {
            tokio::time::sleep(wait.unsigned_abs()).await;
        }
        Ok(())
    }

    /// Refuses every token of `user`, for good: the first step of erasure.
    pub async fn erase(&self, user: &UserId) -> anyhow::Result<()> {
        self.mark(user, true).await.map(|_| ())
    }

    /// Why a token of `user` issued at `issued_at` is refused, if it is.
    pub async fn refusal(&self, user: &UserId, issued_at: i64) -> anyhow::Result<Option<&'static str>> {
        let Some(item) = self.0.get(&crate::keys::revoked(user)).await? else { return Ok(None) };
        let mark: Revoked = item.decode()?;
        Ok(if mark.erased {
            Some("this account has been deleted")
        } else if issued_at < mark.before {
            Some("this session has ended (log-out or password reset); log in again")
        } else {
            None
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Revocations: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let caller = parts
            .request_context_ref()
            .and_then(claims)
            .and_then(Caller::from_claims)
            .ok_or_else(|| Error::Unauthenticated("sign in and send `Authorization: Bearer <id token>`".into()))?;
        if let Some(why) = Revocations::from_ref(state).refusal(&caller.user_id, caller.issued_at).await? {
            return Err(Error::Unauthenticated(why.into()));
        }
        Ok(caller)
    }
}

/// The roles a route admits, as its API document's security requirement names them (admin is
/// always admitted); [`crate::http::route`] puts them on each request it routes.
#[derive(Debug, Clone, Default)]
pub struct Admitted(pub Arc<[Role]>);

/// A member of staff on a back-office route: a caller holding one of the roles the route
/// admits ([`Admitted`]), or admin; anyone else is a 403. A route that names no role admits
/// admins only.
#[derive(Debug, Clone)]
pub struct Staff(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Staff
where
    Revocations: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let admitted = parts.extensions.get::<Admitted>().cloned().unwrap_or_default();
        if !caller.is_admin() && !admitted.0.iter().any(|role| caller.holds(*role)) {
            let roles: Vec<&str> = admitted.0.iter().chain(&[Role::Admin]).map(|r| r.as_str()).collect();
            return Err(Error::Forbidden(format!(
                "this route is for staff holding one of the roles {}",
                roles.join(", ")
            )));
        }
        if let Some(witness) = parts.extensions.get::<crate::http::audit::Witness>() {
            witness.saw(&caller).await;
        }
        Ok(Self(caller))
    }
}

/// The header a guest sends their token in, on the guest routes (`/api/guest/...`).
pub const GUEST_TOKEN: &str = "guest-token";

/// Who shops: a signed-in caller (a route behind the authorizer), or a guest by the token in
/// `Guest-Token` (the same route's guest twin under `/api/guest/`, which no authorizer guards;
/// see [`crate::guests`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shopper {
    Account(Caller),
    Guest(Guest),
}

impl Shopper {
    pub fn user_id(&self) -> &UserId {
        match self {
            Self::Account(caller) => &caller.user_id,
            Self::Guest(guest) => &guest.id,
        }
    }

    /// The shopper whose cart and checkout these are: refused (403) to a link's token, which
    /// reaches its one order only.
    pub fn buyer(&self) -> Result<&UserId, Error> {
        match self {
            Self::Guest(Guest { order: Some(_), .. }) => {
                Err(Error::Forbidden("a link's token reaches its one order only".into()))
            }
            _ => Ok(self.user_id()),
        }
    }

    /// Whether `order` is the shopper's own: an account's (placed or claimed), or the guest's
    /// who placed it (a link's: its one order), claimed or not.
    pub fn owns(&self, order: &crate::orders::Order) -> bool {
        match self {
            Self::Account(caller) => &caller.user_id == order.owner(),
            Self::Guest(guest) => guest.id == order.user_id && guest.order.is_none_or(|only| only == order.id),
        }
    }

    /// Whether the shopper may see `order`: their own, or any, for staff who read orders.
    pub fn may_see(&self, order: &crate::orders::Order) -> bool {
        self.owns(order) || self.account().is_some_and(Caller::reads_orders)
    }

    /// The signed-in caller, if it is one.
    pub fn account(&self) -> Option<&Caller> {
        match self {
            Self::Account(caller) => Some(caller),
            Self::Guest(_) => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Shopper
where
    Revocations: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let signed_in = parts.request_context_ref().and_then(claims).is_some();
        if signed_in {
            return Caller::from_request_parts(parts, state).await.map(Self::Account);
        }
        match parts.headers.get(GUEST_TOKEN).map(|v| v.to_str()) {
            Some(Ok(token)) => Guest::from_token(token).await.map(Self::Guest),
            Some(Err(_)) => Err(Guest::refused()),
            None => Err(Error::Unauthenticated(
                "sign in and send `Authorization: Bearer <id token>`, or as a guest send `Guest-Token`".into(),
            )),
        }
    }
}

/// Builds the request context API Gateway gives a request from `source_ip`, with the claims
/// the Cognito authorizer verified, if any. The local gateway and the tests use it; in AWS,
/// API Gateway does this.
pub fn request_context(source_ip: &str, claims: Option<serde_json::Map<String, Value>>) -> RequestContext {
    let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    ctx.identity.source_ip = Some(source_ip.to_owned());
    if let Some(claims) = claims {
        ctx.authorizer.fields.insert("claims".into(), Value::Object(claims));
    }
    RequestContext::ApiGatewayV1(ctx)
}

/// The client's network address as API Gateway saw it (`requestContext.identity.sourceIp`),
/// or `unknown` outside a gateway.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = match parts.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
            _ => None,
        };
        Ok(Self(ip.unwrap_or_else(|| "unknown".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_in_every_shape() {
        assert_eq!(parse_groups(&json!("admin")), vec!["admin"]);
        assert_eq!(parse_groups(&json!("admin,staff")), vec!["admin", "staff"]);
        assert_eq!(parse_groups(&json!("[admin staff]")), vec!["admin", "staff"]);
        assert_eq!(parse_groups(&json!(["admin"])), vec!["admin"]);
    }

    #[test]
    fn issue_times_in_every_shape() {
        assert_eq!(parse_time(&json!(1_580_393_510)), Some(1_580_393_510));
        assert_eq!(parse_time(&json!("1580393510")), Some(1_580_393_510));
        assert_eq!(parse_time(&json!("Thu Jan 30 14:11:50 UTC 2020")), Some(1_580_393_510));
        assert_eq!(parse_time(&json!("Mon Feb 3 09:05:01 UTC 2020")), Some(1_580_720_701));
        assert_eq!(parse_time(&json!("yesterday")), None);
    }

    #[test]
    fn caller_from_claims() {
        let claims = json!({"sub": "abc-1", "email": "A@x.io", "cognito:groups": "admin"});
        let caller = Caller::from_claims(claims.as_object().unwrap()).unwrap();
        assert!(caller.is_admin());
        assert!(caller.holds(Role::Support), "an admin may do what every role may");
        let support = json!({"sub": "abc-2", "cognito:groups": "support,customers"});
        let support = Caller::from_claims(support.as_object().unwrap()).unwrap();
        assert_eq!(support.roles().collect::<Vec<_>>(), [Role::Support]);
        assert!(!support.is_admin() && !support.holds(Role::Catalogue));
        assert_eq!(caller.email.unwrap().as_str(), "a@x.io");
        assert_eq!(caller.issued_at, 0, "no iat");
        let bad = json!({"sub": "a#b"});
        assert!(Caller::from_claims(bad.as_object().unwrap()).is_none());
    }
}
