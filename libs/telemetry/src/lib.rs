//! Logs, traces and metrics shared by every Inkan process.
//!
//! Logs go to stdout (pretty or JSON lines; pretty lines are coloured only
//! on a terminal). Spans also go to an
//! OpenTelemetry collector over OTLP when an endpoint is configured, and the
//! W3C `traceparent` header carries the trace across HTTP, gRPC and NATS so
//! one login is one trace across services. Metrics are served in the
//! Prometheus text format.
//!
//! # Layout
//! - [`init`]: installs the global `tracing` subscriber (pretty or JSON
//!   lines, plus OTLP export when configured) and returns the
//!   [`TelemetryGuard`] that flushes spans on drop.
//! - [`propagation`]: W3C Trace Context in and out of HTTP headers, gRPC
//!   metadata and any other carrier (the bus implements the NATS one).
//! - [`trace`]: [`trace_layer`], one `http.request` server span per request,
//!   continuing the caller's trace.
//! - [`metrics`]: the Prometheus registry, [`metrics_layer`] (request count
//!   and latency per route template), the domain counters the services call
//!   and [`metrics_router`] serving `GET /metrics`.
//! - `testing` (feature `testing`, for tests): `SpanRecorder`, the spans a
//!   test made, recorded in memory on the test's thread.
//! - `otlp` (private): the OTLP/HTTP span exporter and tracer provider.
//! - `labels` (private): bounded `route` and `method` label values.
//!
//! Nothing in Inkan logs or records a secret, password, code or token:
//! handlers log ids and outcomes only, and the HTTP layers record the method,
//! the route template and the status, never the query string, body, cookies
//! or headers. Keep it that way when adding fields.

#![forbid(unsafe_code)]

mod labels;
pub mod metrics;
mod otlp;
pub mod propagation;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{filter::filter_fn, fmt, prelude::*, EnvFilter, Layer};

pub use metrics::{metrics_layer, metrics_router};
pub use trace::trace_layer;

/// Output shape of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, multi-field lines for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// How long dropping the [`TelemetryGuard`] waits for the last spans to be
/// exported before giving up (the process is shutting down).
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the global subscriber and returns the guard that flushes spans.
///
/// - `filter` uses `tracing`'s EnvFilter syntax (`info`,
///   `inkan_admin=debug,info`); an invalid filter falls back to `info`. The
///   OpenTelemetry SDK's own events are kept at `warn` unless the filter
///   names `opentelemetry`.
/// - `otlp_endpoint` is the collector's OTLP/HTTP base URL, as in
///   `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://collector:4318`; spans are
///   posted to `<endpoint>/v1/traces` as protobuf). `None` or an empty
///   string: logs only. An endpoint that cannot be used is logged and
///   ignored, the process still starts.
/// - `service_name` becomes the `service.name` resource attribute.
///
/// The global text-map propagator is always set to W3C Trace Context.
///
/// Needs no async runtime: spans are exported in batches by the SDK's own
/// background thread, so `main` may call it before building the runtime and
/// drop the guard after the runtime is gone. Keep the guard alive for the
/// life of the process.
///
/// Calling it twice is harmless: the second call installs nothing and its
/// guard owns no exporter, so tests may call it freely.
pub fn init(
    format: Format,
    filter: &str,
    otlp_endpoint: Option<&str>,
    service_name: &str,
) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let endpoint = otlp_endpoint.map(str::trim).filter(|e| !e.is_empty());
    let (provider, otlp_error) = match endpoint.map(|e| otlp::tracer_provider(e, service_name)) {
        Some(Ok(provider)) => (Some(provider), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };

    let mut env_filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    if !filter.contains("opentelemetry") {
        // The SDK narrates its life at info (provider set, exporter built): keep
        // its warnings and errors (failed exports) unless asked for more.
        if let Ok(quiet) = "opentelemetry=warn".parse() {
            env_filter = env_filter.add_directive(quiet);
        }
    }
    // The log filter applies to the logs only: spans are exported at info and
    // above whatever the log level, so `INKAN_LOG=warn` still traces requests.
    let logs = match format {
        Format::Pretty => fmt::layer()
            .with_target(true)
            .with_ansi(colour(std::io::stdout().is_terminal()))
            .with_filter(env_filter)
            .boxed(),
        Format::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_filter(env_filter)
            .boxed(),
    };
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("inkan"))
            .with_filter(filter_fn(|meta| {
                !otlp::is_exporter_internal(meta.target()) && *meta.level() <= tracing::Level::INFO
            }))
    });
    let installed = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()
        .is_ok();

    if let Some(e) = otlp_error {
        tracing::warn!(error = %e, "OTLP span export disabled");
    }
    let provider = match provider {
        Some(provider) if installed => {
            opentelemetry::global::set_tracer_provider(provider.clone());
            Some(provider)
        }
        Some(unused) => {
            // A subscriber was already installed: this exporter would never see a span.
            let _ = unused.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
            None
        }
        None => None,
    };
    TelemetryGuard { provider }
}

/// Whether pretty logs are coloured: only on a terminal, so a file, a pipe
/// or a log collector gets plain text without ANSI escape codes. `NO_COLOR`
/// (<https://no-color.org>, any non-empty value) turns colour off anywhere.
fn colour(stdout_is_terminal: bool) -> bool {
    stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Keeps the span exporter running; dropping it exports the spans still
/// buffered (waiting at most 5 s) and stops the exporter.
#[must_use = "dropping the guard at once stops span export"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether this guard owns a running OTLP span exporter.
    pub fn exports_spans(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
                tracing::warn!(error = %e, "flushing spans at shutdown failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_logs_are_coloured_only_on_a_terminal() {
        assert!(!colour(false), "a file or pipe never gets ANSI codes");
        if std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) {
            assert!(colour(true));
        }
    }

    #[test]
    fn an_unusable_otlp_endpoint_leaves_logging_working() {
        let guard = init(Format::Pretty, "info", Some("not a url"), "inkan-test");
        assert!(!guard.exports_spans());
        tracing::info!("still logging");
        let again = init(Format::Json, "not a [valid filter", None, "inkan-test");
        assert!(!again.exports_spans());
    }
}
