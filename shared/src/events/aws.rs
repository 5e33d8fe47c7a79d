//! The bus on AWS: the stream publisher (DynamoDB Streams -> SNS with a `type` attribute) and
//! the queue consumers' Lambda handler (SQS, partial batch responses). The local stack's
//! AWS mode runs the same two functions from its pollers.

use anyhow::Context;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use serde_json::{Map, Value, json};

use super::{Consumer, Event};
use crate::table::Item;

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

    /// Publishes `events` in order; answers how many, from the first, are certainly published
    /// (all of them, or up to the first that failed).
    pub async fn publish(&self, events: &[Event]) -> anyhow::Result<usize> {
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
                        .message(serde_json::to_string(event)?)
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
pub async fn handle_stream(publisher: &SnsPublisher, payload: Value) -> Result<Value, crate::lambda::Error> {
    let batch: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(payload).map_err(|e| format!("not a DynamoDB stream batch: {e}"))?;
    let mut events = Vec::new();
    for record in batch.records {
        let (old, new) = (image(record.change.old_image)?, image(record.change.new_image)?);
        if let Some(event) = Event::published_by(old.as_ref(), new.as_ref()) {
            events.push((record.change.sequence_number.unwrap_or_default(), event));
        }
    }
    let (sequences, events): (Vec<String>, Vec<Event>) = events.into_iter().unzip();
    let published = publisher.publish(&events).await?;
    tracing::info!(published, of = events.len(), "events published");
    let failures: Vec<Value> = sequences.get(published).map(|s| json!({"itemIdentifier": s})).into_iter().collect();
    Ok(json!({ "batchItemFailures": failures }))
}

/// Hands one queue message's body (the event, delivered raw) to its consumer.
pub async fn deliver(consumer: &dyn Consumer, body: &str) -> anyhow::Result<()> {
    let event: Event = serde_json::from_str(body).context("a message that is not an event")?;
    consumer.handle(&event).await
}

/// A consumer's Lambda handler for an SQS batch: every message goes to the consumer, and the
/// ones that failed come back as `batchItemFailures` so only they are retried (and, past the
/// queue's receive limit, dead-lettered).
pub async fn handle_queue(consumer: &dyn Consumer, payload: Value) -> Result<Value, crate::lambda::Error> {
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(payload).map_err(|e| format!("not an SQS batch: {e}"))?;
    let mut failures = Vec::new();
    for message in batch.records {
        let id = message.message_id.unwrap_or_default();
        if let Err(e) = deliver(consumer, message.body.as_deref().unwrap_or_default()).await {
            tracing::warn!(queue = consumer.queue().name, message_id = %id, error = format!("{e:#}"), "a message failed");
            failures.push(json!({ "itemIdentifier": id }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}
