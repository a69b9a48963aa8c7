//! The authorize service's errors, and the one place they become responses.
//!
//! Two kinds of answer (RFC 6749 §4.1.2.1):
//! - before the client and its redirect URI are validated, an error is shown
//!   to the user on an HTML page and NEVER redirected (an open redirector
//!   otherwise);
//! - afterwards, it is sent to the redirect URI as `error`,
//!   `error_description`, `state` and `iss` with `303 See Other`.
//!
//! Internal details (a backend's message) are logged once here and never
//! shown. Nothing logged here carries a code, password, session id, CSRF
//! token or `id_token_hint`.

use std::sync::Arc;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_directory::DirectoryError;
use inkan_flows::FlowError;
use inkan_kv::KvError;
use inkan_oauth::error::{ErrorCode, OAuthError};

use crate::i18n::t;
use crate::pages::{html, MessagePage};
use crate::redirect::{see_other, ReplyTo};

/// What went wrong inside, kept as the error it was (never flattened to a string).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Seconds a user (or client) should wait before retrying after an outage.
pub const RETRY_AFTER_SECONDS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The parameters cannot be read (repeated, too large, not UTF-8) or
    /// `client_id` is malformed: shown, not redirected.
    #[error("invalid request: {0}")]
    InvalidRequest(OAuthError),
    /// No project has this `client_id`.
    #[error("unknown client_id")]
    UnknownClient,
    /// OIDC Core §3.1.2.1 makes `redirect_uri` REQUIRED.
    #[error("redirect_uri is missing")]
    MissingRedirectUri,
    /// The redirect URI is not one of the project's (RFC 6749 §3.1.2.3).
    #[error("redirect_uri is not registered for the client")]
    UnregisteredRedirectUri,
    /// An error for the client, sent to its validated redirect URI.
    #[error("{}", .0.error)]
    Redirect(Box<ErrorRedirect>),
    /// The login form's pending request is unknown, expired or used.
    #[error("the login request expired or is unknown")]
    LoginExpired,
    /// The login form's CSRF token does not match (or the browser binding is missing).
    #[error("the login form failed the CSRF check")]
    CsrfMismatch,
    /// A passkey endpoint was called, but this issuer has no passkeys (its
    /// host is not a domain name WebAuthn accepts).
    #[error("passkeys are not available on this issuer")]
    PasskeysOff,
    /// An RP-initiated logout request that must not be acted on.
    #[error("invalid logout request: {0}")]
    InvalidLogout(&'static str),
    /// The directory or the key-value store is down: 503 with `Retry-After`.
    #[error("backend unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// A bug, or a record this version cannot read: 500.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// An error response to a validated redirect URI.
#[derive(Debug)]
pub struct ErrorRedirect {
    pub to: ReplyTo,
    pub error: OAuthError,
    pub issuer: Arc<str>,
    /// What went wrong inside (for `temporarily_unavailable`), logged, never sent.
    pub cause: Option<Cause>,
}

impl AuthorizeError {
    /// `error` for the client, to its validated redirect URI.
    pub fn redirect(issuer: &Arc<str>, to: &ReplyTo, error: OAuthError) -> Self {
        AuthorizeError::Redirect(Box::new(ErrorRedirect {
            to: to.clone(),
            error,
            issuer: issuer.clone(),
            cause: None,
        }))
    }

    /// A backend failure after the redirect URI is trusted: the client gets
    /// `temporarily_unavailable` (RFC 6749 §4.1.2.1), or `server_error` when
    /// retrying cannot help.
    pub fn redirect_failure(issuer: &Arc<str>, to: &ReplyTo, cause: AuthorizeError) -> Self {
        let (code, description, cause) = match cause {
            AuthorizeError::Unavailable(c) => (
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable; retry later",
                c,
            ),
            AuthorizeError::Internal(c) => (ErrorCode::ServerError, "internal error", c),
            other => (ErrorCode::ServerError, "internal error", other.into()),
        };
        AuthorizeError::Redirect(Box::new(ErrorRedirect {
            to: to.clone(),
            error: OAuthError::new(code, description),
            issuer: issuer.clone(),
            cause: Some(cause),
        }))
    }
}

/// A form or query that cannot be read (repeated, too large, not UTF-8):
/// shown, never redirected (the client and redirect URI are not trusted yet).
impl From<inkan_web::OAuthResponse> for AuthorizeError {
    fn from(r: inkan_web::OAuthResponse) -> Self {
        AuthorizeError::InvalidRequest(r.error)
    }
}

impl From<DirectoryError> for AuthorizeError {
    fn from(e: DirectoryError) -> Self {
        if e.is_outage() {
            AuthorizeError::Unavailable(e.into())
        } else {
            AuthorizeError::Internal(e.into())
        }
    }
}

impl From<KvError> for AuthorizeError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::Unavailable(_) => AuthorizeError::Unavailable(e.into()),
            KvError::Invalid(_) => AuthorizeError::Internal(e.into()),
        }
    }
}

impl From<FlowError> for AuthorizeError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Store(e) => e.into(),
            corrupt @ FlowError::Corrupt(_) => AuthorizeError::Internal(corrupt.into()),
        }
    }
}

/// A message page of the messages `title`, `message` and `detail` (ids).
fn page(status: StatusCode, title: &str, message: &str, detail: Option<&str>) -> Response {
    let detail = detail.map(t);
    page_with_detail(status, title, message, detail.as_deref())
}

/// A message page whose `detail` is already text (an OAuth error's
/// description, which is protocol text, not a page's).
fn page_with_detail(
    status: StatusCode,
    title: &str,
    message: &str,
    detail: Option<&str>,
) -> Response {
    html(
        status,
        &MessagePage {
            title: &t(title),
            message: &t(message),
            detail,
        },
    )
}

impl IntoResponse for AuthorizeError {
    /// Pages in the request's language (`crate::i18n`); the arguments of
    /// [`page`] are message ids, except an OAuth error's own description.
    fn into_response(self) -> Response {
        let bad = StatusCode::BAD_REQUEST;
        let unusable = "error-unusable";
        match self {
            AuthorizeError::InvalidRequest(e) => {
                tracing::info!(error = %e, "refused a request that cannot be redirected");
                page_with_detail(bad, "error-invalid-title", unusable, Some(&e.description))
            }
            AuthorizeError::UnknownClient => {
                tracing::info!("authorization request for an unknown client_id");
                page(
                    bad,
                    "error-unknown-client-title",
                    unusable,
                    Some("error-unknown-client"),
                )
            }
            AuthorizeError::MissingRedirectUri => page(
                bad,
                "error-invalid-title",
                unusable,
                Some("error-missing-redirect"),
            ),
            AuthorizeError::UnregisteredRedirectUri => {
                tracing::info!("authorization request with an unregistered redirect_uri");
                page(
                    bad,
                    "error-invalid-title",
                    unusable,
                    Some("error-unregistered-redirect"),
                )
            }
            AuthorizeError::Redirect(r) => {
                if let Some(cause) = &r.cause {
                    tracing::warn!(error = %cause, code = %r.error.code, "authorization request failed");
                }
                let location = r.to.uri(&r.issuer, &r.error.redirect_params());
                see_other(&location).unwrap_or_else(IntoResponse::into_response)
            }
            AuthorizeError::LoginExpired => page(bad, "error-expired-title", "error-expired", None),
            AuthorizeError::CsrfMismatch => {
                tracing::warn!("login form post failed the CSRF check");
                page(
                    StatusCode::FORBIDDEN,
                    "error-csrf-title",
                    "error-csrf",
                    None,
                )
            }
            AuthorizeError::PasskeysOff => page(
                StatusCode::NOT_FOUND,
                "error-passkeys-off-title",
                "error-passkeys-off",
                None,
            ),
            AuthorizeError::InvalidLogout(reason) => {
                tracing::info!(reason, "refused a logout request");
                page_with_detail(bad, "error-logout-title", "error-logout", Some(reason))
            }
            AuthorizeError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "request failed: backend unavailable");
                let mut response = page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error-unavailable-title",
                    "error-unavailable",
                    None,
                );
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
                response
            }
            AuthorizeError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal-title",
                    "error-internal",
                    None,
                )
            }
        }
    }
}
