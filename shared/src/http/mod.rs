//! The HTTP conventions every service follows, implemented once: JSON in and out with
//! problem+json errors ([`json`]), the caller from the authorizer's claims ([`caller`]), lists
//! with tamper-evident cursors ([`page`]), versions as ETags ([`etag`]), and who may keep an
//! answer ([`cache`]).

pub mod audit;
pub mod cache;
pub mod caller;
pub mod etag;
pub mod json;
pub mod page;

pub use cache::public;
pub use caller::{Caller, Shopper, Staff};
pub use etag::{IfMatch, Versioned};
pub use json::{Json, Query};
pub use page::{Page, PageParams, PageQuery};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde::Serialize;

/// An id from the path: one that cannot be parsed names nothing, so it is a 404 like any other
/// unknown `what`.
pub fn path_id<T, E>(raw: &str, parse: impl FnOnce(&str) -> Result<T, E>, what: &'static str) -> crate::Result<T> {
    parse(raw).map_err(|_| crate::Error::NotFound(what))
}

/// The order named by a path's `id`, when `may_see` it; any other (unknown, unparsable, or
/// someone else's) is the same 404, so that no caller learns which orders exist.
pub async fn order(
    orders: &crate::orders::Orders,
    id: &str,
    may_see: impl FnOnce(&crate::orders::Order) -> bool,
) -> crate::Result<crate::orders::Order> {
    let id = path_id(id, crate::domain::OrderId::parse, "order")?;
    orders.get(&id).await?.filter(may_see).ok_or(crate::Error::NotFound("order"))
}

/// 201 Created with the new resource's `Location`, version as ETag, and body.
pub fn created<T: Serialize>(location: &str, version: u64, body: T) -> Response {
    let mut response = Versioned(version, body).into_response();
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Applies the cross-cutting conventions to one route: `Cache-Control` on every answer,
/// conditional GETs (`If-None-Match` -> 304), every answer measured under the route's template,
/// and the body-size limit. [`route`] gives them to every documented route; a route outside the
/// API document (the storefront's pages) takes them here.
pub fn conventions<S: Clone + Send + Sync + 'static>(route: &str, endpoint: MethodRouter<S>) -> MethodRouter<S> {
    let metrics = std::sync::Arc::new(crate::metrics::RouteMetrics::new(route));
    use axum::middleware::{from_fn, from_fn_with_state};
    // Outermost first.
    let layers = tower::ServiceBuilder::new()
        .layer(axum::extract::DefaultBodyLimit::max(json::BODY_LIMIT))
        .layer(from_fn_with_state(metrics, measure))
        .layer(from_fn(etag::not_modified))
        .layer(from_fn(cache::cache_control));
    endpoint.layer::<_, std::convert::Infallible>(layers)
}

/// Middleware: counts and times every answer of a route (`crate::metrics`).
async fn measure(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<crate::metrics::RouteMetrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.extensions().get::<audit::Reading>().is_some() {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.answered(&method, response.status(), started.elapsed());
    response
}

/// Adds one documented handler to a router, at the path and methods its `#[utoipa::path]`
/// names (`P` is the path type that attribute generates). Only the route is built, not its
/// OpenAPI description, so a Lambda's cold start does not pay for the document.
pub fn route<P, H, T, S>(router: Router<S>, handler: H) -> Router<S>
where
    P: utoipa::Path,
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    use axum::routing::MethodFilter;
    use utoipa::openapi::path::HttpMethod;
    let filter = P::methods()
        .into_iter()
        .map(|method| match method {
            HttpMethod::Get => MethodFilter::GET,
            HttpMethod::Post => MethodFilter::POST,
            HttpMethod::Put => MethodFilter::PUT,
            HttpMethod::Delete => MethodFilter::DELETE,
            HttpMethod::Patch => MethodFilter::PATCH,
            HttpMethod::Head => MethodFilter::HEAD,
            HttpMethod::Options => MethodFilter::OPTIONS,
            HttpMethod::Trace => MethodFilter::TRACE,
        })
        .reduce(MethodFilter::or)
        .expect("an operation has a method");
    let path = P::path();
    // The roles the route admits are read from its document on its first request, not at
    // start-up: a cold start does not build the operations.
    let admits = std::sync::Arc::new(std::sync::OnceLock::<caller::Admitted>::new());
    let endpoint = axum::routing::on(filter, handler).layer(axum::middleware::map_request(
        move |mut request: axum::extract::Request| {
            let admitted =
                admits.get_or_init(|| caller::Admitted(crate::openapi::roles(&P::operation()).into())).clone();
            request.extensions_mut().insert(admitted);
            std::future::ready(request)
        },
    ));
    router.route(&path, conventions(&path, endpoint))
}

/// The path type of the guest twin of the documented handler whose path type is `P`: the same
/// handler at [`crate::openapi::guest_path`], where no authorizer stands and a [`Shopper`] is a
/// guest by their token (`route::<GuestTwin<P>, ...>`).
pub struct GuestTwin<P>(std::marker::PhantomData<P>);

impl<P: utoipa::Path> utoipa::Path for GuestTwin<P> {
    fn methods() -> Vec<utoipa::openapi::path::HttpMethod> {
        P::methods()
    }

    fn path() -> String {
        crate::openapi::guest_path(&P::path())
    }

    fn operation() -> utoipa::openapi::path::Operation {
        P::operation()
    }
}

/// Declares a service from one list of documented handlers: `router(state)`, which serves
/// them with the conventions applied, and `openapi()`, which describes them.
///
/// ```ignore
/// shop::service!(ProductsState, Doc, [list_products, get_product]);
/// ```
///
/// A service whose routes all are public says so (`service!(public SearchState, ...)`); the
/// others' state carries the `revocations` the [`Caller`] extractor consults. Handlers that
/// take a [`Shopper`] may be listed again after `guest`, to be served as guests' too, under
/// `/api/guest/` ([`GuestTwin`]; `service!(CartState, Doc, [get_cart, ...], guest [get_cart])`).
#[macro_export]
macro_rules! service {
    (@define $state:ty, $doc:ty, [$($handler:ident),+], [$($guest:ident),*]) => {
        fn routes(state: $state) -> ::axum::Router {
            let router = ::axum::Router::new();
            $( let router = $crate::paste::paste! { $crate::http::route::<[<__path_ $handler>], _, _, _>(router, $handler) }; )+
            $( let router = $crate::paste::paste! { $crate::http::route::<$crate::http::GuestTwin<[<__path_ $guest>]>, _, _, _>(router, $guest) }; )*
            router.with_state(state)
        }

        /// The service's OpenAPI document.
        pub fn openapi() -> ::utoipa::openapi::OpenApi {
            let mut doc = $crate::utoipa_axum::router::OpenApiRouter::<$state>::with_openapi(<$doc as ::utoipa::OpenApi>::openapi())
                $( .routes($crate::utoipa_axum::routes!($handler)) )+
                .into_openapi();
            $( $crate::paste::paste! { $crate::openapi::guest_twin::<[<__path_ $guest>]>(&mut doc) }; )*
            $crate::openapi::document_conventions(&mut doc);
            doc
        }
    };
    (public $state:ty, $doc:ty, [$($handler:ident),+ $(,)?]) => {
        $crate::service!(@define $state, $doc, [$($handler),+], []);

        /// The service's router, ready to serve.
        pub fn router(state: $state) -> ::axum::Router {
            routes(state)
        }
    };
    ($state:ty, $doc:ty, [$($handler:ident),+ $(,)?] $(, guest [$($guest:ident),+ $(,)?])?) => {
        $crate::service!(@define $state, $doc, [$($handler),+], [$($($guest),+)?]);

        /// The service's router, ready to serve: its back-office writes are audited
        /// ([`$crate::http::audit`]).
        pub fn router(state: $state) -> ::axum::Router {
            let audit = $crate::audit::AuditLog::new(state.revocations.table());
            $crate::http::audit::audited(routes(state), audit)
        }

        impl ::axum::extract::FromRef<$state> for $crate::http::caller::Revocations {
            fn from_ref(state: &$state) -> Self {
                state.revocations.clone()
            }
        }
    };
}

/// Problem+json answers for unknown paths (404) and methods (405). Applied once to the router
/// that is served (one service on Lambda, all of them merged locally).
pub fn fallbacks(router: Router) -> Router {
    router
        .fallback(|| async { crate::Error::NotFound("route") })
        .method_not_allowed_fallback(|| async { crate::Error::MethodNotAllowed })
}
