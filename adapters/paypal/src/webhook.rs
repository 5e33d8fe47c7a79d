//! PayPal's webhook deliveries, verified offline ("self verification" in PayPal's webhook
//! documentation) and read as the shop's events.
//!
//! PayPal signs `{transmission id}|{transmission time}|{webhook id}|{CRC-32 of the raw body, as an
//! unsigned decimal}` with RSASSA-PKCS1-v1_5 over SHA-256 (`SHA256withRSA`), and names in
//! `PAYPAL-CERT-URL` the certificate whose public key checks it. That certificate is trusted
//! for where it comes from: it is fetched over HTTPS from PayPal's own API hosts only (the
//! configured environment's origins, under `/v1/notifications/certs/`, no query), never from a
//! URL elsewhere, and a few are kept by path. Its chain and validity dates are not checked
//! again: the TLS connection to PayPal's host already vouched for what it serves. A delivery
//! whose transmission id was verified within the window already is refused as a replay.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Method;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::Value;
use shop::domain::OrderId;
use shop::payments::{ProviderError, WebhookError, WebhookEvent, WebhookKind};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::client::{PaypalPayments, path_id};
use crate::resources::{CUSTOM_SEPARATOR, Capture, PaypalRefund};

/// The delivery's id (a UUID).
pub const TRANSMISSION_ID: &str = "paypal-transmission-id";
/// When PayPal sent it (RFC 3339), signed verbatim.
pub const TRANSMISSION_TIME: &str = "paypal-transmission-time";
/// The signature, base64.
pub const TRANSMISSION_SIG: &str = "paypal-transmission-sig";
/// Where the certificate that checks the signature is.
pub const CERT_URL: &str = "paypal-cert-url";
/// The signature's algorithm: `SHA256withRSA`, the only one accepted.
pub const AUTH_ALGO: &str = "paypal-auth-algo";

/// Every header a delivery is signed with.
pub const HEADERS: [&str; 5] = [TRANSMISSION_ID, TRANSMISSION_TIME, TRANSMISSION_SIG, CERT_URL, AUTH_ALGO];

/// How far from now a delivery's transmission time may be.
const TOLERANCE_SECONDS: i64 = 300;

/// A PEM certificate as DER, if it is one webpki can read.
pub(crate) fn parse_certificate(pem: &[u8]) -> Result<CertificateDer<'static>, WebhookError> {
    let cert = CertificateDer::from_pem_slice(pem).map_err(|_| WebhookError::BadSignature)?;
    webpki::EndEntityCert::try_from(&cert).map_err(|_| WebhookError::BadSignature)?;
    Ok(cert)
}

/// Verifies a delivery on its raw body, then reads it. The checks run from the cheapest on, so a
/// forged or replayed delivery costs no certificate fetch: headers present and well formed
/// (else `MissingSignature`), algorithm `SHA256withRSA`, transmission time within 300 s (else
/// `Stale`), certificate URL on PayPal's hosts, signature over the message (else `BadSignature`).
pub(crate) async fn verify(
    paypal: &PaypalPayments,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<WebhookEvent, WebhookError> {
    let header = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).ok_or(WebhookError::MissingSignature)
    };
    let (id, time, signature, cert_url, algorithm) = (
        header(TRANSMISSION_ID)?,
        header(TRANSMISSION_TIME)?,
        header(TRANSMISSION_SIG)?,
        header(CERT_URL)?,
        header(AUTH_ALGO)?,
    );
    let signature = BASE64.decode(signature).map_err(|_| WebhookError::MissingSignature)?;
    let sent = OffsetDateTime::parse(time, &Rfc3339).map_err(|_| WebhookError::MissingSignature)?;
    if algorithm != "SHA256withRSA" {
        return Err(WebhookError::BadSignature);
    }
    if (OffsetDateTime::now_utc() - sent).whole_seconds().abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale);
    }
    let cert = paypal.certificate(cert_url).await?;
    let message = format!("{id}|{time}|{}|{}", paypal.config.webhook_id, crc32fast::hash(body));
    let key = webpki::EndEntityCert::try_from(&*cert).map_err(|_| WebhookError::BadSignature)?;
    key.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, message.as_bytes(), &signature)
        .map_err(|_| WebhookError::BadSignature)?;
    if !paypal.first_transmission(id, sent.unix_timestamp(), 2 * TOLERANCE_SECONDS)? {
        tracing::warn!(transmission = id, "a PayPal delivery seen already: refused as a replay");
        return Err(WebhookError::Replayed);
    }
    read(paypal, body).await
}

/// A webhook event's envelope.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    event_type: String,
    #[serde(default)]
    resource: Value,
}

/// What an authentic event tells the shop. The capture events name the PayPal order in
/// `supplementary_data.related_ids.order_id` and the shop's order in `custom_id` (copied from
/// the purchase unit); a refund names both, and the shop's refund key, in the `custom_id` the
/// shop gave it. A refund made outside the shop (PayPal's dashboard) has no such `custom_id`:
/// its capture (the refund's `up` link) is asked for the order. An event of a type the shop acts
/// on that cannot be read is `Malformed`; other types are `Ignored`.
async fn read(paypal: &PaypalPayments, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event: Envelope = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let kind = event.event_type.as_str();
    let malformed = |what: String| WebhookError::Malformed(format!("{kind}: {what}"));
    let (order_id, what) = match kind {
        "PAYMENT.CAPTURE.COMPLETED" | "PAYMENT.CAPTURE.DENIED" | "PAYMENT.CAPTURE.DECLINED" => {
            let capture: Capture =
                serde_json::from_value(event.resource.clone()).map_err(|e| malformed(e.to_string()))?;
            let payment_id = capture.order_id().ok_or_else(|| malformed("no related order id".into()))?.to_owned();
            let order_id = capture.custom_id.as_deref().and_then(|c| OrderId::parse(c).ok());
            let what = if kind == "PAYMENT.CAPTURE.COMPLETED" {
                let amount = capture.amount.as_ref().ok_or_else(|| malformed("no amount".into()))?;
                WebhookKind::Succeeded { payment_id, amount: amount.money().map_err(|e| malformed(e.to_string()))? }
            } else {
                let reason = capture
                    .status_details
                    .and_then(|d| d.reason)
                    .unwrap_or_else(|| format!("the capture was {}", capture.status.to_lowercase()));
                WebhookKind::Failed { payment_id, reason }
            };
            (order_id, what)
        }
        "CHECKOUT.ORDER.APPROVED" => {
            let approved: ApprovedOrder =
                serde_json::from_value(event.resource.clone()).map_err(|e| malformed(e.to_string()))?;
            let order_id = approved.purchase_units.iter().find_map(|u| OrderId::parse(u.custom_id.as_deref()?).ok());
            (order_id, WebhookKind::Approved { payment_id: approved.id })
        }
        "PAYMENT.CAPTURE.REFUNDED" => {
            let refund: PaypalRefund =
                serde_json::from_value(event.resource.clone()).map_err(|e| malformed(e.to_string()))?;
            let amount = refund.amount.as_ref().ok_or_else(|| malformed("no amount".into()))?;
            let amount = amount.money().map_err(|e| malformed(e.to_string()))?;
            let (order_id, payment_id, key) = match refund.custom_id.as_deref().and_then(shop_refund) {
                Some((order, payment, key)) => (Some(order), payment, Some(key)),
                None => {
                    let capture = refund
                        .links
                        .iter()
                        .find(|l| l.rel == "up")
                        .and_then(|l| l.href.rsplit('/').next())
                        .ok_or_else(|| malformed("no link to its capture".into()))?;
                    let capture = capture_of(paypal, capture).await.map_err(|e| match e {
                        ProviderError::NotFound => malformed("PayPal does not know its capture".into()),
                        other => WebhookError::Unavailable(other.to_string()),
                    })?;
                    let payment = capture.order_id().ok_or_else(|| malformed("no related order id".into()))?;
                    let order = capture.custom_id.as_deref().and_then(|c| OrderId::parse(c).ok());
                    (order, payment.to_owned(), None)
                }
            };
            (order_id, WebhookKind::Refunded { payment_id, refund_id: refund.id, key, amount })
        }
        other => (None, WebhookKind::Ignored(other.to_owned())),
    };
    Ok(WebhookEvent { id: event.id, order_id, kind: what })
}

/// The resource of `CHECKOUT.ORDER.APPROVED`: the PayPal order, whose purchase unit carries the
/// shop's order id.
#[derive(Deserialize)]
struct ApprovedOrder {
    id: String,
    #[serde(default)]
    purchase_units: Vec<PurchaseUnit>,
}

#[derive(Deserialize)]
struct PurchaseUnit {
    custom_id: Option<String>,
}

/// The shop's `{order},{PayPal order},{key}` refund `custom_id`, if that is what it is.
fn shop_refund(custom_id: &str) -> Option<(OrderId, String, String)> {
    let mut parts = custom_id.splitn(3, CUSTOM_SEPARATOR);
    let order = OrderId::parse(parts.next()?).ok()?;
    let payment = parts.next().filter(|p| path_id(p).is_ok())?;
    let key = parts.next().filter(|k| !k.is_empty())?;
    Some((order, payment.to_owned(), key.to_owned()))
}

/// `GET /v2/payments/captures/{id}`.
async fn capture_of(paypal: &PaypalPayments, id: &str) -> Result<Capture, ProviderError> {
    paypal.send(Method::GET, &format!("/v2/payments/captures/{}", path_id(id)?), None, None).await?.read()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shops_refund_ids_are_read_back() {
        let order = OrderId::new();
        let (o, p, k) = shop_refund(&format!("{order},5O190127TN364715T,admin-01J,x")).unwrap();
        assert_eq!((o, p.as_str(), k.as_str()), (order, "5O190127TN364715T", "admin-01J,x"));
        assert!(shop_refund(&order.to_string()).is_none());
        assert!(shop_refund(&format!("{order},5O19/../x,key")).is_none());
        assert!(shop_refund(&format!("{order},5O190127TN364715T,")).is_none());
        assert!(shop_refund("not-an-order,5O190127TN364715T,key").is_none());
    }
}
