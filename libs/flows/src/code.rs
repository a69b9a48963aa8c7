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

/// Takes a code: the first caller gets its record, every later one `None`.
pub async fn redeem(kv: &dyn KvStore, code: &str) -> Result<Option<AuthorizationCode>> {
    if code.is_empty() || code.len() > 128 {
        return Ok(None);
    }
    kv.take(&key(&sha256_b64(code)))
        .await?
        .map(|b| decode(&b))
        .transpose()
}
