//! Bearer tokens on protected resources (RFC 6750): read the one way a
//! request sends its access token, for the userinfo endpoint and the admin API.
//!
//! - [`token_in`]: the token of an `Authorization: Bearer` header value.
//!   The scheme is case-insensitive (RFC 9110 §11.1: "auth-scheme is
//!   case-insensitive"), as the old code's `Bearer `/`bearer ` pair was not.
//! - [`BearerToken`]: an extractor that takes the token from the header
//!   (RFC 6750 §2.1) or, on a form-encoded POST, from the `access_token` body
//!   field (§2.2), and refuses a request that uses both (§2: "Clients MUST
//!   NOT use more than one method to transmit the token in each request").
//!   Its rejections are RFC 6750 §3 challenges.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::params::{Params, MAX_INPUT_BYTES};

use crate::OAuthResponse;

/// The token of an `Authorization` header value if its scheme is `Bearer`
/// (any case), trimmed; `None` for another scheme (Basic, say) or no token.
pub fn token_in(authorization: &str) -> Option<&str> {
    // RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ].
    let (scheme, rest) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

/// The token of an `Authorization` header value if its scheme is `DPoP`
/// (RFC 9449 §7.1; any case), trimmed.
pub fn dpop_token_in(authorization: &str) -> Option<&str> {
    let (scheme, rest) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("dpop") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

/// The access token of a request's `Authorization` header, if it has one:
/// `Bearer` or `DPoP` (see [`uses_dpop_scheme`] for which).
pub fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| token_in(v).or_else(|| dpop_token_in(v)))
}

/// Whether the request presents its access token with the `DPoP` scheme
/// (RFC 9449 §7.1), which a DPoP-bound token needs.
pub fn uses_dpop_scheme(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(dpop_token_in)
        .is_some()
}

/// The access token a request presents (RFC 6750 §2.1 or §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerToken(pub String);

/// Why a request carries no usable bearer token.
#[derive(Debug)]
pub enum BearerRejection {
    /// No token at all: a bare challenge, no error code (RFC 6750 §3.1).
    Missing,
    /// The token sent two ways, or an unreadable form body: `invalid_request` (§3.1).
    Invalid(OAuthError),
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        match self {
            BearerRejection::Missing => {
                let mut response = OAuthResponse::new(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "an access token is required",
                ))
                .bearer_challenge()
                .into_response();
                // RFC 6750 §3.1: "the resource server SHOULD NOT include an
                // error code or other error information" when no credentials came.
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"inkan\""),
                );
                response
            }
            BearerRejection::Invalid(e) => OAuthResponse::new(e).bearer_challenge().into_response(),
        }
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl<S: Send + Sync> FromRequest<S> for BearerToken {
    type Rejection = BearerRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, BearerRejection> {
        let header_token = from_headers(req.headers()).map(str::to_owned);
        // RFC 6750 §2.2: the body parameter only on a form-encoded request
        // with a method that has a body (POST here).
        let form_token = if req.method() == Method::POST && is_form(req.headers()) {
            let body = Bytes::from_request(req, state).await.map_err(|_| {
                BearerRejection::Invalid(OAuthError::invalid_request("the body could not be read"))
            })?;
            if body.len() > MAX_INPUT_BYTES {
                return Err(BearerRejection::Invalid(OAuthError::invalid_request(
                    "the body is too large",
                )));
            }
            Params::parse(&body)
                .map_err(BearerRejection::Invalid)?
                .get("access_token")
                .map(str::to_owned)
        } else {
            None
        };
        match (header_token, form_token) {
            (Some(_), Some(_)) => Err(BearerRejection::Invalid(OAuthError::invalid_request(
                "send the access token one way only",
            ))),
            (Some(token), None) | (None, Some(token)) => Ok(BearerToken(token)),
            (None, None) => Err(BearerRejection::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        for header in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc "] {
            assert_eq!(token_in(header), Some("abc"), "{header}");
        }
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_no_bearer_token() {
        for header in [
            "Basic YWI6Yw==",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "",
            "Token abc",
        ] {
            assert_eq!(token_in(header), None, "{header:?}");
        }
    }

    async fn extract(req: Request) -> Result<BearerToken, BearerRejection> {
        BearerToken::from_request(req, &()).await
    }

    fn form_post() -> axum::http::request::Builder {
        Request::builder()
            .method(Method::POST)
            .uri("/userinfo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    }

    #[tokio::test]
    async fn the_token_comes_from_the_header_or_the_form_body() {
        let req = Request::builder()
            .uri("/userinfo")
            .header(header::AUTHORIZATION, "BEARER t1")
            .body(Body::empty())
            .unwrap();
        assert_eq!(extract(req).await.unwrap(), BearerToken("t1".into()));

        let req = form_post().body(Body::from("access_token=t2")).unwrap();
        assert_eq!(extract(req).await.unwrap(), BearerToken("t2".into()));
    }

    #[tokio::test]
    async fn a_token_sent_two_ways_is_an_invalid_request() {
        let req = form_post()
            .header(header::AUTHORIZATION, "Bearer t1")
            .body(Body::from("access_token=t2"))
            .unwrap();
        let rejection = extract(req).await.unwrap_err();
        assert!(
            matches!(&rejection, BearerRejection::Invalid(e) if e.code == ErrorCode::InvalidRequest)
        );
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
    }

    #[tokio::test]
    async fn no_token_gets_a_bare_challenge() {
        // A form body on GET, or a body that is not a form, is not read (§2.2).
        let get = Request::builder()
            .method(Method::GET)
            .uri("/userinfo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("access_token=t2"))
            .unwrap();
        let json = Request::builder()
            .method(Method::POST)
            .uri("/userinfo")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"access_token\":\"t2\"}"))
            .unwrap();
        for req in [get, json] {
            let response = extract(req).await.unwrap_err().into_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.headers()[header::WWW_AUTHENTICATE],
                "Bearer realm=\"inkan\""
            );
        }
    }

    #[tokio::test]
    async fn a_malformed_form_body_is_an_invalid_request_not_a_panic() {
        let req = form_post()
            .body(Body::from("access_token=a&access_token=b"))
            .unwrap();
        let rejection = extract(req).await.unwrap_err();
        assert!(matches!(rejection, BearerRejection::Invalid(_)));
        let huge = "x".repeat(MAX_INPUT_BYTES + 1);
        let req = form_post().body(Body::from(huge)).unwrap();
        assert!(matches!(
            extract(req).await.unwrap_err(),
            BearerRejection::Invalid(_)
        ));
    }
}
