//! The shop's signing key: HMAC-SHA256 tags on what the shop hands out and must later know
//! unchanged (list cursors, guests' tokens, the links in guests' emails), each under a scope of
//! its own, so that a tag made for one is never good for another. Every instance of a
//! deployment shares the key: a function reads it from Secrets Manager at its first use, the
//! local stack keeps it in its data folder.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::deferred::Deferred;

/// How many bytes of the HMAC a sealed text carries.
const TAG: usize = 16;

/// Where the key comes from.
pub enum KeySource {
    /// Known at start.
    Fixed(Arc<Vec<u8>>),
    /// Read at the first use in a process, and again once it is old (a function's, from
    /// Secrets Manager: its cold start reads no secret).
    Deferred(Deferred<Vec<u8>>),
}

impl KeySource {
    /// A key known at start.
    pub fn fixed(key: &[u8]) -> Self {
        Self::Fixed(Arc::new(key.to_vec()))
    }
}

static SOURCE: OnceLock<KeySource> = OnceLock::new();

/// Sets where the key comes from, once per process. Without it a random per-process key is
/// used, so what it signs is only good within that process.
pub fn set_key(source: KeySource) {
    let _ = SOURCE.set(source);
}

/// The key, read from its source if it is deferred. A source that cannot be read is an
/// infrastructure fault.
pub async fn key() -> anyhow::Result<SigningKey> {
    match SOURCE.get_or_init(|| KeySource::fixed(&rand::random::<[u8; 32]>())) {
        KeySource::Fixed(key) => Ok(SigningKey(key.clone())),
        KeySource::Deferred(key) => Ok(SigningKey(key.get().await?)),
    }
}

/// The key as a request holds it; its `Debug` shows no byte of it.
#[derive(Clone)]
pub struct SigningKey(Arc<Vec<u8>>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    #[cfg(test)]
    pub(crate) fn of(key: &[u8]) -> Self {
        Self(Arc::new(key.to_vec()))
    }

    fn mac(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }

    /// `payload` with its tag for `scope`, as URL-safe text: `<payload>.<tag>`, both base64url.
    pub fn seal(&self, scope: &str, payload: &[u8]) -> String {
        let full = self.mac(scope, payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(&full[..TAG]))
    }

    /// The payload of a text [`SigningKey::seal`] made for `scope` with this key; `None` for any
    /// other text (compared in constant time).
    pub fn open(&self, scope: &str, sealed: &str) -> Option<Vec<u8>> {
        let (payload, tag) = sealed.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != TAG {
            return None;
        }
        self.mac(scope, &payload).verify_truncated_left(&tag).ok()?;
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_only_with_its_key_and_scope() {
        let key = SigningKey::of(b"0123456789abcdef0123456789abcdef");
        let sealed = key.seal("/api/products?", b"position");
        assert_eq!(key.open("/api/products?", &sealed).unwrap(), b"position");
        assert!(key.open("/api/products?category=x", &sealed).is_none(), "bound to its scope");
        assert!(SigningKey::of(b"another key of another deployment").open("/api/products?", &sealed).is_none());
        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(b"another position");
        assert!(key.open("/api/products?", &format!("{forged}.{tag}")).is_none());
        assert!(key.open("/api/products?", &format!("{payload}.")).is_none());
        assert!(key.open("/api/products?", "garbage").is_none());
        assert_eq!(format!("{key:?}"), "SigningKey(..)", "a logged request shows no key");
    }
}
