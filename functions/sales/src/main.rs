//! Units sold per product on AWS Lambda, fed by the `sales` SQS queue.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_consumer(|| {
        shop::consumers::of("sales", &shop::consumers::Ports::table(shop_dynamodb::table(&shop_aws::lambda_config()?)?))
    })
    .await
}
