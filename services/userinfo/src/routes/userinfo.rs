//! `/userinfo`: the bearer token comes in the `Authorization` header
//! (RFC 6750 §2.1) or, on POST, as the `access_token` form field (§2.2) —
//! never both. Errors are RFC 6750 §3 challenges.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_flows::access;
use inkan_oauth::claims::{user_claims, IdentityFacts};
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::params::Params;
use inkan_oauth::scope::Scopes;
use inkan_web::headers::no_store;
use inkan_web::OAuthResponse;
use serde_json::{Map, Value};

use crate::state::UserinfoState;

fn invalid_token(description: &str) -> Response {
    OAuthResponse::new(OAuthError::new(ErrorCode::InvalidToken, description))
        .bearer_challenge()
        .into_response()
}

fn unavailable() -> Response {
    OAuthResponse::unavailable().into_response()
}

pub async fn userinfo(
    State(state): State<UserinfoState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let form_token = if method == Method::POST && !body.is_empty() {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            None
        } else {
            match Params::parse(&body) {
                Ok(p) => p.get("access_token").map(str::to_owned),
                Err(e) => return OAuthResponse::new(e).bearer_challenge().into_response(),
            }
        }
    } else {
        None
    };
    let token = match (header_token, form_token.as_deref()) {
        (Some(_), Some(_)) => {
            return OAuthResponse::new(OAuthError::invalid_request(
                "send the access token one way only",
            ))
            .bearer_challenge()
            .into_response()
        }
        (Some(t), None) | (None, Some(t)) => t.to_owned(),
        (None, None) => {
            // RFC 6750 §3.1: no credentials → a bare challenge, no error code.
            let mut response = invalid_token("an access token is required");
            if let Ok(v) = header::HeaderValue::from_str("Bearer realm=\"inkan\"") {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return response;
        }
    };

    let keys = state.keyring.current();
    let claims = match access::check(state.kv.as_ref(), &keys.verifier, &state.issuer, &token).await
    {
        Ok(Some(claims)) => claims,
        Ok(None) => return invalid_token("the access token is invalid, expired or revoked"),
        Err(_) => return unavailable(),
    };
    let scopes = claims["scope"].as_str().and_then(|s| Scopes::parse(s).ok());
    let Some(scopes) = scopes.filter(|s| s.contains("openid")) else {
        return OAuthResponse::new(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the openid scope",
        ))
        .bearer_challenge()
        .into_response();
    };
    let sub = claims["sub"].as_str().unwrap_or_default();
    let client_id = claims["client_id"].as_str().unwrap_or_default();
    // Independent reads: run them concurrently.
    let (identity, project) = tokio::join!(
        state.directory.get_identity(sub),
        state.directory.resolve_project(client_id)
    );
    let identity = match identity {
        Ok(Some(identity)) => identity,
        Ok(None) => return invalid_token("the user no longer exists"),
        Err(_) => return unavailable(),
    };
    let (compat, release_custom) = match project {
        Ok(Some(p)) => (p.compat_claims, p.custom_claims),
        Ok(None) => return invalid_token("the client no longer exists"),
        Err(_) => return unavailable(),
    };
    let custom: Map<String, Value> =
        serde_json::from_str(&identity.claims_json).unwrap_or_default();
    let facts = IdentityFacts {
        id: &identity.id,
        email: &identity.email,
        email_verified: identity.email_verified,
        first_name: identity.first_name.as_deref(),
        last_name: identity.last_name.as_deref(),
        custom: release_custom.then_some(&custom),
    };
    let mut response = Json(Value::Object(user_claims(&facts, &scopes, compat))).into_response();
    no_store(response.headers_mut());
    response
}
