//! The image maker on AWS Lambda, invoked by S3 for each file uploaded under `uploads/`.

// Lambda hands an execution environment one event at a time: one thread serves it (decoding
// runs on the blocking pool).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_stored(
        || {
            let aws = shop_aws::lambda_config()?;
            let objects = std::sync::Arc::new(shop_s3::S3Objects::from_env(&aws)?);
            let media_url = std::env::var("MEDIA_URL").map_err(|_| anyhow::anyhow!("MEDIA_URL is not set"))?;
            Ok(images::maker(shop_dynamodb::table(&aws)?, objects, &media_url))
        },
        |maker, key| async move { maker.run(&key).await },
    )
    .await
}
