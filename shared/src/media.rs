//! Product images, uploaded in two steps as S3 is used: an admin asks for an upload (its type,
//! size and alt text) and gets a short-lived target; the file goes there, straight to the
//! store; the store's notice of it runs [`Media::receive`], which checks the file by its bytes,
//! makes the sizes the storefront shows (with the processing it is given: `shop-images`), keeps
//! them under `images/` where the media origin serves them, and attaches the image to its
//! product. A file refused leaves nothing behind, and every upload ends `done` or `refused`
//! with why, which `GET /api/products/{id}/images/uploads/{upload}` tells.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError};
use crate::domain::{AltText, Image, ImageId, ImageSize, ProductId, UploadId, VariantId};
use crate::keys;
use crate::objects::{Object, ObjectStore, UploadTarget};
use crate::table::{Item, Table, Write};
use crate::time::{Timestamp, epoch_now};

/// The types an upload may say it is (and its bytes must then be).
pub const ACCEPTED: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/gif"];
/// The largest file an upload takes.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The most pixels an image may have (a 40-megapixel camera's).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The widths made of each image (none wider than the image itself).
pub const WIDTHS: [u32; 3] = [200, 600, 1200];
/// How the sizes are served: an image's files never change (a new image has a new id), so
/// browsers and the CDN keep them a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// How long an upload target takes the file.
pub const UPLOAD_VALID: Duration = Duration::from_secs(15 * 60);
/// How long an upload's record is kept.
const RECORD_SECONDS: i64 = 7 * 24 * 3600;

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// The target is out; the file has not arrived (or is being made into sizes).
    Waiting,
    /// The image is made and attached (`image_id`).
    Done,
    /// The file was not an image the shop takes (`reason`); nothing was kept.
    Refused,
}

/// An upload's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Upload {
    pub id: UploadId,
    pub product_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<VariantId>,
    pub alt: AltText,
    pub content_type: String,
    pub size: u64,
    pub state: UploadState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A size made of an uploaded image: its bytes (a JPEG) and dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// Turns an upload's bytes into its sizes, or says why the file is not an image the shop takes
/// (`shop_images::process`; run on the blocking pool).
pub type Process = fn(&[u8]) -> Result<Vec<Made>, String>;

/// Why an upload or an image change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("content_type: must be one of {}", ACCEPTED.join(", "))]
    Type,
    #[error("size: must be from 1 to {MAX_BYTES} bytes")]
    Size,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The key of an upload's file.
pub fn upload_key(id: &UploadId) -> String {
    format!("uploads/{id}")
}

/// The upload a stored file's key names, if it is an upload's.
pub fn upload_of(key: &str) -> Option<UploadId> {
    UploadId::parse(key.strip_prefix("uploads/")?).ok()
}

/// The key of an image's size.
pub fn image_key(image: &ImageId, width: u32) -> String {
    format!("images/{image}/{width}.jpg")
}

#[derive(Clone)]
pub struct Media {
    table: Arc<dyn Table>,
    catalog: Catalog,
    objects: Arc<dyn ObjectStore>,
    /// Where `images/` is served from (a CDN's origin, or the local stack's `/media`).
    public_url: String,
}

impl Media {
    pub fn new(table: Arc<dyn Table>, objects: Arc<dyn ObjectStore>, public_url: &str) -> Self {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Self { catalog: Catalog::new(table.clone()), table, objects, public_url }
    }

    /// Records an upload for a product (and one of its variants) and answers where the file
    /// goes: a target that takes exactly `size` bytes of `content_type`, for 15 minutes.
    pub async fn request(
        &self,
        product: &ProductId,
        variant: Option<VariantId>,
        alt: AltText,
        content_type: &str,
        size: u64,
    ) -> Result<(Upload, UploadTarget), MediaError> {
        if !ACCEPTED.contains(&content_type) {
            return Err(MediaError::Type);
        }
        if !(1..=MAX_BYTES).contains(&size) {
            return Err(MediaError::Size);
        }
        let current = self.catalog.get(product).await?.ok_or(CatalogError::NotFound)?;
        if let Some(variant) = &variant {
            current.resolve(Some(variant))?;
        }
        let now = Timestamp::now();
        let upload = Upload {
            id: UploadId::new(),
            product_id: *product,
            variant_id: variant,
            alt,
            content_type: content_type.to_owned(),
            size,
            state: UploadState::Waiting,
            reason: None,
            image_id: None,
            created_at: now,
            updated_at: now,
        };
        self.save(&upload).await?;
        let target = self.objects.upload_target(&upload_key(&upload.id), content_type, size, UPLOAD_VALID).await?;
        Ok((upload, target))
    }

    pub async fn upload(&self, id: &UploadId) -> anyhow::Result<Option<Upload>> {
        self.table.get(&keys::upload(id)).await?.map(|i| i.decode()).transpose()
    }

    async fn save(&self, upload: &Upload) -> anyhow::Result<()> {
        let item = Item::new(&keys::upload(&upload.id), upload).expiring_at(epoch_now() + RECORD_SECONDS);
        self.table.write(Write::put(item)).await?;
        Ok(())
    }

    /// Makes the image of the upload stored as `key` with `process`, keeps its sizes, attaches
    /// it to the product and removes the upload's file; or refuses it, keeping nothing. A notice
    /// delivered twice does nothing the second time (the upload is no longer waiting).
    pub async fn receive(&self, key: &str, process: Process) -> anyhow::Result<Upload> {
        let id = upload_of(key).ok_or_else(|| anyhow::anyhow!("{key} is not an upload's file"))?;
        let Some(mut upload) = self.upload(&id).await? else {
            // No record (expired, or never asked for): nothing to attach it to.
            self.objects.delete(key).await?;
            anyhow::bail!("upload {id} has no record; its file is removed");
        };
        if upload.state != UploadState::Waiting {
            self.objects.delete(key).await?;
            return Ok(upload);
        }
        let outcome = match self.objects.get(key).await? {
            None => Err("the file did not arrive".to_owned()),
            Some(file) if file.bytes.len() as u64 > MAX_BYTES => Err(format!("the file is over {MAX_BYTES} bytes")),
            Some(file) if file.bytes.len() as u64 != upload.size => {
                Err(format!("the file is {} bytes, not the {} asked for", file.bytes.len(), upload.size))
            }
            Some(file) => tokio::task::spawn_blocking(move || process(&file.bytes)).await?,
        };
        match outcome {
            Ok(sizes) => match self.attach(&upload, sizes).await {
                Ok(image) => {
                    upload.state = UploadState::Done;
                    upload.image_id = Some(image);
                }
                Err(refused) => {
                    upload.state = UploadState::Refused;
                    upload.reason = Some(refused.to_string());
                }
            },
            Err(reason) => {
                upload.state = UploadState::Refused;
                upload.reason = Some(reason);
            }
        }
        upload.updated_at = Timestamp::now();
        self.save(&upload).await?;
        self.objects.delete(key).await?;
        Ok(upload)
    }

    /// Keeps the sizes and attaches the image; on a refusal by the catalogue (the product gone,
    /// or full) the sizes go again.
    async fn attach(&self, upload: &Upload, sizes: Vec<Made>) -> Result<ImageId, CatalogError> {
        let image = ImageId::new();
        let mut kept = Vec::new();
        for made in sizes {
            let key = image_key(&image, made.width);
            let object = Object::new(made.jpeg, "image/jpeg").cached(IMMUTABLE);
            self.objects.put(&key, object).await?;
            let url = format!("{}/{key}", self.public_url);
            kept.push(ImageSize { width: made.width, height: made.height, url });
        }
        let attached = Image { id: image, alt: upload.alt.clone(), variant_id: upload.variant_id, sizes: kept };
        match self.catalog.attach_image(&upload.product_id, attached.clone()).await {
            Ok(_) => Ok(image),
            Err(refused) => {
                self.delete_files(&[attached]).await?;
                Err(refused)
            }
        }
    }

    /// Removes an image from its product, then its files.
    pub async fn remove(
        &self,
        product: &ProductId,
        image: &ImageId,
        expected: Option<u64>,
    ) -> Result<crate::domain::Product, MediaError> {
        let (product, removed) = self.catalog.remove_image(product, image, expected).await?;
        self.delete_files(&[removed]).await?;
        Ok(product)
    }

    /// Removes the files of `images` (a product's, once it is deleted).
    pub async fn delete_files(&self, images: &[Image]) -> anyhow::Result<()> {
        for image in images {
            for size in &image.sizes {
                self.objects.delete(&image_key(&image.id, size.width)).await?;
            }
        }
        Ok(())
    }
}
