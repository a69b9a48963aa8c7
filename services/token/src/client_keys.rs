//! The public keys `private_key_jwt` clients sign their assertions with
//! (RFC 7523 §2.2, OIDC Core §9): registered inline (`jwks`) or published at
//! a URL (`jwks_uri`), parsed once and kept per client.
//!
//! A `jwks_uri` is fetched with the SSRF guard of [`inkan_egress`] (no
//! private addresses unless the operator allows them, no redirects), a
//! 5-second limit and a 64 KiB cap, and cached for five minutes. When an
//! assertion does not verify against the cached set (the client rotated its
//! keys), the set is fetched again, at most once every 30 seconds per
//! client, so a stream of bad assertions cannot make Inkan hammer a URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inkan_directory::typed::{ClientKeys, Project};
use inkan_keys::signing::Verifier;

/// How long a fetched key set is used before it is fetched again.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// The shortest time between two fetches of one client's set.
const MIN_REFETCH: Duration = Duration::from_secs(30);
/// The most a key set document may weigh.
const MAX_BYTES: usize = 64 * 1024;
/// Clients whose keys are kept; beyond it the oldest half is dropped.
const MAX_CLIENTS: usize = 10_000;

/// Why a client's keys cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error("the client registered no keys")]
    None,
    #[error("the client's key set holds no usable signing key")]
    Unusable,
    #[error("fetching the client's key set failed: {0}")]
    Fetch(String),
}

struct Cached {
    /// The registration the verifier was built from: a changed one is a miss.
    source: ClientKeys,
    verifier: Arc<Verifier>,
    fetched: Instant,
}

/// Every client's parsed keys.
pub struct KeySets {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl KeySets {
    pub fn new(policy: inkan_egress::Policy) -> reqwest::Result<KeySets> {
        Ok(KeySets {
            http: inkan_egress::client(policy, Duration::from_secs(5), "Inkan client key fetcher")?,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The verifier of `project`'s keys. `stale`: the cached set did not
    /// verify an assertion, so a published set is fetched again (if the
    /// last fetch is older than [`MIN_REFETCH`]).
    pub async fn verifier(
        &self,
        project: &Project,
        stale: bool,
    ) -> Result<Arc<Verifier>, KeySetError> {
        if let Some(hit) = self.cached(project, stale) {
            return Ok(hit);
        }
        let verifier = match &project.client_keys {
            ClientKeys::Inline(jwks) => Verifier::from_jwk_set(jwks),
            ClientKeys::Uri(uri) => Verifier::from_jwk_set(&self.fetch(uri).await?),
            ClientKeys::None => return Err(KeySetError::None),
        };
        if verifier.is_empty() {
            return Err(KeySetError::Unusable);
        }
        let verifier = Arc::new(verifier);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CLIENTS {
            let mut ages: Vec<Instant> = cache.values().map(|c| c.fetched).collect();
            ages.sort();
            let cut = ages[ages.len() / 2];
            cache.retain(|_, c| c.fetched > cut);
        }
        cache.insert(
            project.client_id.clone(),
            Cached {
                source: project.client_keys.clone(),
                verifier: verifier.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(verifier)
    }

    /// The cached verifier of `project`'s current registration, unless a
    /// published set is due to be fetched again.
    fn cached(&self, project: &Project, stale: bool) -> Option<Arc<Verifier>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let hit = cache
            .get(&project.client_id)
            .filter(|c| c.source == project.client_keys)?;
        let age = hit.fetched.elapsed();
        let inline = matches!(hit.source, ClientKeys::Inline(_));
        let usable = inline || (age < FRESH_FOR && !(stale && age >= MIN_REFETCH));
        usable.then(|| hit.verifier.clone())
    }

    async fn fetch(&self, uri: &str) -> Result<serde_json::Value, KeySetError> {
        let url = url::Url::parse(uri).map_err(|e| KeySetError::Fetch(e.to_string()))?;
        let fail = |e: reqwest::Error| KeySetError::Fetch(e.without_url().to_string());
        let mut response = self
            .http
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(fail)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(KeySetError::Fetch(format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(KeySetError::Fetch(format!("larger than {MAX_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| KeySetError::Fetch(format!("not JSON: {e}")))
    }
}
