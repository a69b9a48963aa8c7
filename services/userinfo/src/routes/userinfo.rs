//! `/userinfo` (OIDC Core §5.3): the bearer token comes in the
//! `Authorization` header (RFC 6750 §2.1) or, on POST, as the `access_token`
//! form field (§2.2) — never both ([`BearerToken`]). Errors are mapped in
//! [`crate::error`].

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_directory::typed::Lookup;
use inkan_flows::access;
use inkan_oauth::claims::user_claims;
use inkan_oauth::AccessClaims;
use inkan_web::bearer::{BearerRejection, BearerToken};
use inkan_web::headers::no_store;
use serde_json::Value;

use crate::error::UserinfoError;
use crate::state::UserinfoState;

pub async fn userinfo(
    State(state): State<UserinfoState>,
    token: Result<BearerToken, BearerRejection>,
) -> Result<Response, UserinfoError> {
    let BearerToken(token) = token.map_err(UserinfoError::Bearer)?;
    let keys = state.keyring.current();
    let claims = access::check(state.kv.as_ref(), &keys.verifier, &state.issuer, &token)
        .await?
        // A token signed with our key but without our claims was not minted by us.
        .and_then(|claims| AccessClaims::from_value(claims).ok())
        .ok_or(UserinfoError::InvalidToken(
            "the access token is invalid, expired or revoked",
        ))?;
    let scopes = claims
        .scopes()
        .filter(|s| s.contains("openid"))
        .ok_or(UserinfoError::InsufficientScope)?;
    // Independent reads: run them concurrently.
    let (identity, project) = tokio::join!(
        state.directory.identity(&claims.sub),
        state.directory.project(&claims.client_id)
    );
    let identity = identity?.ok_or(UserinfoError::InvalidToken("the user no longer exists"))?;
    let project = project?.ok_or(UserinfoError::InvalidToken("the client no longer exists"))?;
    let facts = identity.facts(project.custom_claims);
    let mut response = Json(Value::Object(user_claims(
        &facts,
        &scopes,
        project.compat_claims,
    )))
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}
