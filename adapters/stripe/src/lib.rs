//! `shop-stripe`: the payments port on Stripe PaymentIntents, over Stripe's REST API with the
//! few requests and fields the shop uses (the API's own form encoding, typed answers), and
//! Stripe's webhook scheme ([`shop::signatures`]), which the local stack's simulated provider
//! signs with too, so that the same verification runs everywhere.
//!
//! Every unsafe call carries the shop's own idempotency key: a PaymentIntent's is the order and
//! the attempt, a refund's the shop's refund key. A retried request therefore never makes a
//! second PaymentIntent or a second refund. The base URL is configurable, so tests run against a
//! Stripe-protocol server.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shop::domain::{Currency, Money, OrderId};
use shop::orders::Order;
use shop::payments::{
    Deferred, PaymentProvider, PaymentStatus, Provider, ProviderError, ProviderPayment, RefundRequest, WebhookError,
    WebhookEvent, WebhookKind,
};
use shop_secrets::JsonSecret;

/// The metadata key naming the shop's order on a PaymentIntent and a refund (sent as the form
/// field `metadata[order_id]`).
pub const ORDER_ID: &str = "order_id";
/// The metadata key carrying the shop's refund key on a refund (`metadata[refund_key]`).
pub const REFUND_KEY: &str = "refund_key";
/// The API version every request is made in, so that an account's default version never
/// changes what the shop reads.
pub const API_VERSION: &str = "2026-09-30.endive";
/// Stripe's own API.
const STRIPE: &str = "https://api.stripe.com";
/// How long one call to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Stripe, with the account's secret key and, where webhooks are taken, the webhook
/// endpoint's signing secret.
pub struct StripePayments {
    http: reqwest::Client,
    api_base: String,
    secret_key: String,
    webhook_secret: Option<String>,
}

impl StripePayments {
    /// A client of `api_base` (Stripe itself when `None`) that verifies webhooks with
    /// `webhook_secret`.
    pub fn new(secret_key: &str, webhook_secret: &str, api_base: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self { webhook_secret: Some(webhook_secret.to_owned()), ..Self::calling(secret_key, api_base)? })
    }

    /// A client that only calls Stripe: it takes no webhook (the refunds and the expiry job,
    /// which are never given the signing secret).
    pub fn calling(secret_key: &str, api_base: Option<&str>) -> anyhow::Result<Self> {
        shop_aws::default_tls_crypto();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| anyhow::anyhow!("configuring the Stripe client: {e}"))?;
        Ok(Self {
            http,
            api_base: api_base.unwrap_or(STRIPE).trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            webhook_secret: None,
        })
    }

    /// One API call: `form` as the body of a POST (with the idempotency key `key`), none for a
    /// GET. Stripe's refusals (4xx with an error object) are final; the rest may be retried
    /// with the same key.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        key: Option<String>,
    ) -> Result<T, ProviderError> {
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.api_base))
            .bearer_auth(&self.secret_key)
            .header("stripe-version", API_VERSION);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if !form.is_empty() {
            request = request.form(form);
        }
        let unavailable = |e: reqwest::Error| ProviderError::Unavailable(anyhow::anyhow!("Stripe {path}: {e}"));
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("Stripe {path}'s answer: {e}")));
        }
        let error = serde_json::from_slice::<Refusal>(&body).map(|r| r.error).unwrap_or_default();
        Err(match status {
            StatusCode::NOT_FOUND => {
                tracing::debug!(message = ?error.message, "Stripe: not found");
                ProviderError::NotFound
            }
            s if s.is_client_error() && s != StatusCode::CONFLICT && s != StatusCode::TOO_MANY_REQUESTS => {
                ProviderError::Refused(error.message.or(error.code).unwrap_or_default())
            }
            s => {
                ProviderError::Unavailable(anyhow::anyhow!("Stripe {path}: {s} {}", error.message.unwrap_or_default()))
            }
        })
    }

    async fn intent(&self, payment_id: &str) -> Result<Intent, ProviderError> {
        self.call(Method::GET, &format!("payment_intents/{}", path_id(payment_id)?), &[], None).await
    }
}

/// Stripe as configured in AWS for calling it only (the refunds, the expiry job): its secret
/// key is the field `secret_key` of the JSON secret named by `STRIPE_SECRET_ARN`.
pub fn from_secrets_manager(config: &aws_config::SdkConfig) -> anyhow::Result<Deferred<StripePayments>> {
    Ok(reading(JsonSecret::from_env(config, "STRIPE_SECRET_ARN")?, None))
}

/// Stripe as configured in AWS for the payments function, which also takes its webhooks: the
/// signing secret is the field `webhook_secret` of the JSON secret named by
/// `STRIPE_WEBHOOK_SECRET_ARN`, a secret of its own, so that what only calls Stripe cannot
/// forge its deliveries.
pub fn with_webhooks_from_secrets_manager(config: &aws_config::SdkConfig) -> anyhow::Result<Deferred<StripePayments>> {
    let signing = JsonSecret::from_env(config, "STRIPE_WEBHOOK_SECRET_ARN")?;
    Ok(reading(JsonSecret::from_env(config, "STRIPE_SECRET_ARN")?, Some(signing)))
}

/// Stripe built from the secret key in `key` (field `secret_key`) and, when given, the webhook
/// signing secret in `signing` (field `webhook_secret`), both read at the first payment or
/// webhook, once per execution environment (and again after [`shop_secrets::MAX_AGE`]).
pub fn reading(key: JsonSecret, signing: Option<JsonSecret>) -> Deferred<StripePayments> {
    let built = shop::deferred::Deferred::new(move || {
        let (key, signing) = (key.clone(), signing.clone());
        async move {
            let Some(signing) = signing else {
                return StripePayments::calling(key.read().await?.get("secret_key")?, None);
            };
            let (key, signing) = tokio::try_join!(key.read(), signing.read())?;
            StripePayments::new(key.get("secret_key")?, signing.get("webhook_secret")?, None)
        }
    });
    Deferred::new(Provider::Stripe, built.max_age(shop_secrets::MAX_AGE))
}

/// Stripe's error answer: `{"error": {"message", "code", ...}}`.
#[derive(Deserialize)]
struct Refusal {
    error: StripeError,
}

#[derive(Default, Deserialize)]
struct StripeError {
    message: Option<String>,
    code: Option<String>,
}

/// A PaymentIntent, as far as the shop reads one.
#[derive(Deserialize)]
struct Intent {
    id: String,
    status: String,
    amount: i64,
    #[serde(default)]
    amount_received: i64,
    currency: String,
    client_secret: Option<String>,
    last_payment_error: Option<StripeError>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

impl Intent {
    fn status(&self) -> PaymentStatus {
        match self.status.as_str() {
            "succeeded" => PaymentStatus::Succeeded,
            "canceled" => PaymentStatus::Failed,
            "requires_payment_method" if self.last_payment_error.is_some() => PaymentStatus::Failed,
            _ => PaymentStatus::Pending,
        }
    }

    fn described(self) -> Result<ProviderPayment, ProviderError> {
        let amount = if self.status == "succeeded" { self.amount_received } else { self.amount };
        Ok(ProviderPayment {
            status: self.status(),
            amount: money(amount, &self.currency).map_err(|e| ProviderError::Unavailable(anyhow::anyhow!(e)))?,
            id: self.id,
            client_secret: self.client_secret,
            approve_url: None,
        })
    }
}

/// A refund, as far as the shop reads one.
#[derive(Deserialize)]
struct Refund {
    id: String,
    status: Option<String>,
    amount: i64,
    currency: String,
    payment_intent: Option<Expandable>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

/// A related object: its id, or the object itself when the request expanded it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn id(self) -> String {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// Stripe's lower-case code as the shop's currency.
fn money(amount: i64, currency: &str) -> Result<Money, String> {
    Currency::parse(&currency.to_ascii_uppercase())
        .map(|currency| Money { amount, currency })
        .map_err(|e| e.to_string())
}

/// A Stripe id fit for a URL path (Stripe's ids are letters, digits and `_`).
fn path_id(id: &str) -> Result<&str, ProviderError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(ProviderError::NotFound)
    }
}

#[async_trait]
impl PaymentProvider for StripePayments {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    async fn create(&self, order: &Order, attempt: u32) -> Result<ProviderPayment, ProviderError> {
        let (amount, id) = (order.total.amount.to_string(), order.id.to_string());
        let currency = order.total.currency.as_str().to_ascii_lowercase();
        let form = [("amount", amount.as_str()), ("currency", &currency), ("metadata[order_id]", &id)];
        let key = format!("order-{id}-payment-{attempt}");
        let intent: Intent = self.call(Method::POST, "payment_intents", &form, Some(key)).await?;
        intent.described()
    }

    async fn retrieve(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        self.intent(payment_id).await?.described()
    }

    async fn capture(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        let intent = self.intent(payment_id).await?;
        if intent.status != "requires_capture" {
            return intent.described();
        }
        let path = format!("payment_intents/{}/capture", intent.id);
        let captured: Intent = self.call(Method::POST, &path, &[], Some(format!("capture-{}", intent.id))).await?;
        captured.described()
    }

    async fn cancel(&self, payment_id: &str) -> Result<(), ProviderError> {
        let path = format!("payment_intents/{}/cancel", path_id(payment_id)?);
        let _: serde::de::IgnoredAny =
            self.call(Method::POST, &path, &[], Some(format!("cancel-{payment_id}"))).await?;
        Ok(())
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
        let (amount, order) = (refund.amount.amount.to_string(), refund.order.to_string());
        let form = [
            ("payment_intent", refund.payment_id),
            ("amount", &amount),
            ("metadata[order_id]", &order),
            ("metadata[refund_key]", refund.key),
        ];
        let key = format!("refund-{}", refund.key);
        let made: Refund = self.call(Method::POST, "refunds", &form, Some(key)).await?;
        Ok(made.id)
    }

    async fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let secret = self.webhook_secret.as_deref();
        let secret = secret.ok_or_else(|| WebhookError::Unavailable("this client takes no Stripe webhook".into()))?;
        verify(secret, headers, body)
    }
}

/// The header Stripe signs its deliveries in.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// A Stripe event: its object is read only when the shop acts on its type.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Verifies a Stripe-signed delivery on its raw body (HMAC-SHA256 over `"{t}.{body}"`, at most
/// 300 s from now) and reads what it says.
pub fn verify(secret: &str, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let signature =
        headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).ok_or(WebhookError::MissingSignature)?;
    shop::signatures::verify(secret, signature, body, shop::time::epoch_now())?;
    let event: Event = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let ignored = |id: String, why: String| Ok(WebhookEvent { id, order_id: None, kind: WebhookKind::Ignored(why) });
    // Signed and fresh: an object the shop cannot read is refused when it acts on the event's
    // type (Stripe delivers it again, and the refusal is alarmed); other types are not read.
    let malformed = |e: String| WebhookError::Malformed(format!("{}: {e}", event.kind));
    let order_of = |metadata: &HashMap<String, String>| metadata.get(ORDER_ID).and_then(|id| OrderId::parse(id).ok());
    let (order_id, kind) = match event.kind.as_str() {
        kind @ ("payment_intent.succeeded" | "payment_intent.payment_failed" | "payment_intent.canceled") => {
            let intent: Intent = serde_json::from_value(event.data.object).map_err(|e| malformed(e.to_string()))?;
            let order_id = order_of(&intent.metadata);
            let payment_id = intent.id;
            let kind = match kind {
                "payment_intent.succeeded" => WebhookKind::Succeeded {
                    amount: money(intent.amount_received, &intent.currency).map_err(malformed)?,
                    payment_id,
                },
                "payment_intent.payment_failed" => {
                    let error = intent.last_payment_error.unwrap_or_default();
                    let reason = error.message.or(error.code).unwrap_or_else(|| "the payment failed".to_owned());
                    WebhookKind::Failed { payment_id, reason }
                }
                _ => WebhookKind::Failed { payment_id, reason: "cancelled".to_owned() },
            };
            (order_id, kind)
        }
        "refund.created" | "refund.updated" => {
            let refund: Refund = serde_json::from_value(event.data.object).map_err(|e| malformed(e.to_string()))?;
            if refund.status.as_deref() != Some("succeeded") {
                return ignored(event.id, event.kind);
            }
            let Some(payment) = refund.payment_intent else {
                return ignored(event.id, "refund without payment".into());
            };
            let kind = WebhookKind::Refunded {
                payment_id: payment.id(),
                amount: money(refund.amount, &refund.currency).map_err(malformed)?,
                key: refund.metadata.get(REFUND_KEY).cloned(),
                refund_id: refund.id,
            };
            (order_of(&refund.metadata), kind)
        }
        _ => return ignored(event.id, event.kind),
    };
    Ok(WebhookEvent { id: event.id, order_id, kind })
}

/// The `Stripe-Signature` header value for `body` signed with `secret` at `at` (epoch seconds):
/// what Stripe sends, for the simulated provider and the tests.
pub fn sign(secret: &str, body: &str, at: i64) -> String {
    shop::signatures::sign(secret, at, body.as_bytes())
}
