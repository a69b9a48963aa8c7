//! The signing keys a service signs and verifies with, unsealed and parsed
//! ONCE per key change (re-parsing a private key per signature halves RSA
//! throughput), with the `/jwks` document precomputed as bytes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use inkan_keys::kek::Kek;
use inkan_keys::signing::{Algorithm, SigningKey, Verifier};
use tokio_util::sync::CancellationToken;

use crate::{Directory, DirectoryError};

/// One consistent snapshot of the keys.
pub struct KeySet {
    /// The active signing key per algorithm.
    signing: HashMap<Algorithm, Arc<SigningKey>>,
    /// Every published public key, for local verification.
    pub verifier: Verifier,
    /// `{"keys": [...]}` as served at `/jwks`.
    pub jwks: Bytes,
}

impl KeySet {
    fn empty() -> KeySet {
        KeySet {
            signing: HashMap::new(),
            verifier: Verifier::new(&[]),
            jwks: Bytes::from_static(b"{\"keys\":[]}"),
        }
    }

    /// The key that signs for `alg` now.
    pub fn signer(&self, alg: Algorithm) -> Option<&Arc<SigningKey>> {
        self.signing.get(&alg)
    }
}

pub struct KeyRing {
    directory: Arc<dyn Directory>,
    kek: Kek,
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    pub fn new(directory: Arc<dyn Directory>, kek: Kek) -> KeyRing {
        KeyRing {
            directory,
            kek,
            current: RwLock::new(Arc::new(KeySet::empty())),
        }
    }

    /// The latest snapshot (cheap: an `Arc` clone).
    pub fn current(&self) -> Arc<KeySet> {
        // The lock only guards an Arc swap; a poisoned lock still holds a valid Arc.
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reloads the keys from the directory; parses only keys not seen before.
    pub async fn refresh(&self) -> Result<(), DirectoryError> {
        let stored = self.directory.signing_keys().await?;
        let previous = self.current();
        let mut known: HashMap<String, Arc<SigningKey>> = previous
            .signing
            .values()
            .map(|k| (k.kid().to_string(), k.clone()))
            .collect();
        let mut signing = HashMap::new();
        let mut public = Vec::new();
        for key in &stored {
            let Ok(jwk) = serde_json::from_str::<serde_json::Value>(&key.public_jwk_json) else {
                tracing::error!(kid = %key.kid, "skipping a key with an unreadable public JWK");
                continue;
            };
            public.push(jwk);
            if key.status != "active" {
                continue;
            }
            let Ok(alg) = key.alg.parse::<Algorithm>() else {
                continue;
            };
            let pair = match known.remove(&key.kid) {
                Some(pair) => pair,
                None => match SigningKey::unseal(alg, &key.kid, &key.sealed_private_key, &self.kek)
                {
                    Ok(pair) => Arc::new(pair),
                    Err(e) => {
                        tracing::error!(kid = %key.kid, error = %e, "cannot unseal a signing key (wrong key-encryption key?)");
                        continue;
                    }
                },
            };
            signing.insert(alg, pair);
        }
        let jwks = serde_json::json!({ "keys": public }).to_string();
        let set = KeySet {
            signing,
            verifier: Verifier::new(&public),
            jwks: Bytes::from(jwks),
        };
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        Ok(())
    }

    /// Refreshes every `interval` until cancelled (and whenever `wake` fires).
    pub async fn run(
        self: Arc<Self>,
        interval: Duration,
        wake: Arc<tokio::sync::Notify>,
        shutdown: CancellationToken,
    ) {
        loop {
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "could not refresh signing keys");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}
