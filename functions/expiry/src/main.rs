//! The expiry job on AWS Lambda, triggered by an EventBridge schedule.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_events(
        || {
            let aws = shop_aws::lambda_config()?;
            let stripe = std::sync::Arc::new(shop_stripe::from_secrets_manager(&aws)?);
            let paypal = std::sync::Arc::new(shop_paypal::from_secrets_manager(&aws)?);
            let providers: Vec<std::sync::Arc<dyn shop::payments::PaymentProvider>> = vec![stripe, paypal];
            Ok(expiry::Expiry::new(shop_dynamodb::table(&aws)?, providers, expiry::Windows::from_env()?))
        },
        |job, event| async move { job.handle(event).await },
    )
    .await
}
