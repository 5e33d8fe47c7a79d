//! The search index's writer on AWS Lambda, fed by the `search` SQS queue: each product event
//! puts the product, as the table holds it, into OpenSearch.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_consumer(|| {
        let aws = shop_aws::lambda_config()?;
        let search = std::sync::Arc::new(shop_opensearch::OpenSearch::from_env(&aws)?);
        let ports = shop::consumers::Ports {
            search: Some(search),
            ..shop::consumers::Ports::table(shop_dynamodb::table(&aws)?)
        };
        shop::consumers::of("indexer", &ports)
    })
    .await
}
