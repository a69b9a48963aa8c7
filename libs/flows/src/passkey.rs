//! Per-login passkey usage, kept in the key-value store rather than the
//! event log (an event per login would grow the log with every sign-in):
//! the last signature counter an authenticator reported, and when the
//! passkey was last used.
//!
//! The counter check (WebAuthn Level 3 §6.1.1, §7.2 step 22): an
//! authenticator that counts must report a counter greater than the last
//! one; an equal or smaller one means a cloned authenticator or a replayed
//! assertion, and the login is refused. Authenticators that do not count
//! always report 0 (most synced passkeys). The check-and-store is one atomic
//! [`KvStore::advance`], so two replicas racing on one counter value admit
//! one login.

use inkan_keys::secret::sha256_b64;
use inkan_kv::KvStore;

use crate::{secs, Result};

/// How long usage is remembered after the last use (a passkey unused this
/// long starts its counter check afresh).
pub const USAGE_TTL_SECONDS: i64 = 400 * 24 * 3600;

fn counter_key(credential_id: &str) -> String {
    format!("pkcount:{}", sha256_b64(credential_id))
}

fn seen_key(credential_id: &str) -> String {
    format!("pkseen:{}", sha256_b64(credential_id))
}

/// Records a use with signature counter `counter` at `now`; `false` if the
/// counter did not move forward for an authenticator that counts (the
/// login must be refused).
pub async fn record_use(
    kv: &dyn KvStore,
    credential_id: &str,
    counter: u32,
    now: i64,
) -> Result<bool> {
    let key = counter_key(credential_id);
    let ttl = secs(USAGE_TTL_SECONDS);
    let fresh = if counter == 0 {
        // A non-counting authenticator: fine unless this credential counted
        // before (then 0 is a regression).
        match kv.get(&key).await? {
            Some(stored) => stored == b"0",
            None => {
                kv.advance(&key, 0, ttl).await?;
                true
            }
        }
    } else {
        kv.advance(&key, i64::from(counter), ttl).await?
    };
    if fresh {
        kv.put(&seen_key(credential_id), now.to_string().as_bytes(), ttl)
            .await?;
    }
    Ok(fresh)
}

/// When the passkey was last used (unix seconds), if it was within [`USAGE_TTL_SECONDS`].
pub async fn last_used(kv: &dyn KvStore, credential_id: &str) -> Result<Option<i64>> {
    Ok(kv
        .get(&seen_key(credential_id))
        .await?
        .and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok()))
}
