//! Authorization codes (RFC 6749 §4.1.2): 60 seconds, redeemed at most once
//! with an atomic take. Each code names the token family its tokens will
//! belong to, derived from the code itself, so a replayed code (whose record
//! is gone) still identifies what to revoke (RFC 6749 §4.1.2, §10.5).

use inkan_keys::secret::{generate_token, sha256_b64};
use inkan_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::{decode, encode, secs, Result};

/// RFC 6749 §4.1.2 recommends at most 10 minutes; Inkan allows 60 seconds.
pub const TTL_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub identity_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// When the authentication was requested (`rat`).
    pub requested_at: i64,
    /// Handle of the IdP session that produced the code.
    pub session: String,
    pub expires_at: i64,
    /// The session's epoch (see [`crate::session::Session::epoch`]).
    #[serde(default)]
    pub epoch: u32,
    /// The DPoP key the code is bound to (RFC 9449 §10): the token request
    /// must carry a proof by it. Absent: not bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

fn key(hash: &str) -> String {
    format!("code:{hash}")
}

/// The family of the tokens a code produces.
pub fn family_of(code: &str) -> String {
    sha256_b64(&format!("family:{code}"))
}

/// Stores a code; returns its value (256 bits).
pub async fn issue(kv: &dyn KvStore, record: &AuthorizationCode) -> Result<String> {
    let code = generate_token(32);
    kv.put(
        &key(&sha256_b64(&code)),
        &encode(record)?,
        secs(TTL_SECONDS),
    )
    .await?;
    Ok(code)
}

/// How long a redeemed code is remembered, to recognise a replay (longer than any code lives).
pub const REDEEMED_MEMORY_SECONDS: i64 = 600;

/// What presenting a code led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// First presentation: the code's record.
    Redeemed(Box<AuthorizationCode>),
    /// The code was redeemed before: its token family should be revoked.
    Replayed { family: String },
    /// Never issued, or expired unredeemed.
    Unknown,
}

/// Presents a code: the first caller gets its record, every later one
/// learns it is a replay — also when two replicas race.
///
/// The first presenter claims a "used" marker atomically (`put_if_absent`)
/// and then takes the code; a concurrent presenter finds the marker and waits
/// (bounded) for the outcome: "redeemed" (a replay) or gone (an unknown code,
/// which leaves nothing behind).
pub async fn redeem(kv: &dyn KvStore, code: &str) -> Result<Redemption> {
    if code.is_empty() || code.len() > 128 {
        return Ok(Redemption::Unknown);
    }
    let hash = sha256_b64(code);
    let used = format!("codeused:{hash}");
    let memory = secs(REDEEMED_MEMORY_SECONDS);
    if kv.put_if_absent(&used, PENDING, memory).await? {
        return match kv.take(&key(&hash)).await? {
            Some(bytes) => {
                kv.put(&used, REDEEMED, memory).await?;
                Ok(Redemption::Redeemed(Box::new(decode(&bytes)?)))
            }
            None => {
                kv.delete(&used).await?;
                Ok(Redemption::Unknown)
            }
        };
    }
    let replayed = Redemption::Replayed {
        family: family_of(code),
    };
    for _ in 0..50 {
        match kv.get(&used).await? {
            Some(v) if v == REDEEMED => return Ok(replayed),
            Some(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            None => return Ok(Redemption::Unknown),
        }
    }
    // The first presenter took the code but never finished: treat as a replay.
    Ok(replayed)
}

const PENDING: &[u8] = b"pending";
const REDEEMED: &[u8] = b"redeemed";
