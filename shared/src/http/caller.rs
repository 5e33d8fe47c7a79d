//! The caller: who is asking, read from the Cognito authorizer's claims in the API Gateway
//! REST request context. The local gateway puts the same context on each request it verified,
//! so this is the only place in the shop that reads identity off a request.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde_json::Value;

use crate::Error;
use crate::domain::{Email, UserId};
use crate::table::Table;

/// The name of the back-office group.
pub const ADMIN_GROUP: &str = "admin";

/// The signed-in user making the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub email: Option<Email>,
    pub groups: Vec<String>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }

    /// 403 unless the caller is in the admin group.
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.is_admin() { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// Whether the caller may act on `user`'s data: themselves, or an admin.
    pub fn may_access(&self, user: &UserId) -> bool {
        &self.user_id == user || self.is_admin()
    }

    /// Reads the caller from authorizer claims (`sub`, `email`, `cognito:groups`).
    pub fn from_claims(claims: &serde_json::Map<String, Value>) -> Option<Self> {
        let user_id = UserId::parse(claims.get("sub")?.as_str()?).ok()?;
        let email = claims.get("email").and_then(Value::as_str).and_then(|e| Email::parse(e).ok());
        let groups = claims.get("cognito:groups").map(parse_groups).unwrap_or_default();
        Some(Self { user_id, email, groups })
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

/// What the caller extractor asks before trusting a token: whether its account was erased.
/// API Gateway's Cognito authorizer accepts an ID token until it expires, even one of a deleted
/// account, so every service state hands one of these to the extractor (`FromRef`), and no
/// route can read a caller without the check (one consistent read of the erasure mark).
#[derive(Clone)]
pub struct Erasures(Arc<dyn Table>);

impl Erasures {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self(table)
    }

    pub async fn contains(&self, user: &UserId) -> anyhow::Result<bool> {
        Ok(self.0.get(&crate::keys::erased(user)).await?.is_some())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Erasures: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let caller = parts
            .request_context_ref()
            .and_then(claims)
            .and_then(Caller::from_claims)
            .ok_or_else(|| Error::Unauthenticated("sign in and send `Authorization: Bearer <id token>`".into()))?;
        if Erasures::from_ref(state).contains(&caller.user_id).await? {
            return Err(Error::Unauthenticated("this account has been deleted".into()));
        }
        Ok(caller)
    }
}

/// Builds the request context the Cognito authorizer would produce for these claims. The
/// local gateway and the tests use it; in AWS, API Gateway does this.
pub fn authorizer_context(claims: serde_json::Map<String, Value>) -> RequestContext {
    let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    ctx.authorizer.fields.insert("claims".into(), Value::Object(claims));
    RequestContext::ApiGatewayV1(ctx)
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
    fn caller_from_claims() {
        let claims = json!({"sub": "abc-1", "email": "A@x.io", "cognito:groups": "admin"});
        let caller = Caller::from_claims(claims.as_object().unwrap()).unwrap();
        assert!(caller.is_admin());
        assert_eq!(caller.email.unwrap().as_str(), "a@x.io");
        let bad = json!({"sub": "a#b"});
        assert!(Caller::from_claims(bad.as_object().unwrap()).is_none());
    }
}
