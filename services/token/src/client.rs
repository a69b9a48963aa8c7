//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1).

use inkan_directory::Project;
use inkan_oauth::client_auth::{self, ClientAuth};
use inkan_oauth::error::OAuthError;
use inkan_oauth::params::Params;
use inkan_web::OAuthResponse;

use crate::error::TokenError;
use crate::state::TokenState;

/// Authenticates the client of a request from its `Authorization` header and form.
pub async fn authenticate_request(
    state: &TokenState,
    headers: &axum::http::HeaderMap,
    params: &Params,
) -> Result<Project, TokenError> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    authenticate(state, authorization, params).await
}

/// Authenticates the calling client. Confidential clients prove their secret
/// (Basic or body, whichever they send: both are registered-secret methods);
/// public clients send only their `client_id` and must be registered as `none`.
pub async fn authenticate(
    state: &TokenState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<Project, TokenError> {
    let auth = client_auth::extract(authorization, params)
        .map_err(|e| challenge(e, authorization.is_some()))?;
    let failed = || {
        challenge(
            OAuthError::invalid_client("client authentication failed"),
            matches!(auth, ClientAuth::Basic { .. }),
        )
    };
    match &auth {
        ClientAuth::Basic { id, secret } | ClientAuth::Post { id, secret } => {
            let project = state
                .directory
                .authenticate_client(id, secret)
                .await?
                .ok_or_else(failed)?;
            if project.token_endpoint_auth_method == "none" {
                return Err(failed());
            }
            Ok(project)
        }
        ClientAuth::None { id } => {
            let project = state
                .directory
                .resolve_project(id)
                .await?
                .ok_or_else(failed)?;
            if project.token_endpoint_auth_method != "none" {
                return Err(failed());
            }
            Ok(project)
        }
    }
}

fn challenge(error: OAuthError, basic: bool) -> TokenError {
    let response = OAuthResponse::new(error);
    // RFC 6749 §5.2: invalid_client after an Authorization header → 401 + WWW-Authenticate.
    if basic && response.error.code == inkan_oauth::error::ErrorCode::InvalidClient {
        TokenError::OAuth(response.basic_challenge())
    } else {
        TokenError::OAuth(response)
    }
}
