//! Checking an access token the way every resource endpoint of Inkan does:
//! a valid RFC 9068 JWT from one of our published keys, for this issuer,
//! unexpired, and neither it nor its family revoked.

use inkan_keys::signing::{Verifier, VerifyOptions};
use inkan_kv::KvStore;
use serde_json::Value;

use crate::revocation::{is_family_revoked, is_jti_revoked};
use crate::Result;

/// The token's claims if it is active; `None` if it is not (for any reason:
/// the caller answers `invalid_token` or `active: false` without saying why).
pub async fn check(
    kv: &dyn KvStore,
    verifier: &Verifier,
    issuer: &str,
    token: &str,
) -> Result<Option<Value>> {
    if token.is_empty() || token.len() > 8192 {
        return Ok(None);
    }
    let mut options = VerifyOptions::new(issuer);
    options.expected_typ = Some("at+jwt");
    options.audience = Some(issuer);
    options.leeway_secs = 30;
    let Ok(claims) = verifier.verify(token, &options) else {
        return Ok(None);
    };
    if let Some(jti) = claims["jti"].as_str() {
        if is_jti_revoked(kv, jti).await? {
            return Ok(None);
        }
    }
    if let Some(family) = claims["fid"].as_str() {
        if is_family_revoked(kv, family).await? {
            return Ok(None);
        }
    }
    Ok(Some(claims))
}
