//! The SQLite event store: the embedded backend for single-node deployments
//! (a file in the data folder) and for fast tests (in memory).
//!
//! Same semantics as the Postgres store. UUIDs are stored as hyphenated TEXT
//! and JSON as TEXT; the DDL is `migrations/sqlite.sql`.
//!
//! Writers are serialised by `BEGIN IMMEDIATE`, which takes SQLite's single
//! write lock before the transaction reads anything. That is the correctness
//! mechanism, and it holds across handles and processes opening the same
//! file. With a deferred `BEGIN`, two appenders could both read version N and
//! one would then fail to upgrade its read lock (`SQLITE_BUSY`) instead of
//! seeing a version conflict.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inkan_domain::envelope::RecordedEvent;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::common::{self, sql, EventRow, Written};
use crate::{Append, Appended, EventStore, Result, StoreError};

const DDL: &str = include_str!("../migrations/sqlite.sql");

/// How long a statement waits for another connection's write lock before
/// failing with `SQLITE_BUSY` (reported as `Unavailable`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of a file-backed store. WAL lets readers run beside the one
/// writer, so a few connections are useful; writers still go one at a time.
const FILE_POOL_SIZE: u32 = 4;

type Row = (i64, String, String, String, i64, String, String, String);

fn to_recorded(row: Row) -> Result<RecordedEvent> {
    let (position, id, stream_id, stream_type, version, event_type, payload, metadata) = row;
    EventRow {
        position,
        id: common::parse_uuid("id", &id)?,
        stream_id: common::parse_uuid("stream_id", &stream_id)?,
        stream_type,
        version,
        event_type,
        payload: common::parse_json("payload", &payload)?,
        metadata: common::parse_json("metadata", &metadata)?,
    }
    .into_recorded()
}

/// SQLite binds UUIDs (hyphenated) and JSON as `TEXT`.
struct Lite;

impl common::Dialect for Lite {
    type Db = Sqlite;
    type Id = String;
    type Json = String;
    fn id(id: Uuid) -> String {
        id.hyphenated().to_string()
    }
    fn json(value: &serde_json::Value) -> String {
        value.to_string()
    }
}

/// The event log in an SQLite database. Several instances (in one process or
/// many) may open the same file.
#[derive(Debug)]
pub struct SqliteEventStore {
    db: SqliteDatabase,
}

/// An SQLite database and the queue of this handle's writers: everything
/// that writes the file (the log, the read models) goes through
/// [`SqliteDatabase::begin_write`].
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    pool: SqlitePool,
    /// Queues this handle's writers in-process. Not needed for correctness
    /// (`BEGIN IMMEDIATE` is), but without it concurrent writers would wait
    /// for the write lock inside SQLite's busy handler, which polls with
    /// sleeps and can give up after [`BUSY_TIMEOUT`] under a burst; a fair
    /// async queue gives the lock to each in turn without spinning.
    writer: Arc<Mutex<()>>,
}

/// A write transaction holding its turn in the writer queue and SQLite's
/// write lock; dropped without [`SqliteWrite::commit`], it rolls back.
pub struct SqliteWrite {
    // Declared first so it is dropped (rolled back) before the queue moves on.
    tx: Transaction<'static, Sqlite>,
    _queued: OwnedMutexGuard<()>,
}

impl SqliteDatabase {
    /// The pool, for reads (WAL readers run beside the one writer).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for this handle's earlier writers, then begins a transaction
    /// that holds SQLite's write lock from its first statement (`BEGIN IMMEDIATE`).
    pub async fn begin_write(&self) -> Result<SqliteWrite> {
        let queued = self.writer.clone().lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(common::map_err)?;
        Ok(SqliteWrite {
            tx,
            _queued: queued,
        })
    }
}

impl SqliteWrite {
    /// The transaction, to run statements in.
    pub fn tx(&mut self) -> &mut Transaction<'static, Sqlite> {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(common::map_err)
    }

    /// Rolls back now rather than on drop: a dropped transaction keeps its
    /// locks until the pool gets round to rolling it back.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.map_err(common::map_err)
    }
}

impl SqliteEventStore {
    /// Opens (creating if missing) the database file at `path` in WAL mode
    /// with a 5 s busy timeout and foreign keys on. Does not create tables:
    /// call [`EventStore::migrate`] before first use.
    ///
    /// Failing to open the file is [`StoreError::Unavailable`].
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // The log is Inkan's only durable state: a commit must survive power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(common::map_err)?;
        Ok(Self::with_pool(pool))
    }

    /// A private in-memory database for tests. It lives on one connection
    /// that the pool never closes (an in-memory database vanishes with its
    /// last connection), so every call shares it. Call
    /// [`EventStore::migrate`] before first use.
    pub async fn in_memory() -> Result<Self> {
        // "sqlite::memory:" names a fresh database per call, so stores never share one.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(common::map_err)?
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(common::map_err)?;
        Ok(Self::with_pool(pool))
    }

    fn with_pool(pool: SqlitePool) -> Self {
        SqliteEventStore {
            db: SqliteDatabase {
                pool,
                writer: Arc::new(Mutex::new(())),
            },
        }
    }

    /// Closes every connection (waiting for checked-out ones to return), so
    /// the file can be reopened or moved. An in-memory store is gone after this.
    pub async fn close(&self) {
        self.db.pool.close().await;
    }
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn migrate(&self) -> Result<()> {
        // BEGIN IMMEDIATE: two processes migrating the same file run one after the other.
        let mut write = self.db.begin_write().await?;
        write.tx().execute(DDL).await.map_err(common::map_err)?;
        write.commit().await?;
        tracing::debug!("event store schema is up to date");
        Ok(())
    }

    async fn append(&self, append: Append) -> Result<Appended> {
        common::validate(&append)?;
        let metadata = append
            .events
            .iter()
            .map(|e| common::metadata_json(&e.metadata))
            .collect::<Result<Vec<_>>>()?;

        let mut write = self.db.begin_write().await?;
        // On error the transaction is dropped, which rolls it back: nothing is written.
        match common::write::<Lite>(write.tx(), &append, &metadata).await? {
            Written::Done(appended) => {
                write.commit().await?;
                Ok(appended)
            }
            Written::VersionClash => {
                // Give the connection back first: an in-memory store has only one.
                drop(write);
                let mut conn = self.db.pool.acquire().await.map_err(common::map_err)?;
                let actual = common::stream_version::<Lite>(&mut conn, append.stream_id).await?;
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
            .bind(stream_id.hyphenated().to_string())
            .fetch_all(&self.db.pool)
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
            .fetch_all(&self.db.pool)
            .await
            .map_err(common::map_err)?
            .into_iter()
            .map(to_recorded)
            .collect()
    }

    async fn head(&self) -> Result<i64> {
        sqlx::query_scalar(sql::HEAD)
            .fetch_one(&self.db.pool)
            .await
            .map_err(common::map_err)
    }

    async fn cursor(&self, name: &str) -> Result<i64> {
        let position: Option<i64> = sqlx::query_scalar(sql::CURSOR)
            .bind(name)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(common::map_err)?;
        Ok(position.unwrap_or(0))
    }

    async fn set_cursor(&self, name: &str, position: i64) -> Result<()> {
        sqlx::query(sql::SET_CURSOR)
            .bind(name)
            .bind(position)
            .execute(&self.db.pool)
            .await
            .map_err(common::map_err)?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query(sql::PING)
            .execute(&self.db.pool)
            .await
            .map_err(common::map_err)?;
        Ok(())
    }

    fn database(&self) -> crate::Database {
        crate::Database::Sqlite(self.db.clone())
    }
}
