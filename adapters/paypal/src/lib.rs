//! `shop-paypal`: the payments port on PayPal Checkout (Orders v2 over PayPal's REST API, with
//! reqwest on rustls), and PayPal's webhook verification.
//!
//! A shop payment is a PayPal order with intent `CAPTURE`: created for the order's total, approved
//! by the buyer on PayPal's page (its `approve` link), then captured by the shop. Every unsafe
//! call carries a `PayPal-Request-Id` derived from the shop's own keys (the order and the
//! attempt, the PayPal order, the refund key), so a retried call never makes a second PayPal
//! order, capture or refund. The API base URL and the hosts webhook certificates may come from
//! are configurable, so tests run against a PayPal-protocol server.

mod amount;
mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use serde_json::{Value, json};
use shop::domain::Money;
use shop::orders::Order;
use shop::payments::{
    Deferred, PaymentProvider, PaymentStatus, Provider, ProviderError, ProviderPayment, RefundRequest, WebhookError,
    WebhookEvent,
};

pub use amount::{AmountError, from_value, paypal_digits, to_value};
pub use webhook::{AUTH_ALGO, CERT_URL, HEADERS, TRANSMISSION_ID, TRANSMISSION_SIG, TRANSMISSION_TIME};

/// PayPal's live REST API.
pub const LIVE: &str = "https://api-m.paypal.com";
/// PayPal's sandbox REST API.
pub const SANDBOX: &str = "https://api-m.sandbox.paypal.com";

/// The origins PayPal's webhook certificates are fetched from (the `PAYPAL-CERT-URL` header):
/// PayPal's API hosts, live and sandbox, over HTTPS. PayPal publishes no list; deliveries name
/// `api.paypal.com` and `api.sandbox.paypal.com`, and the `api-m` hosts serve the same API.
pub const CERT_ORIGINS: [&str; 4] = [
    "https://api.paypal.com",
    "https://api-m.paypal.com",
    "https://api.sandbox.paypal.com",
    "https://api-m.sandbox.paypal.com",
];

/// How long one call to PayPal may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The 422 issues that mean "not now" rather than "never": asked again with the same request id.
const TRANSIENT_ISSUES: [&str; 1] = ["ORDER_COMPLETION_IN_PROGRESS"];

/// The separator of the fields the shop writes into a refund's `custom_id`.
const CUSTOM_SEPARATOR: char = ',';

/// What the adapter needs of a PayPal REST app and its webhook.
#[derive(Clone)]
pub struct Config {
    /// PayPal's API ([`LIVE`], [`SANDBOX`], or a test server), without a trailing slash.
    pub api_base: String,
    pub client_id: String,
    pub client_secret: String,
    /// The id PayPal gave the shop's webhook: part of every signed message.
    pub webhook_id: String,
    /// The origins (`scheme://host[:port]`) a webhook's certificate may be fetched from; a
    /// certificate URL elsewhere is refused without being fetched. By default [`CERT_ORIGINS`].
    pub cert_origins: Vec<String>,
}

impl Config {
    /// The live API, with certificates from PayPal's hosts only.
    pub fn new(client_id: &str, client_secret: &str, webhook_id: &str) -> Self {
        Self {
            api_base: LIVE.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            webhook_id: webhook_id.to_owned(),
            cert_origins: CERT_ORIGINS.iter().map(|&o| o.to_owned()).collect(),
        }
    }

    /// Another API base ([`SANDBOX`], or a test server).
    pub fn api_base(mut self, base: &str) -> Self {
        base.trim_end_matches('/').clone_into(&mut self.api_base);
        self
    }

    /// Other origins to fetch webhook certificates from, instead of PayPal's (tests only).
    pub fn cert_origins<S: Into<String>>(mut self, origins: impl IntoIterator<Item = S>) -> Self {
        self.cert_origins = origins.into_iter().map(Into::into).collect();
        self
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("api_base", &self.api_base)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("webhook_id", &self.webhook_id)
            .field("cert_origins", &self.cert_origins)
            .finish()
    }
}

/// An OAuth access token and when to get the next one.
struct Token {
    value: String,
    renew_at: Instant,
}

/// PayPal, with a REST app's credentials and the shop's webhook.
pub struct PaypalPayments {
    http: reqwest::Client,
    config: Config,
    /// The origins certificates may come from, as `Url::origin` writes them.
    cert_origins: Vec<String>,
    /// The current access token, shared by every call until shortly before it expires.
    token: tokio::sync::Mutex<Option<Token>>,
    /// Webhook certificates by URL: each is fetched once.
    certs: std::sync::Mutex<HashMap<String, Arc<CertificateDer<'static>>>>,
}

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
        })
    }

    /// A valid access token: the cached one, or a new one when it is about to expire.
    async fn token(&self) -> Result<String, ProviderError> {
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
    async fn forget(&self, used: &str) {
        let mut held = self.token.lock().await;
        if held.as_ref().is_some_and(|t| t.value == used) {
            *held = None;
        }
    }

    /// `POST /v1/oauth2/token` with the client credentials (HTTP Basic).
    async fn fetch_token(&self) -> Result<Token, ProviderError> {
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
    async fn send(
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
    async fn order(&self, id: &str) -> Result<PaypalOrder, ProviderError> {
        self.send(Method::GET, &format!("/v2/checkout/orders/{}", path_id(id)?), None, None).await?.read()
    }

    /// The origin-checked, cached certificate at `url`.
    async fn certificate(&self, url: &str) -> Result<Arc<CertificateDer<'static>>, WebhookError> {
        if let Some(cert) = self.certs.lock().map_err(|_| poisoned())?.get(url) {
            return Ok(cert.clone());
        }
        let parsed = reqwest::Url::parse(url).map_err(|_| WebhookError::BadSignature)?;
        let origin = parsed.origin().ascii_serialization();
        let allowed = self.cert_origins.contains(&origin)
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.path().starts_with("/v1/notifications/certs/");
        if !allowed {
            tracing::warn!(url, "webhook certificate URL outside PayPal: refused");
            return Err(WebhookError::BadSignature);
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
        self.certs.lock().map_err(|_| poisoned())?.insert(url.to_owned(), cert.clone());
        Ok(cert)
    }
}

fn poisoned() -> WebhookError {
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
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    /// The resource of a successful answer; the failure in the port's terms otherwise.
    fn read<T: serde::de::DeserializeOwned>(self) -> Result<T, ProviderError> {
        if !self.status.is_success() {
            return Err(self.failed());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("PayPal's answer ({}): {e}", self.status)))
    }

    /// PayPal's error body (`name`, `message`, `details[].issue`), or an empty one.
    fn error(&self) -> ApiError {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// A PayPal failure in the port's terms: a request PayPal will not do as made (400, 422) is
    /// refused, an unknown resource is not found, and the rest (401 twice, 403, 409 "still in
    /// progress", 422 `ORDER_COMPLETION_IN_PROGRESS`, 429, 5xx) may be asked again with the same
    /// request id.
    fn failed(&self) -> ProviderError {
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
struct ApiError {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    debug_id: Option<String>,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    issue: String,
    #[serde(default)]
    description: Option<String>,
}

impl ApiError {
    /// The first detail's issue (`ORDER_NOT_APPROVED`, `REFUND_AMOUNT_EXCEEDED`).
    fn issue(&self) -> Option<&str> {
        self.details.first().map(|d| d.issue.as_str())
    }

    fn describe(&self) -> String {
        match self.details.first() {
            Some(detail) => format!("{}: {}", detail.issue, detail.description.as_deref().unwrap_or("")),
            None => format!("{}: {}", self.name.as_deref().unwrap_or("error"), self.message.as_deref().unwrap_or("")),
        }
    }
}

fn unreachable(e: reqwest::Error) -> ProviderError {
    ProviderError::Unavailable(anyhow::anyhow!("PayPal: {e}"))
}

/// An id as a path segment: PayPal's ids are upper-case letters and digits; anything else is
/// no PayPal resource (and never reaches a URL).
fn path_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ProviderError::NotFound)
    }
}

/// `money` in PayPal's terms.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PaypalMoney {
    currency_code: String,
    value: String,
}

impl PaypalMoney {
    fn of(money: Money) -> Result<Value, AmountError> {
        Ok(json!({"currency_code": money.currency.as_str(), "value": to_value(money)?}))
    }

    fn money(&self) -> Result<Money, AmountError> {
        from_value(&self.value, &self.currency_code)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Link {
    href: String,
    rel: String,
}

/// An Orders v2 `order`, as far as the shop reads it.
#[derive(Debug, Deserialize)]
struct PaypalOrder {
    id: String,
    status: String,
    #[serde(default)]
    purchase_units: Vec<PurchaseUnit>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct PurchaseUnit {
    #[serde(default)]
    amount: Option<PaypalMoney>,
    #[serde(default)]
    payments: Option<UnitPayments>,
}

#[derive(Debug, Deserialize)]
struct UnitPayments {
    #[serde(default)]
    captures: Vec<Capture>,
}

/// A `capture` (in an order, or a webhook's resource).
#[derive(Debug, Deserialize)]
pub(crate) struct Capture {
    id: String,
    status: String,
    #[serde(default)]
    amount: Option<PaypalMoney>,
    #[serde(default)]
    status_details: Option<StatusDetails>,
    #[serde(default)]
    custom_id: Option<String>,
    #[serde(default)]
    supplementary_data: Option<SupplementaryData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusDetails {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SupplementaryData {
    #[serde(default)]
    related_ids: Option<RelatedIds>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RelatedIds {
    #[serde(default)]
    order_id: Option<String>,
}

impl Capture {
    /// The PayPal order it belongs to, as the resource says.
    fn order_id(&self) -> Option<&str> {
        self.supplementary_data.as_ref()?.related_ids.as_ref()?.order_id.as_deref()
    }

    /// Whether it took the money: completed, and possibly refunded since.
    fn took(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED")
    }

    fn refused(&self) -> bool {
        matches!(self.status.as_str(), "DECLINED" | "FAILED")
    }
}

/// A `refund` resource.
#[derive(Debug, Deserialize)]
pub(crate) struct PaypalRefund {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_details: Option<StatusDetails>,
    #[serde(default)]
    amount: Option<PaypalMoney>,
    #[serde(default)]
    custom_id: Option<String>,
    #[serde(default)]
    links: Vec<Link>,
}

impl PaypalOrder {
    fn captures(&self) -> impl Iterator<Item = &Capture> {
        self.purchase_units.iter().filter_map(|u| u.payments.as_ref()).flat_map(|p| &p.captures)
    }

    /// The capture that took the money, if one did.
    fn taken(&self) -> Option<&Capture> {
        self.captures().find(|c| c.took())
    }

    /// The order in the port's terms: succeeded once completed with a capture that took the
    /// money (its amount then); failed when voided or its capture was declined; pending else.
    /// `asked` stands for the amount when PayPal answered the minimal representation.
    fn described(&self, asked: Option<Money>) -> Result<ProviderPayment, ProviderError> {
        let taken = self.taken().filter(|_| self.status == "COMPLETED");
        let status = if taken.is_some() {
            PaymentStatus::Succeeded
        } else if self.status == "VOIDED" || self.captures().any(Capture::refused) {
            PaymentStatus::Failed
        } else {
            PaymentStatus::Pending
        };
        let amount = taken
            .and_then(|c| c.amount.as_ref())
            .or_else(|| self.purchase_units.first().and_then(|u| u.amount.as_ref()))
            .map(PaypalMoney::money)
            .transpose()
            .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("PayPal order {}: {e}", self.id)))?
            .or(asked)
            .ok_or_else(|| ProviderError::Unavailable(anyhow::anyhow!("PayPal order {} has no amount", self.id)))?;
        let approve_url = self
            .links
            .iter()
            .find(|l| l.rel == "approve" || l.rel == "payer-action")
            .filter(|_| status == PaymentStatus::Pending)
            .map(|l| l.href.clone());
        Ok(ProviderPayment { id: self.id.clone(), status, amount, client_secret: None, approve_url })
    }
}

/// The refund's `custom_id`: what its webhook needs to find the shop's refund (the shop's
/// order, the PayPal order, the shop's refund key), at most 127 characters.
fn refund_custom_id(refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
    let custom = format!("{}{CUSTOM_SEPARATOR}{}{CUSTOM_SEPARATOR}{}", refund.order, refund.payment_id, refund.key);
    if custom.len() > 127 || !custom.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.,".contains(&b)) {
        return Err(ProviderError::Refused(format!("the refund key {:?} does not fit PayPal's custom_id", refund.key)));
    }
    Ok(custom)
}

#[async_trait]
impl PaymentProvider for PaypalPayments {
    fn provider(&self) -> Provider {
        Provider::Paypal
    }

    /// `POST /v2/checkout/orders` with intent `CAPTURE` and one purchase unit whose
    /// `reference_id` and `custom_id` are the shop's order id; the request id is
    /// `order-{order}-payment-{attempt}`. Answers the PayPal order, pending, with the link where
    /// the buyer approves it.
    async fn create(&self, order: &Order, attempt: u32) -> Result<ProviderPayment, ProviderError> {
        let amount = PaypalMoney::of(order.total).map_err(|e| ProviderError::Refused(e.to_string()))?;
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": order.id.to_string(),
                "custom_id": order.id.to_string(),
                "amount": amount,
            }],
        });
        let request_id = format!("order-{}-payment-{attempt}", order.id);
        let made: PaypalOrder =
            self.send(Method::POST, "/v2/checkout/orders", Some(&request_id), Some(&body)).await?.read()?;
        made.described(Some(order.total))
    }

    /// `GET /v2/checkout/orders/{id}`.
    async fn retrieve(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        self.order(payment_id).await?.described(None)
    }

    /// `POST /v2/checkout/orders/{id}/capture` with the request id `capture-{id}`. An order the
    /// buyer has not approved yet is refused (`ORDER_NOT_APPROVED`); one captured already
    /// answers as it is.
    async fn capture(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        let id = path_id(payment_id)?;
        let path = format!("/v2/checkout/orders/{id}/capture");
        let answer = self.send(Method::POST, &path, Some(&format!("capture-{id}")), Some(&json!({}))).await?;
        if answer.status == StatusCode::UNPROCESSABLE_ENTITY && answer.error().issue() == Some("ORDER_ALREADY_CAPTURED")
        {
            return self.retrieve(id).await;
        }
        answer.read::<PaypalOrder>()?.described(None)
    }

    /// PayPal cannot cancel an order with intent `CAPTURE`: one the buyer has not approved, or
    /// that was approved but never captured, takes no money and expires at PayPal by itself.
    /// So this answers Ok for any order that took no money, and refuses a captured one (which
    /// [`shop::payments::Payments::settle_before_expiry`] then settles as paid).
    async fn cancel(&self, payment_id: &str) -> Result<(), ProviderError> {
        let order = self.order(payment_id).await?;
        if order.described(None)?.status == PaymentStatus::Succeeded {
            return Err(ProviderError::Refused(format!("PayPal order {} is captured", order.id)));
        }
        Ok(())
    }

    /// Finds the order's capture, then `POST /v2/payments/captures/{capture}/refund` with the
    /// amount, the request id `refund-{key}`, and a `custom_id` of `{order},{PayPal order},{key}`
    /// that PayPal echoes in the refund's webhook. Answers PayPal's refund id.
    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
        let custom_id = refund_custom_id(refund)?;
        let order = self.order(refund.payment_id).await?;
        let capture = order
            .taken()
            .ok_or_else(|| ProviderError::Refused(format!("PayPal order {} has taken no money", order.id)))?;
        let amount = PaypalMoney::of(refund.amount).map_err(|e| ProviderError::Refused(e.to_string()))?;
        let body = json!({"amount": amount, "custom_id": custom_id});
        let path = format!("/v2/payments/captures/{}/refund", path_id(&capture.id)?);
        let request_id = format!("refund-{}", refund.key);
        let made: PaypalRefund = self.send(Method::POST, &path, Some(&request_id), Some(&body)).await?.read()?;
        match made.status.as_deref() {
            Some("FAILED" | "CANCELLED") => Err(ProviderError::Refused(format!(
                "PayPal refund {} {}: {}",
                made.id,
                made.status.as_deref().unwrap_or_default(),
                made.status_details.and_then(|d| d.reason).unwrap_or_default()
            ))),
            _ => Ok(made.id),
        }
    }

    /// PayPal's offline verification of the delivery on its raw body, then its event in the
    /// shop's terms (the `webhook` module).
    async fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        webhook::verify(self, headers, body).await
    }
}
