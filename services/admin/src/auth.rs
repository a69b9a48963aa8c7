//! Who may call the admin API: a confidential client whose project carries
//! the `admin` scope, presenting either an access token it obtained with the
//! client credentials grant (`Authorization: Bearer`, RFC 6750 — the normal
//! shape) or its client credentials directly (HTTP Basic, RFC 6749 §2.3.1 —
//! kept for bootstrapping and scripts).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AdminState;

/// The scope a client needs to use the admin API.
pub const ADMIN_SCOPE: &str = "admin";

/// An authenticated admin caller.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub client_id: String,
}

impl FromRequestParts<AdminState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
        if let Some(token) = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
        {
            return bearer(state, token.trim());
        }
        let (client_id, secret) = parse_basic(header).ok_or(ApiError::Unauthenticated)?;
        let project = state
            .projections
            .project_by_client_id(&client_id)
            .ok_or(ApiError::Unauthenticated)?;
        let stored = project
            .state
            .secret_hash
            .as_deref()
            .ok_or(ApiError::Unauthenticated)?;
        if !state.secrets.verify(&secret, stored) {
            return Err(ApiError::Unauthenticated);
        }
        let has_scope = project
            .state
            .settings
            .as_ref()
            .is_some_and(|s| s.scopes.iter().any(|s| s == ADMIN_SCOPE));
        if !has_scope {
            return Err(ApiError::Forbidden);
        }
        Ok(AdminCaller { client_id })
    }
}

/// Accepts an RFC 9068 access token signed by one of Inkan's published keys,
/// issued for this issuer, unexpired, carrying the `admin` scope, whose
/// client still exists and still has the `admin` scope.
fn bearer(state: &AdminState, token: &str) -> Result<AdminCaller, ApiError> {
    use inkan_keys::signing::{Verifier, VerifyOptions};
    let now = time::OffsetDateTime::now_utc();
    let jwks = state.projections.published_jwks(now);
    let mut options = VerifyOptions::new(&state.issuer);
    options.expected_typ = Some("at+jwt");
    options.audience = Some(&state.issuer);
    options.leeway_secs = 30;
    let claims = Verifier::new(&jwks)
        .verify(token, &options)
        .map_err(|_| ApiError::Unauthenticated)?;
    let client_id = claims["client_id"]
        .as_str()
        .ok_or(ApiError::Unauthenticated)?;
    let token_has_scope = claims["scope"]
        .as_str()
        .is_some_and(|s| s.split(' ').any(|s| s == ADMIN_SCOPE));
    let project = state
        .projections
        .project_by_client_id(client_id)
        .ok_or(ApiError::Unauthenticated)?;
    let project_has_scope = project
        .state
        .settings
        .as_ref()
        .is_some_and(|s| s.scopes.iter().any(|s| s == ADMIN_SCOPE));
    if !token_has_scope || !project_has_scope {
        return Err(ApiError::Forbidden);
    }
    Ok(AdminCaller {
        client_id: client_id.to_string(),
    })
}

/// Decodes `Basic base64(urlencode(client_id):urlencode(secret))` (RFC 6749
/// §2.3.1) with the protocol crate's decoder; `None` for anything malformed
/// or an empty client id.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    if header.len() > 4096 {
        return None;
    }
    inkan_oauth::client_auth::decode_basic(header)
        .ok()
        .filter(|(id, _)| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn basic(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("my%20client:s%3Acret+x")),
            Some(("my client".into(), "s:cret x".into()))
        );
    }

    #[test]
    fn malformed_basic_headers_are_rejected() {
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic(&basic("no-colon")), None);
        assert_eq!(parse_basic(&basic(":secret")), None);
        // Stray percent signs decode literally (WHATWG form decoding), as at /token.
        assert_eq!(
            parse_basic(&basic("id:%zz")),
            Some(("id".into(), "%zz".into()))
        );
    }
}
