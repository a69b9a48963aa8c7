//! `POST /token` (RFC 6749 §3.2): authenticate the client, parse the grant,
//! run it, answer JSON that is never cached.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_oauth::token_request::TokenRequest;
use inkan_web::headers::no_store;

use crate::client::AuthenticatedClient;
use crate::error::TokenError;
use crate::grants;
use crate::state::TokenState;

pub async fn token(
    State(state): State<TokenState>,
    AuthenticatedClient { project, params }: AuthenticatedClient,
) -> Result<Response, TokenError> {
    let request = TokenRequest::parse(&params)?;
    let grant_type = request.grant_type();
    let body = match request {
        TokenRequest::ClientCredentials { scope } => {
            grants::client_credentials::grant(&state, &project, scope).await?
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            grants::authorization_code::grant(
                &state,
                &project,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await?
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => grants::refresh_token::grant(&state, &project, &refresh_token, scope).await?,
    };
    inkan_telemetry::metrics::tokens_issued(grant_type);
    let mut response = Json(body).into_response();
    no_store(response.headers_mut());
    Ok(response)
}
