//! The short-lived protocol state the authorize, token and userinfo services
//! share through the key-value store: pending authorization requests, IdP
//! sessions, authorization codes, refresh-token families and revocations.
//!
//! Every secret value (session id, code, refresh token) is stored under the
//! hash of its value, so a dump of the store cannot be replayed. One-time
//! values are redeemed with atomic operations, so two replicas racing on
//! the same value cannot both win.
//!
//! # Layout
//! - [`access`]: is this access token active (signature, expiry, revocation)?
//! - [`pending`]: authorization requests waiting for a login (10 minutes).
//! - [`session`]: IdP sessions with idle and absolute lifetimes.
//! - [`code`]: authorization codes (60 seconds, redeemed once).
//! - [`par`]: pushed authorization requests (RFC 9126; 60 seconds, taken once).
//! - [`dpop`]: DPoP proofs checked with the store's replay memory and the
//!   servers' shared nonces (RFC 9449).
//! - [`refresh`]: one-time refresh tokens, rotation, reuse detection, retry window.
//! - [`revocation`]: revoked token families and access-token ids.
//! - [`limits`]: rate limits and login throttling (NIST SP 800-63B §5.2.2).
//! - [`ceremony`]: WebAuthn ceremony state (5 minutes, taken once).
//! - [`otp`]: the one-time-code replay check (the last time step used).
//! - [`passkey`]: passkey usage (signature counters, last use), off the event log.
//! - [`logout`]: which back-channel logout notices are settled (for `/end_session`'s wait).

pub mod access;
pub mod ceremony;
pub mod code;
pub mod dpop;
pub mod limits;
pub mod logout;
pub mod otp;
pub mod par;
pub mod passkey;
pub mod pending;
pub mod refresh;
pub mod revocation;
pub mod session;

use inkan_kv::{KvError, KvStore};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The key-value store is down: callers answer 503, never "invalid".
    #[error(transparent)]
    Store(#[from] KvError),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
}

pub type Result<T, E = FlowError> = std::result::Result<T, E>;

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| FlowError::Corrupt(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| FlowError::Corrupt(e.to_string()))
}

async fn get_json<T: DeserializeOwned>(kv: &dyn KvStore, key: &str) -> Result<Option<T>> {
    kv.get(key).await?.map(|b| decode(&b)).transpose()
}

/// Takes (reads and deletes, atomically) the record at `key`.
async fn take_json<T: DeserializeOwned>(kv: &dyn KvStore, key: &str) -> Result<Option<T>> {
    kv.take(key).await?.map(|b| decode(&b)).transpose()
}

/// Whether `id` could be one of the random ids this crate hands out; any
/// other value (empty, or too long to be one) is looked up as absent
/// without touching the store.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64
}

/// Seconds → Duration, at least one second.
fn secs(s: i64) -> std::time::Duration {
    std::time::Duration::from_secs(s.max(1) as u64)
}
