//! The append-only event log: Inkan's only durable state.
//!
//! Every change to a project, identity or signing key is an event appended to
//! a stream (one stream per aggregate) with the version the writer expected
//! the stream to have. Two writers that read the same version cannot both
//! win: the loser gets [`StoreError::VersionConflict`]. Uniqueness rules that
//! span aggregates (an email, a client id) are claimed in the same
//! transaction as the append.
//!
//! # Layout
//! - [`EventStore`]: the trait every caller uses.
//! - [`postgres`]: the real implementation (sqlx, one schema per deployment or test).
//! - [`sqlite`]: the embedded implementation (a file in the data folder).
//! - [`Database`]: the pool (and SQLite writer queue) behind a store, for the
//!   crate that keeps tables beside the log (`inkan-readmodel`), and [`sql`],
//!   how that crate's database errors become [`StoreError`]s.
//! - `migrations/`: the schema of each backend, applied by [`EventStore::migrate`]
//!   (the log's tables and the read-model tables beside it, so one
//!   `inkan migrate` covers both).
//!
//! This crate stores events, not aggregates: it knows the envelope
//! (`inkan_domain::envelope`) and nothing of projects, identities or keys
//! (`tests/boundaries.rs` keeps it so). It and `inkan-readmodel` are the
//! storage crates, the only ones that import sqlx.

use async_trait::async_trait;
use inkan_domain::envelope::{NewEvent, RecordedEvent};
use uuid::Uuid;

/// Rules and conversions both backends share.
mod common;
pub mod postgres;
pub mod sqlite;

pub use postgres::PgEventStore;
pub use sqlite::{SqliteDatabase, SqliteEventStore, SqliteWrite};

/// How database errors and TEXT columns become [`StoreError`]s, for crates
/// that keep tables beside the log; the same rules the event store follows.
pub mod sql {
    pub use crate::common::{map_err, parse_json, parse_uuid};
}

/// The database a store keeps its log in: what another storage crate needs
/// to keep its tables beside the log (same pool, same schema, same writer
/// queue), so they share `inkan migrate`, the per-test schemas and the file.
#[derive(Debug, Clone)]
pub enum Database {
    /// The store's pool; every connection's `search_path` is its schema.
    Postgres(sqlx::PgPool),
    /// The store's file (or in-memory database) and its writer queue.
    Sqlite(SqliteDatabase),
}

/// What the writer believes the stream's version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version (>= 1).
    Exact(i64),
}

impl ExpectedVersion {
    /// The version number the stream has now under this expectation (0 for none).
    pub fn as_i64(self) -> i64 {
        match self {
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exact(v) => v,
        }
    }
}

/// A value that must be unique within a scope across all streams
/// (e.g. scope `identity.email`, value `ada@example.com`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UniqueKey {
    /// What kind of value this is; the same value in two scopes does not collide.
    pub scope: String,
    /// The value itself, compared exactly (normalise case before claiming).
    pub value: String,
}

impl UniqueKey {
    /// A key for `value` within `scope`.
    pub fn new(scope: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            scope: scope.into(),
            value: value.into(),
        }
    }
}

/// One atomic write: events for one stream plus the unique keys it claims
/// or releases. All of it commits, or none of it does.
#[derive(Debug, Clone)]
pub struct Append {
    /// The aggregate written to.
    pub stream_id: Uuid,
    /// The aggregate's kind, recorded on every event so readers can route without decoding payloads.
    pub stream_type: String,
    /// The version the writer based its decision on; checked, not trusted.
    pub expected: ExpectedVersion,
    /// At least one event, given consecutive versions after `expected`.
    pub events: Vec<NewEvent>,
    /// Keys this stream takes; fails with [`StoreError::UniqueViolation`] if another stream holds one.
    pub claim: Vec<UniqueKey>,
    /// Keys this stream gives up (only removed if this stream holds them).
    pub release: Vec<UniqueKey>,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Global position of the last event written.
    pub position: i64,
    /// The stream's version after the append.
    pub version: i64,
}

/// Why an operation failed; callers branch on the variant (retry, 409, 503).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer got there first: re-read the stream and decide again.
    #[error("stream {stream_id} is at version {actual}, expected {expected}")]
    VersionConflict {
        stream_id: Uuid,
        expected: i64,
        actual: i64,
    },
    /// A claimed key is held by another stream; nothing was written.
    #[error("{scope} {value:?} is already taken")]
    UniqueViolation { scope: String, value: String },
    /// The append carried no events (a caller bug); nothing was written.
    #[error("an append must carry at least one event")]
    EmptyAppend,
    /// The database could not be reached or refused the operation (also a
    /// misconfigured store, e.g. an invalid schema name); retrying may help.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not decode, or an event id was written twice; retrying will not help.
    #[error("event store data is corrupt: {0}")]
    Corrupt(String),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The event log. Implementations are cheap to clone behind an `Arc`.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Creates or upgrades the schema; idempotent, safe to run from several processes at once.
    async fn migrate(&self) -> Result<()>;

    /// Appends events to one stream atomically, checking the expected version
    /// and claiming/releasing unique keys in the same transaction.
    async fn append(&self, append: Append) -> Result<Appended>;

    /// All events of one stream in version order (empty if the stream does not exist).
    async fn read_stream(&self, stream_id: Uuid) -> Result<Vec<RecordedEvent>>;

    /// Up to `limit` events with a position greater than `after`, in position order.
    async fn read_all(&self, after: i64, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// The position of the last committed event (0 when the log is empty).
    async fn head(&self) -> Result<i64>;

    /// A named cursor (e.g. the relay's last published position); 0 if never set.
    async fn cursor(&self, name: &str) -> Result<i64>;

    /// Stores a named cursor.
    async fn set_cursor(&self, name: &str, position: i64) -> Result<()>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;

    /// The database behind this log, for tables kept beside it (the read
    /// models); [`EventStore::migrate`] creates those tables too.
    fn database(&self) -> Database;
}
