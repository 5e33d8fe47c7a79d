//! The SMS sender on AWS: Amazon SNS `Publish` to a phone number, as a transactional message,
//! after asking SNS whether the number opted out (`CheckIfPhoneNumberIsOptedOut`).

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use shop::notifications::{OutgoingSms, SendError, SmsSender};

#[derive(Clone)]
pub struct SnsSms {
    client: shop_aws::OnFirstUse<aws_sdk_sns::Client>,
}

impl SnsSms {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        Self { client: shop_aws::OnFirstUse::made(client) }
    }

    /// The sender on Lambda, its client made at the first message: most of a function's
    /// deliveries are emails.
    pub fn on_first_use(config: &aws_config::SdkConfig) -> Self {
        Self { client: shop_aws::OnFirstUse::new(config, aws_sdk_sns::Client::new) }
    }
}

fn unavailable(doing: &str, e: impl std::error::Error) -> SendError {
    SendError::Unavailable(anyhow::anyhow!("{doing}: {}", aws_sdk_sns::error::DisplayErrorContext(e)))
}

#[async_trait]
impl SmsSender for SnsSms {
    async fn send_sms(&self, sms: &OutgoingSms<'_>) -> Result<String, SendError> {
        let opted_out = self
            .client
            .check_if_phone_number_is_opted_out()
            .phone_number(sms.to)
            .send()
            .await
            .map_err(|e| unavailable("SNS CheckIfPhoneNumberIsOptedOut", e))?;
        if opted_out.is_opted_out {
            return Err(SendError::Suppressed(format!("{} opted out of SMS", sms.to)));
        }
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| SendError::Refused(e.to_string()))?;
        let published = self
            .client
            .publish()
            .phone_number(sms.to)
            .message(sms.text)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(aws_sdk_sns::operation::publish::PublishError::InvalidParameterException(_)) => {
                    SendError::Refused(aws_sdk_sns::error::DisplayErrorContext(&e).to_string())
                }
                _ => unavailable("SNS Publish", e),
            })?;
        published.message_id.ok_or_else(|| SendError::Unavailable(anyhow::anyhow!("SNS answered no message id")))
    }
}
