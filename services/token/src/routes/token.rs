//! `POST /token` (RFC 6749 §3.2): authenticate the client, parse the grant,
//! check a DPoP proof if one came (RFC 9449 §5), run the grant, answer
//! JSON that is never cached.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::token_request::TokenRequest;
use inkan_web::headers::no_store;

use crate::client::AuthenticatedClient;
use crate::error::TokenError;
use crate::grants;
use crate::state::TokenState;

pub async fn token(
    State(state): State<TokenState>,
    AuthenticatedClient {
        project,
        params,
        headers,
    }: AuthenticatedClient,
) -> Result<Response, TokenError> {
    let request = TokenRequest::parse(&params)?;
    let proof = crate::dpop::proof(&state, &headers, "/token").await?;
    // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens
    // gets no token without a proof.
    if proof.is_none() && project.dpop_bound_access_tokens {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "this client must send a DPoP proof with its token requests",
        )
        .into());
    }
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let grant_type = request.grant_type();
    let body = match request {
        TokenRequest::ClientCredentials { scope } => {
            grants::client_credentials::grant(&state, &project, scope, jkt).await?
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            grants::authorization_code::grant(
                &state,
                &project,
                grants::authorization_code::Presented {
                    code: &code,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_deref(),
                    jkt,
                },
            )
            .await?
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => grants::refresh_token::grant(&state, &project, &refresh_token, scope, jkt).await?,
    };
    inkan_telemetry::metrics::tokens_issued(grant_type);
    let mut response = Json(body).into_response();
    no_store(response.headers_mut());
    if proof.is_some() {
        crate::dpop::fresh_nonce(&state, response.headers_mut());
    }
    Ok(response)
}
