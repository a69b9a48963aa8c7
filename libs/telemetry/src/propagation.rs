//! W3C Trace Context (`traceparent`, `tracestate`) across process
//! boundaries.
//!
//! The sending side calls [`inject_current`] with a carrier wrapping its
//! outgoing headers; the receiving side calls [`extract_context`] on the
//! incoming headers and [`set_parent`] on the span it opens for the work, so
//! that span continues the caller's trace.
//!
//! Carriers are [`Injector`] / [`Extractor`] implementations: this module
//! has them for HTTP headers ([`HeaderInjector`], [`HeaderExtractor`]) and
//! tonic metadata ([`MetadataInjector`], [`MetadataExtractor`]); the bus
//! crate implements its own for NATS headers, since only it imports
//! async-nats.
//!
//! These functions use the W3C propagator directly rather than the global
//! one, so they work the same whether or not [`crate::init`] ran (tests,
//! tools). They only see a span's trace when the `tracing-opentelemetry`
//! layer is installed (i.e. [`crate::init`] was given an OTLP endpoint);
//! otherwise injecting writes nothing and extracting yields an empty context.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use opentelemetry::propagation::{Extractor, Injector};
pub use opentelemetry::Context;

/// Writes the trace context of the current `tracing` span into `carrier`.
pub fn inject_current(carrier: &mut dyn Injector) {
    inject_context(&tracing::Span::current().context(), carrier);
}

/// Writes `cx`'s trace context into `carrier` (nothing if `cx` has no valid span).
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    TraceContextPropagator::new().inject_context(cx, carrier);
}

/// The remote trace context found in `carrier` (an empty context when there
/// is none or it is malformed).
pub fn extract_context(carrier: &dyn Extractor) -> Context {
    TraceContextPropagator::new().extract(carrier)
}

/// Makes `span` a child of the remote span in `cx`. Does nothing when `cx`
/// holds no valid span (the span keeps its local parent, if any), when the
/// OpenTelemetry layer is not installed, or when `span` was already entered
/// (its parent is fixed by then): call it right after creating the span.
pub fn set_parent(span: &tracing::Span, cx: Context) {
    if cx.span().span_context().is_valid() {
        // Errors only mean "no OpenTelemetry layer" or "too late", both harmless here.
        let _ = span.set_parent(cx);
    }
}

/// The current span's trace id as 32 lowercase hex digits, when the
/// OpenTelemetry layer is installed and the span is recorded; for log lines
/// and error reports that operators correlate with traces.
pub fn current_trace_id() -> Option<String> {
    context_trace_id(&tracing::Span::current().context())
}

/// The trace id of the span in `cx` as 32 lowercase hex digits, if it holds
/// a valid one (e.g. what [`extract_context`] found).
pub fn context_trace_id(cx: &Context) -> Option<String> {
    let span = cx.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Writes the current trace context into outgoing HTTP headers.
pub fn inject_current_http(headers: &mut http::HeaderMap) {
    inject_current(&mut HeaderInjector(headers));
}

/// The remote trace context in incoming HTTP headers.
pub fn extract_http(headers: &http::HeaderMap) -> Context {
    extract_context(&HeaderExtractor(headers))
}

/// Writes the current trace context into outgoing gRPC metadata.
pub fn inject_current_grpc(metadata: &mut tonic::metadata::MetadataMap) {
    inject_current(&mut MetadataInjector(metadata));
}

/// The remote trace context in incoming gRPC metadata.
pub fn extract_grpc(metadata: &tonic::metadata::MetadataMap) -> Context {
    extract_context(&MetadataExtractor(metadata))
}

/// Writes trace context into HTTP headers.
pub struct HeaderInjector<'a>(pub &'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            return; // an empty `tracestate` says nothing: leave it out
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Reads trace context from HTTP headers.
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)?.to_str().ok()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes trace context into tonic (gRPC) metadata.
pub struct MetadataInjector<'a>(pub &'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            return; // an empty `tracestate` says nothing: leave it out
        }
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Reads trace context from tonic (gRPC) metadata.
pub struct MetadataExtractor<'a>(pub &'a tonic::metadata::MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)?.to_str().ok()
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|key| match key {
                tonic::metadata::KeyRef::Ascii(key) => key.as_str(),
                tonic::metadata::KeyRef::Binary(key) => key.as_str(),
            })
            .collect()
    }
}

/// The current span's context as a W3C `traceparent` value, to store beside
/// work that continues later elsewhere (an event the relay will publish).
pub fn current_traceparent() -> Option<String> {
    let mut carrier = std::collections::HashMap::new();
    inject_current(&mut carrier);
    carrier.remove("traceparent")
}

/// A context from a stored `traceparent` value (see [`current_traceparent`]).
pub fn context_from_traceparent(traceparent: &str) -> Context {
    let mut carrier = std::collections::HashMap::new();
    carrier.insert("traceparent".to_string(), traceparent.to_string());
    extract_context(&carrier)
}
