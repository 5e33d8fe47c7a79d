//! Verifying ID tokens against a JWKS, as API Gateway's Cognito authorizer does: signature
//! (ES256 or RS256, never `none` or HMAC), issuer, audience, expiry and `token_use = id`.

use std::collections::HashMap;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};

/// A token was refused; the reason is for logs, callers get a plain 401.
#[derive(Debug, thiserror::Error)]
#[error("token refused: {0}")]
pub struct Refused(pub String);

/// Checks ID tokens of one issuer and app client.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
}

impl Verifier {
    /// From a JWKS document, the expected `iss` and the app client id (`aud`).
    pub fn new(jwks: &Value, issuer: impl Into<String>, audience: impl Into<String>) -> anyhow::Result<Self> {
        let set: JwkSet = serde_json::from_value(jwks.clone())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let Some(alg) = algorithm(jwk) else { continue };
            keys.insert(kid, (DecodingKey::from_jwk(jwk)?, alg));
        }
        anyhow::ensure!(!keys.is_empty(), "the JWKS holds no usable ES256 or RS256 key");
        Ok(Self { keys, issuer: issuer.into(), audience: audience.into() })
    }

    /// The token's claims if it is a valid, unexpired ID token of this issuer and client.
    pub fn verify_id_token(&self, token: &str) -> Result<Map<String, Value>, Refused> {
        let header = decode_header(token).map_err(|e| Refused(format!("header: {e}")))?;
        let kid = header.kid.ok_or_else(|| Refused("no kid".into()))?;
        let (key, alg) = self.keys.get(&kid).ok_or_else(|| Refused(format!("unknown kid {kid}")))?;
        if header.alg != *alg {
            return Err(Refused(format!("alg {:?} does not match the key", header.alg)));
        }
        let mut validation = Validation::new(*alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let data = decode::<Map<String, Value>>(token, key, &validation).map_err(|e| Refused(e.to_string()))?;
        if data.claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(Refused("not an id token".into()));
        }
        Ok(data.claims)
    }
}

fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Some(Algorithm::ES256),
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        _ => None,
    }
}
