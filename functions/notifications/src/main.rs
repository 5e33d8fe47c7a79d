//! Order notifications on AWS Lambda, fed by the `notifications` SQS queue.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop::lambda::Error> {
    shop::lambda::serve_consumer(shop::notifications::OrderNotifications::new).await
}
