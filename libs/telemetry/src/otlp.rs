//! The OTLP span exporter: protobuf over HTTP (`/v1/traces`), batched by the
//! SDK's background thread with a blocking reqwest client, so neither
//! exporting nor the final flush depends on the application's tokio runtime.

use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// The OTLP/HTTP signal path for spans (OTLP specification, "OTLP/HTTP Request").
const TRACES_PATH: &str = "/v1/traces";

/// Crates whose own spans must not be exported: the exporter's HTTP stack
/// would otherwise trace its own exports, and the rest is library noise.
const INTERNAL_CRATES: &[&str] = &[
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "tower",
    "tonic",
];

/// A tracer provider exporting to the collector at `endpoint` (a base URL,
/// as in `OTEL_EXPORTER_OTLP_ENDPOINT`), spans tagged with `service_name`.
pub(crate) fn tracer_provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, ExporterBuildError> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .build()?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_string())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// `<endpoint>/v1/traces`: the exporter uses a configured endpoint as is,
/// while `OTEL_EXPORTER_OTLP_ENDPOINT` names the base every signal's path is
/// appended to. An endpoint that already ends with the path is kept.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_string()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

/// Whether `target` (a `tracing` target) belongs to a crate in [`INTERNAL_CRATES`].
pub(crate) fn is_exporter_internal(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    INTERNAL_CRATES.contains(&krate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_url_appends_the_signal_path_to_a_base_endpoint() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
    }

    #[test]
    fn exporter_internals_are_recognised_by_crate_not_prefix() {
        assert!(is_exporter_internal("hyper_util::client::legacy"));
        assert!(is_exporter_internal("reqwest"));
        assert!(!is_exporter_internal("inkan_telemetry::trace"));
        assert!(!is_exporter_internal("hyperion"));
    }
}
