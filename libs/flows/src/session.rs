//! IdP sessions: who is logged in at this browser, since when. The browser
//! holds an opaque id in a cookie; the store holds the session under the
//! id's hash, with an idle lifetime renewed on use and an absolute one.

use inkan_keys::secret::{generate_token, sha256_b64};
use inkan_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::{encode, get_json, secs, Result};

#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Unused this long, the session ends.
    pub idle_seconds: i64,
    /// Whatever happens, the session ends this long after login.
    pub absolute_seconds: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            idle_seconds: 8 * 3600,
            absolute_seconds: 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub identity_id: String,
    /// When the user authenticated (the `auth_time` claim).
    pub auth_time: i64,
    /// Authentication methods (`amr`), e.g. `["pwd"]`.
    pub amr: Vec<String>,
    /// The identity's session epoch at login: once the identity's moves on
    /// (a password reset), this session is dead. Absent from older records: 0.
    #[serde(default)]
    pub epoch: u32,
}

fn key(hash: &str) -> String {
    format!("sess:{hash}")
}

/// The hash a session is stored (and referenced by codes and tokens) under.
pub fn handle(sid: &str) -> String {
    sha256_b64(sid)
}

/// Starts a session; returns the opaque id for the cookie (256 bits).
pub async fn create(kv: &dyn KvStore, session: &Session, lifetimes: Lifetimes) -> Result<String> {
    let sid = generate_token(32);
    let ttl = lifetimes.idle_seconds.min(lifetimes.absolute_seconds);
    kv.put(&key(&handle(&sid)), &encode(session)?, secs(ttl))
        .await?;
    Ok(sid)
}

/// The live session behind `sid`, renewing its idle lifetime (never beyond the absolute one).
pub async fn load(
    kv: &dyn KvStore,
    sid: &str,
    now: i64,
    lifetimes: Lifetimes,
) -> Result<Option<Session>> {
    if sid.is_empty() || sid.len() > 128 {
        return Ok(None);
    }
    let k = key(&handle(sid));
    let Some(session) = get_json::<Session>(kv, &k).await? else {
        return Ok(None);
    };
    let left = session.auth_time + lifetimes.absolute_seconds - now;
    if left <= 0 {
        kv.delete(&k).await?;
        return Ok(None);
    }
    kv.put(
        &k,
        &encode(&session)?,
        secs(lifetimes.idle_seconds.min(left)),
    )
    .await?;
    Ok(Some(session))
}

/// Whether the session with this handle (hash) is still live, without renewing it.
pub async fn is_live(kv: &dyn KvStore, handle: &str) -> Result<bool> {
    Ok(kv.get(&key(handle)).await?.is_some())
}

/// Ends a session server-side (logout).
pub async fn end(kv: &dyn KvStore, sid: &str) -> Result<()> {
    kv.delete(&key(&handle(sid))).await?;
    Ok(())
}
