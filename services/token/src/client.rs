//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1),
//! and for introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1),
//! which authenticate the same way: [`AuthenticatedClient`] is the one
//! extractor the three endpoints take.

use axum::extract::{FromRequest, Request};
use inkan_directory::typed::{Lookup, Project};
use inkan_flows::limits::{hit_all, Decision};
use inkan_oauth::client_auth::{self, ClientAuth};
use inkan_oauth::error::OAuthError;
use inkan_oauth::params::Params;
use inkan_web::form::OAuthParams;
use inkan_web::rate_limit::{AddressBudget, WINDOW_SECONDS};
use inkan_web::OAuthResponse;

use crate::error::TokenError;
use crate::state::TokenState;

/// A request from an authenticated client, already counted against its
/// rate limits: the client's project and the request's form parameters.
pub struct AuthenticatedClient {
    pub project: Project,
    pub params: Params,
}

impl FromRequest<TokenState> for AuthenticatedClient {
    type Rejection = TokenError;

    async fn from_request(req: Request, state: &TokenState) -> Result<Self, TokenError> {
        let headers = req.headers().clone();
        // Handed over by the rate-limit middleware, when it runs.
        let address = req.extensions().get::<AddressBudget>().cloned();
        let OAuthParams(params) = OAuthParams::from_request(req, state).await?;
        let project = authenticate_request(state, &headers, address.as_ref(), &params).await?;
        Ok(AuthenticatedClient { project, params })
    }
}

/// Authenticates the client of a request from its `Authorization` header and
/// form, then counts the request against its rate limits.
///
/// Both budgets, the client address's (handed over by the rate-limit
/// middleware as `address`) and the authenticated client's, are counted in
/// ONE key-value call, before any other work. A request that fails
/// authentication still counts against its address, and an address over its
/// limit gets 429 whether or not the credentials were right.
pub async fn authenticate_request(
    state: &TokenState,
    headers: &axum::http::HeaderMap,
    address: Option<&AddressBudget>,
    params: &Params,
) -> Result<Project, TokenError> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authenticated = authenticate(state, authorization, params).await;
    let client_id = authenticated.as_ref().ok().map(|p| p.client_id.as_str());
    limit(state, address, client_id).await?;
    authenticated
}

/// Per-address and per-client rate limits, shared across replicas through
/// the key-value store: 429 with `Retry-After`. The per-client budget is
/// only counted once the client has proven who it is.
async fn limit(
    state: &TokenState,
    address: Option<&AddressBudget>,
    client_id: Option<&str>,
) -> Result<(), TokenError> {
    let client_key = client_id
        .filter(|_| state.client_rate_limit_per_minute > 0)
        .map(|id| format!("client:{}", inkan_keys::secret::sha256_b64(id)));
    let mut budgets: Vec<(&str, u32)> = Vec::with_capacity(2);
    if let Some(a) = address {
        budgets.push((a.key(), a.limit()));
        // Counted here (or tried): the middleware must not count it again.
        a.mark_counted();
    }
    if let Some(key) = &client_key {
        budgets.push((key, state.client_rate_limit_per_minute));
    }
    if budgets.is_empty() {
        return Ok(());
    }
    let decisions = match hit_all(state.kv.as_ref(), &budgets, WINDOW_SECONDS).await {
        Ok(decisions) => decisions,
        // Both limiters fail open, the same way (docs/design.md, "Rate
        // limits when the store is down"): they bound abuse, they guard no
        // one-time value, and a grant that needs the store (a code, a
        // refresh token) still answers 503 on its own. Failing closed would
        // turn a key-value outage into a client_credentials outage, though
        // that grant needs no short-lived state at all.
        Err(e) => {
            inkan_web::rate_limit::unchecked(&e);
            return Ok(());
        }
    };
    for (i, decision) in decisions.into_iter().enumerate() {
        let Decision::Limited {
            retry_after_seconds,
        } = decision
        else {
            continue;
        };
        // The same answers as the middleware's (address) and the client's own.
        let description = if address.is_some() && i == 0 {
            tracing::info!(group = "token", "rate limit reached");
            "too many requests; retry later"
        } else {
            "this client is sending too many requests; retry later"
        };
        let mut response = OAuthResponse::new(OAuthError::new(
            inkan_oauth::error::ErrorCode::TemporarilyUnavailable,
            description,
        ));
        response.retry_after = Some(retry_after_seconds);
        response.status = Some(429);
        return Err(TokenError::OAuth(response));
    }
    Ok(())
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
                .client(id, secret)
                .await?
                .ok_or_else(failed)?;
            if project.is_public() {
                return Err(failed());
            }
            Ok(project)
        }
        ClientAuth::None { id } => {
            let project = state.directory.project(id).await?.ok_or_else(failed)?;
            if !project.is_public() {
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
