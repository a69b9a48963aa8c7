//! Pushed authorization requests (RFC 9126): a client posts its
//! authorization request to `/par` and gets a `request_uri` to send the
//! browser to `/authorize` with instead. The request lives 60 seconds and
//! is taken once (§2.2, §4: the authorization server "SHOULD" make it
//! one-time; Inkan does, atomically, so two replicas cannot both use it).
//!
//! The reference in the URI is 256 random bits (§2.2: it must not be
//! guessable); the store keeps the request under the reference's hash.

use inkan_keys::secret::{generate_token, sha256_b64};
use inkan_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::{decode, encode, secs, Result};

/// RFC 9126 §2.2: `urn:ietf:params:oauth:request_uri:` is the prefix the
/// RFC's examples use and clients recognise.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request may be used (§2.2: short, "e.g. 60 seconds").
pub const TTL_SECONDS: i64 = 60;

/// An authorization request as the client pushed it, after client
/// authentication and validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRequest {
    /// The authenticated client; `/authorize` must be called with the same
    /// `client_id` (§4).
    pub client_id: String,
    /// The request's parameters, form-encoded: `/authorize` uses these and
    /// no others (§4). A DPoP proof sent with the push is recorded here as
    /// `dpop_jkt` (RFC 9449 §10.1).
    pub params: String,
}

fn key(reference: &str) -> String {
    format!("par:{}", sha256_b64(reference))
}

/// Stores a pushed request; returns its `request_uri`.
pub async fn push(kv: &dyn KvStore, request: &PushedRequest) -> Result<String> {
    let reference = generate_token(32);
    kv.put(&key(&reference), &encode(request)?, secs(TTL_SECONDS))
        .await?;
    Ok(format!("{REQUEST_URI_PREFIX}{reference}"))
}

/// Takes the request a `request_uri` names: `None` if it was never
/// issued, expired, or was already used.
pub async fn take(kv: &dyn KvStore, request_uri: &str) -> Result<Option<PushedRequest>> {
    let Some(reference) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok(None);
    };
    if reference.is_empty() || reference.len() > 128 {
        return Ok(None);
    }
    kv.take(&key(reference))
        .await?
        .map(|b| decode(&b))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use inkan_kv::memory::MemoryKv;

    #[tokio::test]
    async fn a_pushed_request_is_taken_once() {
        let kv = MemoryKv::new();
        let request = PushedRequest {
            client_id: "pay".into(),
            params: "response_type=code&client_id=pay".into(),
        };
        let uri = push(&kv, &request).await.unwrap();
        assert!(uri.starts_with(REQUEST_URI_PREFIX), "{uri}");
        assert_eq!(take(&kv, &uri).await.unwrap(), Some(request));
        assert_eq!(take(&kv, &uri).await.unwrap(), None);
        assert_eq!(take(&kv, "urn:other:x").await.unwrap(), None);
        assert_eq!(take(&kv, REQUEST_URI_PREFIX).await.unwrap(), None);
    }
}
