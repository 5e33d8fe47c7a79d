//! SES's bounce and complaint reports on AWS Lambda (see the library).

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_events(
        || Ok(shop::notifications::Feedback::new(shop_dynamodb::table(&shop_aws::lambda_config()?)?)),
        |feedback, batch| async move { Ok(feedback::handle(&feedback, batch).await) },
    )
    .await
}
