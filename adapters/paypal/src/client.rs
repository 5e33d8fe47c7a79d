//! The HTTP client: OAuth tokens, calls with their request ids, PayPal's answers and errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use serde_json::Value;
use shop::payments::{Deferred, Provider, ProviderError, WebhookError};

use crate::config::Config;
use crate::resources::PaypalOrder;
use crate::webhook;

/// How long one call to PayPal may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(20);

/// The 422 issues that mean "not now" rather than "never": asked again with the same request id.
pub(crate) const TRANSIENT_ISSUES: [&str; 1] = ["ORDER_COMPLETION_IN_PROGRESS"];

/// An OAuth access token and when to get the next one.
pub(crate) struct Token {
    pub(crate) value: String,
    pub(crate) renew_at: Instant,
}

/// PayPal, with a REST app's credentials and the shop's webhook.
pub struct PaypalPayments {
    pub(crate) http: reqwest::Client,
    pub(crate) config: Config,
    /// The origins certificates may come from, as `Url::origin` writes them.
    pub(crate) cert_origins: Vec<String>,
    /// The current access token, shared by every call until shortly before it expires.
    pub(crate) token: tokio::sync::Mutex<Option<Token>>,
    /// Webhook certificates by origin and path: each is fetched once, at most
    /// [`MAX_CERTIFICATES`] kept.
    pub(crate) certs: std::sync::Mutex<HashMap<String, Arc<CertificateDer<'static>>>>,
    /// The transmission ids of deliveries verified lately, each with when it was sent.
    pub(crate) transmissions: std::sync::Mutex<HashMap<String, i64>>,
}

/// Certificates kept: PayPal signs with one at a time and rotates it rarely, so a handful
/// covers a rotation, and a sender naming ever new paths cannot grow the cache.
pub(crate) const MAX_CERTIFICATES: usize = 8;
/// Transmission ids remembered: more than PayPal delivers to one webhook within the window.
pub(crate) const MAX_TRANSMISSIONS: usize = 10_000;

impl PaypalPayments {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        shop_aws::default_tls_crypto();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // Neither the API nor a certificate host has a reason to send the shop elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| anyhow::anyhow!("configuring the PayPal client: {e}"))?;
        let cert_origins = config
            .cert_origins
            .iter()
            .map(|o| {
                reqwest::Url::parse(o)
                    .map(|u| u.origin().ascii_serialization())
                    .map_err(|e| anyhow::anyhow!("the certificate origin {o:?}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            http,
            config,
            cert_origins,
            token: tokio::sync::Mutex::new(None),
            certs: std::sync::Mutex::new(HashMap::new()),
            transmissions: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A valid access token: the cached one, or a new one when it is about to expire.
    pub(crate) async fn token(&self) -> Result<String, ProviderError> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *held = Some(fresh);
        Ok(value)
    }

    /// Drops `used` (PayPal refused it) unless another call replaced it already.
    pub(crate) async fn forget(&self, used: &str) {
        let mut held = self.token.lock().await;
        if held.as_ref().is_some_and(|t| t.value == used) {
            *held = None;
        }
    }

    /// `POST /v1/oauth2/token` with the client credentials (HTTP Basic).
    pub(crate) async fn fetch_token(&self) -> Result<Token, ProviderError> {
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let asked = Instant::now();
        let response = self
            .http
            .post(format!("{}/v1/oauth2/token", self.config.api_base))
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            // `{"error": "invalid_client", "error_description": "..."}`: never the credentials.
            let error: Value = serde_json::from_slice(&body).unwrap_or_default();
            return Err(ProviderError::Unavailable(anyhow::anyhow!(
                "PayPal refused an access token ({status}): {} {}",
                error["error"].as_str().unwrap_or(""),
                error["error_description"].as_str().unwrap_or("")
            )));
        }
        let granted: Granted = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("PayPal's access token: {e}")))?;
        // Renewed a minute before it runs out (at half-life for a token shorter than two); PayPal's
        // last about nine hours, and no answer makes one outlive a day here.
        let lifetime = Duration::from_secs(granted.expires_in.min(24 * 3600));
        let renew_at = asked + lifetime - Duration::from_secs(60).min(lifetime / 2);
        Ok(Token { value: granted.access_token, renew_at })
    }

    /// One REST call with the current token, asked again once with a new token when PayPal
    /// answers 401 (a token revoked or expired early). `body` goes as JSON with `Prefer:
    /// return=representation`, so PayPal answers the whole resource.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        request_id: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let mut request =
                self.http.request(method.clone(), format!("{}{path}", self.config.api_base)).bearer_auth(&token);
            if let Some(id) = request_id {
                request = request.header("PayPal-Request-Id", id);
            }
            if let Some(body) = body {
                request = request.header("Prefer", "return=representation").json(body);
            }
            let response = request.send().await.map_err(unreachable)?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!(path, "PayPal refused the access token: getting a new one");
                self.forget(&token).await;
                renewed = true;
                continue;
            }
            let body = response.bytes().await.map_err(unreachable)?;
            return Ok(Answer { status, body: body.to_vec() });
        }
    }

    /// `GET /v2/checkout/orders/{id}`.
    pub(crate) async fn order(&self, id: &str) -> Result<PaypalOrder, ProviderError> {
        self.send(Method::GET, &format!("/v2/checkout/orders/{}", path_id(id)?), None, None).await?.read()
    }

    /// The origin-checked, cached certificate at `url`: one of PayPal's certificate paths on
    /// the configured environment's hosts, with no query or fragment (which could make one
    /// certificate many cache entries).
    pub(crate) async fn certificate(&self, url: &str) -> Result<Arc<CertificateDer<'static>>, WebhookError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| WebhookError::BadSignature)?;
        let origin = parsed.origin().ascii_serialization();
        let allowed = self.cert_origins.contains(&origin)
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.query().is_none()
            && parsed.fragment().is_none()
            && parsed.path().starts_with("/v1/notifications/certs/");
        if !allowed {
            tracing::warn!(url, "webhook certificate URL outside PayPal: refused");
            return Err(WebhookError::BadSignature);
        }
        let key = format!("{origin}{}", parsed.path());
        if let Some(cert) = self.certs.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(cert.clone());
        }
        let response = self
            .http
            .get(parsed)
            .send()
            .await
            .map_err(|e| WebhookError::Unavailable(format!("fetching PayPal's certificate {url}: {e}")))?;
        let status = response.status();
        if status.is_client_error() {
            // PayPal has no such certificate: the sender named one that is not PayPal's.
            return Err(WebhookError::BadSignature);
        }
        if !status.is_success() {
            return Err(WebhookError::Unavailable(format!("fetching PayPal's certificate {url}: {status}")));
        }
        let pem = response
            .bytes()
            .await
            .map_err(|e| WebhookError::Unavailable(format!("reading PayPal's certificate {url}: {e}")))?;
        let cert = webhook::parse_certificate(&pem)?;
        let cert = Arc::new(cert);
        let mut certs = self.certs.lock().map_err(|_| poisoned())?;
        if certs.len() >= MAX_CERTIFICATES {
            // A rotation or a sender naming many paths: start over rather than grow.
            certs.clear();
        }
        certs.insert(key, cert.clone());
        Ok(cert)
    }

    /// Remembers a verified delivery's transmission id; false if it was seen within the
    /// window already (a replay). Per execution environment: a replay reaching another one is
    /// still applied at most once, by its event id the shop keeps in the table.
    pub(crate) fn first_transmission(&self, id: &str, sent: i64, window: i64) -> Result<bool, WebhookError> {
        let mut seen = self.transmissions.lock().map_err(|_| poisoned())?;
        let now = shop::time::epoch_now();
        if seen.len() >= MAX_TRANSMISSIONS {
            seen.retain(|_, at| now - *at <= window);
            if seen.len() >= MAX_TRANSMISSIONS {
                // Still full within the window: start over rather than refuse deliveries.
                seen.clear();
            }
        }
        Ok(seen.insert(id.to_owned(), sent).is_none())
    }
}

pub(crate) fn poisoned() -> WebhookError {
    WebhookError::Unavailable("the certificate cache is poisoned".into())
}

/// PayPal as configured in AWS: the fields `client_id`, `client_secret` and `webhook_id` (and,
/// for the sandbox, `api_base`) of the JSON secret named by `PAYPAL_SECRET_ARN`, read at the
/// first payment or webhook, once per execution environment.
pub fn from_secrets_manager(config: &aws_config::SdkConfig) -> anyhow::Result<Deferred<PaypalPayments>> {
    shop_secrets::provider(config, "PAYPAL_SECRET_ARN", Provider::Paypal, |fields| {
        let config = Config::new(fields.get("client_id")?, fields.get("client_secret")?, fields.get("webhook_id")?);
        PaypalPayments::new(match fields.get("api_base") {
            Ok(base) => config.api_base(base),
            Err(_) => config,
        })
    })
}

/// A PayPal answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The resource of a successful answer; the failure in the port's terms otherwise.
    pub(crate) fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, ProviderError> {
        if !self.status.is_success() {
            return Err(self.failed());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("PayPal's answer ({}): {e}", self.status)))
    }

    /// PayPal's error body (`name`, `message`, `details[].issue`), or an empty one.
    pub(crate) fn error(&self) -> ApiError {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// A PayPal failure in the port's terms: a request PayPal will not do as made (400, 422) is
    /// refused, an unknown resource is not found, and the rest (401 twice, 403, 409 "still in
    /// progress", 422 `ORDER_COMPLETION_IN_PROGRESS`, 429, 5xx) may be asked again with the same
    /// request id.
    pub(crate) fn failed(&self) -> ProviderError {
        let error = self.error();
        let transient = error.issue().is_some_and(|i| TRANSIENT_ISSUES.contains(&i));
        match self.status {
            StatusCode::NOT_FOUND => ProviderError::NotFound,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY if !transient => {
                ProviderError::Refused(error.describe())
            }
            status => ProviderError::Unavailable(anyhow::anyhow!(
                "PayPal answered {status}: {} (debug id {})",
                error.describe(),
                error.debug_id.as_deref().unwrap_or("none")
            )),
        }
    }
}

/// PayPal's error body.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiError {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) debug_id: Option<String>,
    #[serde(default)]
    pub(crate) details: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    pub(crate) issue: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
}

impl ApiError {
    /// The first detail's issue (`ORDER_NOT_APPROVED`, `REFUND_AMOUNT_EXCEEDED`).
    pub(crate) fn issue(&self) -> Option<&str> {
        self.details.first().map(|d| d.issue.as_str())
    }

    pub(crate) fn describe(&self) -> String {
        match self.details.first() {
            Some(detail) => format!("{}: {}", detail.issue, detail.description.as_deref().unwrap_or("")),
            None => format!("{}: {}", self.name.as_deref().unwrap_or("error"), self.message.as_deref().unwrap_or("")),
        }
    }
}

pub(crate) fn unreachable(e: reqwest::Error) -> ProviderError {
    ProviderError::Unavailable(anyhow::anyhow!("PayPal: {e}"))
}

/// An id as a path segment: PayPal's ids are upper-case letters and digits; anything else is
/// no PayPal resource (and never reaches a URL).
pub(crate) fn path_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ProviderError::NotFound)
    }
}
