//! The search service on AWS Lambda, over OpenSearch.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_http(|| {
        let aws = shop_aws::lambda_config()?;
        shop_secrets::signing_key_from_env(&aws)?;
        let index = std::sync::Arc::new(shop_opensearch::OpenSearch::from_env(&aws)?);
        Ok(search::router(search::SearchState { index }))
    })
    .await
}
