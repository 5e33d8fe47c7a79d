//! The local stack's metrics: the process records them into Prometheus's text format, served
//! at `GET /metrics` for a Prometheus to scrape (`monitoring/prometheus.yml`). One recorder per
//! process (the facade has one global), shared by every stack a test process starts.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use shop::metrics::{ALL, Kind};

/// The process's recorder, installed at the first call, with every histogram's buckets, every
/// metric's help text and every enumerable counter registered at 0.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let mut builder = PrometheusBuilder::new();
        for metric in ALL.iter().filter(|m| m.kind == Kind::Histogram) {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(metric.name.into()), metric.buckets)
                .expect("a histogram has buckets");
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        shop::metrics::describe();
        shop::metrics::register_counters();
        // Histograms keep each sample until upkeep folds it into the buckets: without a scrape
        // for a while they would grow without end.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP);
                    upkeep.run_upkeep();
                }
            })
            .expect("a thread starts");
        handle
    })
}

/// How often histogram samples are folded into their buckets.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /metrics`: the Prometheus text exposition format.
pub async fn serve() -> impl axum::response::IntoResponse {
    let handle = recorder();
    handle.run_upkeep();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}
