//! The simulated payment provider of the local stack: Stripe-shaped PaymentIntents kept in the
//! table, confirmed with Stripe's test card numbers through a control route (what a shopper's
//! browser does with Stripe.js), and reported to the shop's webhook route as Stripe would:
//! `payment_intent.*` and `refund.created` events signed with Stripe's scheme, delivered again
//! with growing pauses until the route answers 2xx. The shop verifies and applies them with the
//! same code as Stripe's.
//!
//! Test cards: `4242424242424242` succeeds, `4000000000000002` is declined.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop::domain::Money;
use shop::orders::Order;
use shop::payments::{
    PaymentProvider, PaymentStatus, Provider, ProviderError, ProviderPayment, RefundRequest, WebhookError, WebhookEvent,
};
use shop::table::{Condition, Item, Key, Table, Write, WriteError};
use shop::time::epoch_now;

/// The card that pays.
pub const CARD_SUCCEEDS: &str = "4242424242424242";
/// The card that is declined.
pub const CARD_DECLINED: &str = "4000000000000002";

/// How many times a delivery is tried before it is given up (Stripe tries for 3 days).
const DELIVERY_TRIES: u32 = 8;

/// A simulated PaymentIntent, as kept in the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Intent {
    id: String,
    order_id: String,
    amount: Money,
    /// Stripe's status names: requires_payment_method, succeeded, canceled.
    status: String,
    client_secret: String,
    created: i64,
    last_error: Option<String>,
    /// Refunded so far (minor units), and the refunds by the shop's key.
    refunded: i64,
    refunds: Vec<(String, String, i64)>,
}

impl Intent {
    fn key(id: &str) -> Key {
        Key::new(format!("SIMULATED#{id}"), "PAYMENT_INTENT")
    }

    fn described(&self) -> ProviderPayment {
        ProviderPayment {
            id: self.id.clone(),
            status: match self.status.as_str() {
                "succeeded" => PaymentStatus::Succeeded,
                "canceled" => PaymentStatus::Failed,
                _ if self.last_error.is_some() => PaymentStatus::Failed,
                _ => PaymentStatus::Pending,
            },
            amount: self.amount,
            client_secret: Some(self.client_secret.clone()),
            approve_url: None,
        }
    }

    /// The object as Stripe's API shows it (the fields it always sends).
    fn object(&self) -> Value {
        let received = if self.status == "succeeded" { self.amount.amount } else { 0 };
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount.amount,
            "amount_capturable": 0,
            "amount_received": received,
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "client_secret": self.client_secret,
            "created": self.created,
            "currency": self.amount.currency.as_str().to_ascii_lowercase(),
            "livemode": false,
            "metadata": {"order_id": self.order_id},
            "payment_method_types": ["card"],
            "status": self.status,
            "last_payment_error": self.last_error.as_ref().map(|m| json!({"type": "card_error", "code": "card_declined", "message": m})),
        })
    }
}

/// Why a simulated confirmation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no such payment")]
    NotFound,
    #[error("the payment is {0}: it cannot be confirmed")]
    NotConfirmable(String),
    #[error("{0} is not a test card of the simulator (4242424242424242 pays, 4000000000000002 is declined)")]
    UnknownCard(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The simulated provider: its payments in `table`, its events signed with `webhook_secret`
/// and delivered to the webhook route of the stack it serves (set once the stack has bound
/// its address).
pub struct Simulated {
    table: Arc<dyn Table>,
    webhook_secret: String,
    webhook_url: OnceLock<String>,
    http: reqwest::Client,
}

impl Simulated {
    pub fn new(table: Arc<dyn Table>, webhook_secret: &str) -> Self {
        Self {
            table,
            webhook_secret: webhook_secret.to_owned(),
            webhook_url: OnceLock::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a plain HTTP client"),
        }
    }

    /// Where the events go: the stack's `POST /api/payments/stripe/webhook`. Until set, events
    /// are not delivered (as if the webhook endpoint were not configured).
    pub fn deliver_to(&self, url: String) {
        self.webhook_url.set(url).ok();
    }

    async fn intent(&self, id: &str) -> Result<Option<Intent>, anyhow::Error> {
        self.table.get(&Intent::key(id)).await?.map(|i| i.decode()).transpose()
    }

    async fn save(&self, intent: &Intent, from_status: &str) -> Result<(), WriteError> {
        let write =
            Write::put(Item::new(&Intent::key(&intent.id), intent)).when(Condition::equals("status", from_status));
        self.table.write(write).await
    }

    /// What Stripe.js' `confirmCardPayment` does: pays with `card`, or fails with the decline.
    /// The payment's event then goes to the webhook route.
    pub async fn confirm(&self, id: &str, card: &str) -> Result<ProviderPayment, ConfirmError> {
        let mut intent = self.intent(id).await?.ok_or(ConfirmError::NotFound)?;
        if intent.status != "requires_payment_method" {
            return Err(ConfirmError::NotConfirmable(intent.status));
        }
        let kind = match card {
            CARD_SUCCEEDS => {
                intent.status = "succeeded".into();
                intent.last_error = None;
                "payment_intent.succeeded"
            }
            CARD_DECLINED => {
                intent.last_error = Some("Your card was declined.".into());
                "payment_intent.payment_failed"
            }
            other => return Err(ConfirmError::UnknownCard(other.chars().take(19).collect())),
        };
        self.save(&intent, "requires_payment_method")
            .await
            .map_err(|e| anyhow::anyhow!("the payment changed meanwhile: {e}"))?;
        self.send(kind, intent.object());
        Ok(intent.described())
    }

    /// Delivers an event to the webhook route in the background, as Stripe does: signed, and
    /// tried again with growing pauses until it is taken.
    fn send(&self, kind: &str, object: Value) {
        let Some(url) = self.webhook_url.get().cloned() else { return };
        let now = epoch_now();
        let event = json!({
            "id": format!("evt_sim_{}", ulid::Ulid::new()),
            "object": "event",
            "api_version": "2026-09-30.endive",
            "created": now,
            "livemode": false,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": object},
        })
        .to_string();
        let (http, secret) = (self.http.clone(), self.webhook_secret.clone());
        tokio::spawn(async move {
            for attempt in 0..DELIVERY_TRIES {
                let signature = shop_stripe::sign(&secret, &event, epoch_now());
                let sent = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(shop_stripe::SIGNATURE_HEADER, signature)
                    .body(event.clone())
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status().is_success() => return,
                    Ok(answer) => {
                        tracing::warn!(status = %answer.status(), attempt, "the webhook route refused an event")
                    }
                    Err(e) => tracing::warn!(error = %e, attempt, "delivering an event failed"),
                }
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            tracing::error!("an event was given up after {DELIVERY_TRIES} deliveries");
        });
    }
}

fn unavailable(e: impl Into<anyhow::Error>) -> ProviderError {
    ProviderError::Unavailable(e.into())
}

#[async_trait]
impl PaymentProvider for Simulated {
    fn provider(&self) -> Provider {
        Provider::Stripe
    }

    async fn create(&self, order: &Order, attempt: u32) -> Result<ProviderPayment, ProviderError> {
        // The idempotency key (the order and the attempt) names the payment: the same key
        // answers the same payment.
        let id = format!("pi_sim_{}_{attempt}", order.id);
        let intent = Intent {
            client_secret: format!("{id}_secret_{}", ulid::Ulid::new()),
            id: id.clone(),
            order_id: order.id.to_string(),
            amount: order.total,
            status: "requires_payment_method".into(),
            created: epoch_now(),
            last_error: None,
            refunded: 0,
            refunds: Vec::new(),
        };
        match self.table.write(Write::create(Item::new(&Intent::key(&id), &intent))).await {
            Ok(()) => Ok(intent.described()),
            Err(WriteError::ConditionFailed { .. }) => {
                Ok(self.intent(&id).await.map_err(unavailable)?.ok_or(ProviderError::NotFound)?.described())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn retrieve(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        Ok(self.intent(payment_id).await.map_err(unavailable)?.ok_or(ProviderError::NotFound)?.described())
    }

    /// The simulated provider captures automatically: a succeeded payment answers as it is.
    async fn capture(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        let payment = self.retrieve(payment_id).await?;
        match payment.status {
            PaymentStatus::Succeeded => Ok(payment),
            _ => Err(ProviderError::Refused("the payment has not been confirmed".into())),
        }
    }

    async fn cancel(&self, payment_id: &str) -> Result<(), ProviderError> {
        let mut intent = self.intent(payment_id).await.map_err(unavailable)?.ok_or(ProviderError::NotFound)?;
        match intent.status.as_str() {
            "canceled" => return Ok(()),
            "succeeded" => return Err(ProviderError::Refused("a succeeded payment cannot be cancelled".into())),
            _ => {}
        }
        let from = std::mem::replace(&mut intent.status, "canceled".into());
        match self.save(&intent, &from).await {
            Ok(()) => {
                self.send("payment_intent.canceled", intent.object());
                Ok(())
            }
            // Paid meanwhile.
            Err(WriteError::ConditionFailed { .. }) => {
                Err(ProviderError::Refused("the payment changed meanwhile".into()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
        let RefundRequest { order, payment_id, amount, key } = *refund;
        for _ in 0..shop::table::ATTEMPTS {
            let mut intent = self.intent(payment_id).await.map_err(unavailable)?.ok_or(ProviderError::NotFound)?;
            if let Some((id, _, _)) = intent.refunds.iter().find(|(_, k, _)| k == key) {
                return Ok(id.clone());
            }
            if intent.status != "succeeded" {
                return Err(ProviderError::Refused("only a succeeded payment can be refunded".into()));
            }
            if amount.currency != intent.amount.currency || intent.refunded + amount.amount > intent.amount.amount {
                return Err(ProviderError::Refused("the refund exceeds what is left of the payment".into()));
            }
            let id = format!("re_sim_{}", ulid::Ulid::new());
            let before = intent.refunded;
            intent.refunded += amount.amount;
            intent.refunds.push((id.clone(), key.to_owned(), amount.amount));
            let write =
                Write::put(Item::new(&Intent::key(payment_id), &intent)).when(Condition::equals("refunded", before));
            match self.table.write(write).await {
                Ok(()) => {
                    self.send(
                        "refund.created",
                        json!({
                            "id": id,
                            "object": "refund",
                            "amount": amount.amount,
                            "created": epoch_now(),
                            "currency": amount.currency.as_str().to_ascii_lowercase(),
                            "payment_intent": payment_id,
                            "metadata": {"order_id": order.to_string(), "refund_key": key},
                            "status": "succeeded",
                        }),
                    );
                    return Ok(id);
                }
                Err(WriteError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(unavailable(anyhow::anyhow!("the payment kept changing")))
    }

    async fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        shop_stripe::verify(&self.webhook_secret, headers, body)
    }
}
