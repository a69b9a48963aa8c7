//! WebAuthn ceremony state (ARCHITECTURE "Growing it"): what the server
//! must remember between handing a browser a challenge and checking the
//! signed answer. One-shot and short-lived: a ceremony is taken atomically
//! when it finishes, so a captured answer cannot be replayed on any replica
//! (WebAuthn Level 3 §13.4.3: challenges must be used once), and it is bound
//! to the pending authorization and to the browser's login cookie, so a
//! challenge obtained in one browser cannot complete a login in another.

use inkan_keys::secret::{generate_token, sha256_b64};
use inkan_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::{encode, plausible_id, secs, take_json, Result};

/// How long a browser has to answer a challenge (WebAuthn's recommended
/// timeout for user verification is 5 minutes, §15.1).
pub const TTL_SECONDS: i64 = 300;

/// What a ceremony is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Purpose {
    /// Signing in with any discoverable passkey (usernameless).
    Login,
    /// Creating a passkey for an identity that has just signed in.
    Register { identity_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    pub purpose: Purpose,
    /// The pending authorization the ceremony belongs to.
    pub authz: String,
    /// The hash of the browser's login-binding cookie.
    pub binding: String,
    /// The WebAuthn library's ceremony state, opaque here.
    pub state: serde_json::Value,
}

impl Ceremony {
    /// Whether the ceremony was started for this pending request in the
    /// browser holding `binding`.
    pub fn belongs_to(&self, authz: &str, binding: Option<&str>) -> bool {
        self.authz == authz && binding.is_some_and(|b| binding_hash(b) == self.binding)
    }
}

/// How a browser's login binding is stored in a ceremony (never in clear).
pub fn binding_hash(binding: &str) -> String {
    sha256_b64(&format!("inkan/ceremony-binding/v1:{binding}"))
}

fn key(id: &str) -> String {
    format!("webauthn:{}", sha256_b64(id))
}

/// Stores a ceremony; returns its id (random, 128 bits), which the browser
/// sends back with its answer.
pub async fn start(kv: &dyn KvStore, ceremony: &Ceremony) -> Result<String> {
    let id = generate_token(16);
    kv.put(&key(&id), &encode(ceremony)?, secs(TTL_SECONDS))
        .await?;
    Ok(id)
}

/// Takes a ceremony (at most once, whichever replica asks first).
pub async fn take(kv: &dyn KvStore, id: &str) -> Result<Option<Ceremony>> {
    if !plausible_id(id) {
        return Ok(None);
    }
    take_json(kv, &key(id)).await
}
