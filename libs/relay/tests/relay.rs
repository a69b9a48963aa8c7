//! The relay's promise: every committed event is published, in order, once
//! per consumer — including after a crash between commit and publish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use inkan_bus::{BusError, EventBus, EventStream, MemoryBus, NatsBus, NatsBusConfig};
use inkan_domain::envelope::{Metadata, NewEvent, RecordedEvent};
use inkan_eventstore::{Append, EventStore, ExpectedVersion, PgEventStore, SqliteEventStore};
use inkan_relay::{Relay, CURSOR};
use inkan_testkit::{nats_delete_stream, nats_url, unique_name, PgSchema};
use uuid::Uuid;

/// A bus that accepts `budget` publishes, then fails like an unreachable server.
struct FlakyBus {
    inner: Arc<dyn EventBus>,
    budget: AtomicUsize,
}

#[async_trait::async_trait]
impl EventBus for FlakyBus {
    async fn publish(&self, event: &RecordedEvent) -> Result<(), BusError> {
        if self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_err()
        {
            return Err(BusError::Unavailable("simulated outage".into()));
        }
        self.inner.publish(event).await
    }
    async fn subscribe(&self, after: i64) -> Result<EventStream, BusError> {
        self.inner.subscribe(after).await
    }
    async fn ping(&self) -> Result<(), BusError> {
        self.inner.ping().await
    }
}

async fn append_events(store: &dyn EventStore, n: usize) {
    for _ in 0..n {
        store
            .append(Append {
                stream_id: Uuid::new_v4(),
                stream_type: "test".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![NewEvent {
                    id: Uuid::new_v4(),
                    event_type: "test.happened.v1".into(),
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
    }
}

async fn collect(bus: &dyn EventBus, n: usize) -> Vec<i64> {
    let mut stream = bus.subscribe(0).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event within 10 s")
            .unwrap()
            .unwrap();
        seen.push(event.position);
    }
    // Nothing more (no duplicates) arrives shortly after.
    let extra = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(extra.is_err(), "unexpected extra event: {extra:?}");
    seen
}

/// Commit 10 events; the first relay publishes 4 then "crashes" (bus outage,
/// then dropped); a new relay resumes from the stored cursor.
async fn relay_resumes_after_crash(store: Arc<dyn EventStore>, bus: Arc<dyn EventBus>) {
    store.migrate().await.unwrap();
    append_events(store.as_ref(), 10).await;

    let flaky = Arc::new(FlakyBus {
        inner: bus.clone(),
        budget: AtomicUsize::new(4),
    });
    let first = Relay::new(store.clone(), flaky);
    assert!(
        first.run_once().await.is_err(),
        "the outage stops the first relay"
    );
    assert_eq!(store.cursor(CURSOR).await.unwrap(), 4);
    drop(first);

    let second = Relay::new(store.clone(), bus.clone());
    assert_eq!(second.run_once().await.unwrap(), 6);
    assert_eq!(store.cursor(CURSOR).await.unwrap(), 10);
    assert_eq!(
        second.run_once().await.unwrap(),
        0,
        "nothing left to publish"
    );

    assert_eq!(
        collect(bus.as_ref(), 10).await,
        (1..=10).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn relay_resumes_from_its_cursor_on_the_embedded_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEventStore::open(&dir.path().join("events.sqlite"))
        .await
        .unwrap();
    relay_resumes_after_crash(Arc::new(store), Arc::new(MemoryBus::new())).await;
}

#[tokio::test]
async fn relay_resumes_from_its_cursor_on_postgres_and_nats() {
    let schema = PgSchema::create("relay").await;
    let store = PgEventStore::connect(&schema.url, &schema.name, 2)
        .await
        .unwrap();
    let stream = unique_name("RELAY").to_uppercase();
    let bus = NatsBus::connect(NatsBusConfig {
        url: nats_url(),
        stream: stream.clone(),
        subject_prefix: format!("t.{}", unique_name("relay")),
    })
    .await
    .unwrap();
    relay_resumes_after_crash(Arc::new(store), Arc::new(bus)).await;
    nats_delete_stream(&stream).await;
}

#[tokio::test]
async fn a_relay_that_republishes_after_losing_its_cursor_delivers_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(&dir.path().join("events.sqlite"))
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
    append_events(store.as_ref(), 5).await;
    Relay::new(store.clone(), bus.clone())
        .run_once()
        .await
        .unwrap();
    // A crash after publishing but before the cursor was stored.
    store.set_cursor(CURSOR, 2).await.unwrap();
    Relay::new(store.clone(), bus.clone())
        .run_once()
        .await
        .unwrap();
    assert_eq!(collect(bus.as_ref(), 5).await, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn the_running_relay_publishes_as_soon_as_it_is_woken() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(
        SqliteEventStore::open(&dir.path().join("events.sqlite"))
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
    let wake = Arc::new(tokio::sync::Notify::new());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let relay =
        Relay::new(store.clone(), bus.clone()).with_poll_interval(Duration::from_secs(3600));
    let task = tokio::spawn(relay.run(wake.clone(), shutdown.clone()));
    append_events(store.as_ref(), 3).await;
    wake.notify_one();
    assert_eq!(collect(bus.as_ref(), 3).await, vec![1, 2, 3]);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}
