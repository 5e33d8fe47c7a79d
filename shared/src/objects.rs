//! The object store port: files kept whole under a key (an import's CSV, an upload), and the
//! short-lived targets a client uploads them to without passing through a function.
//!
//! | | AWS | embedded (local stack) |
//! |---|---|---|
//! | store | a private S3 bucket (`shop-s3`: REST signed with SigV4) | files under `<data>/objects` (`shop-embedded`) |
//! | upload target | a presigned PUT URL, its type and length signed | the stack's own `PUT /_local/objects/...`, HMAC-signed |
//! | on upload | S3's event notification invokes the function | the stack's route hands the key on |
//!
//! A target binds the key, the content type and the exact length, and expires; what arrives is
//! checked again by whatever reads it (nothing trusts an upload for being there).

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::time::Timestamp;

/// How an uploader sends a file: the method, the URL and the headers to send exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UploadTarget {
    /// Always `PUT`.
    pub method: String,
    pub url: String,
    /// Headers the upload must carry as they are (`content-type`, `content-length`).
    pub headers: std::collections::BTreeMap<String, String>,
    /// After this the target refuses the upload.
    pub expires_at: Timestamp,
}

/// A stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub content_type: String,
    /// The `Cache-Control` it is served with, kept with it (S3's object metadata).
    pub cache_control: Option<String>,
}

impl Object {
    pub fn new(bytes: Vec<u8>, content_type: &str) -> Self {
        Self { bytes, content_type: content_type.to_owned(), cache_control: None }
    }

    /// The object, served with `Cache-Control: <cache_control>` from the store.
    pub fn cached(self, cache_control: &str) -> Self {
        Self { cache_control: Some(cache_control.to_owned()), ..self }
    }
}

/// The object store port.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Where a client may PUT exactly `size` bytes of `content_type` as `key`, for `valid`.
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        valid: Duration,
    ) -> anyhow::Result<UploadTarget>;

    async fn put(&self, key: &str, object: Object) -> anyhow::Result<()>;

    /// The object, or `None` when nothing is stored as `key`.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Object>>;

    /// Removes the object; removing what is not there is no error.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
}

/// Whether `key` is one this shop writes: ASCII letters, digits, `-`, `_`, `.` and `/`
/// separating non-empty parts that are not `.` or `..`, at most 512 bytes. Every store refuses
/// other keys, so no key reaches outside its folder or bucket prefix.
pub fn valid_key(key: &str) -> bool {
    key.len() <= 512
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_store() {
        assert!(valid_key("imports/01JD0000000000000000000001.csv"));
        for bad in ["", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", "a b", "a\\b", &"a".repeat(513)] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
