//! The read models in the event store's PostgreSQL schema (same pool, same
//! `search_path`). A commit writes each kind with one multi-row statement
//! (`UNNEST` of column arrays), so a batch of thousands of events costs a
//! handful of round trips.

use async_trait::async_trait;
use inkan_domain::identity::Identity;
use inkan_domain::validation::email_key;
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{
    Changes, Committed, Entry, ReadModelStore, Row, Snapshot, Stored, IDENTITIES, PROJECTS,
    SIGNING_KEYS,
};
use crate::Result;
use inkan_eventstore::sql::map_err;

const COLUMNS: &str = "id, lookup_key, version, created_at, updated_at, state, secret";

type PgRow = (Uuid, Option<String>, i64, i64, i64, String, Option<String>);

fn row((id, lookup_key, version, created_at, updated_at, state, secret): PgRow) -> Row {
    Row {
        id,
        lookup_key,
        version,
        created_at,
        updated_at,
        state,
        secret,
    }
}

fn decode_all<A: Stored>(rows: Vec<PgRow>) -> Result<Vec<Entry<A>>> {
    rows.into_iter().map(|r| row(r).decode()).collect()
}

/// The read models of one [`inkan_eventstore::PgEventStore`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct PgReadModels {
    pool: PgPool,
}

impl PgReadModels {
    /// The read models in the schema `pool`'s connections use (an event store's pool).
    pub fn new(pool: PgPool) -> PgReadModels {
        PgReadModels { pool }
    }

    async fn upsert<A: Stored>(
        tx: &mut Transaction<'static, Postgres>,
        table: &str,
        entries: &[Entry<A>],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let n = entries.len();
        let (mut ids, mut keys, mut versions) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut created, mut updated, mut states, mut secrets) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for entry in entries {
            let r = Row::encode(entry)?;
            ids.push(r.id);
            keys.push(r.lookup_key);
            versions.push(r.version);
            created.push(r.created_at);
            updated.push(r.updated_at);
            states.push(r.state);
            secrets.push(r.secret);
        }
        let sql = format!(
            "INSERT INTO {table} ({COLUMNS}) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::text[], $7::text[]) \
             ON CONFLICT (id) DO UPDATE SET lookup_key = EXCLUDED.lookup_key, version = EXCLUDED.version, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             state = EXCLUDED.state, secret = EXCLUDED.secret"
        );
        sqlx::query(&sql)
            .bind(ids)
            .bind(keys)
            .bind(versions)
            .bind(created)
            .bind(updated)
            .bind(states)
            .bind(secrets)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete(
        tx: &mut Transaction<'static, Postgres>,
        table: &str,
        ids: &[Uuid],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!("DELETE FROM {table} WHERE id = ANY($1)"))
            .bind(ids)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[async_trait]
impl ReadModelStore for PgReadModels {
    async fn snapshot(&self) -> Result<Snapshot> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // One snapshot for all three reads: the rows match the checkpoint.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let position: i64 = sqlx::query_scalar("SELECT position FROM rm_checkpoint")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let projects = sqlx::query_as::<_, PgRow>(&format!("SELECT {COLUMNS} FROM {PROJECTS}"))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let keys = sqlx::query_as::<_, PgRow>(&format!("SELECT {COLUMNS} FROM {SIGNING_KEYS}"))
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
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn commit(&self, from: i64, to: i64, changes: &Changes) -> Result<Committed> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // The row lock queues concurrent committers; the loser then sees the
        // moved checkpoint and writes nothing.
        let checkpoint: i64 = sqlx::query_scalar("SELECT position FROM rm_checkpoint FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        if checkpoint != from {
            // Roll back now rather than on drop: a dropped transaction keeps
            // its locks until the pool gets round to rolling it back.
            tx.rollback().await.map_err(map_err)?;
            return Ok(Committed::Moved { checkpoint });
        }
        Self::delete(&mut tx, PROJECTS, &changes.deleted_projects).await?;
        Self::delete(&mut tx, IDENTITIES, &changes.deleted_identities).await?;
        Self::upsert(&mut tx, PROJECTS, &changes.projects).await?;
        Self::upsert(&mut tx, IDENTITIES, &changes.identities).await?;
        Self::upsert(&mut tx, SIGNING_KEYS, &changes.signing_keys).await?;
        sqlx::query("UPDATE rm_checkpoint SET position = $1")
            .bind(to)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Committed::Done)
    }

    async fn identity(&self, id: Uuid) -> Result<Option<Entry<Identity>>> {
        sqlx::query_as::<_, PgRow>(&format!("SELECT {COLUMNS} FROM {IDENTITIES} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .map(|r| row(r).decode())
            .transpose()
    }

    async fn identities(&self, ids: &[Uuid]) -> Result<Vec<Entry<Identity>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query_as::<_, PgRow>(&format!(
            "SELECT {COLUMNS} FROM {IDENTITIES} WHERE id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        decode_all(rows)
    }

    async fn identity_by_email(&self, email: &str) -> Result<Option<Entry<Identity>>> {
        sqlx::query_as::<_, PgRow>(&format!(
            "SELECT {COLUMNS} FROM {IDENTITIES} WHERE lookup_key = $1 LIMIT 1"
        ))
        .bind(email_key(email))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|r| row(r).decode())
        .transpose()
    }

    async fn list_identities(&self, offset: u64, limit: u64) -> Result<Vec<Entry<Identity>>> {
        let rows = sqlx::query_as::<_, PgRow>(&format!(
            "SELECT {COLUMNS} FROM {IDENTITIES} ORDER BY created_at, id LIMIT $1 OFFSET $2"
        ))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        decode_all(rows)
    }

    async fn count_identities(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {IDENTITIES}"))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn reset(&self) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("SELECT position FROM rm_checkpoint FOR UPDATE")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(&format!(
            "TRUNCATE {PROJECTS}, {IDENTITIES}, {SIGNING_KEYS}"
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("UPDATE rm_checkpoint SET position = 0")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
