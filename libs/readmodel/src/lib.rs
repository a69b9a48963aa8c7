//! Checkpointed read models: the admin's projections, persisted beside the
//! log so a restart resumes from where they were instead of replaying it.
//!
//! The event store stores events and knows no aggregate; this crate knows
//! the aggregates' state types (`inkan-domain`) and keeps them in tables of
//! the event store's own database ([`inkan_eventstore::Database`]: same pool,
//! same schema, same SQLite writer queue), which the event store's
//! `migrate` creates. The two are the storage crates: the only ones that
//! import sqlx. Errors are the event store's [`StoreError`].
//!
//! Three tables hold one row per live aggregate (projects, identities,
//! signing keys): the aggregate's state as JSON plus the columns lookups need
//! (client id, normalised email), its version and its first and last event
//! times. A checkpoint row holds the log position the tables reflect.
//! [`ReadModelStore::commit`] writes a batch of changes and moves the
//! checkpoint in one transaction, so the tables always equal the fold of the
//! log up to some position; it moves the checkpoint only from the position
//! the writer started from (compare-and-set), so two admin replicas
//! projecting at once cannot interleave their batches.
//!
//! # Layout
//! - [`ReadModels::read_models`]: the read models beside any event store.
//! - [`ReadModelStore`]: the trait; [`Entry`], [`Changes`], [`Snapshot`], [`Committed`].
//! - [`postgres`]: multi-row `UNNEST` upserts; [`sqlite`]: prepared statements.
//! - `Stored`: how each aggregate maps to a row (which column holds its
//!   secret, which its lookup key), shared by both backends.

#![forbid(unsafe_code)]

use std::sync::Arc;

use async_trait::async_trait;
use inkan_domain::identity::Identity;
use inkan_domain::project::Project;
use inkan_domain::signing_key::SigningKey;
use inkan_domain::validation::email_key;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use inkan_eventstore::{Database, EventStore};
pub use inkan_eventstore::{Result, StoreError};

pub mod postgres;
pub mod sqlite;

pub use postgres::PgReadModels;
pub use sqlite::SqliteReadModels;

/// The read-model tables beside an event store's log.
pub trait ReadModels {
    /// The read models in this store's database (same pool; the store's
    /// `migrate` created their tables).
    fn read_models(&self) -> Arc<dyn ReadModelStore>;
}

impl<S: EventStore + ?Sized> ReadModels for S {
    fn read_models(&self) -> Arc<dyn ReadModelStore> {
        match self.database() {
            Database::Postgres(pool) => Arc::new(PgReadModels::new(pool)),
            Database::Sqlite(db) => Arc::new(SqliteReadModels::new(db)),
        }
    }
}

/// A read-model entry: the aggregate plus the bookkeeping the API shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<A> {
    pub state: A,
    /// The aggregate's version (its last applied event's).
    pub version: i64,
    /// When its first event occurred.
    pub created_at: OffsetDateTime,
    /// When its last event occurred.
    pub updated_at: OffsetDateTime,
}

/// What a start-up loads, read in one consistent snapshot: the checkpoint
/// and the rows that are small enough to keep in memory.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The log position the tables reflect.
    pub position: i64,
    pub projects: Vec<Entry<Project>>,
    pub signing_keys: Vec<Entry<SigningKey>>,
}

/// The net effect of a batch of events: the new state of every aggregate
/// they touched, or its removal. An id appears at most once per kind.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub projects: Vec<Entry<Project>>,
    pub deleted_projects: Vec<Uuid>,
    pub identities: Vec<Entry<Identity>>,
    pub deleted_identities: Vec<Uuid>,
    pub signing_keys: Vec<Entry<SigningKey>>,
}

impl Changes {
    /// Whether applying this changes no row.
    pub fn is_empty(&self) -> bool {
        self.projects.is_empty()
            && self.deleted_projects.is_empty()
            && self.identities.is_empty()
            && self.deleted_identities.is_empty()
            && self.signing_keys.is_empty()
    }
}

/// The outcome of [`ReadModelStore::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The changes are written and the checkpoint moved.
    Done,
    /// Nothing was written: the checkpoint was not at the writer's starting
    /// position (another replica projected, or a rebuild reset the tables).
    Moved { checkpoint: i64 },
}

/// The persisted read models. Implementations share the event store's
/// connection pool (and, on Postgres, its schema).
#[async_trait]
pub trait ReadModelStore: Send + Sync + 'static {
    /// The checkpoint with the projects and signing keys, from one snapshot.
    async fn snapshot(&self) -> Result<Snapshot>;

    /// The log position the tables reflect (0 for empty tables).
    async fn checkpoint(&self) -> Result<i64>;

    /// Writes `changes` and moves the checkpoint from `from` to `to`, in one
    /// transaction; writes nothing if the checkpoint is not at `from`.
    async fn commit(&self, from: i64, to: i64, changes: &Changes) -> Result<Committed>;

    async fn identity(&self, id: Uuid) -> Result<Option<Entry<Identity>>>;

    /// The identities among `ids` that exist (in no particular order).
    async fn identities(&self, ids: &[Uuid]) -> Result<Vec<Entry<Identity>>>;

    /// The identity whose email normalises ([`email_key`]) to the same as `email`.
    async fn identity_by_email(&self, email: &str) -> Result<Option<Entry<Identity>>>;

    /// Identities in registration order (first event time, then id).
    async fn list_identities(&self, offset: u64, limit: u64) -> Result<Vec<Entry<Identity>>>;

    /// How many identities exist.
    async fn count_identities(&self) -> Result<u64>;

    /// Empties every read-model table and sets the checkpoint to 0, in one
    /// transaction (the first step of a rebuild).
    async fn reset(&self) -> Result<()>;
}

/// How an aggregate maps to a read-model row.
pub(crate) trait Stored: Serialize + DeserializeOwned + Sized {
    fn id(&self) -> Uuid;
    /// The column lookups use (client id, normalised email), if any.
    fn lookup_key(&self) -> Option<String>;
    /// The credential hash the JSON leaves out (`#[serde(skip)]`), kept in its own column.
    fn secret(&self) -> Option<&str>;
    fn set_secret(&mut self, secret: Option<String>);
}

impl Stored for Project {
    fn id(&self) -> Uuid {
        self.id
    }
    fn lookup_key(&self) -> Option<String> {
        Some(self.client_id.clone())
    }
    fn secret(&self) -> Option<&str> {
        self.secret_hash.as_deref()
    }
    fn set_secret(&mut self, secret: Option<String>) {
        self.secret_hash = secret;
    }
}

impl Stored for Identity {
    fn id(&self) -> Uuid {
        self.id
    }
    fn lookup_key(&self) -> Option<String> {
        self.profile.as_ref().map(|p| email_key(&p.email))
    }
    fn secret(&self) -> Option<&str> {
        self.password_hash.as_deref()
    }
    fn set_secret(&mut self, secret: Option<String>) {
        self.password_hash = secret;
    }
}

impl Stored for SigningKey {
    fn id(&self) -> Uuid {
        self.id
    }
    fn lookup_key(&self) -> Option<String> {
        None
    }
    fn secret(&self) -> Option<&str> {
        None
    }
    fn set_secret(&mut self, _secret: Option<String>) {}
}

/// One read-model row in backend-neutral types.
pub(crate) struct Row {
    pub id: Uuid,
    pub lookup_key: Option<String>,
    pub version: i64,
    /// Unix time in nanoseconds (exact, and ordered as an integer).
    pub created_at: i64,
    pub updated_at: i64,
    pub state: String,
    pub secret: Option<String>,
}

fn nanos(at: OffsetDateTime) -> Result<i64> {
    i64::try_from(at.unix_timestamp_nanos())
        .map_err(|_| StoreError::Corrupt(format!("timestamp {at} is out of range")))
}

fn from_nanos(column: &str, nanos: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .map_err(|e| StoreError::Corrupt(format!("column {column} holds {nanos}: {e}")))
}

impl Row {
    pub(crate) fn encode<A: Stored>(entry: &Entry<A>) -> Result<Row> {
        Ok(Row {
            id: entry.state.id(),
            lookup_key: entry.state.lookup_key(),
            version: entry.version,
            created_at: nanos(entry.created_at)?,
            updated_at: nanos(entry.updated_at)?,
            state: serde_json::to_string(&entry.state)
                .map_err(|e| StoreError::Corrupt(format!("read model cannot be stored: {e}")))?,
            secret: entry.state.secret().map(str::to_owned),
        })
    }

    pub(crate) fn decode<A: Stored>(self) -> Result<Entry<A>> {
        let mut state: A = serde_json::from_str(&self.state).map_err(|e| {
            StoreError::Corrupt(format!("read model of {} does not decode: {e}", self.id))
        })?;
        state.set_secret(self.secret);
        Ok(Entry {
            state,
            version: self.version,
            created_at: from_nanos("created_at", self.created_at)?,
            updated_at: from_nanos("updated_at", self.updated_at)?,
        })
    }
}

/// The table each kind lives in (fixed names, safe to splice into SQL).
pub(crate) const PROJECTS: &str = "rm_projects";
pub(crate) const IDENTITIES: &str = "rm_identities";
pub(crate) const SIGNING_KEYS: &str = "rm_signing_keys";
