//! `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4) and `/jwks`
//! (RFC 7517): answered by any service, from bytes computed once (discovery)
//! or once per key change (JWKS).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use inkan_directory::KeyRing;
use inkan_oauth::discovery::{discovery_document, DiscoveryConfig};

/// How long clients may cache discovery and JWKS. The signing-key activation
/// delay is longer, so a new key is known before it signs.
pub const MAX_AGE_SECONDS: u64 = 300;

/// Scopes a relying party may request. `admin` is left out: it is no
/// OpenID scope, only `service` projects hold it, and no user flow grants it.
pub const SCOPES_SUPPORTED: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The claims Inkan puts in ID tokens and userinfo answers — exactly those,
/// so a relying party can trust the list (OIDC Discovery §3). The legacy
/// names (`user_id`, `first_name`, `last_name`, `verified`) are emitted
/// unless a project sets `compat_claims: false`; an identity's custom claims
/// are the operator's own and not listed.
pub const CLAIMS_SUPPORTED: [&str; 22] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "acr",
    "amr",
    "azp",
    "rat",
    // Back-Channel Logout 1.0 §2.1: the session's id.
    "sid",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "user_id",
    "first_name",
    "last_name",
    "verified",
];

#[derive(Clone)]
struct WellKnown {
    discovery: Bytes,
    keyring: Arc<KeyRing>,
}

/// The two documents for `issuer`, with keys from `keyring`.
pub fn router(issuer: &str, keyring: Arc<KeyRing>) -> Router {
    let config = DiscoveryConfig {
        scopes_supported: SCOPES_SUPPORTED.iter().map(|s| s.to_string()).collect(),
        claims_supported: CLAIMS_SUPPORTED.iter().map(|s| s.to_string()).collect(),
        id_token_signing_alg_values_supported: ["RS256", "ES256", "EdDSA"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let discovery = Bytes::from(discovery_document(issuer, &config).to_string());
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/jwks", get(jwks))
        .with_state(WellKnown { discovery, keyring })
}

fn cache_control() -> String {
    format!("public, max-age={MAX_AGE_SECONDS}")
}

async fn openid_configuration(State(w): State<WellKnown>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CACHE_CONTROL, cache_control()),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()),
        ],
        w.discovery.clone(),
    )
}

async fn jwks(State(w): State<WellKnown>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json".to_string()),
            (header::CACHE_CONTROL, cache_control()),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()),
        ],
        w.keyring.current().jwks.clone(),
    )
}
