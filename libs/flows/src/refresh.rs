//! One-time refresh tokens with rotation and reuse detection.
//!
//! Redeeming a token claims it atomically (`put_if_absent` of a "used"
//! marker): of two replicas racing, exactly one wins. Presenting a token
//! that was already used revokes its whole family — unless the project
//! opted into a retry window and the token was used moments ago, in which
//! case the first redemption's response is returned again (a client whose
//! response was lost recovers without weakening reuse detection). That
//! cached response is sealed under a key derived from the presented token
//! itself, so the store alone cannot reveal it.

use std::time::Duration;

use base64::Engine;
use inkan_keys::kek::Kek;
use inkan_keys::secret::{generate_token, sha256_b64};
use inkan_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::revocation::{is_family_revoked, revoke_family};
use crate::{decode, encode, get_json, secs, FlowError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    /// All tokens of one login at one client share a family.
    pub family: String,
    /// 0 for the token issued with the code, +1 per rotation.
    pub generation: u32,
    pub client_id: String,
    pub identity_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub expires_at: i64,
    /// The login's session epoch: the token dies when the identity's moves
    /// on (a password reset). Absent from older records: 0.
    #[serde(default)]
    pub epoch: u32,
    /// Handle of the IdP session of the login (its ID tokens' `sid`).
    /// Absent from older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The DPoP key a public client's token is bound to (RFC 9449 §5):
    /// only a proof by that key redeems it. Absent: not bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct UsedMarker {
    at: i64,
    /// The first redemption's response, sealed (base64), when a retry window applies.
    sealed: Option<String>,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Redeemed {
    /// First use: the caller mints the successor and calls [`complete`].
    Fresh(RefreshToken),
    /// A retry within the window: the same response as the first redemption.
    Replay(serde_json::Value),
    /// Within the retry window, but the first redemption has not finished: retry shortly.
    InProgress,
    /// Already used outside the window: the family is now revoked.
    Reused { family: String },
    /// Unknown, expired, or of a revoked family.
    Invalid,
    /// Bound to a DPoP key (RFC 9449 §5) the request did not prove: left
    /// unredeemed, so someone holding the token without the key can neither
    /// use it nor use it up (and revoke its family).
    WrongKey,
}

fn key(hash: &str) -> String {
    format!("rt:{hash}")
}

fn used_key(hash: &str) -> String {
    format!("rtused:{hash}")
}

fn retry_kek(token: &str) -> Option<Kek> {
    Kek::from_base64(&sha256_b64(&format!("retry:{token}"))).ok()
}

/// Stores a refresh token; returns its value (256 bits).
pub async fn issue(kv: &dyn KvStore, record: &RefreshToken, now: i64) -> Result<String> {
    let token = generate_token(32);
    kv.put(
        &key(&sha256_b64(&token)),
        &encode(record)?,
        secs(record.expires_at - now),
    )
    .await?;
    Ok(token)
}

/// Presents a refresh token at `now`, with the project's retry window and
/// the DPoP key the request proved, if any (`jkt`).
pub async fn redeem(
    kv: &dyn KvStore,
    token: &str,
    now: i64,
    retry_window: i64,
    jkt: Option<&str>,
) -> Result<Redeemed> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Redeemed::Invalid);
    }
    let hash = sha256_b64(token);
    let Some(record) = get_json::<RefreshToken>(kv, &key(&hash)).await? else {
        return Ok(Redeemed::Invalid);
    };
    if record.expires_at <= now || is_family_revoked(kv, &record.family).await? {
        return Ok(Redeemed::Invalid);
    }
    // Before the used-marker: a wrong key changes nothing.
    if record
        .jkt
        .as_deref()
        .is_some_and(|bound| jkt != Some(bound))
    {
        return Ok(Redeemed::WrongKey);
    }
    let marker = UsedMarker {
        at: now,
        sealed: None,
    };
    // The marker lives as long as the token could: reuse is detected for the token's whole life.
    let ttl = secs(record.expires_at - now);
    if kv
        .put_if_absent(&used_key(&hash), &encode(&marker)?, ttl)
        .await?
    {
        return Ok(Redeemed::Fresh(record));
    }
    let used = get_json::<UsedMarker>(kv, &used_key(&hash)).await?;
    let within_window = used
        .as_ref()
        .is_some_and(|u| retry_window > 0 && now - u.at <= retry_window);
    if !within_window {
        revoke_family(kv, &record.family).await?;
        return Ok(Redeemed::Reused {
            family: record.family,
        });
    }
    // Wait (bounded) for the first redemption to store its response.
    for _ in 0..20 {
        if let Some(UsedMarker {
            sealed: Some(sealed),
            ..
        }) = get_json::<UsedMarker>(kv, &used_key(&hash)).await?
        {
            let response = open(token, &sealed)
                .ok_or_else(|| FlowError::Corrupt("sealed refresh response".into()))?;
            return Ok(Redeemed::Replay(response));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Redeemed::InProgress)
}

/// Reads a refresh token's record without redeeming it (introspection,
/// revocation): `None` if unknown, expired, already used or of a revoked family.
pub async fn peek(kv: &dyn KvStore, token: &str, now: i64) -> Result<Option<RefreshToken>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let hash = sha256_b64(token);
    let Some(record) = get_json::<RefreshToken>(kv, &key(&hash)).await? else {
        return Ok(None);
    };
    if record.expires_at <= now
        || kv.get(&used_key(&hash)).await?.is_some()
        || is_family_revoked(kv, &record.family).await?
    {
        return Ok(None);
    }
    Ok(Some(record))
}

/// Records the response of a fresh redemption, for the retry window.
pub async fn complete(
    kv: &dyn KvStore,
    token: &str,
    record: &RefreshToken,
    redeemed_at: i64,
    now: i64,
    response: &serde_json::Value,
    retry_window: i64,
) -> Result<()> {
    if retry_window <= 0 {
        return Ok(());
    }
    let kek = retry_kek(token).ok_or_else(|| FlowError::Corrupt("retry key".into()))?;
    let sealed = kek.encrypt(
        &serde_json::to_vec(response).map_err(|e| FlowError::Corrupt(e.to_string()))?,
        b"refresh-retry",
    );
    let marker = UsedMarker {
        at: redeemed_at,
        sealed: Some(base64::engine::general_purpose::STANDARD.encode(sealed)),
    };
    let hash = sha256_b64(token);
    kv.put(
        &used_key(&hash),
        &encode(&marker)?,
        secs(record.expires_at - now),
    )
    .await?;
    Ok(())
}

fn open(token: &str, sealed: &str) -> Option<serde_json::Value> {
    let blob = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .ok()?;
    let plain = retry_kek(token)?.decrypt(&blob, b"refresh-retry").ok()?;
    decode(&plain).ok()
}

/// A refresh-token family as the account page lists it ("connected apps").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    pub family: String,
    pub client_id: String,
    pub scope: String,
    /// When the family's first token was issued (the login's code exchange).
    pub since: i64,
    /// Handle of the IdP session of the login: ending that session ends
    /// the family. Absent from older members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

fn families_key(identity_id: &str) -> String {
    format!("ifam:{identity_id}")
}

/// The identity's families, each member the family's record as JSON: one
/// store call on the code exchange (the token hot path), none on refresh.
fn members(kv_members: Vec<String>) -> Vec<(String, Family)> {
    kv_members
        .into_iter()
        .filter_map(|m| serde_json::from_str::<Family>(&m).ok().map(|f| (m, f)))
        .collect()
}

/// Records a new family (the first token of a login) under its identity,
/// for the account page; kept as long as a revocation marker would be.
pub async fn record_family(kv: &dyn KvStore, record: &RefreshToken, now: i64) -> Result<()> {
    let family = Family {
        family: record.family.clone(),
        client_id: record.client_id.clone(),
        scope: record.scope.clone(),
        since: now,
        session: record.session.clone(),
    };
    let member = String::from_utf8(encode(&family)?)
        .map_err(|e| crate::FlowError::Corrupt(e.to_string()))?;
    let ttl = secs(crate::revocation::FAMILY_TTL_SECONDS);
    kv.set_add(&families_key(&record.identity_id), &member, ttl)
        .await?;
    Ok(())
}

/// The identity's families that are not revoked, newest first; revoked
/// ones are dropped from the index on the way.
pub async fn families(kv: &dyn KvStore, identity_id: &str) -> Result<Vec<Family>> {
    let key = families_key(identity_id);
    let mut out = Vec::new();
    for (member, family) in members(kv.set_members(&key).await?) {
        if is_family_revoked(kv, &family.family).await? {
            kv.set_remove(&key, &member).await?;
        } else {
            out.push(family);
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.since));
    Ok(out)
}

/// Revokes `family` if it is one of the identity's; returns whether it was.
pub async fn revoke_for(kv: &dyn KvStore, identity_id: &str, family: &str) -> Result<bool> {
    let key = families_key(identity_id);
    let Some((member, _)) = members(kv.set_members(&key).await?)
        .into_iter()
        .find(|(_, f)| f.family == family)
    else {
        return Ok(false);
    };
    revoke_family(kv, family).await?;
    kv.set_remove(&key, &member).await?;
    Ok(true)
}

/// Revokes the identity's families that belong to the session with this
/// handle; families granted `offline_access` outlive the session (OIDC Core
/// §11: offline access is for when the user is not logged in) unless
/// `offline_too`. Returns how many were revoked.
pub async fn revoke_session_families(
    kv: &dyn KvStore,
    identity_id: &str,
    handle: &str,
    offline_too: bool,
) -> Result<usize> {
    let key = families_key(identity_id);
    let mut revoked = 0;
    for (member, family) in members(kv.set_members(&key).await?) {
        if family.session.as_deref() != Some(handle) {
            continue;
        }
        if !offline_too && family.scope.split(' ').any(|s| s == "offline_access") {
            continue;
        }
        revoke_family(kv, &family.family).await?;
        kv.set_remove(&key, &member).await?;
        revoked += 1;
    }
    Ok(revoked)
}
