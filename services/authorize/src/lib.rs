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
//! - [`logout`]: ending sessions so that their applications are told
//!   (back-channel logout, through the admin).
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
pub mod i18n;
pub mod logout;
pub mod pages;
pub mod redirect;
pub mod routes;
pub mod signin;
pub mod state;
pub mod webauthn;

use axum::routing::{get, post};
use axum::Router;

/// The request header the authorize service writes the client's address in
/// (from [`inkan_web::client_ip::client_ip`]) for the handlers that record
/// it with a session; whatever a client sends under this name is dropped.
pub const CLIENT_ADDRESS: axum::http::HeaderName =
    axum::http::HeaderName::from_static("inkan-client-address");

async fn client_address(
    axum::extract::State(state): axum::extract::State<AuthorizeState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request.headers_mut().remove(&CLIENT_ADDRESS);
    let ip = inkan_web::client_ip::client_ip(
        request.headers(),
        request.extensions(),
        state.trusted_proxy_header.as_ref(),
    );
    if let Some(value) = ip.and_then(|ip| axum::http::HeaderValue::try_from(ip.to_string()).ok()) {
        request.headers_mut().insert(CLIENT_ADDRESS, value);
    }
    // Every page of the request, error pages included, in its language.
    let (texts, from_ui_locales) =
        i18n::negotiate(&state.catalogues, request.uri(), request.headers());
    let remember = from_ui_locales
        .then(|| i18n::cookie(texts.lang(), state.secure_cookies))
        .flatten();
    let mut response = inkan_i18n::with(texts, next.run(request)).await;
    if let Some(cookie) = remember {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    response
}

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
        .route(
            "/email/change",
            get(routes::email::show).post(routes::email::change),
        )
        .route("/email/resend", post(routes::email::resend))
        .route("/signup/start", post(routes::signup::start))
        .route("/signup", post(routes::signup::sign_up))
        .route("/account", get(routes::account::show))
        .route("/account/names", post(routes::account::names))
        .route("/account/email", post(routes::account::email))
        .route("/account/password", post(routes::account::password))
        .route("/account/sessions/end", post(routes::account::end_session))
        .route(
            "/account/sessions/end-others",
            post(routes::account::end_others),
        )
        .route("/account/apps/revoke", post(routes::account::revoke_app))
        .route(
            "/account/passkeys/remove",
            post(routes::account::remove_passkey),
        )
        .route("/account/passkeys/add", post(routes::account::add_passkey))
        .route("/account/totp/remove", post(routes::account::remove_totp))
        .route("/account/totp/add", post(routes::account::add_totp))
        .route("/account/sign-out", post(routes::account::sign_out))
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_address,
        ))
        .with_state(state)
}
