//! What API Gateway does in AWS, done locally in front of the merged routers: a body-size
//! limit, per-client throttling (429 with Retry-After), and for every route that template.yaml
//! puts behind the Cognito authorizer, JWT verification and claims injection into the REST
//! request context, where [`shop::http::Caller`] reads them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shop::Error;
use shop_embedded::jwt::{Refused, Verifier};

/// One route of the API and whether it needs a signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub needs_caller: bool,
}

/// The route table, read off the OpenAPI document the services generate.
pub fn routes(doc: &utoipa::openapi::OpenApi) -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in &doc.paths.paths {
        let operations = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ];
        for (method, operation) in operations {
            if let Some(op) = operation {
                routes.push(Route {
                    method: method.into(),
                    path: path.clone(),
                    needs_caller: shop::openapi::needs_caller(op),
                });
            }
        }
    }
    routes.sort();
    routes
}

/// Which routes need a signed-in caller, by method, in the form the path router takes: each
/// parameter renamed by its place (`{p1}`, `{p2}`), since routes of one method may name the same
/// segment differently. A literal segment wins over a parameter, as in API Gateway.
fn route_table(routes: &[Route]) -> HashMap<String, matchit::Router<bool>> {
    let mut table: HashMap<String, matchit::Router<bool>> = HashMap::new();
    for route in routes {
        let mut place = 0;
        let pattern = (route.path.split('/'))
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    place += 1;
                    format!("{{p{place}}}")
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        // The API document lists each method and path once, and a path the router could not
        // tell from another would be a route that no request reaches.
        (table.entry(route.method.clone()).or_default().insert(pattern, route.needs_caller))
            .unwrap_or_else(|e| panic!("the route {} {}: {e}", route.method, route.path));
    }
    table
}

/// A token bucket per client address.
pub struct Throttle {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Throttle {
    /// `rate` requests per second with bursts of `burst`; a rate of 0 turns throttling off.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `client`, or says how many seconds until one is free.
    fn take(&self, client: IpAddr) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs() < 60);
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// The gateway's state.
pub struct Gateway {
    /// Whether a route needs a signed-in caller, by method and path.
    routes: HashMap<String, matchit::Router<bool>>,
    verifier: Verifier,
    throttle: Throttle,
    max_body: usize,
    authorized: Authorized,
}

impl Gateway {
    pub fn new(routes: Vec<Route>, verifier: Verifier, throttle: Throttle, max_body: usize) -> Self {
        Self { routes: route_table(&routes), verifier, throttle, max_body, authorized: Authorized::default() }
    }

    /// Whether the route `path` reaches needs a signed-in caller (`false` off the API).
    fn needs_caller(&self, method: &Method, path: &str) -> bool {
        let routes = self.routes.get(method.as_str());
        routes.and_then(|r| r.at(path).ok()).is_some_and(|found| *found.value)
    }

    /// The claims of a valid token as API Gateway hands them over: strings, groups as "a,b".
    /// A token seen again is answered from [`Authorized`], as API Gateway's authorizer caches
    /// its answers.
    fn claims(&self, token: &str) -> Result<Claims, Refused> {
        if let Some(claims) = self.authorized.get(token) {
            return Ok(claims);
        }
        let verified = self.verifier.verify_id_token(token)?;
        let expires = verified.get("exp").and_then(serde_json::Value::as_i64).unwrap_or_default();
        let mut claims = serde_json::Map::new();
        for (name, value) in verified {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(",")
                }
                other => other.to_string(),
            };
            claims.insert(name, text.into());
        }
        let claims = Arc::new(claims);
        self.authorized.keep(token, claims.clone(), expires);
        Ok(claims)
    }
}

type Claims = Arc<serde_json::Map<String, serde_json::Value>>;

/// The tokens verified lately, each with its claims, kept as API Gateway's Cognito authorizer
/// keeps its answers: for SAM's `ReauthorizeEvery` (300 s unless the template says otherwise),
/// and never past the token's own expiry. Signing out still ends a session at once: the
/// services check revocations on every request.
#[derive(Default)]
struct Authorized(Mutex<HashMap<String, (Claims, Instant)>>);

/// How long a verified token is taken on trust (SAM's default `ReauthorizeEvery`).
const REAUTHORIZE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// How many tokens are kept at most; past that the oldest answers go.
const AUTHORIZED_TOKENS: usize = 10_000;

impl Authorized {
    fn get(&self, token: &str) -> Option<Claims> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.get(token).filter(|(_, until)| Instant::now() < *until).map(|(claims, _)| claims.clone())
    }

    fn keep(&self, token: &str, claims: Claims, expires: i64) {
        let left = u64::try_from(expires - shop::time::epoch_now()).unwrap_or_default();
        let until = Instant::now() + REAUTHORIZE_EVERY.min(std::time::Duration::from_secs(left));
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= AUTHORIZED_TOKENS {
            let now = Instant::now();
            kept.retain(|_, (_, until)| now < *until);
            if kept.len() >= AUTHORIZED_TOKENS {
                kept.clear();
            }
        }
        kept.insert(token.to_owned(), (claims, until));
    }
}

/// The gateway middleware.
pub async fn gateway(State(gw): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let client =
        request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if let Err(retry_after) = gw.throttle.take(client) {
        return Error::TooManyRequests(retry_after).into_response();
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > gw.max_body) {
        return Error::PayloadTooLarge(gw.max_body).into_response();
    }
    let mut verified = None;
    if gw.needs_caller(request.method(), request.uri().path()) {
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
        match token.map(|t| gw.claims(t)) {
            Some(Ok(claims)) => verified = Some(Arc::unwrap_or_clone(claims)),
            Some(Err(refused)) => {
                tracing::info!(reason = %refused, "token refused");
                return Error::Unauthenticated("the token is invalid or expired; log in again".into()).into_response();
            }
            None => {
                return Error::Unauthenticated("sign in and send `Authorization: Bearer <id token>`".into())
                    .into_response();
            }
        }
    }
    request.extensions_mut().insert(shop::http::caller::request_context(&client.to_string(), verified));
    next.run(request).await
}

/// Lets through callers on this machine only (a loopback address; none known counts as
/// remote); others are told the route does not exist.
pub async fn loopback_only(request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical());
    if client.is_some_and(|ip| ip.is_loopback()) {
        next.run(request).await
    } else {
        Error::NotFound("route").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_segments_win_over_parameters() {
        let route =
            |method: &str, path: &str, needs_caller| Route { method: method.into(), path: path.into(), needs_caller };
        let routes = route_table(&[
            route("GET", "/api/users/{id}", true),
            route("GET", "/api/users/me", false),
            route("GET", "/api/users/{user}/orders/{id}", true),
            route("POST", "/api/users", false),
        ]);
        let needs = |method: &str, path: &str| routes[method].at(path).ok().map(|found| *found.value);
        assert_eq!(needs("GET", "/api/users/x"), Some(true));
        assert_eq!(needs("GET", "/api/users/me"), Some(false));
        assert_eq!(needs("GET", "/api/users/x/orders/y"), Some(true), "parameters named apart");
        assert_eq!(needs("GET", "/api/users/"), None);
        assert_eq!(needs("POST", "/api/users/x"), None);
    }

    #[test]
    fn a_verified_token_is_kept_until_its_expiry_at_most_and_the_store_is_bounded() {
        let kept = Authorized::default();
        let claims: Claims = Arc::new(serde_json::Map::from_iter([("sub".to_owned(), "u1".into())]));
        let now = shop::time::epoch_now();
        kept.keep("fresh", claims.clone(), now + 3600);
        kept.keep("expired", claims.clone(), now - 1);
        assert_eq!(kept.get("fresh"), Some(claims.clone()));
        assert_eq!(kept.get("expired"), None, "never past the token's expiry");
        assert_eq!(kept.get("unknown"), None);
        for n in 0..AUTHORIZED_TOKENS {
            kept.keep(&format!("t{n}"), claims.clone(), now + 3600);
        }
        assert!(kept.0.lock().unwrap().len() <= AUTHORIZED_TOKENS, "at most {AUTHORIZED_TOKENS} tokens");
    }

    #[test]
    fn throttle_refuses_past_the_burst_and_says_when() {
        let t = Throttle::new(1.0, 2.0);
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(t.take(ip).is_ok());
        assert!(t.take(ip).is_ok());
        assert_eq!(t.take(ip), Err(1));
        assert!(t.take(IpAddr::from([10, 0, 0, 2])).is_ok(), "per client");
    }
}
