//! The token service's errors, mapped to the wire in one place.

use axum::response::{IntoResponse, Response};
use inkan_directory::DirectoryError;
use inkan_kv::KvError;
use inkan_oauth::error::OAuthError;
use inkan_web::OAuthResponse;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A protocol error for the client (RFC 6749 §5.2).
    #[error("{}: {}", .0.error.code.as_str(), .0.error.description)]
    OAuth(OAuthResponse),
    /// A backend is down: 503 `temporarily_unavailable`, never `invalid_grant`
    /// (clients discard refresh tokens on `invalid_grant`).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> Self {
        TokenError::OAuth(OAuthResponse::new(e))
    }
}

impl From<OAuthResponse> for TokenError {
    fn from(e: OAuthResponse) -> Self {
        TokenError::OAuth(e)
    }
}

impl From<DirectoryError> for TokenError {
    fn from(e: DirectoryError) -> Self {
        TokenError::Unavailable(e.to_string())
    }
}

impl From<KvError> for TokenError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::Unavailable(m) => TokenError::Unavailable(m),
            KvError::Invalid(m) => TokenError::Internal(m),
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        match self {
            TokenError::OAuth(r) => r.into_response(),
            TokenError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "token request failed: backend unavailable");
                OAuthResponse::unavailable().into_response()
            }
            TokenError::Internal(detail) => {
                tracing::error!(error = %detail, "token request failed");
                OAuthResponse::new(OAuthError::new(
                    inkan_oauth::error::ErrorCode::ServerError,
                    "internal error",
                ))
                .into_response()
            }
        }
    }
}
