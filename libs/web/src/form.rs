//! Reading OAuth parameters from a form body or a query string, bounded in
//! size and strict about repeated parameters (RFC 6749 §3.1).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use inkan_oauth::error::OAuthError;
use inkan_oauth::params::{Params, MAX_INPUT_BYTES};

use crate::OAuthResponse;

/// Parameters from the query (GET) or the form body (POST).
pub struct OAuthParams(pub Params);

impl<S: Send + Sync> FromRequest<S> for OAuthParams {
    type Rejection = OAuthResponse;

    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthResponse> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or("").as_bytes().to_vec();
            return Params::parse(&query).map(OAuthParams).map_err(Into::into);
        }
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            OAuthResponse::from(OAuthError::invalid_request("the body could not be read"))
        })?;
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(OAuthError::invalid_request("the body is too large").into());
        }
        Params::parse(&bytes).map(OAuthParams).map_err(Into::into)
    }
}

/// Parameters from the query string only.
pub struct QueryParams(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = OAuthResponse;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, OAuthResponse> {
        let query = parts.uri.query().unwrap_or("").as_bytes().to_vec();
        Params::parse(&query).map(QueryParams).map_err(Into::into)
    }
}
