//! The event publisher on AWS Lambda: DynamoDB stream batches (filtered to new `EVENT#`
//! items) in, SNS messages with a `type` attribute out.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop::lambda::Error> {
    shop::lambda::serve_events(
        || shop::events::aws::SnsPublisher::from_env(&shop::aws::lambda_config()?),
        |publisher, batch| async move { shop::events::aws::handle_stream(&publisher, batch).await },
    )
    .await
}
