//! `shop-ses`: the email sender on AWS. Amazon SES v2 `SendEmail` with `Simple` content (the
//! subject, the plain-text part and the HTML part), from the shop's verified identity, through
//! the configuration set whose event destination reports bounces and complaints, tagged with
//! the user and message ids so those reports lead back to the message ([`feedback`] reads
//! them).

pub mod feedback;

use async_trait::async_trait;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use shop::notifications::{EmailSender, OutgoingEmail, SendError};

/// Sends through SES from `from`, within `configuration_set`.
#[derive(Clone)]
pub struct SesEmail {
    client: shop_aws::OnFirstUse<aws_sdk_sesv2::Client>,
    from: String,
    configuration_set: Option<String>,
}

impl SesEmail {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self { client: shop_aws::OnFirstUse::made(client), from: from.into(), configuration_set }
    }

    /// The sender on Lambda: `MAIL_FROM` (an address of the verified identity) and
    /// `SES_CONFIGURATION_SET`.
    pub fn from_env(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let set = shop_aws::env("SES_CONFIGURATION_SET")?;
        let client = shop_aws::OnFirstUse::new(config, aws_sdk_sesv2::Client::new);
        Ok(Self { client, from: shop_aws::env("MAIL_FROM")?, configuration_set: Some(set) })
    }
}

fn content(text: &str) -> Result<Content, SendError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| SendError::Refused(e.to_string()))
}

fn tag(name: &str, value: &str) -> Result<MessageTag, SendError> {
    MessageTag::builder().name(name).value(value).build().map_err(|e| SendError::Refused(e.to_string()))
}

/// What SES's refusal means for the message: refused for good, or worth another try.
fn judged(e: SdkError<SendEmailError>) -> SendError {
    let detail = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
    match e.as_service_error() {
        Some(SendEmailError::MessageRejected(_) | SendEmailError::BadRequestException(_)) => SendError::Refused(detail),
        // Throttling, a paused account, an unverified identity, a missing configuration set,
        // or no answer: the queue tries again, then keeps the event as a dead letter until
        // someone fixes it and redrives.
        _ => SendError::Unavailable(anyhow::anyhow!("SES SendEmail: {detail}")),
    }
}

#[async_trait]
impl EmailSender for SesEmail {
    async fn send_email(&self, email: &OutgoingEmail<'_>) -> Result<String, SendError> {
        let body = Body::builder().text(content(email.text)?).html(content(email.html)?).build();
        let message = Message::builder().subject(content(email.subject)?).body(body).build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .email_tags(tag("user_id", email.user_id.as_str())?)
            .email_tags(tag("message_id", email.message_id)?)
            .send()
            .await
            .map_err(judged)?;
        sent.message_id.ok_or_else(|| SendError::Unavailable(anyhow::anyhow!("SES answered no message id")))
    }
}
