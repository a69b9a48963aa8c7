//! OAuth errors on the wire: JSON `{"error", "error_description"}` with the
//! status the spec gives each code, never cached.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_oauth::error::{ErrorCode, OAuthError};

/// An OAuth error, plus the `WWW-Authenticate` challenge where one is due.
#[derive(Debug)]
pub struct OAuthResponse {
    pub error: OAuthError,
    pub challenge: Option<&'static str>,
    /// `Retry-After` seconds (with `temporarily_unavailable`).
    pub retry_after: Option<u32>,
    /// A status other than the error code's (429 for a rate limit).
    pub status: Option<u16>,
    /// A DPoP nonce to use from now on (RFC 9449 §8.1: `DPoP-Nonce`).
    pub dpop_nonce: Option<String>,
}

impl OAuthResponse {
    pub fn new(error: OAuthError) -> Self {
        OAuthResponse {
            error,
            challenge: None,
            retry_after: None,
            status: None,
            dpop_nonce: None,
        }
    }

    /// RFC 6749 §5.2: `invalid_client` after HTTP Basic answers 401 with a Basic challenge.
    pub fn basic_challenge(mut self) -> Self {
        self.challenge = Some("Basic");
        self
    }

    /// RFC 6750 §3: errors on protected resources carry a Bearer challenge.
    pub fn bearer_challenge(mut self) -> Self {
        self.challenge = Some("Bearer");
        self
    }

    /// RFC 9449 §7.1: errors on protected resources reached with a
    /// DPoP-bound token carry a DPoP challenge naming the accepted algorithms.
    pub fn dpop_challenge(mut self) -> Self {
        self.challenge = Some("DPoP");
        self
    }

    /// With a fresh nonce in `DPoP-Nonce` (RFC 9449 §8, §9).
    pub fn with_dpop_nonce(mut self, nonce: Option<String>) -> Self {
        self.dpop_nonce = nonce;
        self
    }

    /// The backing store is down: 503, `temporarily_unavailable`, retry later.
    pub fn unavailable() -> Self {
        OAuthResponse {
            error: OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable; retry later",
            ),
            challenge: None,
            retry_after: Some(5),
            status: None,
            dpop_nonce: None,
        }
    }
}

impl From<OAuthError> for OAuthResponse {
    fn from(error: OAuthError) -> Self {
        OAuthResponse::new(error)
    }
}

impl IntoResponse for OAuthResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status.unwrap_or_else(|| self.error.http_status()))
            .unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, axum::Json(self.error.to_json())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(scheme) = self.challenge {
            let value = match scheme {
                // The description is already restricted to RFC 6749's safe characters (no quotes).
                "Bearer" => format!(
                    "Bearer realm=\"inkan\", error=\"{}\", error_description=\"{}\"",
                    self.error.code.as_str(),
                    self.error.description
                ),
                "DPoP" => format!(
                    "DPoP algs=\"{}\", error=\"{}\", error_description=\"{}\"",
                    inkan_oauth::discovery::DPOP_ALGS.join(" "),
                    self.error.code.as_str(),
                    self.error.description
                ),
                other => format!("{other} realm=\"inkan\""),
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(nonce) = self.dpop_nonce.as_deref() {
            if let Ok(v) = HeaderValue::from_str(nonce) {
                headers.insert("dpop-nonce", v);
            }
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
