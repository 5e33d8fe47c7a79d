//! Sends queued messages on AWS Lambda, fed by the `deliveries` SQS queue: email through SES,
//! SMS through SNS.

use std::sync::Arc;

use shop::consumers::Ports;
use shop::notifications::Senders;

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_consumer(|| {
        let aws = shop_aws::lambda_config()?;
        let senders = Senders {
            email: Arc::new(shop_ses::SesEmail::from_env(&aws)?),
            sms: Arc::new(shop_sns::sms::SnsSms::new(aws_sdk_sns::Client::new(&aws))),
        };
        let ports = Ports { senders: Some(senders), ..Ports::table(shop_dynamodb::table(&aws)?) };
        shop::consumers::of("deliveries", &ports)
    })
    .await
}
