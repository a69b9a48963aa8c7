//! The short-lived key-value store: authorization codes, pending authorization
//! requests, sessions, refresh-token families, counters.
//!
//! Values live for a bounded time (every write carries a TTL). A one-time
//! value is redeemed with [`KvStore::take`], which is atomic: of two callers
//! racing on the same key, across processes, exactly one gets the value.
//!
//! # Layout
//! - [`KvStore`]: the trait every caller uses.
//! - [`redis`](crate::redis): the real implementation (every key under a prefix).
//! - [`memory`]: the embedded, in-process implementation with TTLs.

use std::time::Duration;

use async_trait::async_trait;

pub mod memory;
pub mod redis;

pub use memory::MemoryKv;
pub use redis::RedisKv;

/// Why a key-value operation failed. Messages never contain keys or values:
/// keys embed one-time secrets (codes, session ids) and values are secrets.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The backend cannot be reached; callers answer 503, never "invalid".
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
    /// The request itself is wrong (zero TTL, wrong kind of value at a key,
    /// counter overflow); retrying will not help.
    #[error("invalid key-value request: {0}")]
    Invalid(String),
}

/// Result of every key-value operation.
pub type Result<T, E = KvError> = std::result::Result<T, E>;

/// Longest TTL any write accepts (ten years). The store holds short-lived
/// state; a longer TTL is a caller bug, and bounding it keeps expiry
/// arithmetic (`Instant + ttl`, Redis `PX`) far from overflow in both
/// implementations.
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Validates a write's TTL and converts it to whole milliseconds, rounding
/// up so a sub-millisecond TTL still lives 1 ms (Redis `PX` has millisecond
/// resolution; the memory store uses the same rounding so both agree).
///
/// A zero TTL would mean "expired on arrival" (or, for some Redis commands,
/// "never expires"); both are caller bugs, so it is rejected as
/// [`KvError::Invalid`], as is a TTL above [`MAX_TTL`].
pub(crate) fn ttl_millis(ttl: Duration) -> Result<u64> {
    if ttl.is_zero() {
        return Err(KvError::Invalid("TTL must be greater than zero".into()));
    }
    if ttl > MAX_TTL {
        return Err(KvError::Invalid("TTL exceeds the maximum".into()));
    }
    // Bounded by MAX_TTL above, so the millisecond count fits in u64 (and i64).
    let millis = ttl.as_millis() + u128::from(ttl.subsec_nanos() % 1_000_000 != 0);
    Ok(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// Short-lived state. Keys are plain strings; implementations namespace them.
///
/// Both implementations share these semantics (checked by one contract test
/// suite run against each):
/// - every write takes a TTL; a zero TTL is [`KvError::Invalid`];
/// - expired keys are invisible to every operation;
/// - a key holds either a value (counters are values: decimal text) or a
///   set; a value operation on a set, or a set operation on a value, is
///   [`KvError::Invalid`], while `put`, `delete` and `ttl` work on either;
/// - removing a set's last member removes the key.
#[async_trait]
pub trait KvStore: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()>;

    /// Stores `value` only if `key` is absent; returns whether it was stored.
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool>;

    /// Reads a value without consuming it.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// [`KvStore::get`] of each of `keys`, in order. Stores that talk over a
    /// network do it in one round trip (`MGET`).
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }

    /// Atomically reads and deletes a value: a one-time value is handed to at
    /// most one caller, even when several processes race.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Deletes a key (value or set); returns whether it existed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Adds `member` to the set at `key` and (re)sets the set's TTL.
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<()>;

    /// All members of the set at `key` (empty if absent), in no particular order.
    async fn set_members(&self, key: &str) -> Result<Vec<String>>;

    /// Removes `member` from the set at `key`; returns whether it was there.
    async fn set_remove(&self, key: &str, member: &str) -> Result<bool>;

    /// Increments the counter at `key` (creating it at 1 with `ttl` if absent,
    /// keeping the existing TTL otherwise) and returns the new value.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64>;

    /// [`KvStore::incr`] on each of `keys`, in order, with the same `ttl`;
    /// the new values in the same order. Stores that talk over a network do
    /// it in one round trip (the rate limits of one request cost one call).
    /// Each increment is atomic; the set of them need not be.
    async fn incr_many(&self, keys: &[&str], ttl: Duration) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.incr(key, ttl).await?);
        }
        Ok(out)
    }

    /// Stores the counter `value` under `key` if the key is absent or holds
    /// a smaller counter, (re)setting its TTL; returns whether it was stored.
    /// An equal or larger stored counter is left as is (`false`). Atomic: of
    /// several callers racing with the same `value`, exactly one gets `true`
    /// — the check for values that may only ever move forward (a WebAuthn
    /// signature counter, the last TOTP time step used).
    async fn advance(&self, key: &str, value: i64, ttl: Duration) -> Result<bool>;

    /// Remaining lifetime of a key, `None` if absent. A key without any
    /// expiry (only possible if something outside this crate wrote it, since
    /// every write here carries a TTL) reports `Some(Duration::MAX)`.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;
}
