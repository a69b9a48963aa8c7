//! `/userinfo` (OIDC Core §5.3): the bearer token comes in the
//! `Authorization` header (RFC 6750 §2.1) or, on POST, as the `access_token`
//! form field (§2.2) — never both ([`BearerToken`]). Errors are mapped in
//! [`crate::error`].

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_directory::typed::Lookup;
use inkan_flows::access;
use inkan_oauth::claims::user_claims;
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::AccessClaims;
use inkan_web::bearer::{BearerRejection, BearerToken};
use inkan_web::dpop::DpopRejection;
use inkan_web::headers::no_store;
use inkan_web::OAuthResponse;
use serde_json::Value;

use crate::error::UserinfoError;
use crate::state::UserinfoState;

/// RFC 9449 §7.1: a DPoP-bound token (`cnf.jkt`) is accepted only with the
/// `DPoP` scheme and a proof by its key over this request and this token
/// (`ath`); the `DPoP` scheme is accepted only for a bound token.
async fn check_binding(
    state: &UserinfoState,
    method: &Method,
    headers: &HeaderMap,
    token: &str,
    claims: &AccessClaims,
) -> Result<(), UserinfoError> {
    let refuse = |code: ErrorCode, why: &str| {
        UserinfoError::Dpop(
            OAuthResponse::new(OAuthError::new(code, why))
                .with_dpop_nonce(state.dpop.nonce(state.clock.now())),
        )
    };
    let dpop_scheme = inkan_web::bearer::uses_dpop_scheme(headers);
    let Some(bound) = claims.jkt() else {
        if dpop_scheme {
            return Err(refuse(
                ErrorCode::InvalidToken,
                "the access token is not DPoP-bound: send it as a Bearer token",
            ));
        }
        return Ok(());
    };
    if !dpop_scheme {
        return Err(refuse(
            ErrorCode::InvalidToken,
            "the access token is DPoP-bound: send it with the DPoP scheme and a proof",
        ));
    }
    let proof = inkan_web::dpop::proof(state, headers, method.as_str(), "/userinfo", Some(token))
        .await
        .map_err(|rejection| match rejection {
            DpopRejection::Refused(response) => UserinfoError::Dpop(response),
            DpopRejection::Unavailable(e) => UserinfoError::Flow(e.into()),
        })?
        .ok_or_else(|| refuse(ErrorCode::InvalidDpopProof, "a DPoP proof is required"))?;
    if proof.jkt != bound {
        return Err(refuse(
            ErrorCode::InvalidToken,
            "the DPoP proof is not by the key the access token is bound to",
        ));
    }
    Ok(())
}

pub async fn userinfo(
    State(state): State<UserinfoState>,
    method: Method,
    headers: HeaderMap,
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
    check_binding(&state, &method, &headers, &token, &claims).await?;
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
