//! A fresh namespace on the real backends for one benchmark run: a Postgres
//! schema, a Redis key prefix, a NATS JetStream stream and subject prefix.
//! Created before the servers start and removed after they stop, so a run
//! leaves nothing behind ([`Namespace::leftovers`] checks that).

use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::Connection;

/// Where the backends are (defaults: the local services).
#[derive(Clone, Debug)]
pub struct BackendUrls {
    pub postgres: String,
    pub redis: String,
    pub nats: String,
}

impl Default for BackendUrls {
    fn default() -> Self {
        BackendUrls {
            postgres: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            redis: "redis://127.0.0.1:6379".into(),
            nats: "nats://127.0.0.1:4222".into(),
        }
    }
}

/// The names one run uses; see the module docs.
#[derive(Clone, Debug)]
pub struct Namespace {
    pub urls: BackendUrls,
    pub schema: String,
    pub redis_prefix: String,
    pub stream: String,
    pub subjects: String,
}

/// A fixed key-encryption key: the schema is thrown away after the run.
const BENCH_KEK: &str = "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=";

impl Namespace {
    /// Picks fresh names and creates the schema (the stream is created by
    /// Inkan itself on start).
    pub async fn create(urls: &BackendUrls) -> Result<Namespace> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..12];
        let ns = Namespace {
            urls: urls.clone(),
            schema: format!("bench_{id}"),
            redis_prefix: format!("bench_{id}:"),
            stream: format!("BENCH_{}", id.to_uppercase()),
            subjects: format!("bench.{id}"),
        };
        let mut conn = sqlx::PgConnection::connect(&urls.postgres)
            .await
            .with_context(|| format!("connect to PostgreSQL at {}", urls.postgres))?;
        sqlx::query(&format!("CREATE SCHEMA \"{}\"", ns.schema))
            .execute(&mut conn)
            .await
            .context("create the benchmark schema")?;
        let _ = conn.close().await;
        Ok(ns)
    }

    /// The environment `inkan serve` needs to use this namespace.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DATABASE_URL".into(), self.urls.postgres.clone()),
            ("INKAN_DATABASE_SCHEMA".into(), self.schema.clone()),
            ("REDIS_URL".into(), self.urls.redis.clone()),
            ("INKAN_REDIS_PREFIX".into(), self.redis_prefix.clone()),
            ("NATS_URL".into(), self.urls.nats.clone()),
            ("INKAN_NATS_STREAM".into(), self.stream.clone()),
            ("INKAN_NATS_SUBJECT_PREFIX".into(), self.subjects.clone()),
            ("INKAN_KEY_ENCRYPTION_KEY".into(), BENCH_KEK.into()),
        ]
    }

    /// Drops the schema, deletes the keys under the prefix and the stream.
    /// Every step is attempted; the first failure is returned.
    pub async fn remove(&self) -> Result<()> {
        let pg = async {
            let mut conn = sqlx::PgConnection::connect(&self.urls.postgres).await?;
            sqlx::query(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ))
            .execute(&mut conn)
            .await?;
            let _ = conn.close().await;
            anyhow::Ok(())
        }
        .await
        .context("drop the benchmark schema");
        let redis = async {
            let client = redis::Client::open(self.urls.redis.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.redis_prefix))
                .query_async(&mut conn)
                .await?;
            for chunk in keys.chunks(500) {
                let _: i64 = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await?;
            }
            anyhow::Ok(())
        }
        .await
        .context("delete the benchmark's Redis keys");
        let nats = async {
            let client = async_nats::connect(&self.urls.nats).await?;
            let js = async_nats::jetstream::new(client);
            match js.delete_stream(&self.stream).await {
                Ok(_) => anyhow::Ok(()),
                // Never created (the run failed before Inkan started): nothing to remove.
                Err(e) if e.to_string().contains("not found") => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        .await
        .context("delete the benchmark's NATS stream");
        pg.and(redis).and(nats)
    }

    /// What is still there of this namespace (empty after [`Namespace::remove`]).
    pub async fn leftovers(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut conn = sqlx::PgConnection::connect(&self.urls.postgres).await?;
        let schemas: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
                .bind(&self.schema)
                .fetch_one(&mut conn)
                .await?;
        let _ = conn.close().await;
        if schemas > 0 {
            out.push(format!("schema {}", self.schema));
        }
        let client = redis::Client::open(self.urls.redis.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.redis_prefix))
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            out.push(format!(
                "{} Redis keys under {}",
                keys.len(),
                self.redis_prefix
            ));
        }
        let client = async_nats::connect(&self.urls.nats).await?;
        let js = async_nats::jetstream::new(client);
        if js.get_stream(&self.stream).await.is_ok() {
            out.push(format!("stream {}", self.stream));
        }
        Ok(out)
    }

    /// [`Namespace::remove`] from anywhere (a `Drop` included), bounded to 20 s:
    /// on a fresh thread with its own runtime.
    pub fn remove_blocking(&self) -> Result<()> {
        let ns = self.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(20), ns.remove())
                    .await
                    .context("removing the benchmark namespace took over 20 s")?
            })
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the cleanup thread panicked"))?
    }
}
