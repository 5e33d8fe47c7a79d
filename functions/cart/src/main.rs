//! The cart service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        shop_secrets::signing_key_from_env(&aws)?;
        Ok(cart::router(cart::CartState::new(shop_dynamodb::table(&aws)?)))
    })
    .await
}
