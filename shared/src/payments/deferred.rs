//! A payment provider built at its first use.

use std::sync::Arc;

use async_trait::async_trait;

use super::provider::{PaymentProvider, ProviderError, ProviderPayment, RefundRequest, WebhookError, WebhookEvent};
use crate::domain::Provider;
use crate::orders::Order;

/// A provider built at its first use (in Lambda: once its secrets are read from Secrets
/// Manager; see [`crate::deferred`]), which names its provider before it is built.
pub struct Deferred<P> {
    provider: Provider,
    built: crate::deferred::Deferred<P>,
}

impl<P: PaymentProvider> Deferred<P> {
    pub fn new(provider: Provider, built: crate::deferred::Deferred<P>) -> Self {
        Self { provider, built }
    }

    async fn get(&self) -> anyhow::Result<Arc<P>> {
        self.built.get().await
    }
}

#[async_trait]
impl<P: PaymentProvider> PaymentProvider for Deferred<P> {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn create(&self, order: &Order, attempt: u32) -> Result<ProviderPayment, ProviderError> {
        self.get().await.map_err(ProviderError::Unavailable)?.create(order, attempt).await
    }

    async fn retrieve(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        self.get().await.map_err(ProviderError::Unavailable)?.retrieve(payment_id).await
    }

    async fn capture(&self, payment_id: &str) -> Result<ProviderPayment, ProviderError> {
        self.get().await.map_err(ProviderError::Unavailable)?.capture(payment_id).await
    }

    async fn cancel(&self, payment_id: &str) -> Result<(), ProviderError> {
        self.get().await.map_err(ProviderError::Unavailable)?.cancel(payment_id).await
    }

    async fn refund(&self, refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
        self.get().await.map_err(ProviderError::Unavailable)?.refund(refund).await
    }

    async fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let provider = self.get().await.map_err(|e| WebhookError::Unavailable(format!("{e:#}")))?;
        provider.verify(headers, body).await
    }
}
