//! `POST /revoke` (RFC 7009): a client revokes one of its own tokens. The
//! answer is 200 whether or not the token was valid (§2.2), so it reveals
//! nothing; only client authentication can fail.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use inkan_flows::revocation::{revoke_family, revoke_jti};
use inkan_flows::{access, refresh};
use inkan_web::form::OAuthParams;
use inkan_web::headers::no_store;
use inkan_web::rate_limit::AddressBudget;

use crate::client;
use crate::error::TokenError;
use crate::grants::issue::flow_error;
use crate::state::TokenState;

pub async fn revoke(
    State(state): State<TokenState>,
    headers: HeaderMap,
    address: Option<Extension<AddressBudget>>,
    OAuthParams(params): OAuthParams,
) -> Result<Response, TokenError> {
    let project =
        client::authenticate_request(&state, &headers, address.as_ref().map(|a| &a.0), &params)
            .await?;
    let token = params.require("token")?;
    let kv = state.kv.as_ref();
    let now = state.clock.now();
    // §2.1: revoking a refresh token also invalidates the access tokens of its grant.
    if let Some(record) = refresh::peek(kv, token, now).await.map_err(flow_error)? {
        if record.client_id == project.client_id {
            revoke_family(kv, &record.family)
                .await
                .map_err(flow_error)?;
        }
    } else {
        let keys = state.keyring.current();
        if let Some(claims) = access::check(kv, &keys.verifier, &state.issuer, token)
            .await
            .map_err(flow_error)?
        {
            let mine = claims["client_id"].as_str() == Some(project.client_id.as_str());
            if let (true, Some(jti)) = (mine, claims["jti"].as_str()) {
                let left = claims["exp"].as_i64().unwrap_or(now) - now;
                revoke_jti(kv, jti, left.max(1)).await.map_err(flow_error)?;
            }
        }
    }
    let mut response = StatusCode::OK.into_response();
    no_store(response.headers_mut());
    Ok(response)
}
