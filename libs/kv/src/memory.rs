//! The embedded, in-process [`KvStore`]: a map behind a mutex, with TTLs.
//!
//! Used when Inkan runs as a single process (no Redis) and in tests. It has
//! the same semantics as the Redis store for every operation (same TTL
//! validation and rounding, same handling of the wrong kind of value, `incr`
//! keeping the first TTL), so code tested against one behaves the same on the
//! other. Atomicity (`take`, `put_if_absent`, `incr`) comes from doing each
//! operation entirely under one lock; the lock is a `std` mutex that is never
//! held across an `.await`.
//!
//! Expiry uses [`tokio::time::Instant`], so tests running with paused tokio
//! time can advance the clock instead of sleeping. Expired entries are
//! invisible immediately, removed lazily when touched, and swept from the whole
//! map periodically on writes so memory stays bounded by the live data.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::{ttl_millis, KvError, KvStore, Result};

/// Fewest writes between two full sweeps of expired entries. The actual
/// interval is `max(SWEEP_MIN_WRITES, live entries)`, which keeps the
/// sweep's cost amortised O(1) per write while never letting expired
/// entries outnumber live ones by more than this constant.
const SWEEP_MIN_WRITES: usize = 1024;

/// In-process key-value store. Cloning is cheap and clones share the data.
#[derive(Clone, Default)]
pub struct MemoryKv {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    writes_since_sweep: usize,
}

struct Entry {
    data: Data,
    expires_at: Instant,
}

enum Data {
    Value(Vec<u8>),
    Set(HashSet<String>),
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

fn wrong_type() -> KvError {
    KvError::Invalid("operation against a key holding the wrong kind of value".into())
}

/// The deadline `ttl` from `now`, after validating `ttl` exactly as the
/// Redis store does (non-zero, bounded, rounded up to whole milliseconds).
fn deadline(now: Instant, ttl: Duration) -> Result<Instant> {
    let millis = ttl_millis(ttl)?;
    now.checked_add(Duration::from_millis(millis))
        .ok_or_else(|| KvError::Invalid("TTL exceeds the maximum".into()))
}

/// Parses a counter the way Redis `INCR` does: canonical signed decimal only
/// (no sign `+`, no leading zeros, no whitespace).
fn parse_counter(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let n: i64 = text.parse().ok()?;
    (n.to_string() == text).then_some(n)
}

impl State {
    /// The live entry at `key`, removing it first if it has expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| !e.is_live(now)) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// Removes and returns the live entry at `key` (expired entries are dropped).
    fn remove_live(&mut self, key: &str, now: Instant) -> Option<Entry> {
        self.entries.remove(key).filter(|e| e.is_live(now))
    }

    /// Counts a write and, every so often, drops every expired entry.
    fn note_write(&mut self, now: Instant) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= SWEEP_MIN_WRITES.max(self.entries.len()) {
            self.entries.retain(|_, e| e.is_live(now));
            self.writes_since_sweep = 0;
        }
    }
}

impl MemoryKv {
    /// An empty store.
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }

    /// Locks the map. A poisoned lock is recovered: every critical section
    /// below only moves owned data in and out of the map and cannot leave it
    /// half-updated, so the data is consistent even if a holder panicked.
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of entries currently held, including expired ones not yet swept
    /// (for tests and diagnostics).
    pub fn stored_entries(&self) -> usize {
        self.state().entries.len()
    }
}

impl std::fmt::Debug for MemoryKv {
    /// Shows the size only: keys and values are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryKv")
            .field("stored_entries", &self.stored_entries())
            .finish()
    }
}

#[async_trait]
impl KvStore for MemoryKv {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut state = self.state();
        state.entries.insert(
            key.to_owned(),
            Entry {
                data: Data::Value(value.to_vec()),
                expires_at,
            },
        );
        state.note_write(now);
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut state = self.state();
        if state.live(key, now).is_some() {
            return Ok(false);
        }
        state.entries.insert(
            key.to_owned(),
            Entry {
                data: Data::Value(value.to_vec()),
                expires_at,
            },
        );
        state.note_write(now);
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = Instant::now();
        let mut state = self.state();
        match state.live(key, now) {
            None => Ok(None),
            Some(Entry {
                data: Data::Value(v),
                ..
            }) => Ok(Some(v.clone())),
            Some(_) => Err(wrong_type()),
        }
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let now = Instant::now();
        let mut state = self.state();
        match state.live(key, now) {
            None => Ok(None),
            Some(Entry {
                data: Data::Set(_), ..
            }) => Err(wrong_type()),
            Some(_) => match state.entries.remove(key) {
                Some(Entry {
                    data: Data::Value(v),
                    ..
                }) => Ok(Some(v)),
                // Unreachable: the entry was just seen as a live value under
                // the same lock; answer "absent" rather than panic.
                _ => Ok(None),
            },
        }
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let now = Instant::now();
        let mut state = self.state();
        Ok(state.remove_live(key, now).is_some())
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<()> {
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut state = self.state();
        match state.live(key, now) {
            Some(Entry {
                data: Data::Set(members),
                expires_at: entry_expiry,
            }) => {
                members.insert(member.to_owned());
                *entry_expiry = expires_at;
            }
            Some(_) => return Err(wrong_type()),
            None => {
                state.entries.insert(
                    key.to_owned(),
                    Entry {
                        data: Data::Set(HashSet::from([member.to_owned()])),
                        expires_at,
                    },
                );
            }
        }
        state.note_write(now);
        Ok(())
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>> {
        let now = Instant::now();
        let mut state = self.state();
        match state.live(key, now) {
            None => Ok(Vec::new()),
            Some(Entry {
                data: Data::Set(members),
                ..
            }) => Ok(members.iter().cloned().collect()),
            Some(_) => Err(wrong_type()),
        }
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<bool> {
        let now = Instant::now();
        let mut state = self.state();
        let (removed, now_empty) = match state.live(key, now) {
            None => return Ok(false),
            Some(Entry {
                data: Data::Set(members),
                ..
            }) => (members.remove(member), members.is_empty()),
            Some(_) => return Err(wrong_type()),
        };
        if now_empty {
            // Like Redis: a set with no members does not exist.
            state.entries.remove(key);
        }
        Ok(removed)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64> {
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut state = self.state();
        let next = match state.live(key, now) {
            None => {
                state.entries.insert(
                    key.to_owned(),
                    Entry {
                        data: Data::Value(b"1".to_vec()),
                        expires_at,
                    },
                );
                1
            }
            Some(Entry {
                data: Data::Value(v),
                ..
            }) => {
                let current = parse_counter(v).ok_or_else(|| {
                    KvError::Invalid("value is not an integer or out of range".into())
                })?;
                let next = current
                    .checked_add(1)
                    .ok_or_else(|| KvError::Invalid("increment would overflow".into()))?;
                // The existing expiry is kept: a rate-limit window starts at
                // the first hit, not the latest.
                *v = next.to_string().into_bytes();
                next
            }
            Some(_) => return Err(wrong_type()),
        };
        state.note_write(now);
        Ok(next)
    }

    async fn advance(&self, key: &str, value: i64, ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let expires_at = deadline(now, ttl)?;
        let mut state = self.state();
        match state.live(key, now) {
            None => {}
            Some(Entry {
                data: Data::Value(v),
                ..
            }) => {
                let current = parse_counter(v).ok_or_else(|| {
                    KvError::Invalid("value is not an integer or out of range".into())
                })?;
                if current >= value {
                    return Ok(false);
                }
            }
            Some(_) => return Err(wrong_type()),
        }
        state.entries.insert(
            key.to_owned(),
            Entry {
                data: Data::Value(value.to_string().into_bytes()),
                expires_at,
            },
        );
        state.note_write(now);
        Ok(true)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>> {
        let now = Instant::now();
        let mut state = self.state();
        Ok(state
            .live(key, now)
            .map(|e| e.expires_at.saturating_duration_since(now)))
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_parse_like_redis() {
        assert_eq!(parse_counter(b"0"), Some(0));
        assert_eq!(parse_counter(b"-12"), Some(-12));
        assert_eq!(parse_counter(b"+1"), None);
        assert_eq!(parse_counter(b"01"), None);
        assert_eq!(parse_counter(b" 1"), None);
        assert_eq!(parse_counter(b"\xff"), None);
    }

    #[tokio::test]
    async fn expired_entries_are_swept_on_writes() {
        let kv = MemoryKv::new();
        for i in 0..100 {
            kv.put(&format!("old{i}"), b"x", Duration::from_millis(1))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        for i in 0..SWEEP_MIN_WRITES {
            kv.put(&format!("new{i}"), b"x", Duration::from_secs(60))
                .await
                .unwrap();
        }
        assert!(kv.stored_entries() <= SWEEP_MIN_WRITES);
    }
}
