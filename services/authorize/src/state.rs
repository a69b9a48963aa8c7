//! What the authorize service's handlers share.

use axum::http::HeaderName;
use inkan_flows::session::Lifetimes;
use std::sync::Arc;

use inkan_web::ServiceCore;
use webauthn_rs::prelude::Webauthn;

/// Everything a handler needs, cloned per request (every field is cheap to clone).
#[derive(Clone)]
pub struct AuthorizeState {
    /// Issuer (sent as `iss` with every authorization response, RFC 9207, and
    /// required in `id_token_hint`s), directory, keys (to verify hints
    /// locally), key-value store (pending authorizations, sessions, codes),
    /// clock (a manual one in tests, to pass `max_age` without waiting).
    pub core: ServiceCore,
    /// Idle and absolute lifetimes of IdP sessions (the cookie lives as long as the absolute one).
    pub sessions: Lifetimes,
    /// Whether cookies are `Secure` and `__Host-` prefixed. Only false on
    /// plain-http loopback development, where browsers would drop them.
    pub secure_cookies: bool,
    /// The header a trusted reverse proxy writes the client address in
    /// (`X-Forwarded-For`); `None` = the TCP peer. Login throttling keys on
    /// the address (see [`inkan_web::client_ip::client_ip`]).
    pub trusted_proxy_header: Option<HeaderName>,
    /// The WebAuthn relying party (the issuer's host and origin); `None`
    /// when the issuer cannot be one (an IP address), and then the pages
    /// offer no passkeys.
    pub webauthn: Option<Arc<Webauthn>>,
    /// Whether mail is configured (`INKAN_SMTP_URL`): the pages offer
    /// password reset and email verification only then.
    pub mail: bool,
    /// The pages' message catalogues (built in, plus `INKAN_LOCALES_DIR`).
    pub catalogues: Arc<inkan_i18n::Catalogues>,
    /// How long `/end_session` waits for the back-channel deliveries of the
    /// session it ends (`INKAN_END_SESSION_WAIT_MS`; zero: not at all).
    pub end_session_wait: std::time::Duration,
}

impl std::ops::Deref for AuthorizeState {
    type Target = ServiceCore;

    fn deref(&self) -> &ServiceCore {
        &self.core
    }
}

impl AuthorizeState {
    /// Whether the login pages offer passkeys.
    pub fn passkeys_enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    /// The issuer's host (what authenticator apps list a one-time code under).
    pub fn issuer_host(&self) -> String {
        url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.issuer.to_string())
    }

    /// The WebAuthn relying party, for a passkey endpoint: on an issuer
    /// without passkeys those endpoints do not exist.
    pub fn passkey_rp(&self) -> Result<&Webauthn, crate::AuthorizeError> {
        self.webauthn
            .as_deref()
            .ok_or(crate::AuthorizeError::PasskeysOff)
    }

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
