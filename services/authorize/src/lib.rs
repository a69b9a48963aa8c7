//! The authorize service: the browser-facing half of Inkan's OpenID Connect
//! provider. It runs the authorization endpoint (OIDC Core §3.1.2, RFC 6749
//! §4.1), the login form, and RP-initiated logout; it hands out
//! authorization codes that the token service redeems. It holds no durable
//! state: projects and identities come from the directory, pending
//! requests, sessions and codes live in the key-value store.
//!
//! The flow (ARCHITECTURE "Login and code flow"): `/authorize` validates
//! the client and its redirect URI (errors shown, never redirected), then
//! the request (errors redirected with `state` and `iss`). A live session
//! answers at once with a code (SSO); otherwise the request is stored and
//! the login form shown. `POST /login` checks the form's CSRF token and the
//! credentials, starts a new session and answers with a code.
//!
//! # Layout
//! - [`router`]: the HTTP routes; `routes/`: one file per endpoint
//!   ([`routes::authorize`], [`routes::login`], [`routes::end_session`]).
//! - [`state`]: [`AuthorizeState`], what the handlers share.
//! - [`signin`]: what every way of signing in shares (the post's CSRF
//!   check, the new session, answering the request).
//! - [`webauthn`]: the passkey relying party and its conversions
//!   ([`routes::passkey`]: usernameless sign-in; [`routes::enrol`]: the
//!   offer to create a passkey after a password login).
//! - [`grant`]: issuing a code for an approved request.
//! - [`redirect`]: authorization responses (`state`, `iss`) and `303 See Other`.
//! - [`cookie`]: the session and login-binding cookies, read defensively.
//! - [`csrf`]: login-form tokens bound to the pending request and the browser.
//! - [`pages`]: the server-rendered HTML (askama templates in `templates/`).
//! - [`error`]: [`AuthorizeError`], mapped to error pages or redirects in one place.
#![forbid(unsafe_code)]

pub mod cookie;
pub mod csrf;
pub mod error;
pub mod grant;
pub mod pages;
pub mod redirect;
pub mod routes;
pub mod signin;
pub mod state;
pub mod webauthn;

use axum::routing::{get, post};
use axum::Router;

pub use error::AuthorizeError;
pub use state::AuthorizeState;

/// The service's routes: `/authorize` (GET and POST, OIDC Core §3.1.2.1),
/// `/login` (POST, the login form), the passkey steps (`/login/passkey`,
/// `/passkeys`, `/login/continue`, their `options`, and the pages' script)
/// the mailed-link pages (`/password/forgot`, `/password/reset`,
/// `/email/verify`) and `/end_session` (GET and POST, RP-Initiated Logout 1.0 §2).
pub fn router(state: AuthorizeState) -> Router {
    Router::new()
        .route(
            "/authorize",
            get(routes::authorize::authorize).post(routes::authorize::authorize),
        )
        .route("/login", post(routes::login::login))
        .route("/login/back", post(routes::login::back))
        .route("/password/forgot/start", post(routes::password::start))
        .route("/password/forgot", post(routes::password::forgot))
        .route(
            "/password/reset",
            get(routes::password::show).post(routes::password::reset),
        )
        .route(
            "/email/verify",
            get(routes::email::show).post(routes::email::verify),
        )
        .route("/email/resend", post(routes::email::resend))
        .route("/signup/start", post(routes::signup::start))
        .route("/signup", post(routes::signup::sign_up))
        .route("/login/passkey/options", post(routes::passkey::options))
        .route("/login/passkey", post(routes::passkey::finish))
        .route("/login/continue", post(routes::enrol::decline))
        .route("/login/code", post(routes::code::code))
        .route("/login/totp", post(routes::code::enrol))
        .route("/passkeys/options", post(routes::enrol::options))
        .route("/passkeys", post(routes::enrol::register))
        .route("/static/passkey.js", get(routes::passkey::script))
        .route(
            "/end_session",
            get(routes::end_session::end_session).post(routes::end_session::end_session),
        )
        .with_state(state)
}
