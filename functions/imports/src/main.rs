//! The catalogue import's runner on AWS Lambda, invoked by S3 for each file under `imports/`.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_stored(
        || {
            let aws = shop_aws::lambda_config()?;
            let objects = std::sync::Arc::new(shop_s3::S3Objects::from_env(&aws)?);
            Ok(imports::Runner::new(shop_dynamodb::table(&aws)?, objects))
        },
        |runner, key| async move { runner.run(&key).await },
    )
    .await
}
