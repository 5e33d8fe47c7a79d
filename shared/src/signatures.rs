//! Timestamped webhook signatures, the scheme Stripe signs its deliveries with and the shop
//! signs its partners' deliveries with: a header `t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>" under the endpoint's secret>`, verified on the raw body and refused when its
//! time is more than [`TOLERANCE`] seconds from now (a replay window the receiver bounds).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::payments::WebhookError;

/// How far a signature's time may be from the receiver's clock, seconds.
pub const TOLERANCE: i64 = 300;

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac
}

/// The header value signing `body` at `t` (epoch seconds) under `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks `header` against `body` under `secret` at `now` (epoch seconds): any of its `v1`
/// signatures may match (a sender rolling its secret signs with both), compared in constant
/// time; other schemes' fields are passed over.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), WebhookError> {
    let mut t = None;
    let mut signatures = Vec::new();
    for field in header.split(',') {
        match field.trim().split_once('=') {
            Some(("t", value)) => t = Some(value.parse::<i64>().map_err(|_| WebhookError::MissingSignature)?),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let Some(t) = t.filter(|_| !signatures.is_empty()) else { return Err(WebhookError::MissingSignature) };
    let expected = mac(secret, t, body);
    if !signatures.iter().filter_map(|hex| unhex(hex)).any(|bytes| expected.clone().verify_slice(&bytes).is_ok()) {
        return Err(WebhookError::BadSignature);
    }
    if (now - t).abs() > TOLERANCE {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

/// The bytes of lower- or upper-case hex, or `None`.
fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signature_holds_for_its_body_secret_and_time_only() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, NOW, body);
        assert!(header.starts_with(&format!("t={NOW},v1=")) && header.len() == 16 + 64, "{header}");
        assert_eq!(verify(SECRET, &header, body, NOW), Ok(()));
        assert_eq!(verify(SECRET, &header, body, NOW + TOLERANCE), Ok(()));
        assert_eq!(verify(SECRET, &header, body, NOW - TOLERANCE - 1), Err(WebhookError::Stale));
        assert_eq!(verify(SECRET, &header, b"{}", NOW), Err(WebhookError::BadSignature));
        assert_eq!(verify("whsec_other", &header, body, NOW), Err(WebhookError::BadSignature));
        // A rolled secret: the old and the new signature side by side, and another scheme's.
        let old = sign("whsec_old", NOW, body);
        let both = format!("{old},{},v0=abc", header.split_once(',').unwrap().1);
        assert_eq!(verify(SECRET, &both, body, NOW), Ok(()));
        // A signature of another time does not hold for this one.
        let moved = header.replacen(&NOW.to_string(), &(NOW + 1).to_string(), 1);
        assert_eq!(verify(SECRET, &moved, body, NOW), Err(WebhookError::BadSignature));
        for malformed in ["", "t=1", "v1=00", "t=x,v1=00", "garbage"] {
            assert_eq!(verify(SECRET, malformed, body, NOW), Err(WebhookError::MissingSignature), "{malformed}");
        }
        assert_eq!(verify(SECRET, &format!("t={NOW},v1=zz"), body, NOW), Err(WebhookError::BadSignature));
    }
}
