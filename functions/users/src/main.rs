//! The users service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        shop_secrets::signing_key_from_env(&aws)?;
        let sms = shop::notifications::sms::SmsCountries::from_lookup(|name| std::env::var(name).ok())?;
        let state = users::UsersState::new(shop_dynamodb::table(&aws)?, shop_cognito::identity(&aws)?, sms);
        Ok(users::router(state))
    })
    .await
}
