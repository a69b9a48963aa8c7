//! Checking an access token the way every resource endpoint of Inkan does:
//! a valid RFC 9068 JWT from one of our published keys, for this issuer,
//! unexpired, and neither it nor its family revoked.

use inkan_keys::signing::{Verifier, VerifyOptions};
use inkan_kv::KvStore;
use serde_json::Value;

use crate::revocation::is_access_revoked;
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
    // One round trip for both revocation checks.
    if is_access_revoked(kv, claims["jti"].as_str(), claims["fid"].as_str()).await? {
        return Ok(None);
    }
    Ok(Some(claims))
}
