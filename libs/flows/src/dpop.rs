//! DPoP proofs as the servers check them (RFC 9449 §4.3, §8, §11.1): the
//! proof itself (`inkan_keys::dpop`), then the parts that need state shared
//! by every replica — the server nonce and the `jti` replay memory.
//!
//! - Nonces (§8): a stateless HMAC of the time window under a key every
//!   replica derives from the key-encryption key, so any replica accepts a
//!   nonce another handed out, with no store call. The current and the
//!   previous window's nonces are accepted.
//! - Replay (§11.1): a proof's `jti` is remembered, per key, for as long as
//!   its `iat` is acceptable; a second use within that time is refused,
//!   atomically across replicas (`put_if_absent`).

use std::sync::Arc;
use std::time::Duration;

use inkan_keys::dpop::{NonceSource, ProofCheck, VerifiedProof};
use inkan_keys::secret::sha256_b64;
use inkan_kv::{KvError, KvStore};

/// How this deployment checks proofs; the same on every replica.
#[derive(Clone, Debug)]
pub struct DpopPolicy {
    /// Server nonces, when required.
    pub nonces: Option<Arc<NonceSource>>,
    /// How old a proof's `iat` may be.
    pub max_age_secs: i64,
    /// How far in the future a proof's `iat` may be (clock skew).
    pub max_skew_secs: i64,
}

impl Default for DpopPolicy {
    /// No nonces; proofs younger than two minutes, up to 10 s ahead (the
    /// FAPI 2.0 Security Profile §5.3.2.1 asks for 10 s of future `iat`).
    fn default() -> Self {
        DpopPolicy {
            nonces: None,
            max_age_secs: 120,
            max_skew_secs: 10,
        }
    }
}

impl DpopPolicy {
    /// Proofs must carry a server nonce that changes every `period_secs`.
    pub fn with_nonces(key: [u8; 32], period_secs: i64) -> Self {
        DpopPolicy {
            nonces: Some(Arc::new(NonceSource::new(key, period_secs))),
            ..DpopPolicy::default()
        }
    }

    /// The nonce to hand out now (`DPoP-Nonce`), if nonces are required.
    pub fn nonce(&self, now: i64) -> Option<String> {
        self.nonces.as_ref().map(|n| n.current(now))
    }
}

/// Why a proof is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// `invalid_dpop_proof`, with what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// `use_dpop_nonce`: retry with the nonce in `DPoP-Nonce` (§8).
    #[error("a DPoP nonce from this server is required")]
    UseNonce,
    /// The replay memory is unreachable: 503.
    #[error(transparent)]
    Store(#[from] KvError),
}

/// What a request must match.
pub struct Request<'a> {
    /// `htm`.
    pub method: &'a str,
    /// `htu`: the endpoint's URL under the issuer.
    pub url: &'a str,
    /// At a resource endpoint, the access token the proof must hash (`ath`).
    pub access_token: Option<&'a str>,
    pub now: i64,
}

/// Checks a `DPoP` header value: the proof, then its nonce, then that its
/// `jti` was not used before. Returns the proof (its key's thumbprint).
pub async fn check(
    kv: &dyn KvStore,
    policy: &DpopPolicy,
    proof: &str,
    request: &Request<'_>,
) -> Result<VerifiedProof, DpopError> {
    let verified = inkan_keys::dpop::verify_proof(
        proof,
        &ProofCheck {
            method: request.method,
            url: request.url,
            now: request.now,
            max_age_secs: policy.max_age_secs,
            max_skew_secs: policy.max_skew_secs,
            access_token: request.access_token,
        },
    )
    .map_err(|e| DpopError::Invalid(e.to_string()))?;
    if let Some(nonces) = &policy.nonces {
        match &verified.nonce {
            Some(nonce) if nonces.accepts(nonce, request.now) => {}
            _ => return Err(DpopError::UseNonce),
        }
    }
    // §11.1: remembered for as long as the proof's iat would be accepted.
    let window = (policy.max_age_secs + policy.max_skew_secs).max(1) as u64;
    let key = format!(
        "dpopjti:{}",
        sha256_b64(&format!("{}:{}", verified.jkt, verified.jti))
    );
    if !kv
        .put_if_absent(&key, b"1", Duration::from_secs(window))
        .await?
    {
        return Err(DpopError::Invalid("the DPoP proof was already used".into()));
    }
    Ok(verified)
}
