//! The one way a function runs on AWS Lambda: JSON logs carrying the request id, then the
//! service's axum router under lambda_http. Every function's `main.rs` is a call to
//! [`serve_http`].

use axum::Router;
use tracing_subscriber::EnvFilter;

pub use lambda_http::Error;

/// Structured JSON logs on stdout (CloudWatch keeps them); `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL` sets the level. Each invocation's span carries its `requestId`.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            EnvFilter::try_new(
                std::env::var("AWS_LAMBDA_LOG_LEVEL")
                    .unwrap_or_else(|_| "info".into())
                    .to_lowercase(),
            )
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

/// Runs a service on Lambda. `build` makes the router once per execution environment, so
/// clients are created at cold start and reused by every request.
pub async fn serve_http(build: impl FnOnce() -> anyhow::Result<Router>) -> Result<(), Error> {
    init_tracing();
    let router = build().map_err(|e| {
        tracing::error!(error = format!("{e:#}"), "start-up failed");
        e
    })?;
    lambda_http::run(crate::http::fallbacks(router)).await
}
