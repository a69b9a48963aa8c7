//! One server span per HTTP (or gRPC) request, continuing the caller's trace.
//!
//! [`trace_layer`] opens an `http.request` span named `<METHOD> <route>`
//! (the matched route template, never the raw path), with the OpenTelemetry
//! HTTP attributes `http.request.method`, `http.route` and
//! `http.response.status_code`, and makes it a child of the span in the
//! incoming `traceparent` header. It records nothing else from the request:
//! no query string, body, cookies or headers, so no secret reaches a span.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower::{Layer, Service};
use tracing::field::Empty;
use tracing::Instrument;

use crate::{labels, propagation};

/// The tower layer that traces each request; see [`trace_layer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

/// A server span per request, child of the incoming `traceparent`.
///
/// Add it with `Router::layer` after the routes are merged, so the matched
/// route template is known (`app.layer(trace_layer())`); requests no route
/// matched are named `unmatched`. On a tonic server
/// (`Server::builder().layer(trace_layer())`) gRPC requests are named after
/// their path, `/<package.Service>/<Method>`.
pub fn trace_layer() -> TraceLayer {
    TraceLayer
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> TraceService<S> {
        TraceService { inner }
    }
}

/// The service [`TraceLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
}

/// The boxed response future of the telemetry services.
pub type ResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, ResBody> Service<Request<B>> for TraceService<S>
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
        let method = labels::method(request.method());
        let route = span_route(&request);
        let span = tracing::info_span!(
            "http.request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = %route,
            http.response.status_code = Empty,
        );
        propagation::set_parent(&span, propagation::extract_http(request.headers()));
        let started = Instant::now();
        let response = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let recorder = span.clone();
        Box::pin(
            async move {
                let result = response.await;
                let span = recorder;
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                match &result {
                    Ok(response) => {
                        let status = response.status();
                        span.record("http.response.status_code", status.as_u16());
                        // OpenTelemetry HTTP conventions: a server span fails on 5xx only.
                        if status.is_server_error() {
                            span.record("otel.status_code", "ERROR");
                        }
                        tracing::debug!(status = status.as_u16(), latency_ms, "request finished");
                    }
                    Err(_) => {
                        span.record("otel.status_code", "ERROR");
                        tracing::debug!(latency_ms, "request failed");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The route part of the span name: the matched template, the path of a
/// gRPC call (its service and method), or `unmatched`.
fn span_route<B>(request: &Request<B>) -> String {
    if let Some(route) = labels::matched_route(request) {
        return route;
    }
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        request.uri().path().to_owned()
    } else {
        labels::UNMATCHED.to_owned()
    }
}
