//! `POST /introspect` (RFC 7662): is this token active, and what does it
//! say? A client may only introspect its own tokens; anything else reads as
//! `{"active": false}`, like an unknown token (§2.2).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_flows::refresh;
use inkan_web::headers::no_store;
use serde_json::{json, Value};

use super::active_access_token;
use crate::client::AuthenticatedClient;
use crate::error::TokenError;
use crate::state::TokenState;

pub async fn introspect(
    State(state): State<TokenState>,
    AuthenticatedClient {
        project, params, ..
    }: AuthenticatedClient,
) -> Result<Response, TokenError> {
    let token = params.require("token")?;
    // The hint only orders the lookups (§2.1); both kinds are tried.
    let refresh_first = params.get("token_type_hint") == Some("refresh_token");
    let mut answer = None;
    for kind in if refresh_first { [1, 0] } else { [0, 1] } {
        answer = if kind == 0 {
            inspect_access(&state, token).await?
        } else {
            inspect_refresh(&state, token).await?
        };
        if answer.is_some() {
            break;
        }
    }
    let body = match answer {
        Some(info) if info["client_id"] == project.client_id.as_str() => info,
        _ => json!({ "active": false }),
    };
    let mut response = Json(body).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

async fn inspect_access(state: &TokenState, token: &str) -> Result<Option<Value>, TokenError> {
    let Some(claims) = active_access_token(state, token).await? else {
        return Ok(None);
    };
    let jkt = claims.jkt().map(str::to_owned);
    let mut info = json!({
        "active": true,
        "token_type": crate::dpop::token_type(jkt.as_deref()),
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "iss": claims.iss,
        "aud": claims.aud,
        "exp": claims.exp,
        "iat": claims.iat,
        "jti": claims.jti,
    });
    // RFC 9449 §6.2: a bound token's key, for the resource server to check
    // the proof against.
    if let Some(jkt) = jkt {
        info["cnf"] = json!({ "jkt": jkt });
    }
    Ok(Some(info))
}

async fn inspect_refresh(state: &TokenState, token: &str) -> Result<Option<Value>, TokenError> {
    let now = state.clock.now();
    let Some(record) = refresh::peek(state.kv.as_ref(), token, now).await? else {
        return Ok(None);
    };
    let mut info = json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": record.scope,
        "client_id": record.client_id,
        "sub": record.identity_id,
        "iss": &*state.issuer,
        "exp": record.expires_at,
    });
    if let Some(jkt) = record.jkt {
        info["cnf"] = json!({ "jkt": jkt });
    }
    Ok(Some(info))
}
