//! The local stack's AWS mode does the work of Lambda's event source mappings: it reads the
//! table's stream and hands new event items to the same publisher the publisher function runs
//! (SNS), and it receives each queue's messages and hands them to the same consumers the
//! consumer functions run, deleting a message only once its consumer succeeded (a failure
//! comes back after the queue's visibility timeout and, past its receive limit, lands in the
//! queue's DLQ, as on AWS).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde_json::{Map, Value};
use shop::events::{Consumer, Idle, Published, Queue, deliver, keep_working};
use shop::table::Item;
use shop_aws::failed;
use shop_sns::SnsPublisher;

/// The names of the stack's queues: `<stack>-<queue>` and `<stack>-<queue>-dlq`.
pub fn queue_name(stack: &str, queue: &Queue) -> String {
    format!("{stack}-{}", queue.name)
}

pub fn dead_letter_queue_name(stack: &str, queue: &Queue) -> String {
    format!("{stack}-{}-dlq", queue.name)
}

/// The pollers, with the clients they use.
pub struct Pollers {
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    publisher: SnsPublisher,
    table: String,
    /// The pause after an empty receive or read, or a failure.
    poll: Duration,
}

impl Pollers {
    /// Pollers of `table`'s stream and queues (the table names them), publishing to `topic`.
    pub fn new(config: &SdkConfig, table: &str, topic: &str, poll: Duration) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            publisher: SnsPublisher::new(aws_sdk_sns::Client::new(config), topic),
            table: table.to_owned(),
            poll,
        }
    }

    /// Polls the stream and every consumer's queue until the task is dropped.
    pub async fn run(self, consumers: Vec<Arc<dyn Consumer>>) {
        let poll = self.poll;
        let this = Arc::new(self);
        let mut workers = tokio::task::JoinSet::new();
        let stream = this.clone();
        // Both rounds run until they fail; a failure starts them again from the top.
        workers.spawn(keep_working("reading the table's stream", Idle::polling(poll), move || {
            let stream = stream.clone();
            async move { stream.publish_stream().await.map(|()| 0) }
        }));
        for consumer in consumers {
            let queues = this.clone();
            workers.spawn(keep_working("polling a queue", Idle::polling(poll), move || {
                let (queues, consumer) = (queues.clone(), consumer.clone());
                async move { queues.consume(&*consumer).await.map(|()| 0) }
            }));
        }
        while workers.join_next().await.is_some() {}
    }

    /// Follows every shard of the table's stream from its oldest record (as a mapping with
    /// `StartingPosition: TRIM_HORIZON`), publishing events in order; a batch that could not
    /// be published completely is tried again before the stream is read further.
    async fn publish_stream(&self) -> anyhow::Result<()> {
        let table = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(failed("describing the table"))?;
        let arn = table.table().and_then(|t| t.latest_stream_arn()).context("the table has no stream")?.to_owned();
        let stream =
            self.streams.describe_stream().stream_arn(&arn).send().await.map_err(failed("describing the stream"))?;
        let shards: Vec<String> = stream
            .stream_description()
            .map(|d| d.shards().iter().filter_map(|s| s.shard_id().map(str::to_owned)).collect())
            .unwrap_or_default();
        let mut iterators = Vec::new();
        for shard in shards {
            let it = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(failed("opening a shard"))?;
            iterators.extend(it.shard_iterator().map(str::to_owned));
        }
        loop {
            let mut read = 0;
            for iterator in iterators.iter_mut() {
                let records = self
                    .streams
                    .get_records()
                    .shard_iterator(iterator.as_str())
                    .limit(100)
                    .send()
                    .await
                    .map_err(failed("reading the stream"))?;
                let (mut events, mut sold_out) = (Vec::new(), 0);
                for record in records.records() {
                    let Some(change) = record.dynamodb() else { continue };
                    let old = image(change.old_image().cloned())?;
                    let new = image(change.new_image().cloned())?;
                    events.extend(Published::by(old.as_ref(), new.as_ref()));
                    sold_out += shop::catalog::sold_out(old.as_ref(), new.as_ref());
                }
                read += records.records().len();
                let mut published = 0;
                while published < events.len() {
                    published += self.publisher.publish(&events[published..]).await?;
                    if published < events.len() {
                        tokio::time::sleep(self.poll).await;
                    }
                }
                shop::metrics::stock_outs(sold_out);
                if let Some(next) = records.next_shard_iterator() {
                    *iterator = next.to_owned();
                }
            }
            if read == 0 {
                tokio::time::sleep(self.poll).await;
            }
        }
    }

    /// Receives the consumer's queue in batches of ten, as the SQS mapping does.
    async fn consume(&self, consumer: &dyn Consumer) -> anyhow::Result<()> {
        let name = queue_name(&self.table, consumer.queue());
        let url =
            self.sqs.get_queue_url().queue_name(&name).send().await.map_err(failed(format!("finding queue {name}")))?;
        let url = url.queue_url().context("no queue url")?.to_owned();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(failed(format!("receiving from {name}")))?;
            if received.messages().is_empty() {
                tokio::time::sleep(self.poll).await;
                continue;
            }
            for message in received.messages() {
                match deliver(consumer, message.body().unwrap_or_default()).await {
                    Ok(()) => {
                        if let Some(handle) = message.receipt_handle() {
                            let deleted = self.sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await;
                            deleted.map_err(failed(format!("deleting from {name}")))?;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(queue = name, error = format!("{e:#}"), "a message failed; it will come back")
                    }
                }
            }
        }
    }
}

type StreamImage = std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>;

fn image(image: Option<StreamImage>) -> anyhow::Result<Option<Item>> {
    let Some(image) = image.filter(|i| !i.is_empty()) else { return Ok(None) };
    let map: Map<String, Value> = serde_dynamo::from_item(image).context("reading a stream image")?;
    Ok(Some(Item(map)))
}
