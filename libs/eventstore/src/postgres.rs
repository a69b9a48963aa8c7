//! The PostgreSQL event store: the backend for replicated deployments.
//!
//! Each deployment (and each test) lives in its own schema: every pooled
//! connection starts with `search_path` set to it, so the SQL here uses
//! unqualified table names. The DDL is `migrations/postgres.sql`.
//!
//! Appends are serialised by a transaction-scoped advisory lock (see
//! [`PgEventStore`]'s `append`), which is what makes global positions both
//! gap-free and committed in order.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use inkan_domain::envelope::RecordedEvent;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres, Transaction};
use uuid::Uuid;

use crate::common::{self, sql, EventRow, Written};
use crate::{Append, Appended, EventStore, Result, StoreError};

const DDL: &str = include_str!("../migrations/postgres.sql");

/// How long a caller waits for a pooled connection before the store answers
/// `Unavailable`: short, so a down database fails requests and readiness
/// probes quickly instead of hanging them.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Advisory lock key serialising migrations (any schema) across processes.
/// Arbitrary, but fixed: every Inkan process must use the same value.
const MIGRATE_LOCK: i64 = 0x696e_6b61_6e00_0001;

/// First half of the advisory lock key serialising appends; the second half
/// is `hashtext(schema)`, so deployments sharing a database do not queue
/// behind each other (a hash collision only costs extra serialisation).
const APPEND_LOCK_CLASS: i32 = 0x696e_6b61;

/// Longest identifier Postgres keeps without truncating it.
const MAX_SCHEMA_LEN: usize = 63;

type Row = (
    i64,
    Uuid,
    Uuid,
    String,
    i64,
    String,
    serde_json::Value,
    serde_json::Value,
);

fn to_recorded(row: Row) -> Result<RecordedEvent> {
    let (position, id, stream_id, stream_type, version, event_type, payload, metadata) = row;
    EventRow {
        position,
        id,
        stream_id,
        stream_type,
        version,
        event_type,
        payload,
        metadata,
    }
    .into_recorded()
}

/// Postgres binds UUIDs and JSON as themselves (`UUID`, `JSONB` columns).
struct Pg;

impl common::Dialect for Pg {
    type Db = Postgres;
    type Id = Uuid;
    type Json = serde_json::Value;
    fn id(id: Uuid) -> Uuid {
        id
    }
    fn json(value: &serde_json::Value) -> serde_json::Value {
        value.clone()
    }
}

/// The event log in a PostgreSQL schema. Cheap to clone (it is a pool handle);
/// several instances, in one process or many, may share a schema.
#[derive(Debug, Clone)]
pub struct PgEventStore {
    pool: PgPool,
    schema: String,
}

impl PgEventStore {
    /// Connects a pool of at most `max_connections` (at least 1) whose
    /// connections all use `schema`. Does not create anything: call
    /// [`EventStore::migrate`] before first use.
    ///
    /// The schema name must match `[a-z0-9_]{1,63}` because it is spliced into
    /// DDL and the connection's `search_path`; anything else is refused with
    /// [`StoreError::Unavailable`] (the store cannot be reached as configured).
    /// An unreachable database is `Unavailable` too, within about five seconds.
    pub async fn connect(url: &str, schema: &str, max_connections: u32) -> Result<PgEventStore> {
        validate_schema(schema)?;
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid database url: {e}")))?
            .options([("search_path", schema)]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(common::map_err)?;
        Ok(PgEventStore {
            pool,
            schema: schema.to_owned(),
        })
    }

    /// The schema this store reads and writes.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Closes every pooled connection (waits for checked-out ones to return).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The body of `append`, inside the caller's transaction.
    async fn append_in(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        append: &Append,
        metadata: &[serde_json::Value],
    ) -> Result<Written> {
        // Serialise appenders to this schema. Holding the lock until commit means
        // position N+1 is assigned only after the transaction that wrote N has
        // committed, so positions become visible strictly in order: a relay
        // tailing `position > cursor` can never see N+1 while N is still in
        // flight and then skip N. It also makes MAX(position)+1 gap-free.
        //
        // This relies on READ COMMITTED (the default): each statement below
        // takes a fresh snapshot after the lock is granted and therefore sees
        // everything the previous holder committed.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(APPEND_LOCK_CLASS)
            .bind(&self.schema)
            .execute(&mut **tx)
            .await
            .map_err(common::map_err)?;

        common::write::<Pg>(&mut **tx, append, metadata).await
    }
}

impl PgEventStore {
    /// Appends many new streams in one transaction with two multi-row
    /// statements (events, then unique keys): the bulk path of the scale
    /// seeder (`tests/scale`), thousands of times faster than one
    /// [`EventStore::append`] per stream. Every append must start a new
    /// stream ([`crate::ExpectedVersion::NoStream`]) and release nothing; an
    /// existing stream or a taken key fails the whole batch
    /// (`Corrupt`/`Unavailable`: the seeder is not meant to race anyone).
    /// Returns the position of the last event written.
    pub async fn append_new_streams(&self, appends: &[Append]) -> Result<i64> {
        let mut columns = BulkColumns::default();
        let (mut scopes, mut values, mut holders) = (Vec::new(), Vec::new(), Vec::new());
        for append in appends {
            common::validate(append)?;
            if append.expected != crate::ExpectedVersion::NoStream || !append.release.is_empty() {
                return Err(StoreError::Corrupt(
                    "bulk appends only start new streams".into(),
                ));
            }
            for (i, event) in append.events.iter().enumerate() {
                columns.ids.push(event.id);
                columns.streams.push(append.stream_id);
                columns.stream_types.push(append.stream_type.clone());
                columns.versions.push(i as i64 + 1);
                columns.event_types.push(event.event_type.clone());
                columns.payloads.push(event.payload.clone());
                columns
                    .metadata
                    .push(common::metadata_json(&event.metadata)?);
            }
            for key in &append.claim {
                scopes.push(key.scope.clone());
                values.push(key.value.clone());
                holders.push(append.stream_id);
            }
        }
        let mut tx = self.pool.begin().await.map_err(common::map_err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(APPEND_LOCK_CLASS)
            .bind(&self.schema)
            .execute(&mut *tx)
            .await
            .map_err(common::map_err)?;
        let head: i64 = sqlx::query_scalar(sql::HEAD)
            .fetch_one(&mut *tx)
            .await
            .map_err(common::map_err)?;
        let n = columns.ids.len() as i64;
        sqlx::query(
            "INSERT INTO events \
             (position, id, stream_id, stream_type, version, event_type, payload, metadata) \
             SELECT $1 + ord, id, stream_id, stream_type, version, event_type, payload, metadata \
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::int8[], $6::text[], $7::jsonb[], $8::jsonb[]) \
             WITH ORDINALITY AS t(id, stream_id, stream_type, version, event_type, payload, metadata, ord)",
        )
        .bind(head)
        .bind(columns.ids)
        .bind(columns.streams)
        .bind(columns.stream_types)
        .bind(columns.versions)
        .bind(columns.event_types)
        .bind(columns.payloads)
        .bind(columns.metadata)
        .execute(&mut *tx)
        .await
        .map_err(common::map_err)?;
        if !scopes.is_empty() {
            sqlx::query(
                "INSERT INTO unique_keys (scope, value, stream_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::uuid[])",
            )
            .bind(scopes)
            .bind(values)
            .bind(holders)
            .execute(&mut *tx)
            .await
            .map_err(common::map_err)?;
        }
        tx.commit().await.map_err(common::map_err)?;
        Ok(head + n)
    }
}

/// The columns of a bulk append, one vector per column.
#[derive(Default)]
struct BulkColumns {
    ids: Vec<Uuid>,
    streams: Vec<Uuid>,
    stream_types: Vec<String>,
    versions: Vec<i64>,
    event_types: Vec<String>,
    payloads: Vec<serde_json::Value>,
    metadata: Vec<serde_json::Value>,
}

/// Accepts only names that need no quoting anywhere: `[a-z0-9_]{1,63}`.
fn validate_schema(schema: &str) -> Result<()> {
    let valid = !schema.is_empty()
        && schema.len() <= MAX_SCHEMA_LEN
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "invalid schema name {schema:?}: use 1 to {MAX_SCHEMA_LEN} of [a-z0-9_]"
        )))
    }
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(common::map_err)?;
        // Two replicas starting together would otherwise race on CREATE ... IF NOT
        // EXISTS (which is not safe against concurrent creation of the same name).
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(common::map_err)?;
        // The schema name was validated in `connect`, so quoting it is enough.
        let setup = format!(
            "CREATE SCHEMA IF NOT EXISTS \"{0}\"; SET LOCAL search_path TO \"{0}\";",
            self.schema
        );
        tx.execute(setup.as_str()).await.map_err(common::map_err)?;
        tx.execute(DDL).await.map_err(common::map_err)?;
        tx.commit().await.map_err(common::map_err)?;
        tracing::debug!(schema = %self.schema, "event store schema is up to date");
        Ok(())
    }

    async fn append(&self, append: Append) -> Result<Appended> {
        common::validate(&append)?;
        let metadata = append
            .events
            .iter()
            .map(|e| common::metadata_json(&e.metadata))
            .collect::<Result<Vec<_>>>()?;
        let mut tx = self.pool.begin().await.map_err(common::map_err)?;
        // On error the transaction is dropped, which rolls it back: nothing is written.
        match self.append_in(&mut tx, &append, &metadata).await? {
            Written::Done(appended) => {
                tx.commit().await.map_err(common::map_err)?;
                Ok(appended)
            }
            Written::VersionClash => {
                // The transaction is aborted; give its connection back before
                // reading what the stream holds now.
                drop(tx);
                let mut conn = self.pool.acquire().await.map_err(common::map_err)?;
                let actual = common::stream_version::<Pg>(&mut conn, append.stream_id).await?;
                Err(StoreError::VersionConflict {
                    stream_id: append.stream_id,
                    expected: append.expected.as_i64(),
                    actual,
                })
            }
        }
    }

    async fn read_stream(&self, stream_id: Uuid) -> Result<Vec<RecordedEvent>> {
        sqlx::query_as::<_, Row>(sql::READ_STREAM)
            .bind(stream_id)
            .fetch_all(&self.pool)
            .await
            .map_err(common::map_err)?
            .into_iter()
            .map(to_recorded)
            .collect()
    }

    async fn read_all(&self, after: i64, limit: usize) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_as::<_, Row>(sql::READ_ALL)
            .bind(after)
            .bind(common::sql_limit(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(common::map_err)?
            .into_iter()
            .map(to_recorded)
            .collect()
    }

    async fn head(&self) -> Result<i64> {
        sqlx::query_scalar(sql::HEAD)
            .fetch_one(&self.pool)
            .await
            .map_err(common::map_err)
    }

    async fn cursor(&self, name: &str) -> Result<i64> {
        let position: Option<i64> = sqlx::query_scalar(sql::CURSOR)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(common::map_err)?;
        Ok(position.unwrap_or(0))
    }

    async fn set_cursor(&self, name: &str, position: i64) -> Result<()> {
        sqlx::query(sql::SET_CURSOR)
            .bind(name)
            .bind(position)
            .execute(&self.pool)
            .await
            .map_err(common::map_err)?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query(sql::PING)
            .execute(&self.pool)
            .await
            .map_err(common::map_err)?;
        Ok(())
    }

    fn database(&self) -> crate::Database {
        crate::Database::Postgres(self.pool.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::validate_schema;

    #[test]
    fn schema_names_that_would_need_quoting_are_refused() {
        assert!(validate_schema("inkan").is_ok());
        assert!(validate_schema("es_0123abcd").is_ok());
        assert!(validate_schema(&"a".repeat(63)).is_ok());
        for bad in ["", "Inkan", "a-b", "a\"b", "a b", "é", &"a".repeat(64)] {
            assert!(validate_schema(bad).is_err(), "{bad:?} accepted");
        }
    }
}
