//! The durable-consumer contract, run against both implementations: the
//! JetStream consumer (events reach it through the relay, as in production)
//! and the embedded one over SQLite.
//!
//! Every wanted event reaches a worker; an acked one never comes back (not
//! after a restart either); an unsettled one comes back; a retry comes back
//! with the next attempt number and does not hold back later events; the
//! attempts stop at the bound.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use inkan_bus::{Deliveries, Delivery, DurableConfig, DurableSource, NatsBus, NatsBusConfig};
use inkan_domain::envelope::{Metadata, NewEvent};
use inkan_eventstore::{Append, EventStore, ExpectedVersion, PgEventStore, SqliteEventStore};
use inkan_relay::{Relay, StoreConsumer};
use inkan_testkit::{nats_delete_stream, nats_url, unique_name, PgSchema};
use uuid::Uuid;

struct Harness {
    store: Arc<dyn EventStore>,
    source: Arc<dyn DurableSource>,
    /// Present for JetStream: publishes what was appended.
    relay: Option<Relay>,
    config: DurableConfig,
    cleanup: Option<String>,
    _keep: Box<dyn std::any::Any + Send>,
}

fn config() -> DurableConfig {
    DurableConfig {
        name: unique_name("mailer"),
        stream_type: "identity".into(),
        event_types: vec!["identity.wanted.v1".into()],
        max_attempts: 3,
        ack_wait: Duration::from_secs(2),
    }
}

async fn embedded() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(&dir.path().join("events.sqlite"))
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    Harness {
        source: Arc::new(
            StoreConsumer::new(store.clone()).with_poll_interval(Duration::from_millis(20)),
        ),
        store,
        relay: None,
        config: config(),
        cleanup: None,
        _keep: Box::new(dir),
    }
}

async fn jetstream() -> Harness {
    let schema = PgSchema::create("durable").await;
    let store: Arc<dyn EventStore> = Arc::new(
        PgEventStore::connect(&schema.url, &schema.name, 2)
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let stream = unique_name("DURABLE").to_uppercase();
    let bus = Arc::new(
        NatsBus::connect(NatsBusConfig {
            url: nats_url(),
            stream: stream.clone(),
            subject_prefix: format!("t.{}", unique_name("durable")),
        })
        .await
        .unwrap(),
    );
    Harness {
        relay: Some(Relay::new(store.clone(), bus.clone())),
        source: bus,
        store,
        config: config(),
        cleanup: Some(stream),
        _keep: Box::new(schema),
    }
}

impl Harness {
    async fn append(&self, stream_type: &str, event_type: &str) -> i64 {
        let recorded = self
            .store
            .append(Append {
                stream_id: Uuid::new_v4(),
                stream_type: stream_type.into(),
                expected: ExpectedVersion::NoStream,
                events: vec![NewEvent {
                    id: Uuid::new_v4(),
                    event_type: event_type.into(),
                    payload: serde_json::json!({}),
                    metadata: Metadata {
                        actor: "test".into(),
                        trace_id: None,
                        occurred_at: time::OffsetDateTime::now_utc(),
                    },
                }],
                claim: vec![],
                release: vec![],
            })
            .await
            .unwrap();
        if let Some(relay) = &self.relay {
            relay.run_once().await.unwrap();
        }
        recorded.position
    }

    async fn consume(&self) -> Deliveries {
        self.source.consume(&self.config).await.unwrap()
    }

    async fn done(self) {
        if let Some(stream) = &self.cleanup {
            nats_delete_stream(stream).await;
        }
    }
}

async fn next(deliveries: &mut Deliveries) -> Delivery {
    tokio::time::timeout(Duration::from_secs(10), deliveries.next())
        .await
        .expect("a delivery within 10 s")
        .expect("the stream goes on")
        .expect("no error")
}

/// Nothing is handed out for a while (long enough for an ack wait to pass
/// twice over, so a redelivery would show).
async fn quiet(deliveries: &mut Deliveries, wait: Duration) {
    if let Ok(item) = tokio::time::timeout(wait, deliveries.next()).await {
        panic!("unexpected delivery: {item:?}");
    }
}

async fn acked_events_are_handed_out_once_and_never_after_a_restart(h: Harness) {
    let first = h.append("identity", "identity.wanted.v1").await;
    h.append("identity", "identity.other.v1").await;
    h.append("project", "identity.wanted.v1").await;
    let second = h.append("identity", "identity.wanted.v1").await;
    let mut deliveries = h.consume().await;
    for expected in [first, second] {
        let d = next(&mut deliveries).await;
        assert_eq!((d.event.position, d.attempt), (expected, 1));
        d.ack().await.unwrap();
    }
    quiet(&mut deliveries, Duration::from_millis(500)).await;
    drop(deliveries);
    // A restart resumes after what was acked.
    let third = h.append("identity", "identity.wanted.v1").await;
    let mut deliveries = h.consume().await;
    let d = next(&mut deliveries).await;
    assert_eq!(d.event.position, third);
    d.ack().await.unwrap();
    quiet(&mut deliveries, Duration::from_millis(500)).await;
    drop(deliveries);
    h.done().await;
}

async fn an_event_nobody_settled_is_handed_out_again(h: Harness) {
    let position = h.append("identity", "identity.wanted.v1").await;
    let mut deliveries = h.consume().await;
    let d = next(&mut deliveries).await;
    assert_eq!(d.event.position, position);
    // The worker dies holding it (and its process with it).
    std::mem::forget(d);
    drop(deliveries);
    let mut deliveries = h.consume().await;
    let d = next(&mut deliveries).await;
    assert_eq!(d.event.position, position);
    assert!(d.attempt >= 1);
    d.ack().await.unwrap();
    quiet(&mut deliveries, h.config.ack_wait * 2).await;
    drop(deliveries);
    h.done().await;
}

async fn a_retry_comes_back_with_the_next_attempt_without_holding_back_others(h: Harness) {
    let failing = h.append("identity", "identity.wanted.v1").await;
    let mut deliveries = h.consume().await;
    let d = next(&mut deliveries).await;
    assert_eq!((d.event.position, d.attempt), (failing, 1));
    d.retry(Duration::from_millis(300)).await.unwrap();
    let later = h.append("identity", "identity.wanted.v1").await;
    let d = next(&mut deliveries).await;
    assert_eq!(
        (d.event.position, d.attempt),
        (later, 1),
        "the later event is not held back"
    );
    d.ack().await.unwrap();
    for attempt in 2..=3 {
        let d = next(&mut deliveries).await;
        assert_eq!((d.event.position, d.attempt), (failing, attempt));
        assert_eq!(d.is_last_attempt(), attempt == 3);
        d.retry(Duration::from_millis(100)).await.unwrap();
    }
    // Three attempts was the bound.
    quiet(&mut deliveries, Duration::from_secs(1)).await;
    drop(deliveries);
    h.done().await;
}

#[tokio::test]
async fn embedded_acked_events_are_handed_out_once_and_never_after_a_restart() {
    acked_events_are_handed_out_once_and_never_after_a_restart(embedded().await).await;
}

#[tokio::test]
async fn jetstream_acked_events_are_handed_out_once_and_never_after_a_restart() {
    acked_events_are_handed_out_once_and_never_after_a_restart(jetstream().await).await;
}

#[tokio::test]
async fn embedded_an_event_nobody_settled_is_handed_out_again() {
    an_event_nobody_settled_is_handed_out_again(embedded().await).await;
}

#[tokio::test]
async fn jetstream_an_event_nobody_settled_is_handed_out_again() {
    an_event_nobody_settled_is_handed_out_again(jetstream().await).await;
}

#[tokio::test]
async fn embedded_a_retry_comes_back_with_the_next_attempt_without_holding_back_others() {
    a_retry_comes_back_with_the_next_attempt_without_holding_back_others(embedded().await).await;
}

#[tokio::test]
async fn jetstream_a_retry_comes_back_with_the_next_attempt_without_holding_back_others() {
    a_retry_comes_back_with_the_next_attempt_without_holding_back_others(jetstream().await).await;
}

/// Two replicas of one JetStream consumer: each event reaches one of them.
#[tokio::test]
async fn jetstream_replicas_of_one_consumer_share_the_events_without_overlap() {
    let h = jetstream().await;
    let mut a = h.consume().await;
    let mut b = h.consume().await;
    let mut appended = Vec::new();
    for _ in 0..10 {
        appended.push(h.append("identity", "identity.wanted.v1").await);
    }
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < appended.len() && tokio::time::Instant::now() < deadline {
        let d = tokio::select! {
            Some(Ok(d)) = a.next() => d,
            Some(Ok(d)) = b.next() => d,
            _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
        };
        seen.push(d.event.position);
        d.ack().await.unwrap();
    }
    seen.sort();
    assert_eq!(seen, appended, "every event once, to one replica");
    // Redelivery would show within two ack waits.
    let extra = tokio::time::timeout(h.config.ack_wait * 2, async {
        tokio::select! {
            Some(item) = a.next() => item.map(|d| d.event.position),
            Some(item) = b.next() => item.map(|d| d.event.position),
        }
    })
    .await;
    assert!(extra.is_err(), "nothing is handed out twice: {extra:?}");
    drop((a, b));
    h.done().await;
}
