//! One-time codes (an account's confirmation or password reset, a phone number's
//! verification): six digits, stored only as a SHA-256 hash, with a lifetime and an attempt
//! limit, and optionally bound to what they were sent to (a number the profile may change
//! before the code comes back).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::table::{Condition, Item, Key, Table, Update, Write, WriteError};

/// Wrong tries a code takes before it is spent.
pub const ATTEMPTS: i64 = 5;

#[derive(Serialize, Deserialize)]
struct Stored {
    code_hash: String,
    attempts: i64,
    /// What the code was sent to, when that matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent_to: Option<String>,
}

/// Why a code was refused.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("the code is wrong or has expired")]
    Wrong,
    #[error("too many wrong codes; ask for a new one")]
    Spent,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// A fresh code, and the write that keeps its hash at `key` until `expires` (epoch seconds),
/// bound to `sent_to` if given. A new code at the same key replaces the one before.
pub fn issue(key: &Key, expires: i64, sent_to: Option<&str>) -> (String, Write) {
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let stored = Stored { code_hash: sha256_hex(&code), attempts: 0, sent_to: sent_to.map(str::to_owned) };
    (code, Write::put(Item::new(key, &stored).expiring_at(expires)))
}

/// Spends one attempt of the code at `key`: Ok only for the right one, answering what it was
/// sent to.
pub async fn check(table: &dyn Table, key: &Key, code: &str) -> Result<Option<String>, CodeError> {
    let item = table.get(key).await?.ok_or(CodeError::Wrong)?;
    let stored: Stored = item.decode()?;
    if stored.attempts >= ATTEMPTS {
        return Err(CodeError::Spent);
    }
    let spent = Some(Condition::equals("attempts", stored.attempts));
    match table.update(key, Update::default().add("attempts", 1), spent).await {
        Ok(_) => {}
        // Another try of the same code at the same moment: count this one as spent.
        Err(WriteError::ConditionFailed { .. }) => return Err(CodeError::Spent),
        Err(e) => return Err(anyhow::Error::from(e).into()),
    }
    if constant_time_eq(sha256_hex(code.trim()).as_bytes(), stored.code_hash.as_bytes()) {
        Ok(stored.sent_to)
    } else {
        Err(CodeError::Wrong)
    }
}

/// The SHA-256 of `text`, in hex: how codes and refresh tokens are kept.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
