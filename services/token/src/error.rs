//! The token service's errors, mapped to the wire in one place.

use axum::response::{IntoResponse, Response};
use inkan_directory::DirectoryError;
use inkan_kv::KvError;
use inkan_oauth::error::OAuthError;
use inkan_web::OAuthResponse;

/// What went wrong inside, kept as the error it was (never flattened to a string).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A protocol error for the client (RFC 6749 §5.2).
    #[error("{}: {}", .0.error.code.as_str(), .0.error.description)]
    OAuth(OAuthResponse),
    /// A backend is down: 503 `temporarily_unavailable`, never `invalid_grant`
    /// (clients discard refresh tokens on `invalid_grant`).
    #[error("backend unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// A bug or a record this version cannot read: 500 `server_error`.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
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
        if e.is_outage() {
            TokenError::Unavailable(e.into())
        } else {
            TokenError::Internal(e.into())
        }
    }
}

impl From<KvError> for TokenError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::Unavailable(_) => TokenError::Unavailable(e.into()),
            KvError::Invalid(_) => TokenError::Internal(e.into()),
        }
    }
}

impl From<inkan_flows::FlowError> for TokenError {
    /// Key-value failures are outages (503), never grant errors.
    fn from(e: inkan_flows::FlowError) -> Self {
        match e {
            inkan_flows::FlowError::Store(kv) => kv.into(),
            corrupt @ inkan_flows::FlowError::Corrupt(_) => TokenError::Internal(corrupt.into()),
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        match self {
            TokenError::OAuth(r) => r.into_response(),
            TokenError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "token request failed: backend unavailable");
                OAuthResponse::unavailable().into_response()
            }
            TokenError::Internal(cause) => {
                tracing::error!(error = %cause, "token request failed");
                OAuthResponse::new(OAuthError::new(
                    inkan_oauth::error::ErrorCode::ServerError,
                    "internal error",
                ))
                .into_response()
            }
        }
    }
}
