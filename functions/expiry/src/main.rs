//! The expiry job on AWS Lambda, triggered by an EventBridge schedule.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop::lambda::Error> {
    shop::lambda::serve_events(
        || {
            let aws = shop::aws::lambda_config()?;
            Ok(expiry::Expiry::new(shop::aws::table(&aws)?, expiry::Expiry::window_from_env()?))
        },
        |job, event| async move { job.handle(event).await },
    )
    .await
}
