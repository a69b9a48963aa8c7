//! What the authorize service's handlers share.

use std::sync::Arc;

use axum::http::HeaderName;
use inkan_directory::{Directory, KeyRing};
use inkan_flows::session::Lifetimes;
use inkan_kv::KvStore;
use inkan_web::clock::Clock;

/// Everything a handler needs, cloned per request (every field is cheap to clone).
#[derive(Clone)]
pub struct AuthorizeState {
    /// The issuer identifier, without trailing slash: sent as `iss` with
    /// every authorization response (RFC 9207) and required in `id_token_hint`s.
    pub issuer: Arc<str>,
    /// Projects (clients) and identities, owned by the admin service.
    pub directory: Arc<dyn Directory>,
    /// The published keys, to verify `id_token_hint`s locally.
    pub keyring: Arc<KeyRing>,
    /// Pending authorizations, sessions and codes.
    pub kv: Arc<dyn KvStore>,
    /// The time source (a manual clock in tests, to pass `max_age` without waiting).
    pub clock: Arc<dyn Clock>,
    /// Idle and absolute lifetimes of IdP sessions (the cookie lives as long as the absolute one).
    pub sessions: Lifetimes,
    /// Whether cookies are `Secure` and `__Host-` prefixed. Only false on
    /// plain-http loopback development, where browsers would drop them.
    pub secure_cookies: bool,
    /// The header a trusted reverse proxy writes the client address in
    /// (`X-Forwarded-For`); `None` = the TCP peer. Login throttling keys on
    /// the address (see [`inkan_web::client_ip::client_ip`]).
    pub trusted_proxy_header: Option<HeaderName>,
}

impl AuthorizeState {
    /// The claims of an `id_token_hint`: an ID token signed by one of our
    /// published keys, with our `iss`; an expired one is fine (OIDC Core
    /// §3.1.2.1, RP-Initiated Logout §2). `None` for anything else.
    pub fn verify_id_token_hint(&self, hint: &str) -> Option<serde_json::Value> {
        self.keyring
            .current()
            .verifier
            .verify(
                hint,
                &inkan_keys::signing::VerifyOptions {
                    issuer: &self.issuer,
                    audience: None,
                    expected_typ: None,
                    leeway_secs: 30,
                    allow_expired: true,
                },
            )
            .ok()
    }
}
