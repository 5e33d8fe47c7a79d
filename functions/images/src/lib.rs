//! The image maker: S3 tells it of each file uploaded under `uploads/` (to a target the
//! products service handed an admin), and it checks the file by its bytes, makes the sizes the
//! storefront shows, keeps them under `images/` (served by the CDN) and attaches the image to
//! its product; or refuses the file and keeps nothing.

use std::sync::Arc;

use shop::media::Media;

#[derive(Clone)]
pub struct Maker {
    media: Media,
}

impl Maker {
    pub fn new(media: Media) -> Self {
        Self { media }
    }

    /// Makes the image of the upload stored as `key` (any other key is not this function's).
    pub async fn run(&self, key: &str) -> anyhow::Result<()> {
        if shop::media::upload_of(key).is_none() {
            tracing::warn!(key, "not an upload: left alone");
            return Ok(());
        }
        let upload = self.media.receive(key, shop_images::process).await?;
        tracing::info!(upload = %upload.id, state = ?upload.state, reason = upload.reason, "upload received");
        Ok(())
    }
}

/// What the maker needs, for the Lambda and the local stack alike.
pub fn maker(
    table: Arc<dyn shop::table::Table>,
    objects: Arc<dyn shop::objects::ObjectStore>,
    media_url: &str,
) -> Maker {
    Maker::new(Media::new(table, objects, media_url))
}
