//! The storefront: the pages a shopper and a shop owner use, static files embedded in the
//! binary and served on the API's own origin (so the pages call `/api` with no CORS). The local
//! stack serves them at `/`; in AWS this crate's function serves them on the same API.
//!
//! Every page gets a Content-Security-Policy that lets scripts come only from here and from the
//! card provider's Stripe.js, and no page may be framed. Files are revalidated by their ETag
//! (`no-cache`: a deploy is seen at once, an unchanged file costs a 304); the vendored CSS,
//! whose path names its version, is kept a year.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use shop::domain::{Currency, Quantity};
use std::collections::BTreeMap;

/// One embedded file.
pub struct Asset {
    /// Its path under `assets/` (`js/app.js`).
    pub path: &'static str,
    /// A strong ETag naming its bytes.
    pub etag: &'static str,
    pub body: &'static [u8],
}

/// Every file under `assets/`, in path order (`build.rs`).
pub const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// What the pages learn about the deployment from `GET /storefront.json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Settings {
    pub cards: Cards,
    /// Where shoppers sign in (the authorization code flow with PKCE); absent where no
    /// sign-in page runs (the local stack against an emulator's Cognito), and then the pages
    /// log in through `POST /api/auth/login`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignIn>,
    /// Where product images come from and go to, when not from this origin.
    #[serde(skip)]
    pub media: MediaOrigins,
}

/// The CDN that serves the images' sizes (`MEDIA_URL`), and the bucket an admin's browser PUTs
/// uploads to (`UPLOAD_ORIGIN`); both the stack's own origin locally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaOrigins {
    pub images: Option<String>,
    pub uploads: Option<String>,
}

/// The sign-in's endpoints and the app client the pages are: Cognito's managed login in AWS,
/// the embedded identity's in the local stack. The page asks to be sent back to itself (its
/// address without query), which must be one of the app client's callback URLs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignIn {
    pub authorize_url: String,
    pub token_url: String,
    /// Where signing out ends the sign-in's own session too (Cognito's `/logout`, with
    /// `client_id` and `logout_uri`), so the next sign-in asks for the password again.
    pub logout_url: String,
    pub client_id: String,
}

impl SignIn {
    /// The endpoints under `base` (`https://<domain>.auth.<region>.amazoncognito.com`, or the
    /// local stack's URL).
    pub fn at(base: &str, client_id: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            authorize_url: format!("{base}/oauth2/authorize"),
            token_url: format!("{base}/oauth2/token"),
            logout_url: format!("{base}/logout"),
            client_id: client_id.to_owned(),
        }
    }
}

/// How a card is paid.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum Cards {
    /// Stripe.js from `js` (Stripe's, or a Stripe-protocol server's), with the account's
    /// publishable key (public by design: it can only create payment methods).
    Stripe { js: String, publishable_key: String },
    /// The local stack's simulated provider, confirmed through its control route.
    Simulated,
}

/// Stripe's own Stripe.js.
pub const STRIPE_JS: &str = "https://js.stripe.com/v3/";

impl Settings {
    /// Stripe.js with `STRIPE_PUBLISHABLE_KEY`, from `STRIPE_JS_URL` (Stripe's when unset), as
    /// `var` reads the environment's variables.
    pub fn stripe(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let key = var("STRIPE_PUBLISHABLE_KEY")
            .ok_or("the storefront needs STRIPE_PUBLISHABLE_KEY (pk_live_... or pk_test_...)")?;
        let js = var("STRIPE_JS_URL").unwrap_or_else(|| STRIPE_JS.to_owned());
        Ok(Self { cards: Cards::Stripe { js, publishable_key: key }, sign_in: None, media: MediaOrigins::default() })
    }

    /// As deployed: [`Settings::stripe`], the hosted sign-in at `AUTH_URL` for the app client
    /// `USER_POOL_CLIENT_ID`, and the images from `MEDIA_URL`, uploaded to `UPLOAD_ORIGIN`.
    pub fn deployed(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let needed = |name: &str| var(name).ok_or(format!("the storefront needs {name}"));
        let sign_in = SignIn::at(&needed("AUTH_URL")?, &needed("USER_POOL_CLIENT_ID")?);
        let media = MediaOrigins {
            images: Some(origin(&needed("MEDIA_URL")?)),
            uploads: Some(origin(&needed("UPLOAD_ORIGIN")?)),
        };
        Ok(Self { sign_in: Some(sign_in), media, ..Self::stripe(&var)? })
    }

    /// The pages' Content-Security-Policy: scripts, frames and calls to here and to the card
    /// provider only; no plugins, no framing, no inline script or style.
    pub fn content_security_policy(&self) -> String {
        let (script, frame, mut connect) = match &self.cards {
            // What Stripe documents for Stripe.js and its card element.
            Cards::Stripe { js, .. } if js.starts_with(STRIPE_JS) => (
                String::from("'self' https://js.stripe.com https://*.js.stripe.com"),
                String::from("https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"),
                String::from("'self' https://api.stripe.com"),
            ),
            Cards::Stripe { js, .. } => {
                let origin = origin(js);
                (format!("'self' {origin}"), origin.clone(), format!("'self' {origin}"))
            }
            Cards::Simulated => (String::from("'self'"), String::from("'none'"), String::from("'self'")),
        };
        // The pages trade the sign-in's code for tokens at its token endpoint, and the back office
        // PUTs uploads to the bucket.
        let calls = [self.sign_in.as_ref().map(|s| origin(&s.token_url)), self.media.uploads.clone()];
        for called in calls.into_iter().flatten() {
            if !connect.split(' ').any(|o| o == called) {
                connect = format!("{connect} {called}");
            }
        }
        // Images: the pages' own, and the products' from the CDN; no other origin.
        let img = match &self.media.images {
            Some(media) => format!("'self' data: {media}"),
            None => String::from("'self' data:"),
        };
        format!(
            "default-src 'self'; script-src {script}; style-src 'self'; img-src {img}; \
             connect-src {connect}; frame-src {frame}; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        )
    }
}

/// What `GET /storefront.json` says: the deployment's settings, and the shop's rules that the
/// pages mirror, read from here rather than copied into their scripts.
#[derive(Serialize)]
struct Told<'a> {
    #[serde(flatten)]
    settings: &'a Settings,
    rules: Rules,
}

/// The domain's limits a page applies before asking the API.
#[derive(Serialize)]
struct Rules {
    /// The most units of one product a cart line holds.
    max_quantity: i64,
    /// Each currency's digits of minor units (2 for EUR, 0 for JPY), as amounts count them.
    currency_digits: BTreeMap<&'static str, u32>,
}

impl Rules {
    fn of_the_shop() -> Self {
        let currency_digits = Currency::codes()
            .map(|code| (code, Currency::parse(code).expect("the shop's own codes parse").minor_digits()))
            .collect();
        Self { max_quantity: Quantity::MAX, currency_digits }
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// The pages, their files and their settings, under the API's conventions (`Cache-Control`,
/// conditional GETs by ETag, metrics per route).
pub fn router(settings: Settings) -> Router {
    use shop::http::conventions;
    let page_headers = std::sync::Arc::new(page_headers(&settings));
    let told = Told { settings: &settings, rules: Rules::of_the_shop() };
    let config = axum::body::Bytes::from(serde_json::to_vec(&told).expect("settings serialize"));
    let page = {
        let page_headers = page_headers.clone();
        get(move || std::future::ready(serve("index.html", &page_headers)))
    };
    let file = get(move |Path(path): Path<String>| std::future::ready(serve(&path, &page_headers)));
    // No ETag of its own: the conventions give it a digest of the body.
    let told = get(move || {
        let headers = [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")];
        std::future::ready((headers, config.clone()))
    });
    Router::new()
        .route("/", conventions("/", page))
        .route("/assets/{*path}", conventions("/assets/{*path}", file))
        .route("/storefront.json", conventions("/storefront.json", told))
}

/// What every page says besides its body: its policy, and that nobody may frame it or guess
/// its type.
fn page_headers(settings: &Settings) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let policy = HeaderValue::from_str(&settings.content_security_policy()).expect("a policy is a valid header");
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers
}

/// One file (a caller holding its ETag gets a 304 from the conventions), or a 404.
fn serve(path: &str, page_headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return shop::Error::NotFound("file").into_response();
    };
    let cache = if path.starts_with("vendor/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    if path.ends_with(".html") {
        headers.extend(page_headers.clone());
    }
    (headers, asset.body).into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn the_policy_admits_only_the_card_providers_origin() {
        let stripe = Settings {
            cards: Cards::Stripe { js: STRIPE_JS.into(), publishable_key: "pk_test_x".into() },
            sign_in: None,
            media: MediaOrigins::default(),
        };
        let policy = stripe.content_security_policy();
        assert!(policy.contains("script-src 'self' https://js.stripe.com https://*.js.stripe.com;"), "{policy}");
        assert!(policy.contains("img-src 'self' data:;"), "no image from elsewhere: {policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let local = Settings {
            cards: Cards::Stripe { js: "http://127.0.0.1:8420/js.stripe.com/v3/".into(), publishable_key: "pk".into() },
            sign_in: None,
            media: MediaOrigins::default(),
        };
        assert!(local.content_security_policy().contains("script-src 'self' http://127.0.0.1:8420;"));
        let simulated = Settings { cards: Cards::Simulated, sign_in: None, media: MediaOrigins::default() }
            .content_security_policy();
        assert!(simulated.contains("script-src 'self';") && simulated.contains("frame-src 'none';"), "{simulated}");
        assert!(!simulated.contains("unsafe"), "{simulated}");
        // The hosted sign-in's token endpoint is called from the page.
        let hosted = SignIn::at("https://shop.auth.eu-west-1.amazoncognito.com", "client");
        let signing_in = Settings { cards: Cards::Simulated, sign_in: Some(hosted), media: MediaOrigins::default() }
            .content_security_policy();
        assert!(
            signing_in.contains("connect-src 'self' https://shop.auth.eu-west-1.amazoncognito.com;"),
            "{signing_in}"
        );
        // Deployed, the images come from the CDN and uploads go to the bucket.
        let media = MediaOrigins {
            images: Some("https://d1.cloudfront.net".into()),
            uploads: Some("https://shop-objects.s3.eu-west-1.amazonaws.com".into()),
        };
        let deployed = Settings { cards: Cards::Simulated, sign_in: None, media }.content_security_policy();
        assert!(deployed.contains("img-src 'self' data: https://d1.cloudfront.net;"), "{deployed}");
        assert!(deployed.contains("connect-src 'self' https://shop-objects.s3.eu-west-1.amazonaws.com;"), "{deployed}");
    }

    async fn get(router: &Router, path: &str, etag: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = axum::http::Request::get(path);
        if let Some(tag) = etag {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        let answer = router.clone().oneshot(request.body(axum::body::Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = answer.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
    }

    /// Each answer says who may keep it and for how long, and a caller holding a file's ETag
    /// gets a bodiless 304 with the same policy; a file that is not there is a problem+json 404.
    #[tokio::test]
    async fn files_are_kept_as_their_kind_allows_and_revalidated_by_etag() {
        let router = shop::http::fallbacks(router(Settings {
            cards: Cards::Simulated,
            sign_in: None,
            media: MediaOrigins::default(),
        }));
        let kinds = [
            ("/", "no-cache", "text/html; charset=utf-8", true),
            ("/assets/js/app.js", "no-cache", "text/javascript; charset=utf-8", false),
            (
                "/assets/vendor/pico-2.1.1.min.css",
                "public, max-age=31536000, immutable",
                "text/css; charset=utf-8",
                false,
            ),
            ("/storefront.json", "no-cache", "application/json", false),
        ];
        for (path, policy, kind, page) in kinds {
            let (status, headers, body) = get(&router, path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CACHE_CONTROL], policy, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], kind, "{path}");
            assert_eq!(headers.contains_key(header::CONTENT_SECURITY_POLICY), page, "{path}");
            assert!(!body.is_empty(), "{path}");
            let etag = headers[header::ETAG].to_str().unwrap().to_owned();
            let (status, again, body) = get(&router, path, Some(&etag)).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(
                (&again[header::ETAG], &again[header::CACHE_CONTROL]),
                (&headers[header::ETAG], &headers[header::CACHE_CONTROL])
            );
            assert!(body.is_empty(), "{path}");
            let (status, ..) = get(&router, path, Some("\"stale\"")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        let (status, headers, body) = get(&router, "/assets/js/missing.js", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(headers[header::CACHE_CONTROL], shop::http::cache::NO_STORE);
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], 404);
    }

    /// `/storefront.json` tells how cards are paid and the rules the pages mirror.
    #[tokio::test]
    async fn the_settings_carry_the_rules_the_pages_mirror() {
        let (status, _, body) = get(
            &router(Settings { cards: Cards::Simulated, sign_in: None, media: MediaOrigins::default() }),
            "/storefront.json",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let told: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(told["cards"]["provider"], "simulated");
        assert_eq!(told["rules"]["max_quantity"], Quantity::MAX);
        let digits = &told["rules"]["currency_digits"];
        // HUF and IQD are among those whose digits a browser's own tables (CLDR) give otherwise.
        for (code, expected) in [("EUR", 2), ("JPY", 0), ("HUF", 2), ("IQD", 3)] {
            assert_eq!(digits[code], expected, "{code}");
        }
        assert_eq!(digits.as_object().unwrap().len(), Currency::codes().count());
    }

    #[test]
    fn every_asset_has_a_type_and_the_page_exists() {
        assert!(ASSETS.iter().any(|a| a.path == "index.html"));
        for asset in ASSETS {
            assert_ne!(content_type(asset.path), "application/octet-stream", "{}", asset.path);
        }
    }
}
