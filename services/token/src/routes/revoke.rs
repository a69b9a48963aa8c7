//! `POST /revoke` (RFC 7009): a client revokes one of its own tokens. The
//! answer is 200 whether or not the token was valid (§2.2), so it reveals
//! nothing; only client authentication can fail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use inkan_flows::refresh;
use inkan_flows::revocation::{revoke_family, revoke_jti};
use inkan_web::headers::no_store;

use super::active_access_token;
use crate::client::AuthenticatedClient;
use crate::error::TokenError;
use crate::state::TokenState;

pub async fn revoke(
    State(state): State<TokenState>,
    AuthenticatedClient {
        project, params, ..
    }: AuthenticatedClient,
) -> Result<Response, TokenError> {
    let token = params.require("token")?;
    let kv = state.kv.as_ref();
    let now = state.clock.now();
    // §2.1: revoking a refresh token also invalidates the access tokens of its grant.
    if let Some(record) = refresh::peek(kv, token, now).await? {
        if record.client_id == project.client_id {
            revoke_family(kv, &record.family).await?;
        }
    } else if let Some(claims) = active_access_token(&state, token).await? {
        if claims.client_id == project.client_id {
            revoke_jti(kv, &claims.jti, (claims.exp - now).max(1)).await?;
        }
    }
    let mut response = StatusCode::OK.into_response();
    no_store(response.headers_mut());
    Ok(response)
}
