//! Order notifications on AWS Lambda, fed by the `notifications` SQS queue.

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_consumer(|| {
        let table = shop_dynamodb::table(&shop_aws::lambda_config()?)?;
        // Where the links in guests' messages lead.
        let storefront = Some(shop_aws::env("STOREFRONT_URL")?);
        shop::consumers::of(
            "notifications",
            &shop::consumers::Ports { storefront, ..shop::consumers::Ports::table(table) },
        )
    })
    .await
}
