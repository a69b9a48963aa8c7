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
    /// What the account page lists: the browser (its `User-Agent`, cut to
    /// 200 characters), the address it signed in from, and when the session
    /// was last used. Absent from older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default)]
    pub last_seen: i64,
}

impl Session {
    /// A session for `identity_id` that authenticated at `auth_time` with `amr`.
    pub fn new(identity_id: impl Into<String>, auth_time: i64, amr: Vec<String>) -> Session {
        Session {
            identity_id: identity_id.into(),
            auth_time,
            amr,
            epoch: 0,
            device: None,
            address: None,
            last_seen: auth_time,
        }
    }
}

/// The set of an identity's session handles (the account page's list).
fn index(identity_id: &str) -> String {
    format!("isess:{identity_id}")
}

/// The set of clients a session issued to that want a back-channel logout.
fn clients_key(handle: &str) -> String {
    format!("srp:{handle}")
}

/// The session's `sid` claim (OpenID Back-Channel Logout 1.0 §2.1): derived
/// from the handle, so every replica computes the same value without
/// storing it, and neither the cookie nor the store key can be recovered
/// from it.
pub fn sid_of(handle: &str) -> String {
    sha256_b64(&format!("sid:{handle}"))
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
    let mut session = session.clone();
    session.last_seen = session.last_seen.max(session.auth_time);
    let handle = handle(&sid);
    kv.put(&key(&handle), &encode(&session)?, secs(ttl)).await?;
    // The index outlives none of its sessions: it lasts as long as the
    // newest one can (members of ended sessions are dropped when listed).
    kv.set_add(
        &index(&session.identity_id),
        &handle,
        secs(lifetimes.absolute_seconds),
    )
    .await?;
    Ok(sid)
}

/// The identity's live sessions (handle and record), most recently used
/// first; handles of ended sessions are dropped from the index on the way.
pub async fn list(kv: &dyn KvStore, identity_id: &str) -> Result<Vec<(String, Session)>> {
    let handles = kv.set_members(&index(identity_id)).await?;
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = handles.iter().map(|h| key(h)).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let records = kv.get_many(&refs).await?;
    let mut live = Vec::new();
    for (handle, record) in handles.into_iter().zip(records) {
        let session = record.map(|b| crate::decode::<Session>(&b)).transpose()?;
        match session {
            Some(s) if s.identity_id == identity_id => live.push((handle, s)),
            _ => {
                kv.set_remove(&index(identity_id), &handle).await?;
            }
        }
    }
    live.sort_by_key(|(_, s)| std::cmp::Reverse(s.last_seen));
    Ok(live)
}

/// Ends the session with this handle if it belongs to `identity_id`;
/// returns whether it did.
pub async fn end_handle(kv: &dyn KvStore, identity_id: &str, handle: &str) -> Result<bool> {
    let k = key(handle);
    let Some(session) = get_json::<Session>(kv, &k).await? else {
        return Ok(false);
    };
    if session.identity_id != identity_id {
        return Ok(false);
    }
    kv.delete(&k).await?;
    kv.set_remove(&index(identity_id), handle).await?;
    Ok(true)
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
    let mut session = session;
    session.last_seen = now;
    kv.put(
        &k,
        &encode(&session)?,
        secs(lifetimes.idle_seconds.min(left)),
    )
    .await?;
    Ok(Some(session))
}

/// The session with this handle (hash), without renewing it.
pub async fn read(kv: &dyn KvStore, handle: &str) -> Result<Option<Session>> {
    if handle.is_empty() || handle.len() > 64 {
        return Ok(None);
    }
    get_json::<Session>(kv, &key(handle)).await
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

/// Records that the session with this handle issued to `client_id`, a
/// client with a back-channel logout URI (Back-Channel Logout §2.7: the OP
/// tells each RP that took part in the session). Lives as long as the
/// session can.
pub async fn add_client(
    kv: &dyn KvStore,
    handle: &str,
    client_id: &str,
    lifetimes: Lifetimes,
) -> Result<()> {
    kv.set_add(
        &clients_key(handle),
        client_id,
        secs(lifetimes.absolute_seconds),
    )
    .await?;
    Ok(())
}

/// A session about to end: what back-channel logout needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub handle: String,
    /// The `sid` claim its ID tokens carried.
    pub sid: String,
    pub session: Session,
    /// The clients to tell, sorted.
    pub clients: Vec<String>,
}

/// The session with this handle, if it is live and `identity_id`'s, with
/// the clients it issued to; nothing changes.
pub async fn ending(kv: &dyn KvStore, identity_id: &str, handle: &str) -> Result<Option<Ending>> {
    let Some(session) = get_json::<Session>(kv, &key(handle)).await? else {
        return Ok(None);
    };
    if session.identity_id != identity_id {
        return Ok(None);
    }
    Ok(Some(Ending::read(kv, handle.to_owned(), session).await?))
}

/// The identity's live sessions (as [`list`] finds them) that `keep`
/// accepts by `sid`, each read as [`ending`] does.
pub async fn endings(
    kv: &dyn KvStore,
    identity_id: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Ending>> {
    let mut out = Vec::new();
    for (handle, session) in list(kv, identity_id).await? {
        if keep(&sid_of(&handle)) {
            out.push(Ending::read(kv, handle, session).await?);
        }
    }
    Ok(out)
}

impl Ending {
    /// The session `handle` holds, with the clients it issued to.
    async fn read(kv: &dyn KvStore, handle: String, session: Session) -> Result<Ending> {
        let mut clients = kv.set_members(&clients_key(&handle)).await?;
        clients.sort();
        Ok(Ending {
            sid: sid_of(&handle),
            handle,
            session,
            clients,
        })
    }
}

/// Ends a session read by [`ending`]: its record, its client set and its
/// place in the identity's index.
pub async fn finish(kv: &dyn KvStore, ending: &Ending) -> Result<()> {
    kv.delete(&key(&ending.handle)).await?;
    kv.delete(&clients_key(&ending.handle)).await?;
    kv.set_remove(&index(&ending.session.identity_id), &ending.handle)
        .await?;
    Ok(())
}
