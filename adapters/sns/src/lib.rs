//! `shop-sns`: the bus on AWS, the stream publisher (DynamoDB Streams -> SNS with a `type`
//! attribute), and SMS through SNS ([`sms`]). The queue consumers' Lambda handler is
//! `shop_aws::lambda::handle_queue`; the local stack's AWS mode runs both from its pollers.

pub mod sms;

use anyhow::Context;
use aws_lambda_events::event::dynamodb;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use serde_json::{Map, Value};
use shop_aws::lambda::Error;

use shop::events::Published;
use shop::table::Item;

/// Publishes events to the topic, each with its `type` as a message attribute (what the queues'
/// filter policies match).
#[derive(Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

/// SNS takes at most ten messages per PublishBatch.
const SNS_BATCH: usize = 10;

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }

    /// The stream publisher on Lambda: SNS, to the topic named by `TOPIC_ARN`.
    pub fn from_env(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self::new(aws_sdk_sns::Client::new(config), shop_aws::env("TOPIC_ARN")?))
    }

    /// Publishes `events` in order; answers how many, from the first, are certainly published
    /// (all of them, or up to the first that failed).
    pub async fn publish(&self, events: &[Published]) -> anyhow::Result<usize> {
        for (n, chunk) in events.chunks(SNS_BATCH).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, event)| {
                    let kind = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(event.kind.as_str())
                        .build()?;
                    Ok(PublishBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message(&event.body)
                        .message_attributes("type", kind)
                        .build()?)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let sent = self
                .client
                .publish_batch()
                .topic_arn(&self.topic_arn)
                .set_publish_batch_request_entries(Some(entries))
                .send()
                .await;
            let first_failed = match sent {
                Ok(out) => out.failed().iter().filter_map(|f| f.id().parse::<usize>().ok()).min(),
                Err(e) => {
                    tracing::error!(error = %aws_sdk_sns::error::DisplayErrorContext(&e), "publishing events failed");
                    Some(0)
                }
            };
            chunk[..first_failed.unwrap_or(chunk.len())].iter().for_each(Published::measure);
            if let Some(i) = first_failed {
                return Ok(n * SNS_BATCH + i);
            }
        }
        Ok(events.len())
    }
}

fn image(image: serde_dynamo::Item) -> anyhow::Result<Option<Item>> {
    let map: Map<String, Value> = serde_dynamo::from_item(image).context("reading a stream image")?;
    Ok((!map.is_empty()).then_some(Item(map)))
}

/// The publisher's Lambda handler for a DynamoDB stream batch: publishes the events that new
/// event items carry and answers, as a partial batch response, the first record it could not
/// publish (Lambda retries the batch from there; consumers take duplicates in their stride).
pub async fn handle_stream(publisher: &SnsPublisher, batch: dynamodb::Event) -> Result<DynamoDbEventResponse, Error> {
    let mut events = Vec::new();
    // The variants each product change sold out, after how many of the batch's events.
    let mut sold_out = Vec::new();
    for record in batch.records {
        let (old, new) = (image(record.change.old_image)?, image(record.change.new_image)?);
        match Published::by(old.as_ref(), new.as_ref()) {
            Some(event) => events.push((record.change.sequence_number.unwrap_or_default(), event)),
            None => sold_out.push((events.len(), shop::catalog::sold_out(old.as_ref(), new.as_ref()))),
        }
    }
    let (sequences, events): (Vec<String>, Vec<Published>) = events.into_iter().unzip();
    let published = publisher.publish(&events).await?;
    // Lambda retries the batch from the first record whose event was not published: the changes
    // before it are done, and counted once.
    shop::metrics::stock_outs(sold_out.iter().filter(|(before, _)| *before <= published).map(|(_, n)| n).sum());
    tracing::info!(published, of = events.len(), "events published");
    let mut answer = DynamoDbEventResponse::default();
    if let Some(sequence) = sequences.get(published) {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence.clone());
        answer.batch_item_failures.push(failure);
    }
    Ok(answer)
}
