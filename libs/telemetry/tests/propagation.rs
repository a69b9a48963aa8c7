//! Trace context crosses HTTP, gRPC metadata and the server layer intact.
//!
//! Each test installs its own thread-local [`Recorder`] (the OpenTelemetry
//! layer and an in-memory span exporter), so tests run in parallel without
//! sharing spans and without the global subscriber.

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use inkan_telemetry::propagation::{
    current_trace_id, extract_grpc, extract_http, inject_current_grpc, inject_current_http,
};
use inkan_telemetry::testing::{attribute, SpanRecorder as Recorder};
use inkan_telemetry::trace_layer;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt, TraceId};
use tower::ServiceExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

fn trace_id_of(span: &tracing::Span) -> TraceId {
    span.context().span().span_context().trace_id()
}

#[test]
fn http_headers_carry_the_current_trace_there_and_back() {
    let _recorder = Recorder::install();
    let span = tracing::info_span!("outgoing");
    let _entered = span.enter();
    let trace_id = trace_id_of(&span);
    assert_ne!(trace_id, TraceId::INVALID);

    let mut headers = HeaderMap::new();
    inject_current_http(&mut headers);

    let traceparent = headers
        .get("traceparent")
        .expect("a traceparent header")
        .to_str()
        .expect("ASCII");
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent}"
    );
    assert!(
        headers.get("tracestate").is_none(),
        "an empty tracestate is not sent"
    );
    let extracted = extract_http(&headers);
    let remote = extracted.span().span_context().clone();
    assert_eq!(remote.trace_id(), trace_id);
    assert!(remote.is_remote());
}

#[test]
fn grpc_metadata_carries_the_current_trace_there_and_back() {
    let _recorder = Recorder::install();
    let span = tracing::info_span!("outgoing");
    let _entered = span.enter();
    let trace_id = trace_id_of(&span);

    let mut metadata = tonic::metadata::MetadataMap::new();
    inject_current_grpc(&mut metadata);

    let traceparent = metadata
        .get("traceparent")
        .expect("a traceparent entry")
        .to_str()
        .expect("ASCII");
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent}"
    );
    assert_eq!(
        extract_grpc(&metadata).span().span_context().trace_id(),
        trace_id
    );
}

#[test]
fn nothing_is_injected_outside_any_span() {
    let _recorder = Recorder::install();
    let mut headers = HeaderMap::new();
    inject_current_http(&mut headers);
    assert!(headers.is_empty());
    assert!(!extract_http(&headers).span().span_context().is_valid());
}

#[test]
fn a_malformed_traceparent_yields_no_remote_parent() {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", "00-not-a-trace-01".parse().expect("header"));
    assert!(!extract_http(&headers).span().span_context().is_valid());
}

const INCOMING_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING_PARENT: &str = "00f067aa0ba902b7";

fn app() -> Router {
    Router::new()
        .route(
            "/hello/{name}",
            get(|| async { current_trace_id().unwrap_or_default() }),
        )
        .route(
            "/broken",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .layer(trace_layer())
}

#[tokio::test]
async fn the_server_span_is_a_child_of_the_incoming_traceparent() {
    let recorder = Recorder::install();
    let request = Request::get("/hello/bob?code=secret-code")
        .header(
            "traceparent",
            format!("00-{INCOMING_TRACE}-{INCOMING_PARENT}-01"),
        )
        .header("authorization", "Bearer secret-token")
        .header("cookie", "sid=secret-cookie")
        .body(Body::empty())
        .expect("request");

    let response = app().oneshot(request).await.expect("response");

    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .expect("body");
    assert_eq!(
        body, INCOMING_TRACE,
        "the handler runs inside the continued trace"
    );
    let spans = recorder.finished();
    let server = spans
        .iter()
        .find(|s| s.name == "GET /hello/{name}")
        .unwrap_or_else(|| panic!("no server span in {spans:#?}"));
    assert_eq!(server.span_context.trace_id().to_string(), INCOMING_TRACE);
    assert_eq!(server.parent_span_id.to_string(), INCOMING_PARENT);
    assert!(server.parent_span_is_remote);
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        attribute(server, "http.route").as_deref(),
        Some("/hello/{name}")
    );
    assert_eq!(
        attribute(server, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attribute(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    for kv in &server.attributes {
        let value = kv.value.as_str();
        assert!(
            !value.contains("secret") && !value.contains("bob"),
            "span attribute {} leaks request data: {value}",
            kv.key
        );
    }
}

#[tokio::test]
async fn a_request_without_traceparent_starts_a_new_trace() {
    let recorder = Recorder::install();
    let request = Request::get("/broken")
        .body(Body::empty())
        .expect("request");

    let response = app().oneshot(request).await.expect("response");

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let spans = recorder.finished();
    let server = spans
        .iter()
        .find(|s| s.name == "GET /broken")
        .unwrap_or_else(|| panic!("no server span in {spans:#?}"));
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert_ne!(server.span_context.trace_id().to_string(), INCOMING_TRACE);
    assert_eq!(server.status, opentelemetry::trace::Status::error(""));
}

#[tokio::test]
async fn an_unrouted_request_is_named_unmatched_not_by_its_path() {
    let recorder = Recorder::install();
    let request = Request::get("/no/such/secret-path")
        .body(Body::empty())
        .expect("request");

    let response = app().oneshot(request).await.expect("response");

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let spans = recorder.finished();
    assert!(
        spans.iter().any(|s| s.name == "GET unmatched"),
        "{spans:#?}"
    );
    assert!(spans.iter().all(|s| !s.name.contains("secret-path")));
}
