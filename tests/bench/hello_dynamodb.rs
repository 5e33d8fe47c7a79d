//! The floor under the first-answer cold start: the least a Lambda can do that reads the
//! table. The functions' own configuration (`shop_aws::lambda_config`), one DynamoDB client,
//! and one `GetItem` per event, answered with whether the item exists. Whatever a function
//! adds beyond this is the shop's own start-up; what this adds beyond the hello-world is the
//! AWS SDK's.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&shop_aws::lambda_config()?);
    let table = shop_aws::env("TABLE_NAME")?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let get = dynamodb
            .get_item()
            .table_name(&table)
            .key("PK", AttributeValue::S("PRODUCT#hello".into()))
            .key("SK", AttributeValue::S("PRODUCT".into()));
        async move { Ok::<_, Error>(serde_json::json!({ "found": get.send().await?.item.is_some() })) }
    }))
    .await
}
