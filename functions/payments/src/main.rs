//! The payments service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        shop_secrets::signing_key_from_env(&aws)?;
        let table = shop_dynamodb::table(&aws)?;
        let stripe = std::sync::Arc::new(shop_stripe::with_webhooks_from_secrets_manager(&aws)?);
        let paypal = std::sync::Arc::new(shop_paypal::from_secrets_manager(&aws)?);
        let payments = shop::payments::Payments::new(table.clone(), vec![stripe, paypal]);
        let limits = shop::orders::Limits::from_lookup(|name| std::env::var(name).ok())?;
        Ok(payments::router(payments::PaymentsState::new(table, payments).with_limits(limits)))
    })
    .await
}
