//! `POST /par`: pushed authorization requests (RFC 9126). An authenticated
//! client posts the parameters of its authorization request; they are
//! validated as `/authorize` would (§2.1) and kept for 60 seconds under a
//! one-time `request_uri`, which the browser then takes to `/authorize`
//! with the `client_id` alone. Nothing of the request passes through the
//! browser, so nothing can be changed there.
//!
//! A DPoP proof sent with the push binds the code to its key (RFC 9449
//! §10.1), as the `dpop_jkt` parameter does; if both come they must agree.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_domain::project::GrantType;
use inkan_flows::par::{self, PushedRequest};
use inkan_oauth::authorize::{AuthorizationRequest, ClientPolicy};
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::redirect::matches_registered;
use inkan_web::headers::no_store;
use serde_json::json;
use url::form_urlencoded;

use crate::client::AuthenticatedClient;
use crate::error::TokenError;
use crate::state::TokenState;

pub async fn par(
    State(state): State<TokenState>,
    AuthenticatedClient {
        project,
        params,
        headers,
    }: AuthenticatedClient,
) -> Result<Response, TokenError> {
    // §2.1: "The request_uri authorization request parameter is one
    // exception, and it MUST NOT be provided."
    if params.contains("request_uri") {
        return Err(OAuthError::invalid_request("request_uri must not be pushed").into());
    }
    if !project.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not allowed to use the authorization code flow",
        )
        .into());
    }
    // §2.1: validated as at the authorization endpoint, errors answered
    // here (§2.3). The redirect URI is required and registered (OIDC Core
    // §3.1.2.1, RFC 9700 §2.1: exact match).
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    if !matches_registered(redirect_uri, &project.redirect_uris) {
        return Err(OAuthError::invalid_request("redirect_uri is not registered").into());
    }
    let mut pushed: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| !is_client_authentication(name))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    // The authenticated client is the request's client, whether or not its
    // authentication carried a client_id (§2.1).
    if !params.contains("client_id") {
        pushed.push(("client_id".into(), project.client_id.clone()));
    }
    let proof = crate::dpop::proof(&state, &headers, "/par").await?;
    if let Some(proof) = &proof {
        match params.get("dpop_jkt") {
            Some(jkt) if jkt != proof.jkt => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "dpop_jkt does not match the DPoP proof's key",
                )
                .into())
            }
            Some(_) => {}
            None => pushed.push(("dpop_jkt".into(), proof.jkt.clone())),
        }
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pushed)
        .finish();
    let request = inkan_oauth::params::Params::parse(encoded.as_bytes())?;
    let policy = ClientPolicy {
        allowed_scopes: project.scopes.clone(),
        requires_pkce: project.requires_pkce,
        drop_unknown_scopes: !project.reject_unknown_scopes,
    };
    AuthorizationRequest::parse(&request, &policy)?;
    let request_uri = par::push(
        state.kv.as_ref(),
        &PushedRequest {
            client_id: project.client_id.clone(),
            params: encoded,
        },
    )
    .await?;
    // §2.2: 201 Created with the request_uri and its lifetime.
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "request_uri": request_uri,
            "expires_in": par::TTL_SECONDS,
        })),
    )
        .into_response();
    no_store(response.headers_mut());
    if proof.is_some() {
        crate::dpop::fresh_nonce(&state, response.headers_mut());
    }
    Ok(response)
}

/// Client authentication parameters are not part of the request (§2.1).
fn is_client_authentication(name: &str) -> bool {
    matches!(
        name,
        "client_secret" | "client_assertion" | "client_assertion_type"
    )
}
