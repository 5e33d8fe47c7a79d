//! The object store in the local stack's data folder: each object a file under `<root>`, its
//! content type beside it. Uploads arrive at the stack's own route (`PUT /_local/objects/<key>`)
//! with a target this store signed (HMAC-SHA256 over the key, type, length and expiry), as S3
//! checks a presigned URL. Every object created, put or uploaded, is announced on a channel, as
//! S3 notifies a function.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shop::objects::{Object, ObjectStore, UploadTarget, valid_key};
use shop::time::{Timestamp, epoch_now};
use tokio::sync::mpsc;

/// Where the stack's upload route is mounted.
pub const UPLOAD_PATH: &str = "/_local/objects/";

/// What a signed upload target carries in its query, as the route receives it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct UploadQuery {
    pub expires: i64,
    pub size: u64,
    #[serde(rename = "type")]
    pub content_type: String,
    pub signature: String,
}

/// Why an upload was refused (the route answers 403 for a bad or expired target, 400 for a
/// body that is not what the target named).
#[derive(Debug, thiserror::Error)]
pub enum UploadRefused {
    #[error("the upload target is not valid or has expired")]
    Target,
    #[error("the upload is not what its target names: {0}")]
    Body(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

pub struct LocalObjects {
    root: PathBuf,
    /// The stack's address, which upload targets point at.
    public_url: String,
    key: [u8; 32],
    created: mpsc::UnboundedSender<String>,
}

impl LocalObjects {
    /// The store under `root`, its upload targets at `public_url`, signed with `key`; and the
    /// channel announcing the key of every object created.
    pub fn open(root: &Path, public_url: &str, key: [u8; 32]) -> (Self, mpsc::UnboundedReceiver<String>) {
        let (created, announced) = mpsc::unbounded_channel();
        let store =
            Self { root: root.to_owned(), public_url: public_url.trim_end_matches('/').to_owned(), key, created };
        (store, announced)
    }

    /// The store of the data folder `data` (`<data>/objects`), signing with the key kept in
    /// `<data>/objects-key` (made at the first start).
    pub fn in_folder(data: &Path, public_url: &str) -> anyhow::Result<(Self, mpsc::UnboundedReceiver<String>)> {
        std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
        let file = data.join("objects-key");
        let hex = match std::fs::read_to_string(&file) {
            Ok(hex) => hex,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let hex: String = rand::random::<[u8; 32]>().iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(&file, &hex).with_context(|| format!("writing {}", file.display()))?;
                hex
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).context("a 64-digit key")?, 16)?;
        }
        Ok(Self::open(&data.join("objects"), public_url, key))
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(valid_key(key), "{key:?} is not an object key");
        Ok(self.root.join(key))
    }

    fn signature(&self, key: &str, content_type: &str, size: u64, expires: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(format!("{key}\n{content_type}\n{size}\n{expires}").as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Stores an upload the route received for `key`, if its target is this store's, unexpired,
    /// and the body is what it names.
    pub async fn receive(
        &self,
        key: &str,
        target: &UploadQuery,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(), UploadRefused> {
        let expected = self.signature(key, &target.content_type, target.size, target.expires);
        let signed = expected.len() == target.signature.len()
            && expected.bytes().zip(target.signature.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !signed || target.expires < epoch_now() || !valid_key(key) {
            return Err(UploadRefused::Target);
        }
        if content_type != Some(target.content_type.as_str()) {
            return Err(UploadRefused::Body(format!("its content type must be {}", target.content_type)));
        }
        if body.len() as u64 != target.size {
            return Err(UploadRefused::Body(format!("it must be {} bytes", target.size)));
        }
        let object = Object::new(body, &target.content_type);
        Ok(self.put(key, object).await?)
    }
}

#[async_trait]
impl ObjectStore for LocalObjects {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        valid: Duration,
    ) -> anyhow::Result<UploadTarget> {
        self.path(key)?;
        let expires = epoch_now() + valid.as_secs() as i64;
        let signature = self.signature(key, content_type, size, expires);
        let query = serde_urlencoded::to_string([
            ("expires", expires.to_string()),
            ("size", size.to_string()),
            ("type", content_type.to_owned()),
            ("signature", signature),
        ])?;
        let headers =
            [("content-type".to_owned(), content_type.to_owned()), ("content-length".to_owned(), size.to_string())];
        Ok(UploadTarget {
            method: "PUT".into(),
            url: format!("{}{UPLOAD_PATH}{key}?{query}", self.public_url),
            headers: headers.into(),
            expires_at: Timestamp::at(
                time::OffsetDateTime::from_unix_timestamp(expires).context("an expiry within the calendar")?,
            ),
        })
    }

    async fn put(&self, key: &str, object: Object) -> anyhow::Result<()> {
        let path = self.path(key)?;
        let folder = path.parent().context("an object's folder")?.to_owned();
        let staged = folder.join(format!(".{}.partial", ulid::Ulid::new()));
        tokio::fs::create_dir_all(&folder).await.with_context(|| format!("creating {}", folder.display()))?;
        tokio::fs::write(&staged, &object.bytes).await?;
        let metadata = match &object.cache_control {
            Some(cache_control) => format!("{}\n{cache_control}", object.content_type),
            None => object.content_type.clone(),
        };
        tokio::fs::write(type_of(&path), metadata).await?;
        tokio::fs::rename(&staged, &path).await?;
        let _ = self.created.send(key.to_owned());
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Object>> {
        let path = self.path(key)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let metadata = tokio::fs::read_to_string(type_of(&path)).await.unwrap_or_default();
        let (content_type, cache_control) = match metadata.split_once('\n') {
            Some((content_type, cache_control)) => (content_type, Some(cache_control.to_owned())),
            None => (metadata.as_str(), None),
        };
        Ok(Some(Object { bytes, content_type: content_type.to_owned(), cache_control }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = self.path(key)?;
        for file in [type_of(&path), path] {
            match tokio::fs::remove_file(&file).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing {}", file.display()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The file holding an object's content type, and its `Cache-Control` on a second line if it
/// has one (a name no key makes: keys never hold `#`).
fn type_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("#type");
    PathBuf::from(name)
}
