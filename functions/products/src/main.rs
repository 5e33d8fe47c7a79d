//! The catalogue service on AWS Lambda.

#[tokio::main]
async fn main() -> Result<(), shop::lambda::Error> {
    shop::lambda::serve_http(|| {
        let aws = shop::aws::lambda_config()?;
        shop::aws::cursor_secret_from_env()?;
        Ok(products::router(products::ProductsState::new(shop::aws::table(&aws)?)))
    })
    .await
}
