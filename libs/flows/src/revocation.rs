//! Revocations: a whole token family (every refresh token and access token
//! of one login at one client), or one access token by its `jti`.

use inkan_kv::KvStore;

use crate::{secs, Result};

/// Families stay revoked longer than any token in them can live.
pub const FAMILY_TTL_SECONDS: i64 = 366 * 86_400;

pub async fn revoke_family(kv: &dyn KvStore, family: &str) -> Result<()> {
    kv.put(&format!("famrev:{family}"), b"1", secs(FAMILY_TTL_SECONDS))
        .await?;
    Ok(())
}

pub async fn is_family_revoked(kv: &dyn KvStore, family: &str) -> Result<bool> {
    Ok(kv.get(&format!("famrev:{family}")).await?.is_some())
}

/// Revokes one access token until it would have expired anyway.
pub async fn revoke_jti(kv: &dyn KvStore, jti: &str, seconds_left: i64) -> Result<()> {
    kv.put(&format!("jtirev:{jti}"), b"1", secs(seconds_left))
        .await?;
    Ok(())
}

/// Whether an access token is revoked, by its own `jti` or through its
/// refresh-token family, in one store call (one round trip on Redis).
pub async fn is_access_revoked(
    kv: &dyn KvStore,
    jti: Option<&str>,
    family: Option<&str>,
) -> Result<bool> {
    let keys: Vec<String> = jti
        .map(|j| format!("jtirev:{j}"))
        .into_iter()
        .chain(family.map(|f| format!("famrev:{f}")))
        .collect();
    if keys.is_empty() {
        return Ok(false);
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok(kv.get_many(&refs).await?.iter().any(Option::is_some))
}
