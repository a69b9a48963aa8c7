//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1),
//! and for pushed authorization requests (RFC 9126 §2.1), introspection
//! (RFC 7662 §2.1) and revocation (RFC 7009 §2.1), which authenticate the
//! same way: [`AuthenticatedClient`] is the one extractor the four
//! endpoints take.
//!
//! Methods: a client secret (Basic or body) for projects registered with
//! one, `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9) for projects
//! registered with keys, `none` for public clients. A project accepts only
//! its own kind: a key-authenticated project never accepts a secret.

use std::time::Duration;

use axum::extract::{FromRequest, Request};
use inkan_directory::typed::{ClientKeys, Lookup, Project};
use inkan_domain::project::AuthMethod;
use inkan_flows::limits::{hit_all, Decision};
use inkan_keys::assertion::{verify_client_assertion, AssertionCheck};
use inkan_oauth::client_auth::{self, ClientAuth};
use inkan_oauth::discovery::endpoint_url;
use inkan_oauth::error::OAuthError;
use inkan_oauth::params::Params;
use inkan_web::form::OAuthParams;
use inkan_web::rate_limit::{AddressBudget, WINDOW_SECONDS};
use inkan_web::OAuthResponse;

use crate::error::TokenError;
use crate::state::TokenState;

/// A request from an authenticated client, already counted against its
/// rate limits: the client's project, the request's form parameters and
/// headers (for a DPoP proof).
pub struct AuthenticatedClient {
    pub project: Project,
    pub params: Params,
    pub headers: axum::http::HeaderMap,
}

impl FromRequest<TokenState> for AuthenticatedClient {
    type Rejection = TokenError;

    async fn from_request(req: Request, state: &TokenState) -> Result<Self, TokenError> {
        let headers = req.headers().clone();
        let endpoint = req.uri().path().to_owned();
        // Handed over by the rate-limit middleware, when it runs.
        let address = req.extensions().get::<AddressBudget>().cloned();
        let OAuthParams(params) = OAuthParams::from_request(req, state).await?;
        let project =
            authenticate_request(state, &headers, address.as_ref(), &params, &endpoint).await?;
        Ok(AuthenticatedClient {
            project,
            params,
            headers,
        })
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
    endpoint: &str,
) -> Result<Project, TokenError> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let authenticated = authenticate(state, authorization, params, endpoint).await;
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

/// Authenticates the calling client at `endpoint` (the request's path).
/// Clients with a secret prove it (Basic or body, whichever they send: both
/// are registered-secret methods); clients with keys send a signed
/// assertion; public clients send only their `client_id` and must be
/// registered as `none`.
pub async fn authenticate(
    state: &TokenState,
    authorization: Option<&str>,
    params: &Params,
    endpoint: &str,
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
            if !project.token_endpoint_auth_method.uses_secret() {
                return Err(failed());
            }
            Ok(project)
        }
        ClientAuth::Assertion { id, assertion } => {
            let project = state.directory.project(id).await?.ok_or_else(failed)?;
            if project.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
                return Err(failed());
            }
            check_assertion(state, &project, assertion, endpoint).await?;
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

/// How long a client assertion may live (RFC 7523 §3 item 4 lets the server
/// bound it): its `jti` is remembered until it expires.
const ASSERTION_MAX_LIFETIME_SECONDS: i64 = 600;
/// Clock skew allowed on an assertion's `exp`, `nbf` and `iat`.
const ASSERTION_LEEWAY_SECONDS: u64 = 30;

/// Verifies a `private_key_jwt` assertion (RFC 7523 §3) against the
/// project's keys and refuses a second use of its `jti` (OIDC Core §9,
/// RFC 7523 §3 item 7), across replicas.
///
/// Audience: the issuer, the token endpoint or the endpoint the assertion
/// is presented to (RFC 7523 §3 item 3, RFC 9126 §2). Under FAPI 2.0 the
/// issuer only (FAPI 2.0 Security Profile §5.3.2.1 item 8, against the
/// audience-injection attack on assertions).
async fn check_assertion(
    state: &TokenState,
    project: &Project,
    assertion: &str,
    endpoint: &str,
) -> Result<(), TokenError> {
    let refused = |why: String| {
        tracing::info!(client_id = %project.client_id, reason = %why, "client assertion refused");
        TokenError::from(OAuthError::invalid_client(format!(
            "client authentication failed: {why}"
        )))
    };
    let issuer: &str = &state.issuer;
    let token_endpoint = endpoint_url(issuer, "/token");
    let here = endpoint_url(issuer, endpoint);
    let audiences: Vec<&str> = if project.is_fapi2() {
        vec![issuer]
    } else {
        vec![issuer, &token_endpoint, &here]
    };
    let now = state.clock.now();
    let check = AssertionCheck {
        client_id: &project.client_id,
        audiences: &audiences,
        now,
        max_lifetime_secs: ASSERTION_MAX_LIFETIME_SECONDS,
        leeway_secs: ASSERTION_LEEWAY_SECONDS,
    };
    let keys = |stale| state.client_keys.verifier(project, stale);
    let verifier = keys(false).await.map_err(|e| refused(e.to_string()))?;
    let verified = match verify_client_assertion(assertion, &verifier, &check) {
        Ok(v) => v,
        // The client may have rotated its published keys: fetch them again
        // (bounded, see client_keys) and try once more.
        Err(_) if matches!(project.client_keys, ClientKeys::Uri(_)) => {
            let verifier = keys(true).await.map_err(|e| refused(e.to_string()))?;
            verify_client_assertion(assertion, &verifier, &check)
                .map_err(|e| refused(e.to_string()))?
        }
        Err(e) => return Err(refused(e.to_string())),
    };
    let remember = (verified.exp - now).max(0) as u64 + ASSERTION_LEEWAY_SECONDS;
    let key = format!(
        "caj:{}",
        inkan_keys::secret::sha256_b64(&format!("{}:{}", project.client_id, verified.jti))
    );
    if !state
        .kv
        .put_if_absent(&key, b"1", Duration::from_secs(remember))
        .await?
    {
        return Err(refused("the client assertion was already used".into()));
    }
    Ok(())
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
