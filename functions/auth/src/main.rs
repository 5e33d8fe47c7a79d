//! The auth service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        let sms = shop::notifications::sms::SmsCountries::from_lookup(|name| std::env::var(name).ok())?;
        Ok(auth::router(auth::AuthState::new(shop_dynamodb::table(&aws)?, shop_cognito::identity(&aws)?, sms)))
    })
    .await
}
