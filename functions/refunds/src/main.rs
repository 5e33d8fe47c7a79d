//! Refunds of cancelled paid orders on AWS Lambda, fed by the `refunds` SQS queue.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_consumer(|| {
        let aws = shop_aws::lambda_config()?;
        let stripe = std::sync::Arc::new(shop_stripe::from_secrets_manager(&aws)?);
        let paypal = std::sync::Arc::new(shop_paypal::from_secrets_manager(&aws)?);
        let ports = shop::consumers::Ports {
            payments: vec![stripe, paypal],
            ..shop::consumers::Ports::table(shop_dynamodb::table(&aws)?)
        };
        shop::consumers::of("refunds", &ports)
    })
    .await
}
