//! The auth service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop::lambda::Error> {
    shop::lambda::serve_http(|| {
        let aws = shop::aws::lambda_config()?;
        Ok(auth::router(auth::AuthState::new(shop::aws::table(&aws)?, shop::aws::identity(&aws)?)))
    })
    .await
}
