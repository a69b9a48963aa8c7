//! Pending authorization requests: what `/authorize` validated, kept
//! server-side while the user logs in (so the login page and the credential
//! POST may land on different replicas).

use inkan_keys::secret::generate_token;
use inkan_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::{encode, get_json, plausible_id, secs, take_json, Result};

/// How long a user has to log in.
pub const TTL_SECONDS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// When the authentication was requested (the `rat` claim).
    pub requested_at: i64,
    /// The login form's CSRF token, bound to this request.
    pub csrf: String,
    /// Set once someone has signed in for this request but it is not answered
    /// yet (the passkey offer after a password login): the identity, which
    /// the browser's session must still belong to when the request is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in: Option<String>,
    /// The request's `acr_values` (OIDC Core §3.1.2.1), for the level the
    /// login must reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
    /// Set once someone proved a first factor (a password) and still owes a
    /// second one: no session exists yet, and the code page posts against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactorDue>,
    /// Set when the right password came from an identity whose address the
    /// project needs verified first: whom "send the link again" mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<String>,
    /// The client wants back-channel logout: the session that answers
    /// remembers it (absent from older records: no).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backchannel: bool,
    /// The DPoP key the code is to be bound to (RFC 9449 §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

/// A login waiting for its one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorDue {
    /// Who proved the first factor.
    pub identity_id: String,
    /// The RFC 8176 methods proved so far (`pwd`).
    pub amr: Vec<String>,
    /// When the identity has no one-time code yet: the secret being set up
    /// (base32), kept here until its first code proves the app has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolling: Option<String>,
}

fn key(id: &str) -> String {
    format!("authz:{id}")
}

/// Stores a pending request; returns its id (random, 128 bits).
pub async fn put(kv: &dyn KvStore, record: &PendingAuthorization) -> Result<String> {
    let id = generate_token(16);
    kv.put(&key(&id), &encode(record)?, secs(TTL_SECONDS))
        .await?;
    Ok(id)
}

pub async fn get(kv: &dyn KvStore, id: &str) -> Result<Option<PendingAuthorization>> {
    if !plausible_id(id) {
        return Ok(None);
    }
    get_json(kv, &key(id)).await
}

/// Consumes a pending request (after a successful login): a form cannot be posted twice.
pub async fn take(kv: &dyn KvStore, id: &str) -> Result<Option<PendingAuthorization>> {
    if !plausible_id(id) {
        return Ok(None);
    }
    take_json(kv, &key(id)).await
}
