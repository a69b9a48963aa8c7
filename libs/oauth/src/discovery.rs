//! The OpenID Provider metadata document (OIDC Discovery §3), served at
//! `{issuer}/.well-known/openid-configuration`.
//!
//! The issuer is used without trailing slashes: `http://x:8080/` is
//! published as `http://x:8080` and the endpoints as `http://x:8080/token`.
//! OIDC Discovery §4.3 requires the `issuer` value to be identical to the
//! issuer the document was fetched for (and to every ID token's `iss`), and
//! §4 builds the document's URL by appending `/.well-known/...` after
//! removing a trailing `/` — so the slash-less form is the one clients
//! derive. Services must use [`normalize_issuer`] wherever they write `iss`.

use serde_json::{json, Value};

/// What the document lists that depends on deployment and keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryConfig {
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    /// The `alg` values of the signing keys, e.g. `["RS256", "ES256"]`.
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// The issuer identifier as published: `issuer` without trailing `/`.
pub fn normalize_issuer(issuer: &str) -> &str {
    issuer.trim_end_matches('/')
}

/// The URL of an endpoint under the issuer: `endpoint_url("https://id.example/", "/token")`
/// is `https://id.example/token`.
pub fn endpoint_url(issuer: &str, path: &str) -> String {
    format!("{}{}", normalize_issuer(issuer), path)
}

/// What a client assertion (`private_key_jwt`) may be signed with: the
/// algorithms of the key verifier (`inkan_keys::signing::Verifier`).
pub const CLIENT_ASSERTION_ALGS: [&str; 3] = ["ES256", "EdDSA", "RS256"];

/// What a DPoP proof may be signed with (`inkan_keys::dpop::PROOF_ALGS`).
pub const DPOP_ALGS: [&str; 4] = ["ES256", "EdDSA", "RS256", "PS256"];

/// The metadata document for `issuer`. Every value here mirrors what the
/// parsers in this crate accept; change both together.
pub fn discovery_document(issuer: &str, config: &DiscoveryConfig) -> Value {
    let endpoint = |path: &str| endpoint_url(issuer, path);
    json!({
        "issuer": normalize_issuer(issuer),
        "authorization_endpoint": endpoint("/authorize"),
        "token_endpoint": endpoint("/token"),
        "userinfo_endpoint": endpoint("/userinfo"),
        "jwks_uri": endpoint("/jwks"),
        "end_session_endpoint": endpoint("/end_session"),
        "introspection_endpoint": endpoint("/introspect"),
        "revocation_endpoint": endpoint("/revoke"),
        // RFC 9126 §5: pushed authorization requests; a project may require them.
        "pushed_authorization_request_endpoint": endpoint("/par"),
        "require_pushed_authorization_requests": false,
        "scopes_supported": config.scopes_supported,
        "claims_supported": config.claims_supported,
        // OIDC Discovery §3; lowest level first (see crate::acr).
        "acr_values_supported": crate::acr::Acr::ALL.map(crate::acr::Acr::as_str),
        // The code flow only: implicit and hybrid are refused (RFC 9700 §2.1.2).
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": config.id_token_signing_alg_values_supported,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        // RFC 7523 / OIDC Core §9: what a client assertion may be signed with.
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        // Introspection is for confidential clients (RFC 7662 §2.1); public
        // clients may revoke their own tokens (RFC 7009 §2.1).
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        // RFC 9449 §5.1: DPoP proofs at the token endpoint, DPoP-bound
        // access tokens at userinfo and introspection.
        "dpop_signing_alg_values_supported": DPOP_ALGS,
        // RFC 9700 §2.1.1: S256 only.
        "code_challenge_methods_supported": ["S256"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        // RFC 9207: authorization responses carry `iss`.
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page", "popup"],
        // OpenID Back-Channel Logout 1.0 §2.1: logout tokens are posted to
        // clients that register a `backchannel_logout_uri`, and carry `sid`.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DiscoveryConfig {
        DiscoveryConfig {
            scopes_supported: vec!["openid".into(), "email".into()],
            claims_supported: vec!["sub".into(), "email".into()],
            id_token_signing_alg_values_supported: vec!["RS256".into()],
        }
    }

    #[test]
    fn trailing_slash_is_dropped_from_issuer_and_endpoints() {
        let doc = discovery_document("http://x:8080/", &config());
        assert_eq!(doc["issuer"], "http://x:8080");
        assert_eq!(doc["authorization_endpoint"], "http://x:8080/authorize");
        assert_eq!(doc["end_session_endpoint"], "http://x:8080/end_session");
    }

    #[test]
    fn issuer_with_a_path_keeps_it() {
        let doc = discovery_document("https://id.example/tenant", &config());
        assert_eq!(doc["issuer"], "https://id.example/tenant");
        assert_eq!(doc["token_endpoint"], "https://id.example/tenant/token");
        assert_eq!(doc["jwks_uri"], "https://id.example/tenant/jwks");
    }

    #[test]
    fn document_advertises_only_what_the_parsers_accept() {
        let doc = discovery_document("https://id.example", &config());
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(doc["response_modes_supported"], json!(["query"]));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["request_parameter_supported"], false);
        assert_eq!(doc["request_uri_parameter_supported"], false);
        assert_eq!(doc["claims_parameter_supported"], false);
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["scopes_supported"], json!(["openid", "email"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(doc["userinfo_endpoint"], "https://id.example/userinfo");
        assert_eq!(
            doc["introspection_endpoint"],
            "https://id.example/introspect"
        );
        assert_eq!(doc["revocation_endpoint"], "https://id.example/revoke");
        assert!(doc.get("userinfo_signing_alg_values_supported").is_none());
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            "https://id.example/par"
        );
        assert!(doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt")));
        assert_eq!(doc["dpop_signing_alg_values_supported"][0], "ES256");
    }
}
