//! SES's bounce and complaint reports on AWS Lambda, fed by the email feedback queue (the
//! configuration set's event destination topic): a permanently bounced or complaining address
//! gets nothing more, and its shopper's email is turned off.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shop::notifications::Feedback;

/// The feedback queue's name in logs.
pub const QUEUE: &str = "email-feedback";

/// Applies one SQS batch of SES reports; answers the messages that failed.
pub async fn handle(feedback: &Feedback, batch: SqsEvent) -> SqsBatchResponse {
    shop_aws::lambda::handle_sqs(QUEUE, batch, |body| async move {
        match shop_ses::feedback::report(&body)? {
            Some(report) => feedback.apply(&report).await,
            None => Ok(()),
        }
    })
    .await
}
