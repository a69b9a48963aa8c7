//! Test helpers shared by the workspace's test suites (dev-dependency only).
//!
//! Every test gets its own namespace on the real backends so tests run in
//! parallel and leave nothing behind: a Postgres schema, a Redis key prefix,
//! a NATS stream and subject prefix.
//!
//! # Layout
//! - [`unique_name`]: a fresh lowercase identifier for a test's namespace.
//! - [`postgres_url`], [`redis_url`], [`nats_url`]: where the local services are
//!   (overridable with `INKAN_TEST_DATABASE_URL`, `INKAN_TEST_REDIS_URL`, `INKAN_TEST_NATS_URL`).
//! - [`PgSchema`]: a schema created for one test and dropped when the guard is dropped.
//! - [`directory`]: an in-memory directory (projects, identities, real keys) for service tests.

pub mod directory;

use std::time::Duration;

use sqlx::Connection;

/// `prefix_` followed by 16 random hex digits: safe as a schema, stream or key prefix.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..16])
}

pub fn postgres_url() -> String {
    std::env::var("INKAN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub fn redis_url() -> String {
    std::env::var("INKAN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

pub fn nats_url() -> String {
    std::env::var("INKAN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// A Postgres schema that exists for the lifetime of one test.
///
/// Dropping the guard drops the schema (with everything in it) on a
/// separate thread, so it works from sync and async contexts alike.
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    /// Creates a fresh schema named `<prefix>_<random>`.
    pub async fn create(prefix: &str) -> PgSchema {
        let url = postgres_url();
        let name = unique_name(prefix);
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("tests need PostgreSQL at 127.0.0.1:5432 (see .ci/run)");
        sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        let _ = conn.close().await;
        PgSchema { url, name }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let name = self.name.clone();
        block_on_detached(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        });
    }
}

/// Runs async cleanup to completion from anywhere, `Drop` included: on a
/// fresh thread with its own runtime, since the caller may or may not be
/// inside one.
pub fn block_on_detached<F>(cleanup: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(cleanup);
        }
    })
    .join();
}

/// Deletes a JetStream stream within 10 s, from anywhere (test cleanup guards).
pub fn nats_delete_stream_detached(stream: String) {
    block_on_detached(async move {
        let _ = tokio::time::timeout(Duration::from_secs(10), nats_delete_stream(&stream)).await;
    });
}

/// Deletes every Redis key under `prefix` (used by test cleanup guards).
pub async fn redis_cleanup(prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url()) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    for key in keys {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&key).query_async(&mut conn).await;
    }
}

/// Deletes a JetStream stream (used by test cleanup).
pub async fn nats_delete_stream(stream: &str) {
    if let Ok(client) = async_nats::connect(nats_url()).await {
        let js = async_nats::jetstream::new(client);
        let _ = js.delete_stream(stream).await;
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
/// Tests wait on conditions with this instead of sleeping a fixed time.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
