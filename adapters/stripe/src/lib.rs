//! `shop-stripe`: the payments port on Stripe PaymentIntents (async-stripe 1.0), and Stripe's
//! webhook scheme, which the local stack's simulated provider signs with too, so that the same
//! verification runs everywhere.
//!
//! Every unsafe call carries the shop's own idempotency key: a PaymentIntent's is the order and
//! the attempt, a refund's the shop's refund key. A retried request therefore never makes a
//! second PaymentIntent or a second refund. The base URL is configurable, so tests run against a
//! Stripe-protocol server.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use shop::domain::{Currency, Money, OrderId};
use shop::orders::Order;
use shop::payments::{
    Deferred, PaymentProvider, PaymentStatus, Provider, ProviderError, ProviderPayment, RefundRequest, WebhookError,
    WebhookEvent, WebhookKind,
};
use shop_secrets::JsonSecret;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_core::{PaymentIntent, PaymentIntentStatus};
use stripe_webhook::{EventObject, Webhook};

/// The metadata key naming the shop's order on a PaymentIntent and a refund.
pub const ORDER_ID: &str = "order_id";
/// The metadata key carrying the shop's refund key on a refund.
pub const REFUND_KEY: &str = "refund_key";

/// How long one call to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Stripe, with the account's secret key and, where webhooks are taken, the webhook
/// endpoint's signing secret.
pub struct StripePayments {
    client: Client,
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
        let mut builder = ClientBuilder::new(secret_key).timeout(TIMEOUT);
        if let Some(base) = api_base {
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|e| anyhow::anyhow!("configuring the Stripe client: {e}"))?;
        Ok(Self { client, webhook_secret: None })
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

fn key(raw: String) -> Result<RequestStrategy, ProviderError> {
    IdempotencyKey::new(raw)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("idempotency key: {e:?}")))
}

/// A Stripe failure in the port's terms: Stripe's refusals (4xx with an error object) are
/// final; the rest may be retried with the same key.
fn failed(e: StripeError) -> ProviderError {
    match e {
        StripeError::Stripe(error, 404) => {
            tracing::debug!(message = ?error.message, "Stripe: not found");
            ProviderError::NotFound
        }
        StripeError::Stripe(error, status) if (400..500).contains(&status) && status != 429 && status != 409 => {
            ProviderError::Refused(
                error
                    .message
                    .clone()
                    .or_else(|| error.code.as_ref().map(|c| c.as_str().to_owned()))
                    .unwrap_or_default(),
            )
        }
        other => ProviderError::Unavailable(anyhow::anyhow!("Stripe: {other}")),
    }
}

fn currency_of(money: Money) -> stripe_types::Currency {
    let Ok(currency) = stripe_types::Currency::from_str(&money.currency.as_str().to_ascii_lowercase());
    currency
}

/// Stripe's lower-case code as the shop's currency.
fn money(amount: i64, currency: &stripe_types::Currency) -> Result<Money, String> {
    let code = currency.to_string().to_ascii_uppercase();
    Currency::parse(&code).map(|currency| Money { amount, currency }).map_err(|e| e.to_string())
}

fn status(intent: &PaymentIntent) -> PaymentStatus {
    match intent.status {
        PaymentIntentStatus::Succeeded => PaymentStatus::Succeeded,
        PaymentIntentStatus::Canceled => PaymentStatus::Failed,
        PaymentIntentStatus::RequiresPaymentMethod if intent.last_payment_error.is_some() => PaymentStatus::Failed,
        _ => PaymentStatus::Pending,
    }
}

fn described(intent: PaymentIntent) -> Result<ProviderPayment, ProviderError> {
    let amount = if intent.status == PaymentIntentStatus::Succeeded { intent.amount_received } else { intent.amount };
    Ok(ProviderPayment {
        status: status(&intent),
        amount: money(amount, &intent.currency).map_err(|e| ProviderError::Unavailable(anyhow::anyhow!(e)))?,
        id: intent.id.to_string(),
        client_secret: intent.client_secret,
        approve_url: None,
    })
}

#[async_trait]
impl PaymentProvider for StripePayments {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    async fn create(&self, order: &Order, attempt: u32) -> Result<ProviderPayment, ProviderError> {
        let metadata = HashMap::from([(ORDER_ID.to_owned(), order.id.to_string())]);
        let intent = CreatePaymentIntent::new(order.total.amount, currency_of(order.total))
            .metadata(metadata)
            .customize()
            .request_strategy(key(format!("order-{}-payment-{attempt}", order.id))?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        described(intent)
    }

    async fn retrieve(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        described(RetrievePaymentIntent::new(payment_id).send(&self.client).await.map_err(failed)?)
    }

    async fn capture(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        let intent = RetrievePaymentIntent::new(payment_id).send(&self.client).await.map_err(failed)?;
        if intent.status != PaymentIntentStatus::RequiresCapture {
            return described(intent);
        }
        let captured = CapturePaymentIntent::new(payment_id)
            .customize()
            .request_strategy(key(format!("capture-{payment_id}"))?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        described(captured)
    }

    async fn cancel(&self, payment_id: &str) -> Result<(), ProviderError> {
        CancelPaymentIntent::new(payment_id)
            .customize()
            .request_strategy(key(format!("cancel-{payment_id}"))?)
            .send(&self.client)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
        let made = CreateRefund::new()
            .payment_intent(refund.payment_id)
            .amount(refund.amount.amount)
            .metadata(HashMap::from([
                (ORDER_ID.to_owned(), refund.order.to_string()),
                (REFUND_KEY.to_owned(), refund.key.to_owned()),
            ]))
            .customize()
            .request_strategy(key(format!("refund-{}", refund.key))?)
            .send(&self.client)
            .await
            .map_err(failed)?;
        Ok(made.id.to_string())
    }

    async fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let secret = self.webhook_secret.as_deref();
        let secret = secret.ok_or_else(|| WebhookError::Unavailable("this client takes no Stripe webhook".into()))?;
        verify(secret, headers, body)
    }
}

/// The header Stripe signs its deliveries in.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Verifies a Stripe-signed delivery on its raw body (HMAC-SHA256 over `"{t}.{body}"`, at most
/// 300 s from now) and reads what it says.
pub fn verify(secret: &str, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let signature =
        headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).ok_or(WebhookError::MissingSignature)?;
    let payload = std::str::from_utf8(body).map_err(|_| WebhookError::Malformed("not UTF-8".into()))?;
    let event = match Webhook::construct_event(payload, signature, secret) {
        Ok(event) => event,
        Err(stripe_webhook::WebhookError::BadSignature) => return Err(WebhookError::BadSignature),
        Err(stripe_webhook::WebhookError::BadHeader(_) | stripe_webhook::WebhookError::BadKey) => {
            return Err(WebhookError::MissingSignature);
        }
        Err(stripe_webhook::WebhookError::BadTimestamp(_)) => return Err(WebhookError::Stale),
        // Signed and fresh (both are checked before the body is read), but its object is not
        // what async-stripe expects: refused if the shop acts on its type (Stripe delivers it
        // again, and the refusal is alarmed), acknowledged otherwise.
        Err(stripe_webhook::WebhookError::BadParse(reason)) => return unreadable(payload, reason),
    };
    let id = event.id.to_string();
    let order_of = |metadata: Option<&HashMap<String, String>>| {
        metadata.and_then(|m| m.get(ORDER_ID)).and_then(|id| OrderId::parse(id).ok())
    };
    let malformed = |e: String| WebhookError::Malformed(e);
    let (order_id, kind) = match event.data.object {
        EventObject::PaymentIntentSucceeded(intent) => (
            order_of(Some(&intent.metadata)),
            WebhookKind::Succeeded {
                payment_id: intent.id.to_string(),
                amount: money(intent.amount_received, &intent.currency).map_err(malformed)?,
            },
        ),
        EventObject::PaymentIntentPaymentFailed(intent) => {
            let reason = intent
                .last_payment_error
                .as_ref()
                .and_then(|e| e.message.clone().or_else(|| e.code.as_ref().map(|c| c.as_str().to_owned())))
                .unwrap_or_else(|| "the payment failed".to_owned());
            (order_of(Some(&intent.metadata)), WebhookKind::Failed { payment_id: intent.id.to_string(), reason })
        }
        EventObject::PaymentIntentCanceled(intent) => (
            order_of(Some(&intent.metadata)),
            WebhookKind::Failed { payment_id: intent.id.to_string(), reason: "cancelled".to_owned() },
        ),
        EventObject::RefundCreated(refund) | EventObject::RefundUpdated(refund)
            if refund.status.as_deref() == Some("succeeded") =>
        {
            let Some(payment) = refund.payment_intent.as_ref() else {
                return Ok(WebhookEvent {
                    id,
                    order_id: None,
                    kind: WebhookKind::Ignored("refund without payment".into()),
                });
            };
            (
                order_of(refund.metadata.as_ref()),
                WebhookKind::Refunded {
                    payment_id: payment.id().to_string(),
                    refund_id: refund.id.to_string(),
                    key: refund.metadata.as_ref().and_then(|m| m.get(REFUND_KEY)).cloned(),
                    amount: money(refund.amount, &refund.currency).map_err(malformed)?,
                },
            )
        }
        _ => (None, WebhookKind::Ignored(event.type_.to_string())),
    };
    Ok(WebhookEvent { id, order_id, kind })
}

/// The event types the shop acts on.
const ACTED_ON: [&str; 5] = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "refund.created",
    "refund.updated",
];

/// An authentic event whose object async-stripe could not read.
fn unreadable(payload: &str, reason: String) -> Result<WebhookEvent, WebhookError> {
    let raw: serde_json::Value = serde_json::from_str(payload).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let (Some(id), Some(kind)) = (raw["id"].as_str(), raw["type"].as_str()) else {
        return Err(WebhookError::Malformed(reason));
    };
    if ACTED_ON.contains(&kind) {
        return Err(WebhookError::Malformed(format!("{kind}: {reason}")));
    }
    Ok(WebhookEvent { id: id.to_owned(), order_id: None, kind: WebhookKind::Ignored(kind.to_owned()) })
}

/// The `Stripe-Signature` header value for `body` signed with `secret` at `at` (epoch seconds):
/// what Stripe sends, for the simulated provider and the tests.
pub fn sign(secret: &str, body: &str, at: i64) -> String {
    Webhook::generate_test_header(body, secret, Some(at))
}
