//! The one way a function runs on AWS Lambda: JSON logs carrying the request id, metrics as
//! CloudWatch Embedded Metric Format lines written after each invocation, then the service's
//! axum router under lambda_http. Every function's `main.rs` is a call to [`serve_http`] (or
//! [`serve_events`], [`serve_consumer`]).

use axum::Router;
use tower::ServiceExt;
use tracing_subscriber::EnvFilter;

pub use lambda_http::Error;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

use shop::events::Consumer;

/// Structured JSON logs on stdout (CloudWatch keeps them); `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL` sets the level. Each invocation's span carries its `requestId`.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            EnvFilter::try_new(std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".into()).to_lowercase())
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(true)
        .without_time()
        .try_init();
}

/// The recorder of this execution environment's metrics (see [`shop::metrics`]).
static METRICS: std::sync::OnceLock<&'static metrics_cloudwatch_embedded::Collector> = std::sync::OnceLock::new();

/// Records metrics as CloudWatch Embedded Metric Format: CloudWatch Logs turns the lines
/// [`flush_metrics`] writes into metrics in the namespace `METRICS_NAMESPACE` names.
pub fn init_metrics() {
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "Shop".into());
    match metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace(namespace).init() {
        Ok(collector) => {
            let _ = METRICS.set(collector);
            shop::metrics::describe();
        }
        Err(e) => tracing::warn!(error = %e, "metrics are off: another recorder is installed"),
    }
}

/// Writes what the invocation recorded as EMF lines on stdout, and starts the next count.
pub fn flush_metrics() {
    flush_metrics_to(std::io::stdout().lock());
}

fn flush_metrics_to(out: impl std::io::Write) {
    if let Some(collector) = METRICS.get()
        && let Err(e) = collector.flush(out)
    {
        tracing::warn!(error = %e, "writing metrics failed");
    }
}

/// Logging and metrics first, then what the function keeps for its whole execution environment
/// (its AWS clients among it), so requests reuse it and a failure to build it is logged.
fn start<S>(build: impl FnOnce() -> anyhow::Result<S>) -> Result<S, Error> {
    init_tracing();
    init_metrics();
    build().map_err(|e| {
        tracing::error!(error = format!("{e:#}"), "start-up failed");
        e.into()
    })
}

/// Runs a service on Lambda; `build` makes its router once per execution environment.
pub async fn serve_http(build: impl FnOnce() -> anyhow::Result<Router>) -> Result<(), Error> {
    let handler = handler(start(build)?);
    lambda_http::run(tower::service_fn(move |request: lambda_http::Request| {
        let handler = handler.clone();
        async move {
            let answer = handler.oneshot(request).await;
            flush_metrics();
            answer
        }
    }))
    .await
}

/// Runs an event consumer (a schedule, a queue, a stream) on Lambda. `build` makes its state
/// once per execution environment; `handle` answers each event, typed as the runtime's event
/// types describe the service's payload (`E`) and its answer (`A`).
pub async fn serve_events<S, E, A, F, Fut>(build: impl FnOnce() -> anyhow::Result<S>, handle: F) -> Result<(), Error>
where
    S: Clone + Send + Sync + 'static,
    E: DeserializeOwned + Send + 'static,
    A: Serialize + Send + 'static,
    F: Fn(S, E) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<A, Error>> + Send,
{
    let state = start(build)?;
    let handle = std::sync::Arc::new(handle);
    lambda_http::lambda_runtime::run(lambda_http::lambda_runtime::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<E>| {
            let (state, handle) = (state.clone(), handle.clone());
            async move {
                let answer = handle(state, event.payload).await;
                flush_metrics();
                answer
            }
        },
    ))
    .await
}

/// The keys of the objects an S3 notice tells of.
pub fn stored_keys(notice: aws_lambda_events::event::s3::S3Event) -> impl Iterator<Item = String> {
    notice.records.into_iter().filter_map(|record| record.s3.object.key)
}

/// Runs a function S3 invokes for new objects (a prefix of the bucket's): `run` gets each key a
/// notice names, in turn; a failure fails the invocation, which S3 retries.
pub async fn serve_stored<S, F, Fut>(build: impl FnOnce() -> anyhow::Result<S>, run: F) -> Result<(), Error>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S, String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let run = std::sync::Arc::new(run);
    serve_events(build, move |state: S, notice: aws_lambda_events::event::s3::S3Event| {
        let run = run.clone();
        async move {
            for key in stored_keys(notice) {
                run(state.clone(), key).await?;
            }
            Ok(())
        }
    })
    .await
}

/// Runs a queue's consumer on Lambda (SQS batches, partial batch responses); `build` makes it
/// once per execution environment.
pub async fn serve_consumer(build: impl FnOnce() -> anyhow::Result<std::sync::Arc<dyn Consumer>>) -> Result<(), Error> {
    serve_events(build, |consumer, batch| async move { Ok(handle_queue(&*consumer, batch).await) }).await
}

/// A consumer's Lambda handler for an SQS batch of domain events (see [`handle_sqs`]).
pub async fn handle_queue(consumer: &dyn Consumer, batch: SqsEvent) -> SqsBatchResponse {
    handle_sqs(consumer.queue().name, batch, |body| async move { shop::events::deliver(consumer, &body).await }).await
}

/// The Lambda handler for an SQS batch of `queue`: every message's body goes to `handle`, and
/// the ones that failed come back as the batch's item failures, so only they are retried (and,
/// past the queue's receive limit, dead-lettered).
pub async fn handle_sqs<F, Fut>(queue: &str, batch: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut answer = SqsBatchResponse::default();
    for message in batch.records {
        let id = message.message_id.unwrap_or_default();
        if let Err(e) = handle(message.body.unwrap_or_default()).await {
            tracing::warn!(queue, message_id = %id, error = format!("{e:#}"), "a message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            answer.batch_item_failures.push(failure);
        }
    }
    answer
}

/// A service ready for lambda_http.
pub type Handler = Router;

/// The service as Lambda runs it: the router with problem+json fallbacks. The paths are
/// template.yaml's whatever the stage is called: lambda_http leaves the stage out of the path
/// with `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`, which the template's globals set (and
/// `.cargo/config.toml` for the tests that hand the events/ samples to the handlers).
pub fn handler(router: Router) -> Handler {
    shop::http::fallbacks(router)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// What CloudWatch reads: one JSON document per label set, its `_aws` metadata naming the
    /// namespace, the labels as the dimensions, and the metric with its unit.
    #[test]
    fn metrics_leave_as_embedded_metric_format() {
        init_metrics();
        let took = std::time::Duration::from_millis(12);
        let route = shop::metrics::RouteMetrics::new("/api/orders/{id}");
        route.answered(&axum::http::Method::GET, axum::http::StatusCode::OK, took);
        route.answered(&axum::http::Method::GET, axum::http::StatusCode::OK, took);
        let mut out = Vec::new();
        flush_metrics_to(&mut out);
        let documents: Vec<Value> =
            String::from_utf8(out).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        let requests = documents
            .iter()
            .find(|d| d.get(shop::metrics::HTTP_REQUESTS.name).is_some())
            .expect("a document with the request count");
        assert_eq!(requests[shop::metrics::HTTP_REQUESTS.name], 2);
        assert_eq!(
            (&requests["route"], &requests["method"], &requests["class"]),
            (&json!("/api/orders/{id}"), &json!("GET"), &json!("2xx"))
        );
        let directive = &requests["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Shop");
        let dimensions: Vec<&str> =
            directive["Dimensions"][0].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
        assert_eq!(dimensions.len(), 3);
        for label in ["route", "method", "class"] {
            assert!(dimensions.contains(&label), "{dimensions:?}");
        }
        assert!(requests["_aws"]["Timestamp"].as_u64().is_some());
        let duration = documents
            .iter()
            .find(|d| d.get(shop::metrics::HTTP_DURATION.name).is_some())
            .expect("a document with the durations");
        let units: Vec<&Value> = duration["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["Unit"])
            .collect();
        assert_eq!(units, [&json!("Seconds")]);

        // The next invocation starts from nothing, and an invocation that records nothing
        // writes nothing.
        let mut again = Vec::new();
        flush_metrics_to(&mut again);
        assert_eq!(String::from_utf8(again).unwrap(), "", "nothing recorded, nothing written");
    }
}
