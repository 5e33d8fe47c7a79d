//! `cargo run -- dead-letters [list|redrive] [queue]`: the operator's view of the events the
//! consumers gave up on, on the embedded bus (the data directory) or on SQS (`SHOP_BACKEND=aws`,
//! queues named after `TABLE_NAME`). Redriving sends them back to their queue with a fresh
//! receive count; the consumers' once-per-event records make that safe.

use anyhow::Context;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use shop::events::{Event, QUEUES, Queue};
use shop_aws::failed;
use shop_embedded::bus::{Bus, DeadLetter};

use crate::aws_events::{dead_letter_queue_name, queue_name};
use crate::{Backend, Config};

/// What the command was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    List,
    Redrive,
}

/// The queues a command names: one by name, or all.
fn queues(name: Option<&str>) -> anyhow::Result<Vec<&'static Queue>> {
    match name {
        None => Ok(QUEUES.to_vec()),
        Some(name) => QUEUES.iter().copied().find(|q| q.name == name).map(|q| vec![q]).with_context(|| {
            let known: Vec<&str> = QUEUES.iter().map(|q| q.name).collect();
            format!("no queue {name}; the queues are {}", known.join(", "))
        }),
    }
}

/// Runs the command; answers the dead letters listed, or how many were redriven.
pub async fn run(config: &Config, action: Action, queue: Option<&str>) -> anyhow::Result<(Vec<DeadLetter>, usize)> {
    let queues = queues(queue)?;
    match config.backend {
        Backend::Embedded => {
            let bus = Bus::open(&config.data_dir.join("bus.db"), config.delivery)?;
            let mut letters = Vec::new();
            let mut moved = 0;
            for q in queues {
                match action {
                    Action::List => letters.extend(bus.dead_letters(Some(q.name))?),
                    Action::Redrive => moved += bus.redrive(Some(q.name))?,
                }
            }
            Ok((letters, moved))
        }
        Backend::Aws => {
            let aws = config.aws.sdk_config().await;
            let sqs = aws_sdk_sqs::Client::new(&aws);
            let stack = config.aws.table()?;
            let mut letters = Vec::new();
            let mut moved = 0;
            for q in queues {
                let dlq = url(&sqs, &dead_letter_queue_name(stack, q)).await?;
                match action {
                    Action::List => letters.extend(peek(&sqs, q, &dlq).await?),
                    Action::Redrive => moved += redrive(&sqs, &dlq, &url(&sqs, &queue_name(stack, q)).await?).await?,
                }
            }
            Ok((letters, moved))
        }
    }
}

async fn url(sqs: &aws_sdk_sqs::Client, name: &str) -> anyhow::Result<String> {
    let found = sqs.get_queue_url().queue_name(name).send().await.map_err(failed(format!("finding queue {name}")))?;
    found.queue_url().map(str::to_owned).with_context(|| format!("queue {name} has no URL"))
}

/// Up to ten messages of a DLQ, looked at without hiding them.
async fn peek(sqs: &aws_sdk_sqs::Client, queue: &Queue, dlq: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let received = sqs
        .receive_message()
        .queue_url(dlq)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(failed("reading a DLQ"))?;
    Ok(received
        .messages()
        .iter()
        .map(|m| {
            let event: Option<Event> = m.body().and_then(|b| serde_json::from_str(b).ok());
            let attribute = |name| m.attributes().and_then(|a| a.get(&name));
            DeadLetter {
                queue: queue.name.to_owned(),
                event_id: event.as_ref().map(|e| e.event_id.clone()).unwrap_or_default(),
                kind: event.map(|e| e.kind().to_string()).unwrap_or_default(),
                receives: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                error: None,
                dead_at: attribute(MessageSystemAttributeName::SentTimestamp).and_then(|v| v.parse().ok()).unwrap_or(0),
            }
        })
        .collect())
}

/// Moves every message of `dlq` back to `source`: sent first, deleted after, so a crash in
/// between duplicates a message rather than losing it.
async fn redrive(sqs: &aws_sdk_sqs::Client, dlq: &str, source: &str) -> anyhow::Result<usize> {
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(failed("receiving from a DLQ"))?;
        if received.messages().is_empty() {
            return Ok(moved);
        }
        let entries = received
            .messages()
            .iter()
            .enumerate()
            .map(|(i, m)| {
                Ok(SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body().unwrap_or_default())
                    .set_message_attributes(m.message_attributes().cloned())
                    .build()?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let sent = sqs
            .send_message_batch()
            .queue_url(source)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(failed("sending back"))?;
        anyhow::ensure!(sent.failed().is_empty(), "sending back failed for {} messages", sent.failed().len());
        for message in received.messages() {
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(dlq)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(failed("deleting from a DLQ"))?;
            }
            moved += 1;
        }
    }
}
