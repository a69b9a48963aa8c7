//! The OAuth error: a registered error code plus a human-readable
//! description. Every parser in this crate returns it; a service's
//! `error.rs` turns it into a JSON body (token, userinfo), redirect
//! parameters (authorize, once the redirect URI is trusted) or an error page.

use serde::Serialize;

/// The error codes Inkan can send, from RFC 6749 §4.1.2.1 and §5.2, OIDC Core
/// §3.1.2.6, RFC 6750 §3.1, OIDC RP-Initiated Logout and RFC 9449 §12.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    AccountSelectionRequired,
    InvalidRequestUri,
    InvalidRequestObject,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    InvalidToken,
    InsufficientScope,
    /// RFC 9449 §5, §7.1: a DPoP proof is missing, invalid or replayed.
    InvalidDpopProof,
    /// RFC 9449 §8, §9: retry with the server's nonce (`DPoP-Nonce` header).
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it appears in the `error` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error as sent to a client. The description is always safe to
/// send: [`OAuthError::new`] passes it through [`sanitize_description`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl AsRef<str>) -> Self {
        Self {
            code,
            description: sanitize_description(description.as_ref()),
        }
    }

    pub fn invalid_request(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// The HTTP status for a direct response (token, userinfo, introspection).
    /// Authorization errors are redirected and do not use it.
    pub fn http_status(&self) -> u16 {
        match self.code {
            // RFC 6749 §5.2: 401 when the client authenticated via the
            // Authorization header (the service adds WWW-Authenticate).
            ErrorCode::InvalidClient => 401,
            // RFC 6750 §3.1.
            ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            // RFC 6749 §4.1.2.1 names these after the 500 and 503 statuses.
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The RFC 6749 §5.2 JSON body. `error_description` is omitted when empty
    /// (it is OPTIONAL).
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.code.as_str().into());
        if !self.description.is_empty() {
            body.insert("error_description".into(), self.description.clone().into());
        }
        serde_json::Value::Object(body)
    }

    /// The parameters to add to a (validated) redirect URI, RFC 6749 §4.1.2.1.
    /// The caller adds `state` and `iss`.
    pub fn redirect_params(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("error", self.code.as_str())];
        if !self.description.is_empty() {
            pairs.push(("error_description", self.description.as_str()));
        }
        pairs
    }
}

/// Whether `c` may appear in `error_description`: RFC 6749 §5.2
/// `%x20-21 / %x23-5B / %x5D-7E` (printable ASCII without `"` and `\`).
pub fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Makes `s` a valid `error_description`: `"` becomes `'`, every other
/// character outside RFC 6749 §5.2's set (controls, `\`, non-ASCII) becomes `?`.
pub fn sanitize_description(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if is_description_char(c) => c,
            '"' => '\'',
            _ => '?',
        })
        .collect()
}

/// Quotes a client-supplied value for a description, cut to 64 characters so
/// a large input does not come back in the error.
pub(crate) fn quoted(value: &str) -> String {
    const MAX: usize = 64;
    if value.chars().count() > MAX {
        let cut: String = value.chars().take(MAX).collect();
        format!("'{cut}...'")
    } else {
        format!("'{value}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_lose_quotes_backslashes_and_controls() {
        let e = OAuthError::invalid_request("bad \"x\"\\\n\té");
        assert_eq!(e.description, "bad 'x'????");
        assert!(e.description.chars().all(is_description_char));
    }

    #[test]
    fn statuses_follow_the_specs() {
        let status = |code| OAuthError::new(code, "").http_status();
        assert_eq!(status(ErrorCode::InvalidRequest), 400);
        assert_eq!(status(ErrorCode::InvalidGrant), 400);
        assert_eq!(status(ErrorCode::InvalidClient), 401);
        assert_eq!(status(ErrorCode::InvalidToken), 401);
        assert_eq!(status(ErrorCode::InsufficientScope), 403);
        assert_eq!(status(ErrorCode::ServerError), 500);
        assert_eq!(status(ErrorCode::TemporarilyUnavailable), 503);
    }

    #[test]
    fn json_body_has_error_and_description() {
        let e = OAuthError::invalid_grant("code expired");
        assert_eq!(
            e.to_json(),
            serde_json::json!({"error": "invalid_grant", "error_description": "code expired"})
        );
        let bare = OAuthError::new(ErrorCode::AccessDenied, "");
        assert_eq!(
            bare.to_json(),
            serde_json::json!({"error": "access_denied"})
        );
    }

    #[test]
    fn serde_name_matches_as_str() {
        for code in [
            ErrorCode::InvalidRequestUri,
            ErrorCode::AccountSelectionRequired,
            ErrorCode::RequestUriNotSupported,
            ErrorCode::InsufficientScope,
            ErrorCode::InvalidDpopProof,
            ErrorCode::UseDpopNonce,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
    }

    #[test]
    fn long_values_are_cut_when_quoted() {
        let q = quoted(&"a".repeat(500));
        assert_eq!(q.len(), 64 + 5);
    }
}
