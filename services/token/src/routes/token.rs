//! `POST /token` (RFC 6749 §3.2): authenticate the client, parse the grant,
//! run it, answer JSON that is never cached.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_oauth::token_request::TokenRequest;
use inkan_web::form::OAuthParams;
use inkan_web::headers::no_store;

use crate::client;
use crate::error::TokenError;
use crate::grants;
use crate::state::TokenState;

pub async fn token(
    State(state): State<TokenState>,
    headers: HeaderMap,
    OAuthParams(params): OAuthParams,
) -> Result<Response, TokenError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let project = client::authenticate(&state, authorization, &params).await?;
    let body = match TokenRequest::parse(&params)? {
        TokenRequest::ClientCredentials { scope } => {
            grants::client_credentials::grant(&state, &project, scope).await?
        }
        other => {
            return Err(inkan_oauth::error::OAuthError::new(
                inkan_oauth::error::ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type {} is not enabled on this server yet",
                    other.grant_type()
                ),
            )
            .into())
        }
    };
    let mut response = Json(body).into_response();
    no_store(response.headers_mut());
    Ok(response)
}
