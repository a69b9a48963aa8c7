//! A NATS publish carries the publisher's trace (`traceparent`) in the
//! stored message's headers, beside `Nats-Msg-Id` and `Inkan-Position`.
//!
//! Runs against NATS at `INKAN_TEST_NATS_URL` (default 127.0.0.1:4222) on a
//! stream of its own, deleted when the test ends, even on failure. Every
//! test records spans with its own [`SpanRecorder`] (a thread without a
//! subscriber could make `tracing` cache "disabled" for the publish span's
//! callsite in parallel tests). Every wait is bounded.

use std::time::Duration;

use async_nats::header::NATS_MESSAGE_ID;

use inkan_bus::nats::{trace_context, POSITION_HEADER};
use inkan_bus::{EventBus, NatsBus, NatsBusConfig};
use inkan_domain::envelope::RecordedEvent;
use inkan_telemetry::propagation::context_trace_id;
use inkan_telemetry::testing::{trace_id, SpanRecorder};
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

/// A bus on a test-only stream, deleted when the guard drops.
struct TestStream {
    config: NatsBusConfig,
}

impl TestStream {
    fn new() -> TestStream {
        let unique = inkan_testkit::unique_name("TRACE");
        TestStream {
            config: NatsBusConfig {
                url: inkan_testkit::nats_url(),
                stream: unique.to_uppercase(),
                subject_prefix: format!("t.{}", unique.to_lowercase()),
            },
        }
    }

    async fn bus(&self) -> NatsBus {
        NatsBus::connect(self.config.clone())
            .await
            .expect("tests need NATS with JetStream at 127.0.0.1:4222")
    }

    /// The headers JetStream stored with the message at `sequence`.
    async fn stored_headers(&self, sequence: u64) -> async_nats::HeaderMap {
        let client = async_nats::connect(&self.config.url)
            .await
            .expect("connect to NATS");
        let js = async_nats::jetstream::new(client);
        let stream = js
            .get_stream(&self.config.stream)
            .await
            .expect("the test stream exists");
        stream
            .get_raw_message(sequence)
            .await
            .expect("the published message")
            .headers
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        inkan_testkit::nats_delete_stream_detached(self.config.stream.clone());
    }
}

fn event(position: i64) -> RecordedEvent {
    serde_json::from_value(json!({
        "position": position,
        "id": Uuid::new_v4(),
        "stream_id": Uuid::new_v4(),
        "stream_type": "project",
        "version": 1,
        "event_type": "project.registered.v1",
        "payload": { "n": position },
        "metadata": { "actor": "test", "occurred_at": "2024-01-01T00:00:00Z" },
    }))
    .expect("a valid test event")
}

#[tokio::test]
async fn a_publish_inside_a_span_carries_its_trace_in_the_message_headers() {
    let recorder = SpanRecorder::install();
    let test = TestStream::new();
    let bus = test.bus().await;
    let relay_span = tracing::info_span!("relay.batch");
    let expected_trace = trace_id(&relay_span);

    tokio::time::timeout(
        Duration::from_secs(10),
        bus.publish(&event(1)).instrument(relay_span),
    )
    .await
    .expect("publish within 10 s")
    .expect("publish");

    let headers = tokio::time::timeout(Duration::from_secs(10), test.stored_headers(1))
        .await
        .expect("read back within 10 s");
    let publish = recorder
        .finished()
        .into_iter()
        .find(|s| s.name.ends_with(" publish"))
        .expect("a nats.publish span");
    let traceparent = headers
        .get("traceparent")
        .expect("a traceparent header")
        .as_str()
        .to_owned();
    assert!(
        headers.get("tracestate").is_none(),
        "an empty tracestate is not sent"
    );
    // The consumer's parent is the producer span, inside the publisher's trace.
    assert_eq!(
        traceparent,
        format!("00-{expected_trace}-{}-01", publish.span_context.span_id())
    );
    assert_eq!(
        context_trace_id(&trace_context(&headers)),
        Some(expected_trace)
    );
    assert_eq!(
        headers.get(POSITION_HEADER).map(|v| v.as_str()),
        Some("1"),
        "the existing headers stay"
    );
    assert!(headers.get(NATS_MESSAGE_ID).is_some(), "{headers:?}");
}
