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
    let project = authenticate(state, authorization, params).await?;
    limit_client(state, &project.client_id).await?;
    Ok(project)
}

/// Per-client rate limit, counted only once the client has proven who it is,
/// shared across replicas through the key-value store: 429 with `Retry-After`.
async fn limit_client(state: &TokenState, client_id: &str) -> Result<(), TokenError> {
    use inkan_flows::limits::{hit, Decision, RateLimit};
    if state.client_rate_limit_per_minute == 0 {
        return Ok(());
    }
    let limit = RateLimit {
        limit: state.client_rate_limit_per_minute,
        window_seconds: 60,
    };
    let key = format!("client:{}", inkan_keys::secret::sha256_b64(client_id));
    match hit(state.kv.as_ref(), &key, limit)
        .await
        .map_err(crate::grants::issue::flow_error)?
    {
        Decision::Allowed => Ok(()),
        Decision::Limited {
            retry_after_seconds,
        } => {
            let mut response = OAuthResponse::new(OAuthError::new(
                inkan_oauth::error::ErrorCode::TemporarilyUnavailable,
                "this client is sending too many requests; retry later",
            ));
            response.retry_after = Some(retry_after_seconds);
            response.status = Some(429);
            Err(TokenError::OAuth(response))
        }
    }
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
