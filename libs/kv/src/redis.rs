//! The Redis-backed [`KvStore`], shared by every replica of every service.
//!
//! Every key is stored as `prefix + key`, so several deployments (or test
//! runs) can share one Redis without seeing each other's data.
//!
//! Atomicity comes from Redis itself: `take` is `GETDEL`, `put_if_absent` is
//! `SET NX PX`, and the two-step writes (`set_add`, `incr`) are small Lua
//! scripts, so they are atomic across processes, not just within one.
//!
//! # Availability
//! [`RedisKv::connect`] succeeds even when Redis is down, so a process can
//! boot and report itself unready instead of crash-looping. The connection is
//! then established lazily on a later call (at most one attempt per
//! [`RECONNECT_BACKOFF`], other callers fail fast meanwhile). Once
//! established, redis' `ConnectionManager` reconnects by itself. Short
//! connection and response timeouts plus an overall per-call deadline mean a
//! down or hung Redis yields [`KvError::Unavailable`] within seconds, never a
//! hang. Errors and logs name the operation and the error kind only: never a
//! key (keys embed one-time secrets) nor a value.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, Script, Value};
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

use crate::{ttl_millis, KvError, KvStore, Result};

/// How long one TCP connection attempt may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a single command may wait for its reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Upper bound on a whole call, including waiting for a (re)connection.
/// A backstop for the two timeouts above, which do not cover every path.
const CALL_DEADLINE: Duration = Duration::from_secs(4);
/// While not connected, at most one connection attempt per this interval;
/// calls in between fail fast with `Unavailable`.
pub const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// `INCR`, and if the key has no TTL (it was just created) give it one, in
/// one atomic step: a counter never exists without an expiry, and later
/// increments keep the first TTL.
const INCR_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// [`INCR_SCRIPT`] over every key, in one call (one round trip). The keys
/// must hash to one slot on Redis Cluster; Inkan uses a single primary.
const INCR_MANY_SCRIPT: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('INCR', key)
  if redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return out
";

/// [`KvStore::advance`]: compare and set in one step. A non-integer value
/// is an error, like `INCR`'s; a set at the key fails `GET` (WRONGTYPE).
const ADVANCE_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local n = tonumber(current)
  if not n or string.find(current, '^-?%d+$') == nil then
    return redis.error_reply('ERR value is not an integer or out of range')
  end
  if n >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// `SADD` then `PEXPIRE`, atomically. Unlike `MULTI`, a failing `SADD`
/// (wrong kind of value) stops the script before `PEXPIRE` touches the key.
const SET_ADD_SCRIPT: &str = r"
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Redis-backed key-value store. Cloning is cheap; clones share the connection.
#[derive(Clone)]
pub struct RedisKv {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    client: Client,
    prefix: String,
    config: ConnectionManagerConfig,
    /// Set once the first connection succeeds; the manager reconnects by itself after that.
    manager: OnceCell<ConnectionManager>,
    /// Serialises lazy connection attempts; holds the time of the last failed one.
    connecting: Mutex<Option<Instant>>,
    incr: Script,
    incr_many: Script,
    set_add: Script,
    advance: Script,
}

impl std::fmt::Debug for RedisKv {
    /// Shows the prefix only: the URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKv")
            .field("prefix", &self.inner.prefix)
            .field("connected", &self.inner.manager.initialized())
            .finish()
    }
}

/// Maps a Redis error to a [`KvError`] naming only the operation and the
/// error kind/code, which never contain keys or values.
///
/// Wrong-kind-of-value and not-a-counter errors are caller bugs and become
/// [`KvError::Invalid`] (retrying will not help; the memory store reports the
/// same); everything else means Redis cannot serve us: `Unavailable`.
fn map_err(op: &'static str, err: &RedisError) -> KvError {
    let code = err.code().unwrap_or("-");
    let detail = err.detail().unwrap_or("");
    if code == "WRONGTYPE" {
        return KvError::Invalid(format!(
            "{op}: operation against a key holding the wrong kind of value"
        ));
    }
    if code == "ERR" && detail.contains("not an integer") {
        return KvError::Invalid(format!("{op}: value is not an integer or out of range"));
    }
    if code == "ERR" && detail.contains("overflow") {
        return KvError::Invalid(format!("{op}: increment would overflow"));
    }
    let kind = err.kind();
    tracing::warn!(
        op,
        ?kind,
        code,
        timeout = err.is_timeout(),
        "redis call failed"
    );
    KvError::Unavailable(format!("redis {op} failed ({kind:?}, code {code})"))
}

impl RedisKv {
    /// Creates a store for `url` (e.g. `redis://127.0.0.1:6379`) whose keys
    /// all start with `prefix`.
    ///
    /// Tries to connect once, but succeeds even if Redis is unreachable so the
    /// process can boot and report unready; calls then return
    /// [`KvError::Unavailable`] until Redis is back. Fails only for a URL that
    /// does not parse ([`KvError::Invalid`]; the URL is not echoed since it
    /// may contain a password).
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisKv> {
        let client =
            Client::open(url).map_err(|_| KvError::Invalid("Redis URL does not parse".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECTION_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            // No built-in retries: in redis 0.32 the first retry always waits
            // at least 1 s (backon's minimum delay, plus jitter), which would
            // stall every call while Redis is down. Each later call triggers a
            // fresh attempt instead (the manager reconnects on the next command
            // after an I/O error; before the first success, `connection` retries
            // at most once per RECONNECT_BACKOFF), so nothing is lost.
            .set_number_of_retries(0);
        let kv = RedisKv {
            inner: std::sync::Arc::new(Inner {
                client,
                prefix: prefix.to_owned(),
                config,
                manager: OnceCell::new(),
                connecting: Mutex::new(None),
                incr: Script::new(INCR_SCRIPT),
                incr_many: Script::new(INCR_MANY_SCRIPT),
                set_add: Script::new(SET_ADD_SCRIPT),
                advance: Script::new(ADVANCE_SCRIPT),
            }),
        };
        if let Err(err) = kv.connection().await {
            tracing::warn!(error = %err, "redis unreachable at start; will connect lazily");
        }
        Ok(kv)
    }

    /// The key prefix this store writes under.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.inner.prefix.len() + key.len());
        full.push_str(&self.inner.prefix);
        full.push_str(key);
        full
    }

    /// The shared connection, establishing it first if no attempt has
    /// succeeded yet (at most one attempt per [`RECONNECT_BACKOFF`]).
    async fn connection(&self) -> Result<ConnectionManager> {
        if let Some(manager) = self.inner.manager.get() {
            return Ok(manager.clone());
        }
        let mut last_failure = self.inner.connecting.lock().await;
        // Another caller may have connected while we waited for the lock.
        if let Some(manager) = self.inner.manager.get() {
            return Ok(manager.clone());
        }
        if let Some(at) = *last_failure {
            if at.elapsed() < RECONNECT_BACKOFF {
                return Err(KvError::Unavailable("redis not connected".into()));
            }
        }
        let attempt = ConnectionManager::new_with_config(
            self.inner.client.clone(),
            self.inner.config.clone(),
        );
        match tokio::time::timeout(CALL_DEADLINE, attempt).await {
            Ok(Ok(manager)) => {
                *last_failure = None;
                // Cannot already be set: only this path sets it, under the lock.
                let _ = self.inner.manager.set(manager.clone());
                tracing::info!("redis connected");
                Ok(manager)
            }
            Ok(Err(err)) => {
                *last_failure = Some(Instant::now());
                Err(map_err("connect", &err))
            }
            Err(_) => {
                *last_failure = Some(Instant::now());
                tracing::warn!("redis connect timed out");
                Err(KvError::Unavailable("redis connect timed out".into()))
            }
        }
    }

    /// Runs one command against the connection under [`CALL_DEADLINE`].
    async fn run<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            f(conn).await.map_err(|err| map_err(op, &err))
        };
        match tokio::time::timeout(CALL_DEADLINE, call).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(op, "redis call timed out");
                Err(KvError::Unavailable(format!("redis {op} timed out")))
            }
        }
    }
}

#[async_trait]
impl KvStore for RedisKv {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let ms = ttl_millis(ttl)?;
        let key = self.key(key);
        self.run("put", |mut conn| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(ms)
                .query_async::<()>(&mut conn)
                .await
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let ms = ttl_millis(ttl)?;
        let key = self.key(key);
        let reply = self
            .run("put_if_absent", |mut conn| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async::<Value>(&mut conn)
                    .await
            })
            .await?;
        // `SET NX` answers OK when it stored the value and nil when it did not.
        Ok(!matches!(reply, Value::Nil))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run("get", |mut conn| async move {
            redis::cmd("GET").arg(&key).query_async(&mut conn).await
        })
        .await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.run("get_many", |mut conn| async move {
            redis::cmd("MGET").arg(&keys).query_async(&mut conn).await
        })
        .await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run("take", |mut conn| async move {
            redis::cmd("GETDEL").arg(&key).query_async(&mut conn).await
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let key = self.key(key);
        let removed: i64 = self
            .run("delete", |mut conn| async move {
                redis::cmd("DEL").arg(&key).query_async(&mut conn).await
            })
            .await?;
        Ok(removed > 0)
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<()> {
        let ms = ttl_millis(ttl)?;
        let key = self.key(key);
        let script = &self.inner.set_add;
        self.run("set_add", |mut conn| async move {
            script
                .key(&key)
                .arg(member)
                .arg(ms)
                .invoke_async::<()>(&mut conn)
                .await
        })
        .await
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>> {
        let key = self.key(key);
        self.run("set_members", |mut conn| async move {
            redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async(&mut conn)
                .await
        })
        .await
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<bool> {
        let key = self.key(key);
        let removed: i64 = self
            .run("set_remove", |mut conn| async move {
                redis::cmd("SREM")
                    .arg(&key)
                    .arg(member)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(removed > 0)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64> {
        let ms = ttl_millis(ttl)?;
        let key = self.key(key);
        let script = &self.inner.incr;
        self.run("incr", |mut conn| async move {
            script.key(&key).arg(ms).invoke_async(&mut conn).await
        })
        .await
    }

    async fn incr_many(&self, keys: &[&str], ttl: Duration) -> Result<Vec<i64>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let ms = ttl_millis(ttl)?;
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let script = &self.inner.incr_many;
        self.run("incr_many", |mut conn| async move {
            let mut invocation = script.prepare_invoke();
            for key in &keys {
                invocation.key(key);
            }
            invocation.arg(ms).invoke_async(&mut conn).await
        })
        .await
    }

    async fn advance(&self, key: &str, value: i64, ttl: Duration) -> Result<bool> {
        let ms = ttl_millis(ttl)?;
        let key = self.key(key);
        let script = &self.inner.advance;
        let stored: i64 = self
            .run("advance", |mut conn| async move {
                script
                    .key(&key)
                    .arg(value)
                    .arg(ms)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(stored == 1)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let key = self.key(key);
        let millis: i64 = self
            .run("ttl", |mut conn| async move {
                redis::cmd("PTTL").arg(&key).query_async(&mut conn).await
            })
            .await?;
        Ok(match millis {
            // -2: no such key.
            -2 => None,
            // -1: the key exists without an expiry (never written by this crate).
            -1 => Some(Duration::MAX),
            ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        })
    }

    async fn ping(&self) -> Result<()> {
        self.run("ping", |mut conn| async move {
            redis::cmd("PING").query_async::<()>(&mut conn).await
        })
        .await
    }
}
