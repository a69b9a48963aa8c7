//! The event store contract: one set of behaviours every backend must show,
//! each run against Postgres (a fresh schema per test) and SQLite (a file in
//! a fresh temporary folder per test).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use inkan_domain::envelope::{Metadata, NewEvent, RecordedEvent};
use inkan_eventstore::{
    Append, Appended, EventStore, ExpectedVersion, PgEventStore, SqliteEventStore, StoreError,
    UniqueKey,
};
use inkan_testkit::PgSchema;
use serde_json::json;
use tokio::sync::Barrier;
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Harness

enum Backend {
    Pg(PgSchema),
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
}

/// A store under test plus what keeps its storage alive. Fields drop in
/// order: the store's pool goes before the schema or folder it uses.
struct Harness {
    store: Arc<dyn EventStore>,
    backend: Backend,
}

impl Harness {
    async fn pg(migrate: bool) -> Harness {
        let schema = PgSchema::create("es").await;
        let store = PgEventStore::connect(&schema.url, &schema.name, 4)
            .await
            .expect("connect to postgres");
        if migrate {
            store.migrate().await.expect("migrate");
        }
        Harness {
            store: Arc::new(store),
            backend: Backend::Pg(schema),
        }
    }

    async fn sqlite(migrate: bool) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("events.db");
        let store = SqliteEventStore::open(&path).await.expect("open sqlite");
        if migrate {
            store.migrate().await.expect("migrate");
        }
        Harness {
            store: Arc::new(store),
            backend: Backend::Sqlite { path, _dir: dir },
        }
    }

    /// A second, separately opened store on the same storage: models another
    /// replica (Postgres) or another process (SQLite).
    async fn another(&self) -> Arc<dyn EventStore> {
        match &self.backend {
            Backend::Pg(schema) => Arc::new(
                PgEventStore::connect(&schema.url, &schema.name, 4)
                    .await
                    .expect("connect again"),
            ),
            Backend::Sqlite { path, .. } => Arc::new(
                SqliteEventStore::open(path)
                    .await
                    .expect("open sqlite again"),
            ),
        }
    }
}

/// Runs each contract against both backends as `postgres::<name>` and `sqlite::<name>`.
macro_rules! contracts {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::pg(true).await;
                    super::$name(&harness).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::Harness::sqlite(true).await;
                    super::$name(&harness).await;
                }
            )*
        }
    };
}

contracts!(
    append_then_read_stream_returns_events_in_version_order,
    read_all_returns_events_after_position_in_order_across_streams,
    append_with_stale_expected_version_is_rejected_and_writes_nothing,
    two_concurrent_appends_at_the_same_expected_version_exactly_one_wins,
    concurrent_appends_to_different_streams_get_gap_free_positions,
    unique_key_claimed_by_another_stream_is_rejected_and_writes_nothing,
    released_unique_key_can_be_claimed_again,
    same_stream_reclaiming_its_own_key_is_ok,
    empty_append_is_rejected,
    cursors_start_at_zero_and_persist,
    head_is_zero_on_empty_log_and_tracks_last_position,
    ping_answers_on_a_live_store,
);

// ---------------------------------------------------------------------------
// Builders

fn metadata() -> Metadata {
    Metadata {
        actor: "admin-cli".to_string(),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".to_string()),
        // Sub-second precision must survive the round trip.
        occurred_at: time::OffsetDateTime::now_utc(),
    }
}

fn event(event_type: &str, n: i64) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: event_type.to_string(),
        payload: json!({
            "n": n,
            "name": "Ada Lovelace ✓",
            "tags": ["a", "b"],
            "nested": { "ratio": 0.25, "none": null, "flag": true },
        }),
        metadata: metadata(),
    }
}

fn events(n: i64) -> Vec<NewEvent> {
    (1..=n).map(|i| event("thing.happened.v1", i)).collect()
}

fn append(stream_id: Uuid, expected: ExpectedVersion, events: Vec<NewEvent>) -> Append {
    Append {
        stream_id,
        stream_type: "thing".to_string(),
        expected,
        events,
        claim: Vec::new(),
        release: Vec::new(),
    }
}

fn claiming(mut a: Append, keys: impl IntoIterator<Item = UniqueKey>) -> Append {
    a.claim = keys.into_iter().collect();
    a
}

fn releasing(mut a: Append, keys: impl IntoIterator<Item = UniqueKey>) -> Append {
    a.release = keys.into_iter().collect();
    a
}

fn email(value: &str) -> UniqueKey {
    UniqueKey::new("identity.email", value)
}

fn positions(events: &[RecordedEvent]) -> Vec<i64> {
    events.iter().map(|e| e.position).collect()
}

fn assert_conflict(result: Result<Appended, StoreError>, stream: Uuid, expected: i64, actual: i64) {
    match result {
        Err(StoreError::VersionConflict {
            stream_id,
            expected: e,
            actual: a,
        }) => {
            assert_eq!(
                (stream_id, e, a),
                (stream, expected, actual),
                "conflict details"
            );
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
}

fn assert_taken(result: Result<Appended, StoreError>, key: &UniqueKey) {
    match result {
        Err(StoreError::UniqueViolation { scope, value }) => {
            assert_eq!((scope.as_str(), value.as_str()), (&*key.scope, &*key.value));
        }
        other => panic!("expected a unique violation, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Contracts

async fn append_then_read_stream_returns_events_in_version_order(h: &Harness) {
    let store = &h.store;
    let stream = Uuid::new_v4();
    let first = events(3);

    let appended = store
        .append(append(stream, ExpectedVersion::NoStream, first.clone()))
        .await
        .expect("append");
    assert_eq!(
        appended,
        Appended {
            position: 3,
            version: 3
        }
    );

    let more = events(1);
    let appended = store
        .append(append(stream, ExpectedVersion::Exact(3), more.clone()))
        .await
        .expect("second append");
    assert_eq!(
        appended,
        Appended {
            position: 4,
            version: 4
        }
    );

    let expected: Vec<RecordedEvent> = first
        .into_iter()
        .chain(more)
        .enumerate()
        .map(|(i, e)| RecordedEvent {
            position: i as i64 + 1,
            id: e.id,
            stream_id: stream,
            stream_type: "thing".to_string(),
            version: i as i64 + 1,
            event_type: e.event_type,
            payload: e.payload,
            metadata: e.metadata,
        })
        .collect();
    assert_eq!(store.read_stream(stream).await.expect("read"), expected);

    assert!(store
        .read_stream(Uuid::new_v4())
        .await
        .expect("read unknown stream")
        .is_empty());
}

async fn read_all_returns_events_after_position_in_order_across_streams(h: &Harness) {
    let store = &h.store;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .append(append(a, ExpectedVersion::NoStream, events(2)))
        .await
        .expect("a1");
    store
        .append(append(b, ExpectedVersion::NoStream, events(1)))
        .await
        .expect("b1");
    store
        .append(append(a, ExpectedVersion::Exact(2), events(1)))
        .await
        .expect("a2");
    store
        .append(append(b, ExpectedVersion::Exact(1), events(2)))
        .await
        .expect("b2");

    let all = store.read_all(0, 100).await.expect("read all");
    assert_eq!(positions(&all), vec![1, 2, 3, 4, 5, 6]);
    let owners: Vec<(Uuid, i64)> = all.iter().map(|e| (e.stream_id, e.version)).collect();
    assert_eq!(owners, vec![(a, 1), (a, 2), (b, 1), (a, 3), (b, 2), (b, 3)]);

    let page = store.read_all(2, 2).await.expect("page");
    assert_eq!(positions(&page), vec![3, 4]);
    assert_eq!(page[..], all[2..4]);

    let tail = store.read_all(4, 100).await.expect("tail");
    assert_eq!(positions(&tail), vec![5, 6]);
    assert!(store.read_all(6, 100).await.expect("past head").is_empty());
    assert!(store.read_all(0, 0).await.expect("zero limit").is_empty());
    assert_eq!(
        positions(&store.read_all(0, usize::MAX).await.expect("huge limit")),
        vec![1, 2, 3, 4, 5, 6]
    );
}

async fn append_with_stale_expected_version_is_rejected_and_writes_nothing(h: &Harness) {
    let store = &h.store;
    let stream = Uuid::new_v4();
    store
        .append(append(stream, ExpectedVersion::NoStream, events(2)))
        .await
        .expect("seed");
    let before = store.read_stream(stream).await.expect("read");

    let key = email("stale@example.com");
    for (expected, number) in [
        (ExpectedVersion::NoStream, 0),
        (ExpectedVersion::Exact(1), 1),
        (ExpectedVersion::Exact(3), 3),
    ] {
        let result = store
            .append(claiming(append(stream, expected, events(2)), [key.clone()]))
            .await;
        assert_conflict(result, stream, number, 2);
    }

    assert_eq!(store.read_stream(stream).await.expect("read"), before);
    assert_eq!(store.head().await.expect("head"), 2);
    // The rejected appends claimed nothing either.
    store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [key],
        ))
        .await
        .expect("key is still free");
}

async fn two_concurrent_appends_at_the_same_expected_version_exactly_one_wins(h: &Harness) {
    let other = h.another().await;
    let pairs = [
        ("one handle", h.store.clone(), h.store.clone()),
        ("two handles", h.store.clone(), other),
    ];
    for (label, left, right) in pairs {
        for round in 0..20 {
            let stream = Uuid::new_v4();
            let barrier = Arc::new(Barrier::new(2));
            let racers = [left.clone(), right.clone()].map(|store| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .append(append(stream, ExpectedVersion::NoStream, events(1)))
                        .await
                })
            });
            let [first, second] = racers;
            let results = [first.await.expect("task"), second.await.expect("task")];

            let wins = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(wins, 1, "{label}, round {round}: {results:?}");
            for result in results {
                if result.is_err() {
                    assert_conflict(result, stream, 0, 1);
                }
            }
            let recorded = h.store.read_stream(stream).await.expect("read");
            assert_eq!(recorded.len(), 1, "{label}, round {round}");
            assert_eq!(recorded[0].version, 1);
        }
    }
}

async fn concurrent_appends_to_different_streams_get_gap_free_positions(h: &Harness) {
    let other = h.another().await;
    let barrier = Arc::new(Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 {
                h.store.clone()
            } else {
                other.clone()
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .append(append(Uuid::new_v4(), ExpectedVersion::NoStream, events(2)))
                    .await
            })
        })
        .collect();
    let mut lasts = Vec::new();
    for result in futures::future::join_all(tasks).await {
        lasts.push(result.expect("task").expect("append").position);
    }
    lasts.sort_unstable();
    assert_eq!(lasts, (1..=16).map(|i| i * 2).collect::<Vec<i64>>());

    let all = h.store.read_all(0, 1000).await.expect("read all");
    assert_eq!(positions(&all), (1..=32).collect::<Vec<i64>>());
    // Each append's two events are adjacent: appends never interleave.
    for pair in all.chunks(2) {
        assert_eq!(pair[0].stream_id, pair[1].stream_id);
        assert_eq!((pair[0].version, pair[1].version), (1, 2));
    }
}

async fn unique_key_claimed_by_another_stream_is_rejected_and_writes_nothing(h: &Harness) {
    let store = &h.store;
    let (holder, intruder) = (Uuid::new_v4(), Uuid::new_v4());
    let key = email("ada@example.com");
    let other_key = email("grace@example.com");
    store
        .append(claiming(
            append(holder, ExpectedVersion::NoStream, events(1)),
            [key.clone()],
        ))
        .await
        .expect("holder claims");

    // Claims a free key and a taken one: neither the events nor the free key stick.
    let result = store
        .append(claiming(
            append(intruder, ExpectedVersion::NoStream, events(2)),
            [other_key.clone(), key.clone()],
        ))
        .await;
    assert_taken(result, &key);
    assert!(store.read_stream(intruder).await.expect("read").is_empty());
    assert_eq!(store.head().await.expect("head"), 1);

    // Same scope, different value, and same value, different scope, are free.
    store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [other_key, UniqueKey::new("client.id", "ada@example.com")],
        ))
        .await
        .expect("unrelated keys are free");

    // The holder keeps its key.
    let result = store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [key.clone()],
        ))
        .await;
    assert_taken(result, &key);
}

async fn released_unique_key_can_be_claimed_again(h: &Harness) {
    let store = &h.store;
    let (first, second, bystander) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let key = email("ada@example.com");
    let held = email("grace@example.com");
    store
        .append(claiming(
            append(first, ExpectedVersion::NoStream, events(1)),
            [key.clone()],
        ))
        .await
        .expect("claim");
    store
        .append(claiming(
            append(bystander, ExpectedVersion::NoStream, events(1)),
            [held.clone()],
        ))
        .await
        .expect("bystander claims");

    // Releasing a key held by another stream does nothing.
    store
        .append(releasing(
            append(first, ExpectedVersion::Exact(1), events(1)),
            [key.clone(), held.clone()],
        ))
        .await
        .expect("release");
    let result = store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [held.clone()],
        ))
        .await;
    assert_taken(result, &held);

    store
        .append(claiming(
            append(second, ExpectedVersion::NoStream, events(1)),
            [key.clone()],
        ))
        .await
        .expect("released key is free again");
    let result = store
        .append(claiming(
            append(first, ExpectedVersion::Exact(2), events(1)),
            [key.clone()],
        ))
        .await;
    assert_taken(result, &key);
}

async fn same_stream_reclaiming_its_own_key_is_ok(h: &Harness) {
    let store = &h.store;
    let stream = Uuid::new_v4();
    let key = email("ada@example.com");
    store
        .append(claiming(
            append(stream, ExpectedVersion::NoStream, events(1)),
            [key.clone()],
        ))
        .await
        .expect("claim");
    store
        .append(claiming(
            append(stream, ExpectedVersion::Exact(1), events(1)),
            [key.clone(), key.clone()],
        ))
        .await
        .expect("re-claim own key (twice in one append)");
    // Releasing and re-claiming in one append keeps it.
    let both = releasing(
        claiming(
            append(stream, ExpectedVersion::Exact(2), events(1)),
            [key.clone()],
        ),
        [key.clone()],
    );
    store.append(both).await.expect("release and re-claim");
    let result = store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [key.clone()],
        ))
        .await;
    assert_taken(result, &key);
}

async fn empty_append_is_rejected(h: &Harness) {
    let store = &h.store;
    let stream = Uuid::new_v4();
    let key = email("empty@example.com");
    let result = store
        .append(claiming(
            append(stream, ExpectedVersion::NoStream, Vec::new()),
            [key.clone()],
        ))
        .await;
    assert!(
        matches!(result, Err(StoreError::EmptyAppend)),
        "got {result:?}"
    );
    assert_eq!(store.head().await.expect("head"), 0);
    store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [key],
        ))
        .await
        .expect("key was not claimed");
}

async fn cursors_start_at_zero_and_persist(h: &Harness) {
    let store = &h.store;
    assert_eq!(store.cursor("relay").await.expect("cursor"), 0);
    store.set_cursor("relay", 5).await.expect("set");
    assert_eq!(store.cursor("relay").await.expect("cursor"), 5);
    store.set_cursor("relay", 7).await.expect("overwrite");
    assert_eq!(store.cursor("relay").await.expect("cursor"), 7);
    assert_eq!(store.cursor("projector").await.expect("other cursor"), 0);

    let other = h.another().await;
    assert_eq!(
        other.cursor("relay").await.expect("seen by another handle"),
        7
    );
}

async fn head_is_zero_on_empty_log_and_tracks_last_position(h: &Harness) {
    let store = &h.store;
    assert_eq!(store.head().await.expect("head"), 0);
    let first = store
        .append(append(Uuid::new_v4(), ExpectedVersion::NoStream, events(3)))
        .await
        .expect("append");
    assert_eq!(store.head().await.expect("head"), first.position);
    assert_eq!(first.position, 3);
    let second = store
        .append(append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)))
        .await
        .expect("append");
    assert_eq!(second.position, 4);
    assert_eq!(store.head().await.expect("head"), 4);
    // A rejected append does not move the head.
    let _ = store
        .append(append(Uuid::new_v4(), ExpectedVersion::Exact(9), events(1)))
        .await;
    assert_eq!(store.head().await.expect("head"), 4);
}

async fn ping_answers_on_a_live_store(h: &Harness) {
    h.store.ping().await.expect("ping");
}

// ---------------------------------------------------------------------------
// Migration (needs an unmigrated store, so not part of the macro)

async fn migrate_is_idempotent(h: &Harness) {
    // Two processes starting together on fresh storage.
    let other = h.another().await;
    let (a, b) = tokio::join!(h.store.migrate(), other.migrate());
    a.expect("first concurrent migrate");
    b.expect("second concurrent migrate");

    let stream = Uuid::new_v4();
    h.store
        .append(append(stream, ExpectedVersion::NoStream, events(2)))
        .await
        .expect("append");
    h.store.set_cursor("relay", 2).await.expect("cursor");

    // Running it again later keeps the data.
    h.store.migrate().await.expect("migrate again");
    other.migrate().await.expect("and again");
    assert_eq!(h.store.read_stream(stream).await.expect("read").len(), 2);
    assert_eq!(h.store.cursor("relay").await.expect("cursor"), 2);
}

mod migration {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_migrate_is_idempotent() {
        let h = Harness::pg(false).await;
        // Start from a schema that does not exist, so migrate must create it.
        let Backend::Pg(schema) = &h.backend else {
            unreachable!()
        };
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&schema.url)
            .await
            .expect("connect");
        sqlx::query(&format!("DROP SCHEMA \"{}\"", schema.name))
            .execute(&mut conn)
            .await
            .expect("drop schema");
        migrate_is_idempotent(&h).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_migrate_is_idempotent() {
        let h = Harness::sqlite(false).await;
        migrate_is_idempotent(&h).await;
    }
}

// ---------------------------------------------------------------------------
// Backend-specific behaviour

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_survives_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested-name.db");
    let stream = Uuid::new_v4();
    let written = events(2);
    {
        let store = SqliteEventStore::open(&path).await.expect("open");
        store.migrate().await.expect("migrate");
        store
            .append(claiming(
                append(stream, ExpectedVersion::NoStream, written.clone()),
                [email("ada@example.com")],
            ))
            .await
            .expect("append");
        store.set_cursor("relay", 1).await.expect("cursor");
        store.close().await;
    }

    let store = SqliteEventStore::open(&path).await.expect("reopen");
    store.migrate().await.expect("migrate again");
    let read = store.read_stream(stream).await.expect("read");
    assert_eq!(
        read.iter().map(|e| e.id).collect::<Vec<_>>(),
        written.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(read[1].metadata, written[1].metadata);
    assert_eq!(store.head().await.expect("head"), 2);
    assert_eq!(store.cursor("relay").await.expect("cursor"), 1);
    let result = store
        .append(claiming(
            append(Uuid::new_v4(), ExpectedVersion::NoStream, events(1)),
            [email("ada@example.com")],
        ))
        .await;
    assert_taken(result, &email("ada@example.com"));
}

#[tokio::test]
async fn sqlite_in_memory_store_works_and_is_private() {
    let a = SqliteEventStore::in_memory().await.expect("in memory");
    let b = SqliteEventStore::in_memory().await.expect("in memory");
    a.migrate().await.expect("migrate");
    b.migrate().await.expect("migrate");
    let stream = Uuid::new_v4();
    a.append(append(stream, ExpectedVersion::NoStream, events(2)))
        .await
        .expect("append");
    let result = a
        .append(append(stream, ExpectedVersion::NoStream, events(1)))
        .await;
    assert_conflict(result, stream, 0, 2);
    assert_eq!(a.read_stream(stream).await.expect("read").len(), 2);
    assert_eq!(b.head().await.expect("other store"), 0);
}

#[tokio::test]
async fn postgres_rejects_schema_names_that_need_quoting() {
    let url = inkan_testkit::postgres_url();
    for bad in ["Public", "x; drop table events", "a\"b", ""] {
        let result = PgEventStore::connect(&url, bad, 1).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(ref m)) if m.contains("invalid schema name")),
            "{bad:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn postgres_unreachable_database_is_unavailable_quickly() {
    let started = std::time::Instant::now();
    let result = PgEventStore::connect("postgres://postgres@127.0.0.1:1/postgres", "es", 1).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
