//! Sends queued messages on AWS Lambda, fed by the `deliveries` SQS queue: email through SES,
//! SMS through Twilio when the stack names a Twilio secret (`TWILIO_SECRET_ARN`, read at the
//! first SMS), through SNS otherwise (its client, too, made at the first SMS).

use std::sync::Arc;

use shop::consumers::Ports;
use shop::notifications::{Senders, SmsSender};

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_consumer(|| {
        let aws = shop_aws::lambda_config()?;
        let sms: Arc<dyn SmsSender> = match std::env::var("TWILIO_SECRET_ARN") {
            Ok(arn) if !arn.is_empty() => {
                shop_aws::default_tls_crypto();
                Arc::new(shop_secrets::deferred(&aws, "TWILIO_SECRET_ARN", |secret| {
                    shop_twilio::TwilioSms::from_fields(|name| secret.get(name).map(str::to_owned))
                })?)
            }
            // SNS's client is made at the first SMS: an invocation that sends only email (most
            // do) never builds it.
            _ => Arc::new(shop_sns::sms::SnsSms::on_first_use(&aws)),
        };
        let senders = Senders { email: Arc::new(shop_ses::SesEmail::from_env(&aws)?), sms };
        let ports = Ports { senders: Some(senders), ..Ports::table(shop_dynamodb::table(&aws)?) };
        shop::consumers::of("deliveries", &ports)
    })
    .await
}
