//! The catalogue service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        shop_secrets::signing_key_from_env(&aws)?;
        let objects = std::sync::Arc::new(shop_s3::S3Objects::from_env(&aws)?);
        let media_url = std::env::var("MEDIA_URL").map_err(|_| anyhow::anyhow!("MEDIA_URL is not set"))?;
        Ok(products::router(products::ProductsState::new(shop_dynamodb::table(&aws)?, objects, &media_url)))
    })
    .await
}
