//! Prometheus metrics: HTTP traffic per route and the few domain events an
//! operator alerts on.
//!
//! Built on the `prometheus` crate with one registry owned by this module,
//! rather than the `metrics` facade and its exporter: every metric is typed
//! and registered in one place below (names, labels and histogram buckets
//! are visible at a glance and checked by tests), no process-wide recorder
//! has to be installed before the first increment (the facade drops
//! increments made before that, and only one crate per process can install
//! it), and nothing needs a background upkeep task. The registry is a
//! process-wide static because a process has one `/metrics` endpoint;
//! counters only ever go up, so tests running in parallel in one process
//! compare before and after values.
//!
//! Label values are bounded: routes are route templates (or `unmatched`),
//! methods are the standard ones (or `_OTHER`), grant types are the ones
//! Inkan supports (or `other`).

use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::routing::get;
use axum::Router;
use http::{header, Request, Response};
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use tower::{Layer, Service};

use crate::labels;
use crate::trace::ResponseFuture;

/// `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Grant types that get their own `tokens_issued` label value.
const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

/// Every metric Inkan exposes, registered in [`Metrics::registry`].
struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    tokens_issued: IntCounterVec,
    login_attempts: IntCounterVec,
    refresh_reuse: IntCounter,
    cache_lookups: IntCounterVec,
    event_lag: IntGauge,
    mails: IntCounterVec,
    backchannel: IntCounterVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Registers `metric` and returns it. The names, help texts and labels below
/// are valid constants registered once each into a fresh registry, the only
/// ways `new`/`register` fail, so failing here is a programming error that
/// every test run exposes (`every_metric_is_registered_once`).
fn registered<M>(registry: &Registry, metric: prometheus::Result<M>) -> M
where
    M: prometheus::core::Collector + Clone + 'static,
{
    let metric = metric.expect("metric definitions are valid constants");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

impl Metrics {
    fn new() -> Metrics {
        let r = Registry::new();
        Metrics {
            http_requests: registered(
                &r,
                IntCounterVec::new(
                    Opts::new("http_requests_total", "HTTP requests answered."),
                    &["route", "method", "status"],
                ),
            ),
            http_duration: registered(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time from request to response head, in seconds.",
                    ),
                    &["route", "method"],
                ),
            ),
            tokens_issued: registered(
                &r,
                IntCounterVec::new(
                    Opts::new("inkan_tokens_issued_total", "Token responses issued."),
                    &["grant_type"],
                ),
            ),
            login_attempts: registered(
                &r,
                IntCounterVec::new(
                    Opts::new("inkan_login_attempts_total", "Password login attempts."),
                    &["outcome"],
                ),
            ),
            refresh_reuse: registered(
                &r,
                IntCounter::new(
                    "inkan_refresh_token_reuse_detected_total",
                    "Refresh tokens presented again after rotation (the family is revoked).",
                ),
            ),
            cache_lookups: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "inkan_cache_lookups_total",
                        "Cache lookups by cache and result.",
                    ),
                    &["cache", "result"],
                ),
            ),
            event_lag: registered(
                &r,
                IntGauge::new(
                    "inkan_event_lag_positions",
                    "How many log positions the event consumer is behind.",
                ),
            ),
            mails: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "inkan_mails_total",
                        "Mails by kind and outcome (sent, retried, failed: out of retries or refused, skipped: expired before sending).",
                    ),
                    &["kind", "outcome"],
                ),
            ),
            backchannel: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "inkan_backchannel_logouts_total",
                        "Back-channel logout deliveries by outcome (delivered, retried, failed: out of retries or refused, skipped: the client no longer wants them).",
                    ),
                    &["outcome"],
                ),
            ),
            registry: r,
        }
    }
}

/// Every metric in the Prometheus text exposition format (version 0.0.4),
/// the body of `GET /metrics`.
pub fn render() -> String {
    let families = METRICS.registry.gather();
    let mut body = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut body) {
        tracing::error!(error = %e, "encoding metrics failed");
    }
    String::from_utf8(body).unwrap_or_else(|e| {
        tracing::error!(error = %e, "metrics are not UTF-8");
        String::new()
    })
}

/// A router serving [`render`] at `GET /metrics`, to merge into a service's
/// router or serve on a separate listener.
pub fn metrics_router() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async { ([(header::CONTENT_TYPE, CONTENT_TYPE)], render()) }),
    )
}

/// A token endpoint response was issued for `grant_type`
/// (`authorization_code`, `refresh_token`, `client_credentials`; anything
/// else is counted as `other`).
pub fn tokens_issued(grant_type: &str) {
    let label = GRANT_TYPES
        .iter()
        .find(|known| **known == grant_type)
        .copied()
        .unwrap_or("other");
    METRICS.tokens_issued.with_label_values(&[label]).inc();
}

/// A password login was attempted; `success` is whether it authenticated.
pub fn login_attempt(success: bool) {
    let outcome = if success { "success" } else { "failure" };
    METRICS.login_attempts.with_label_values(&[outcome]).inc();
}

/// The mailer settled one mail. `kind` and `outcome` are constants from
/// code (`"password_reset"`, `"sent"`), never request data.
pub fn mail(kind: &str, outcome: &str) {
    METRICS.mails.with_label_values(&[kind, outcome]).inc();
}

/// The back-channel logout deliverer settled one attempt; `outcome` is a
/// constant from code (`"delivered"`, `"retried"`, `"failed"`, `"skipped"`).
pub fn backchannel_logout(outcome: &str) {
    METRICS.backchannel.with_label_values(&[outcome]).inc();
}

/// A rotated refresh token was presented again (RFC 9700 §4.14.2: likely
/// stolen; the token family is revoked).
pub fn refresh_reuse_detected() {
    METRICS.refresh_reuse.inc();
}

/// A lookup in the cache named `cache` hit or missed. `cache` must be a
/// constant from code (`"projects"`, `"identities"`), never request data:
/// every distinct value is a new time series.
pub fn cache_lookup(cache: &str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    METRICS
        .cache_lookups
        .with_label_values(&[cache, result])
        .inc();
}

/// How many log positions the event consumer is behind the newest event.
pub fn event_lag(position_behind: i64) {
    METRICS.event_lag.set(position_behind);
}

/// The tower layer that counts and times requests; see [`metrics_layer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsLayer;

/// Records `http_requests_total{route, method, status}` and
/// `http_request_duration_seconds{route, method}` for each request.
///
/// `route` is the matched route template (`/clients/{id}`), never the raw
/// path, so the number of series stays bounded; add the layer with
/// `Router::layer` after the routes are merged (`app.layer(metrics_layer())`)
/// so the template is known. Requests no route matched share the route
/// `unmatched`. The duration runs until the response head is ready (a
/// streamed body may take longer).
pub fn metrics_layer() -> MetricsLayer {
    MetricsLayer
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> MetricsService<S> {
        MetricsService { inner }
    }
}

/// The service [`MetricsLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for MetricsService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = labels::matched_route(&request).unwrap_or_else(|| labels::UNMATCHED.to_owned());
        let method = labels::method(request.method());
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            let status = match &result {
                Ok(response) => response.status().as_str().to_owned(),
                Err(_) => "error".to_owned(),
            };
            let metrics = &*METRICS;
            metrics
                .http_requests
                .with_label_values(&[route.as_str(), method, status.as_str()])
                .inc();
            metrics
                .http_duration
                .with_label_values(&[route.as_str(), method])
                .observe(started.elapsed().as_secs_f64());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_once() {
        // Touching the registry builds it; a duplicate or invalid definition panics here.
        let names: Vec<String> = METRICS
            .registry
            .gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        // Vectors without samples are not gathered; the plain ones always are.
        assert!(names.contains(&"inkan_refresh_token_reuse_detected_total".to_owned()));
        assert!(names.contains(&"inkan_event_lag_positions".to_owned()));
    }

    #[test]
    fn unknown_grant_types_share_one_label() {
        tokens_issued("urn:example:made-up");
        assert!(render().contains("inkan_tokens_issued_total{grant_type=\"other\"}"));
        assert!(!render().contains("made-up"));
    }
}
