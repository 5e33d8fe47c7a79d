//! The orders service on AWS Lambda.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop::lambda::Error> {
    shop::lambda::serve_http(|| {
        let aws = shop::aws::lambda_config()?;
        shop::aws::cursor_secret_from_env()?;
        Ok(orders::router(orders::OrdersState::new(shop::aws::table(&aws)?)))
    })
    .await
}
