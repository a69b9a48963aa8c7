//! What every public service's state starts with: who we are (the issuer),
//! where projects, identities and keys come from, where short-lived state
//! lives, and what time it is. The binary builds one [`ServiceCore`] and
//! hands a clone to each service; a service's own state adds only what is
//! its own (and derefs to the core, so handlers write `state.issuer`).

use std::sync::Arc;

use inkan_directory::{Directory, KeyRing};
use inkan_kv::KvStore;

use crate::clock::Clock;

/// The part of authorize's, token's and userinfo's state they all share.
#[derive(Clone)]
pub struct ServiceCore {
    /// The issuer identifier, without trailing slash (`iss` of every token,
    /// RFC 9207 `iss` of every authorization response).
    pub issuer: Arc<str>,
    /// Projects (clients) and identities, owned by the admin service.
    pub directory: Arc<dyn Directory>,
    /// The published and active signing keys, parsed once per key change.
    pub keyring: Arc<KeyRing>,
    /// Short-lived state: pending authorizations, sessions, codes, refresh
    /// families, revocations, rate-limit counters.
    pub kv: Arc<dyn KvStore>,
    /// The time source (a manual clock in tests, to pass expiry without waiting).
    pub clock: Arc<dyn Clock>,
    /// How DPoP proofs are checked (RFC 9449): nonces and time window.
    pub dpop: inkan_flows::dpop::DpopPolicy,
}
