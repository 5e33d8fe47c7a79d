//! Partners' webhooks on AWS Lambda: the `webhooks` SQS queue's events delivered to the
//! endpoints that want them, and, every minute (an EventBridge schedule), the deliveries due
//! for another attempt.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shop::partners::PartnerDeliveries;

/// The deliveries one scheduled sweep attempts at most (each may take the 10 s timeout; the
/// next sweep, a minute later, takes the rest).
const SWEEP: usize = 25;

// Lambda hands an execution environment one event at a time: one thread serves it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shop_aws::lambda::Error> {
    shop_aws::lambda::serve_events(
        || {
            let aws = shop_aws::lambda_config()?;
            shop_aws::default_tls_crypto();
            let sender = Arc::new(shop_webhooks::WebhookSender::new(false)?);
            Ok(Arc::new(PartnerDeliveries::new(shop_dynamodb::table(&aws)?, sender)))
        },
        // A queue's batch holds `Records`; the schedule's event (EventBridge) does not.
        |deliveries: Arc<PartnerDeliveries>, trigger: serde_json::Value| async move {
            Ok(match trigger.get("Records") {
                Some(_) => {
                    let batch: SqsEvent = serde_json::from_value(trigger).map_err(|e| format!("an SQS batch: {e}"))?;
                    shop_aws::lambda::handle_queue(&*deliveries, batch).await
                }
                None => {
                    let tried = deliveries.retry_due(shop::time::Timestamp::now(), SWEEP).await;
                    tracing::info!(tried = ?tried.as_ref().ok(), "due deliveries attempted");
                    tried.map_err(|e| format!("retrying due deliveries: {e:#}"))?;
                    SqsBatchResponse::default()
                }
            })
        },
    )
    .await
}
