//! The payments port on PayPal.

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shop::orders::Order;
use shop::payments::{
    PaymentProvider, PaymentStatus, Provider, ProviderError, ProviderPayment, RefundRequest, WebhookError, WebhookEvent,
};

use crate::client::{PaypalPayments, path_id};
use crate::resources::{PaypalMoney, PaypalOrder, PaypalRefund, refund_custom_id};
use crate::webhook;

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
