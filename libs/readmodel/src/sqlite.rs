//! The read models in the event store's SQLite file (same pool). A commit
//! runs under `BEGIN IMMEDIATE` with one prepared statement per row, which
//! SQLite executes in microseconds inside a transaction.

use async_trait::async_trait;
use inkan_domain::identity::Identity;
use inkan_domain::validation::email_key;
use inkan_eventstore::SqliteDatabase;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::{
    Changes, Committed, Entry, ReadModelStore, Row, Snapshot, Stored, IDENTITIES, PROJECTS,
    SIGNING_KEYS,
};
use crate::Result;
use inkan_eventstore::sql::{map_err, parse_uuid};

const COLUMNS: &str = "id, lookup_key, version, created_at, updated_at, state, secret";

type LiteRow = (
    String,
    Option<String>,
    i64,
    i64,
    i64,
    String,
    Option<String>,
);

fn decode<A: Stored>(
    (id, lookup_key, version, created_at, updated_at, state, secret): LiteRow,
) -> Result<Entry<A>> {
    Row {
        id: parse_uuid("id", &id)?,
        lookup_key,
        version,
        created_at,
        updated_at,
        state,
        secret,
    }
    .decode()
}

fn decode_all<A: Stored>(rows: Vec<LiteRow>) -> Result<Vec<Entry<A>>> {
    rows.into_iter().map(decode).collect()
}

/// The read models of one [`inkan_eventstore::SqliteEventStore`].
#[derive(Debug, Clone)]
pub struct SqliteReadModels {
    /// The event store's database; writes join its writer queue, since
    /// SQLite has one write lock per file.
    db: SqliteDatabase,
}

impl SqliteReadModels {
    /// The read models in an event store's database.
    pub fn new(db: SqliteDatabase) -> SqliteReadModels {
        SqliteReadModels { db }
    }

    async fn upsert<A: Stored>(
        tx: &mut Transaction<'static, Sqlite>,
        table: &str,
        entries: &[Entry<A>],
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {table} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET lookup_key = excluded.lookup_key, \
             version = excluded.version, created_at = excluded.created_at, \
             updated_at = excluded.updated_at, state = excluded.state, secret = excluded.secret"
        );
        for entry in entries {
            let r = Row::encode(entry)?;
            sqlx::query(&sql)
                .bind(r.id.hyphenated().to_string())
                .bind(r.lookup_key)
                .bind(r.version)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.state)
                .bind(r.secret)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn delete(
        tx: &mut Transaction<'static, Sqlite>,
        table: &str,
        ids: &[Uuid],
    ) -> Result<()> {
        let sql = format!("DELETE FROM {table} WHERE id = ?");
        for id in ids {
            sqlx::query(&sql)
                .bind(id.hyphenated().to_string())
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }
}

#[async_trait]
impl ReadModelStore for SqliteReadModels {
    async fn snapshot(&self) -> Result<Snapshot> {
        // A read transaction sees one snapshot of the file (WAL).
        let mut tx = self.db.pool().begin().await.map_err(map_err)?;
        let position: i64 = sqlx::query_scalar("SELECT position FROM rm_checkpoint")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let projects = sqlx::query_as::<_, LiteRow>(&format!("SELECT {COLUMNS} FROM {PROJECTS}"))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let keys = sqlx::query_as::<_, LiteRow>(&format!("SELECT {COLUMNS} FROM {SIGNING_KEYS}"))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Snapshot {
            position,
            projects: decode_all(projects)?,
            signing_keys: decode_all(keys)?,
        })
    }

    async fn checkpoint(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT position FROM rm_checkpoint")
            .fetch_one(self.db.pool())
            .await
            .map_err(map_err)
    }

    async fn commit(&self, from: i64, to: i64, changes: &Changes) -> Result<Committed> {
        let mut write = self.db.begin_write().await?;
        let tx = write.tx();
        let checkpoint: i64 = sqlx::query_scalar("SELECT position FROM rm_checkpoint")
            .fetch_one(&mut **tx)
            .await
            .map_err(map_err)?;
        if checkpoint != from {
            write.rollback().await?;
            return Ok(Committed::Moved { checkpoint });
        }
        Self::delete(tx, PROJECTS, &changes.deleted_projects).await?;
        Self::delete(tx, IDENTITIES, &changes.deleted_identities).await?;
        Self::upsert(tx, PROJECTS, &changes.projects).await?;
        Self::upsert(tx, IDENTITIES, &changes.identities).await?;
        Self::upsert(tx, SIGNING_KEYS, &changes.signing_keys).await?;
        sqlx::query("UPDATE rm_checkpoint SET position = ?")
            .bind(to)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        write.commit().await?;
        Ok(Committed::Done)
    }

    async fn identity(&self, id: Uuid) -> Result<Option<Entry<Identity>>> {
        sqlx::query_as::<_, LiteRow>(&format!("SELECT {COLUMNS} FROM {IDENTITIES} WHERE id = ?"))
            .bind(id.hyphenated().to_string())
            .fetch_optional(self.db.pool())
            .await
            .map_err(map_err)?
            .map(decode)
            .transpose()
    }

    async fn identities(&self, ids: &[Uuid]) -> Result<Vec<Entry<Identity>>> {
        let sql = format!("SELECT {COLUMNS} FROM {IDENTITIES} WHERE id = ?");
        let mut conn = self.db.pool().acquire().await.map_err(map_err)?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query_as::<_, LiteRow>(&sql)
                .bind(id.hyphenated().to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
            if let Some(row) = row {
                found.push(decode(row)?);
            }
        }
        Ok(found)
    }

    async fn identity_by_email(&self, email: &str) -> Result<Option<Entry<Identity>>> {
        sqlx::query_as::<_, LiteRow>(&format!(
            "SELECT {COLUMNS} FROM {IDENTITIES} WHERE lookup_key = ? LIMIT 1"
        ))
        .bind(email_key(email))
        .fetch_optional(self.db.pool())
        .await
        .map_err(map_err)?
        .map(decode)
        .transpose()
    }

    async fn list_identities(&self, offset: u64, limit: u64) -> Result<Vec<Entry<Identity>>> {
        let rows = sqlx::query_as::<_, LiteRow>(&format!(
            "SELECT {COLUMNS} FROM {IDENTITIES} ORDER BY created_at, id LIMIT ? OFFSET ?"
        ))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await
        .map_err(map_err)?;
        decode_all(rows)
    }

    async fn count_identities(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {IDENTITIES}"))
            .fetch_one(self.db.pool())
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn reset(&self) -> Result<()> {
        let mut write = self.db.begin_write().await?;
        let tx = write.tx();
        for table in [PROJECTS, IDENTITIES, SIGNING_KEYS] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
        }
        sqlx::query("UPDATE rm_checkpoint SET position = 0")
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        write.commit().await?;
        Ok(())
    }
}
