//! The storefront on AWS Lambda: the pages, served on the API's own origin.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let settings = storefront::Settings::deployed(|name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?;
        Ok(storefront::router(settings))
    })
    .await
}
