//! The userinfo endpoint's errors, mapped to the wire in one place: RFC 6750
//! §3 challenges for token problems, `temporarily_unavailable` (503,
//! `Retry-After`) when a backend is down, `server_error` when a record cannot
//! be read. Causes are logged here, once; never the token.

use axum::response::{IntoResponse, Response};
use inkan_directory::DirectoryError;
use inkan_flows::FlowError;
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_web::bearer::BearerRejection;
use inkan_web::OAuthResponse;

#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    /// No token, or one sent two ways (RFC 6750 §2, §3.1).
    #[error("no usable bearer token")]
    Bearer(BearerRejection),
    /// RFC 6750 §3.1 `invalid_token`: 401 with a Bearer challenge.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A DPoP-bound token without a valid proof by its key, or a token
    /// presented with the wrong scheme (RFC 9449 §7.1): 401 with a DPoP
    /// challenge.
    #[error("DPoP: {}", .0.error)]
    Dpop(OAuthResponse),
    /// RFC 6750 §3.1 `insufficient_scope`: 403 with a Bearer challenge.
    #[error("the access token lacks the openid scope")]
    InsufficientScope,
    /// The directory failed (an outage, or a record this version cannot read).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The key-value store (revocation state) failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl IntoResponse for UserinfoError {
    fn into_response(self) -> Response {
        match self {
            UserinfoError::Bearer(rejection) => rejection.into_response(),
            UserinfoError::InvalidToken(description) => {
                OAuthResponse::new(OAuthError::new(ErrorCode::InvalidToken, description))
                    .bearer_challenge()
                    .into_response()
            }
            UserinfoError::Dpop(mut response) => {
                response.status = Some(401);
                response.dpop_challenge().into_response()
            }
            UserinfoError::InsufficientScope => OAuthResponse::new(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token lacks the openid scope",
            ))
            .bearer_challenge()
            .into_response(),
            UserinfoError::Directory(e) if e.is_outage() => unavailable(&e),
            UserinfoError::Flow(FlowError::Store(e)) => unavailable(&e),
            e @ (UserinfoError::Directory(_) | UserinfoError::Flow(FlowError::Corrupt(_))) => {
                tracing::error!(error = %e, "userinfo request failed");
                OAuthResponse::new(OAuthError::new(ErrorCode::ServerError, "internal error"))
                    .into_response()
            }
        }
    }
}

fn unavailable(cause: &dyn std::error::Error) -> Response {
    tracing::warn!(error = %cause, "userinfo request failed: backend unavailable");
    OAuthResponse::unavailable().into_response()
}
