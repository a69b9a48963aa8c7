//! The contract every [`EventBus`] keeps, checked against both
//! implementations: the embedded [`MemoryBus`] and the JetStream-backed
//! [`NatsBus`] (NATS at `INKAN_TEST_NATS_URL`, default 127.0.0.1:4222).
//!
//! Each contract is one async fn over `Arc<dyn EventBus>` handles; the
//! `contract!` macro runs it once per backend (`<contract>::memory`,
//! `<contract>::nats`). Every NATS test uses its own stream and subject
//! prefix and deletes the stream when it ends, even on failure. Every wait is
//! bounded.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use inkan_bus::{BusError, EventBus, EventStream, MemoryBus, NatsBus, NatsBusConfig};
use inkan_domain::envelope::RecordedEvent;
use serde_json::json;
use uuid::Uuid;

type Bus = Arc<dyn EventBus>;

/// How long a test waits for an event that should arrive.
const ARRIVAL: Duration = Duration::from_secs(10);
/// How long a test watches for an event that must not arrive.
const QUIET: Duration = Duration::from_millis(500);

// ---------------------------------------------------------------- fixtures

/// Where a contract runs. Hands out bus handles: for memory, clones of one
/// bus (one process); for NATS, separately connected clients (separate
/// processes) sharing a test-only stream.
enum Backend {
    Memory(MemoryBus),
    Nats {
        config: NatsBusConfig,
        _cleanup: StreamGuard,
    },
}

impl Backend {
    fn memory() -> Backend {
        Backend::Memory(MemoryBus::new())
    }

    fn nats() -> Backend {
        let unique = inkan_testkit::unique_name("BUS");
        let config = NatsBusConfig {
            url: inkan_testkit::nats_url(),
            stream: unique.to_uppercase(),
            subject_prefix: format!("t.{}", unique.to_lowercase()),
        };
        Backend::Nats {
            _cleanup: StreamGuard(config.stream.clone()),
            config,
        }
    }

    /// A handle on the bus, as a (possibly separate) process would hold it.
    async fn bus(&self) -> Bus {
        match self {
            Backend::Memory(bus) => Arc::new(bus.clone()),
            Backend::Nats { config, .. } => Arc::new(
                NatsBus::connect(config.clone())
                    .await
                    .expect("tests need NATS with JetStream at 127.0.0.1:4222"),
            ),
        }
    }
}

/// Deletes a test's JetStream stream when dropped (also when the test panics).
struct StreamGuard(String);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        inkan_testkit::nats_delete_stream_detached(self.0.clone());
    }
}

/// Runs a contract against both backends as `<contract>::memory` and
/// `<contract>::nats`.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name(&super::Backend::memory()).await;
            }

            #[tokio::test]
            async fn nats() {
                super::$name(&super::Backend::nats()).await;
            }
        }
    };
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

/// Events at positions `from..=to`.
fn events(from: i64, to: i64) -> Vec<RecordedEvent> {
    (from..=to).map(event).collect()
}

async fn publish_all(bus: &Bus, events: &[RecordedEvent]) {
    for event in events {
        bus.publish(event).await.expect("publish");
    }
}

async fn next_event(stream: &mut EventStream) -> RecordedEvent {
    match tokio::time::timeout(ARRIVAL, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("stream yielded an error: {e}"),
        Ok(None) => panic!("stream ended"),
        Err(_) => panic!("no event within {ARRIVAL:?}"),
    }
}

/// Asserts the next events are exactly `expected` (compared whole).
async fn expect_events(stream: &mut EventStream, expected: &[RecordedEvent]) {
    for want in expected {
        let got = next_event(stream).await;
        assert_eq!(got.position, want.position, "events out of order");
        assert_eq!(&got, want);
    }
}

/// Asserts nothing more arrives for a short while.
async fn expect_quiet(stream: &mut EventStream) {
    if let Ok(item) = tokio::time::timeout(QUIET, stream.next()).await {
        match item {
            Some(Ok(event)) => panic!("unexpected event at position {}", event.position),
            Some(Err(e)) => panic!("unexpected error: {e}"),
            None => panic!("stream ended"),
        }
    }
}

// --------------------------------------------------------------- contracts

async fn subscriber_receives_published_events_in_order(backend: &Backend) {
    let bus = backend.bus().await;
    let mut stream = bus.subscribe(0).await.expect("subscribe");
    let sent = events(1, 5);
    publish_all(&bus, &sent).await;
    expect_events(&mut stream, &sent).await;
    expect_quiet(&mut stream).await;
}
contract!(subscriber_receives_published_events_in_order);

async fn subscribe_after_position_replays_only_later_events(backend: &Backend) {
    let bus = backend.bus().await;
    let sent = events(1, 6);
    publish_all(&bus, &sent[..5]).await;

    let mut stream = bus.subscribe(2).await.expect("subscribe");
    expect_events(&mut stream, &sent[2..5]).await;
    bus.publish(&sent[5]).await.expect("publish live event");
    expect_events(&mut stream, &sent[5..]).await;
    expect_quiet(&mut stream).await;
}
contract!(subscribe_after_position_replays_only_later_events);

async fn republishing_the_same_event_delivers_it_once(backend: &Backend) {
    let bus = backend.bus().await;
    let mut live = bus.subscribe(0).await.expect("subscribe");
    let sent = events(1, 6);
    publish_all(&bus, &sent[..5]).await;
    // The relay crashed after publishing 3..5 but before saving its cursor
    // (at 2): after a restart it publishes them again.
    publish_all(&bus, &sent[2..5]).await;
    // Even a copy the bus cannot recognise as a duplicate (new message id,
    // as after JetStream's dedupe window) is dropped by position.
    let mut stale_copy = sent[3].clone();
    stale_copy.id = Uuid::new_v4();
    bus.publish(&stale_copy).await.expect("publish stale copy");
    bus.publish(&sent[5]).await.expect("publish");

    expect_events(&mut live, &sent).await;
    expect_quiet(&mut live).await;

    let mut replay = bus.subscribe(0).await.expect("subscribe from start");
    expect_events(&mut replay, &sent).await;
    expect_quiet(&mut replay).await;
}
contract!(republishing_the_same_event_delivers_it_once);

async fn two_subscribers_each_see_every_event(backend: &Backend) {
    let publisher = backend.bus().await;
    // For NATS, a separately connected client: another process.
    let other = backend.bus().await;
    let mut first = publisher.subscribe(0).await.expect("subscribe first");
    let mut second = other.subscribe(0).await.expect("subscribe second");

    let sent = events(1, 4);
    publish_all(&publisher, &sent).await;
    expect_events(&mut first, &sent).await;
    expect_events(&mut second, &sent).await;
    expect_quiet(&mut first).await;
    expect_quiet(&mut second).await;
}
contract!(two_subscribers_each_see_every_event);

async fn late_subscriber_catches_up_from_history(backend: &Backend) {
    let publisher = backend.bus().await;
    let sent = events(1, 4);
    publish_all(&publisher, &sent[..3]).await;

    // A process that starts after the events were published.
    let late = backend.bus().await;
    let mut stream = late.subscribe(0).await.expect("subscribe");
    expect_events(&mut stream, &sent[..3]).await;
    publisher
        .publish(&sent[3])
        .await
        .expect("publish live event");
    expect_events(&mut stream, &sent[3..]).await;
    expect_quiet(&mut stream).await;
}
contract!(late_subscriber_catches_up_from_history);

async fn subscriber_that_falls_behind_loses_nothing(backend: &Backend) {
    let bus = backend.bus().await;
    let mut stream = bus.subscribe(0).await.expect("subscribe");
    // More events than the memory bus's live channel holds, unread.
    let sent = events(1, 1500);
    publish_all(&bus, &sent).await;
    expect_events(&mut stream, &sent).await;
    expect_quiet(&mut stream).await;
}
contract!(subscriber_that_falls_behind_loses_nothing);

async fn ping_succeeds_when_the_bus_is_reachable(backend: &Backend) {
    let bus = backend.bus().await;
    tokio::time::timeout(ARRIVAL, bus.ping())
        .await
        .expect("ping is bounded")
        .expect("ping");
}
contract!(ping_succeeds_when_the_bus_is_reachable);

// ------------------------------------------------------------- NATS only

#[tokio::test]
async fn unreachable_nats_reports_unavailable_not_panic() {
    let config = NatsBusConfig {
        url: "nats://127.0.0.1:1".to_string(),
        stream: inkan_testkit::unique_name("BUS").to_uppercase(),
        subject_prefix: "t.unreachable".to_string(),
    };
    let connected = tokio::time::timeout(Duration::from_secs(10), NatsBus::connect(config))
        .await
        .expect("connect is bounded");
    let bus = match connected {
        Ok(bus) => bus,
        Err(BusError::Unavailable(_)) => return,
        Err(other) => panic!("expected Unavailable, got {other:?}"),
    };

    let published = tokio::time::timeout(Duration::from_secs(10), bus.publish(&event(1)))
        .await
        .expect("publish is bounded");
    assert!(
        matches!(published, Err(BusError::Unavailable(_))),
        "publish: {published:?}"
    );

    let pinged = tokio::time::timeout(Duration::from_secs(10), bus.ping())
        .await
        .expect("ping is bounded");
    assert!(
        matches!(pinged, Err(BusError::Unavailable(_))),
        "ping: {pinged:?}"
    );

    let subscribed = tokio::time::timeout(Duration::from_secs(10), bus.subscribe(0))
        .await
        .expect("subscribe is bounded");
    assert!(
        matches!(subscribed, Err(BusError::Unavailable(_))),
        "subscribe did not fail"
    );
}

#[tokio::test]
async fn malformed_nats_message_is_reported_and_the_stream_goes_on() {
    let backend = Backend::nats();
    let Backend::Nats { config, .. } = &backend else {
        unreachable!("nats backend")
    };
    let bus = backend.bus().await;
    let mut stream = bus.subscribe(0).await.expect("subscribe");
    let sent = events(1, 2);
    bus.publish(&sent[0]).await.expect("publish");

    // Something that is not an event lands on the bus's subjects.
    let client = async_nats::connect(config.url.as_str())
        .await
        .expect("raw client");
    let js = async_nats::jetstream::new(client);
    js.publish(
        format!("{}.project.garbage", config.subject_prefix),
        "not json".into(),
    )
    .await
    .expect("send garbage")
    .await
    .expect("garbage acked");
    bus.publish(&sent[1]).await.expect("publish");

    expect_events(&mut stream, &sent[..1]).await;
    match tokio::time::timeout(ARRIVAL, stream.next()).await {
        Ok(Some(Err(BusError::Malformed(_)))) => {}
        other => panic!("expected Malformed, got {other:?}"),
    }
    expect_events(&mut stream, &sent[1..]).await;
    expect_quiet(&mut stream).await;
}
