//! Rules and conversions both backends share, so the Postgres and SQLite
//! stores differ only in SQL dialect and locking, never in semantics.
//!
//! - [`validate`]: rejects appends no backend may accept.
//! - [`check_version`]: the optimistic-concurrency rule.
//! - [`EventRow`]: a stored row, turned into a [`RecordedEvent`] in one place.
//! - [`map_err`] / [`is_version_clash`]: how database errors become [`StoreError`]s.
//! - [`Dialect`] / [`write`]: the body of an append (version check, events,
//!   unique keys), written once for both backends.
//! - [`sql`]: the statements both backends run, written once (numbered
//!   `$n` parameters, which SQLite numbers by first appearance like Postgres).

use inkan_domain::envelope::{Metadata, RecordedEvent};
use sqlx::error::ErrorKind;
use sqlx::{Database, Decode, Encode, Executor, FromRow, IntoArguments, Type};
use uuid::Uuid;

use crate::{Append, Appended, ExpectedVersion, Result, StoreError};

/// The statements both backends run, in the SQL both dialects read. Each
/// `$n` appears in order, so SQLite's numbering of named parameters (by
/// first appearance) binds them as Postgres does; the binds differ only in
/// how a UUID is passed (`UUID` there, hyphenated `TEXT` here).
pub(crate) mod sql {
    /// The stream's current version (0 when it has no events); binds the stream id.
    pub const STREAM_VERSION: &str =
        "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = $1";
    /// The log's last position (0 when empty).
    pub const HEAD: &str = "SELECT COALESCE(MAX(position), 0) FROM events";
    /// One event: position, id, stream id, stream type, version, type, payload, metadata.
    pub const INSERT_EVENT: &str = "INSERT INTO events \
        (position, id, stream_id, stream_type, version, event_type, payload, metadata) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    /// Gives up a key this stream holds (scope, value, stream id); a no-op otherwise.
    pub const RELEASE_KEY: &str =
        "DELETE FROM unique_keys WHERE scope = $1 AND value = $2 AND stream_id = $3";
    /// Inserts the key (scope, value, stream id), or touches it if this stream
    /// already holds it; returns no row only when another stream holds it.
    pub const CLAIM_KEY: &str = "INSERT INTO unique_keys (scope, value, stream_id) \
        VALUES ($1, $2, $3) \
        ON CONFLICT (scope, value) DO UPDATE SET stream_id = excluded.stream_id \
        WHERE unique_keys.stream_id = excluded.stream_id \
        RETURNING stream_id";
    /// One stream's events in version order; binds the stream id.
    pub const READ_STREAM: &str = "SELECT position, id, stream_id, stream_type, version, \
        event_type, payload, metadata FROM events WHERE stream_id = $1 ORDER BY version";
    /// Events after a position (`$1`), at most `$2`, in position order.
    pub const READ_ALL: &str = "SELECT position, id, stream_id, stream_type, version, \
        event_type, payload, metadata FROM events WHERE position > $1 ORDER BY position LIMIT $2";
    /// A named cursor's position.
    pub const CURSOR: &str = "SELECT position FROM cursors WHERE name = $1";
    /// Stores a named cursor (name, position).
    pub const SET_CURSOR: &str = "INSERT INTO cursors (name, position) VALUES ($1, $2) \
        ON CONFLICT (name) DO UPDATE SET position = excluded.position";
    /// The cheapest statement that needs a live connection.
    pub const PING: &str = "SELECT 1";
}

/// Rejects an append before any connection is taken: an empty append would
/// otherwise succeed without moving the stream, hiding a caller bug.
pub(crate) fn validate(append: &Append) -> Result<()> {
    if append.events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    Ok(())
}

/// The optimistic-concurrency rule: the writer's expectation must match the
/// stream's current version exactly (0 for a stream with no events).
pub(crate) fn check_version(stream_id: Uuid, expected: ExpectedVersion, actual: i64) -> Result<()> {
    let expected = expected.as_i64();
    if expected == actual {
        Ok(())
    } else {
        Err(StoreError::VersionConflict {
            stream_id,
            expected,
            actual,
        })
    }
}

/// Serialises metadata for storage. Only fails for values the log could never
/// read back (e.g. a timestamp outside RFC 3339's range), so it is reported as
/// corrupt data rather than an outage.
pub(crate) fn metadata_json(metadata: &Metadata) -> Result<serde_json::Value> {
    serde_json::to_value(metadata)
        .map_err(|e| StoreError::Corrupt(format!("event metadata cannot be stored: {e}")))
}

/// A `read_all` limit as SQL wants it; anything beyond `i64::MAX` means "no limit".
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// One row of the `events` table after the backend has decoded its columns
/// into Rust types (SQLite first parses its TEXT columns, see [`parse_uuid`]
/// and [`parse_json`]).
pub(crate) struct EventRow {
    pub position: i64,
    pub id: Uuid,
    pub stream_id: Uuid,
    pub stream_type: String,
    pub version: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub metadata: serde_json::Value,
}

impl EventRow {
    /// The event as callers see it; metadata that no longer deserialises is
    /// corrupt data, not an outage.
    pub(crate) fn into_recorded(self) -> Result<RecordedEvent> {
        let metadata: Metadata = serde_json::from_value(self.metadata).map_err(|e| {
            StoreError::Corrupt(format!(
                "metadata of event at position {}: {e}",
                self.position
            ))
        })?;
        Ok(RecordedEvent {
            position: self.position,
            id: self.id,
            stream_id: self.stream_id,
            stream_type: self.stream_type,
            version: self.version,
            event_type: self.event_type,
            payload: self.payload,
            metadata,
        })
    }
}

/// Parses a UUID stored as TEXT.
pub fn parse_uuid(column: &str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text)
        .map_err(|e| StoreError::Corrupt(format!("column {column} holds {text:?}: {e}")))
}

/// Parses JSON stored as TEXT.
pub fn parse_json(column: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("column {column} is not valid JSON: {e}")))
}

/// Maps a database error to the store's error type.
///
/// Values that do not decode are corrupt data; a duplicate event id means an
/// event was built twice (a bug upstream), which no retry can fix, so it is
/// reported as corrupt too. Everything else (refused connections, pool
/// timeouts, a locked SQLite file, a failed statement) is `Unavailable`:
/// the caller may retry later.
pub fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(err.to_string()),
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Corrupt(format!("duplicate value: {}", db.message()))
        }
        _ => StoreError::Unavailable(err.to_string()),
    }
}

/// True when an insert hit the `(stream_id, version)` uniqueness rule.
///
/// Appends are serialised, so this cannot happen while every writer goes
/// through this crate; it is defence in depth against a writer that does
/// not, and is then reported as a [`StoreError::VersionConflict`].
pub(crate) fn is_version_clash(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    if db.kind() != ErrorKind::UniqueViolation {
        return false;
    }
    // Postgres names the constraint; SQLite only says
    // "UNIQUE constraint failed: events.stream_id, events.version".
    db.constraint() == Some("events_stream_version_key")
        || db.message().contains("events.stream_id, events.version")
}

/// What the write half of an append produced.
pub(crate) enum Written {
    /// Everything is written; commit.
    Done(Appended),
    /// An insert hit `(stream_id, version)`: a writer bypassed the append lock.
    /// Defence in depth (see [`is_version_clash`]); the caller rolls back, reads
    /// the stream's version and reports a [`StoreError::VersionConflict`].
    VersionClash,
}

/// How a backend passes the values the shared statements bind: Postgres has
/// `UUID` and `JSONB` columns, SQLite `TEXT` for both.
pub(crate) trait Dialect {
    type Db: Database;
    /// A UUID as the backend's columns hold it.
    type Id: for<'q> Encode<'q, Self::Db> + Type<Self::Db> + Send + Sync + 'static;
    /// A JSON document as the backend's columns hold it.
    type Json: for<'q> Encode<'q, Self::Db> + Type<Self::Db> + Send + 'static;
    fn id(id: Uuid) -> Self::Id;
    fn json(value: &serde_json::Value) -> Self::Json;
}

/// The stream's current version (0 for a stream with no events).
pub(crate) async fn stream_version<D: Dialect>(
    conn: &mut <D::Db as Database>::Connection,
    stream_id: Uuid,
) -> Result<i64>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    (i64,): for<'r> FromRow<'r, <D::Db as Database>::Row>,
{
    sqlx::query_scalar::<D::Db, i64>(sql::STREAM_VERSION)
        .bind(D::id(stream_id))
        .fetch_one(conn)
        .await
        .map_err(map_err)
}

/// The body of an append, inside the caller's transaction and after the
/// caller took the backend's append lock (so no other append can interleave):
/// checks the expected version, writes the events at the next positions,
/// then releases and claims the unique keys.
pub(crate) async fn write<D: Dialect>(
    conn: &mut <D::Db as Database>::Connection,
    append: &Append,
    metadata: &[serde_json::Value],
) -> Result<Written>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    (i64,): for<'r> FromRow<'r, <D::Db as Database>::Row>,
    i64: for<'q> Encode<'q, D::Db> + Type<D::Db> + for<'r> Decode<'r, D::Db>,
    String: for<'q> Encode<'q, D::Db> + Type<D::Db>,
{
    let actual = stream_version::<D>(&mut *conn, append.stream_id).await?;
    check_version(append.stream_id, append.expected, actual)?;

    // Gap-free: no other writer can append until this transaction ends.
    let head: i64 = sqlx::query_scalar::<D::Db, i64>(sql::HEAD)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;

    let mut appended = Appended {
        position: head,
        version: actual,
    };
    for (event, metadata) in append.events.iter().zip(metadata) {
        appended.position += 1;
        appended.version += 1;
        let inserted = sqlx::query::<D::Db>(sql::INSERT_EVENT)
            .bind(appended.position)
            .bind(D::id(event.id))
            .bind(D::id(append.stream_id))
            .bind(append.stream_type.clone())
            .bind(appended.version)
            .bind(event.event_type.clone())
            .bind(D::json(&event.payload))
            .bind(D::json(metadata))
            .execute(&mut *conn)
            .await;
        if let Err(err) = inserted {
            if is_version_clash(&err) {
                return Ok(Written::VersionClash);
            }
            return Err(map_err(err));
        }
    }

    // Release before claiming, so an append that releases and re-claims the
    // same key ends up holding it.
    for key in &append.release {
        sqlx::query::<D::Db>(sql::RELEASE_KEY)
            .bind(key.scope.clone())
            .bind(key.value.clone())
            .bind(D::id(append.stream_id))
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    for key in &append.claim {
        let held = sqlx::query::<D::Db>(sql::CLAIM_KEY)
            .bind(key.scope.clone())
            .bind(key.value.clone())
            .bind(D::id(append.stream_id))
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        if held.is_none() {
            return Err(StoreError::UniqueViolation {
                scope: key.scope.clone(),
                value: key.value.clone(),
            });
        }
    }
    Ok(Written::Done(appended))
}
