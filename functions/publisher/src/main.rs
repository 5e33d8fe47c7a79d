//! The event publisher on AWS Lambda: DynamoDB stream batches (filtered to new `EVENT#`
//! items) in, SNS messages with a `type` attribute out.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_events(
        || shop_sns::SnsPublisher::from_env(&shop_aws::lambda_config()?),
        |publisher, batch| async move { shop_sns::handle_stream(&publisher, batch).await },
    )
    .await
}
