//! Test support (feature `testing`): record the spans a test makes, with
//! their OpenTelemetry trace and parent ids, without touching the global
//! subscriber.

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::subscriber::DefaultGuard;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::prelude::*;

/// Records the spans finished on this thread while it lives: installs a
/// thread-local subscriber with the OpenTelemetry layer and an in-memory
/// exporter. Use it from `#[test]` or a current-thread `#[tokio::test]`
/// (everything the test awaits runs on its thread), so parallel tests never
/// see each other's spans.
pub struct SpanRecorder {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    _guard: DefaultGuard,
}

impl SpanRecorder {
    /// Starts recording on the current thread.
    pub fn install() -> SpanRecorder {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("inkan-test")));
        SpanRecorder {
            exporter,
            provider,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Every span finished so far, oldest first.
    pub fn finished(&self) -> Vec<SpanData> {
        // The simple exporter exports each span as it ends; flushing is a formality.
        let _ = self.provider.force_flush();
        self.exporter.get_finished_spans().unwrap_or_default()
    }
}

/// The OpenTelemetry trace id of `span` as 32 hex digits (all zeros when the
/// span is not recorded).
pub fn trace_id(span: &tracing::Span) -> String {
    span.context().span().span_context().trace_id().to_string()
}

/// The value of attribute `key` on `span`, as a string.
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}
