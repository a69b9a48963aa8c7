//! `POST /login`: the login form's credentials (ARCHITECTURE "Login and code
//! flow", step 2). A wrong password re-renders the form with one generic
//! message, whether or not the email exists; success starts a NEW session
//! (whatever session id the browser had is replaced: no session fixation)
//! and answers the pending request with a code.
//!
//! Guessing is throttled before the password is checked (NIST SP 800-63B
//! §5.2.2, OWASP Authentication Cheat Sheet "Login Throttling"): per
//! account, exponential back-off after five failures and a temporary
//! suspension at 100; per client address, a cap on failures per window
//! (see [`inkan_flows::limits`]). A throttled attempt gets exactly the page
//! a wrong password gets, so a lock does not reveal that the account exists.

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::typed::Lookup;
use inkan_domain::project::LoginMethod;
use inkan_flows::limits::{self, AccountKey, IpKey, LoginGate};
use inkan_flows::pending::{self, PendingAuthorization};
use inkan_web::client_ip::client_ip;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;

use crate::error::AuthorizeError;
use crate::pages::{email_prefill, html, LoginPage};
use crate::routes::code::{self, SecondStep};
use crate::routes::enrol;
use crate::signin::{self, Verified};
use crate::state::AuthorizeState;

/// The one message for every failed login: it does not say which part was
/// wrong, so the form cannot tell who has an account.
pub const LOGIN_FAILED: &str = "login-failed";

/// Shown when a password is posted for a passwordless project.
pub const NO_PASSWORDS: &str = "login-no-passwords";

/// Shown when a field was left empty (the browser normally prevents it).
pub const LOGIN_INCOMPLETE: &str = "login-incomplete";

/// The login form's post: `authz`, `csrf`, `email`, `password`, and
/// `passkey=available` when the page's script found that this browser can
/// create a passkey (then a user without one is offered to create it).
pub async fn login(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Verified { authz, pending, .. } = signin::verify(&state, &headers, &form).await?;
    let authz = authz.as_str();
    let project = signin::project(&state, &pending.client_id)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    if !project.allows_login(LoginMethod::Password) {
        return retry(&state, authz, &pending, "", NO_PASSWORDS).await;
    }

    let email = form.get("email").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    if email.is_empty() || password.is_empty() {
        return retry(&state, authz, &pending, email, LOGIN_INCOMPLETE).await;
    }
    let now = state.clock.now();
    let account = AccountKey::for_email(email);
    let ip = IpKey::for_ip(client_ip(
        &headers,
        &extensions,
        state.trusted_proxy_header.as_ref(),
    ));
    // NIST SP 800-63B §5.2.2: throttled attempts never reach the directory,
    // and are answered exactly like a wrong password (no enumeration).
    let gate = limits::login_allowed(&*state.kv, &account, &ip, now).await?;
    if gate != LoginGate::Open {
        tracing::info!(client_id = %pending.client_id, ?gate, "login throttled");
        inkan_telemetry::metrics::login_attempt(false);
        return retry(&state, authz, &pending, email, LOGIN_FAILED).await;
    }
    // The directory compares against a dummy hash for unknown emails, so
    // both failures take as long as a wrong password.
    let Some(identity) = state.directory.login(email, password).await? else {
        let failures = limits::record_login_failure(&*state.kv, &account, &ip, now).await?;
        tracing::info!(client_id = %pending.client_id, failures, "login failed");
        inkan_telemetry::metrics::login_attempt(false);
        return retry(&state, authz, &pending, email, LOGIN_FAILED).await;
    };
    limits::record_login_success(&*state.kv, &account).await?;
    if crate::routes::email::must_verify_first(&project, &identity) {
        return crate::routes::email::verify_first(&state, authz, identity.id).await;
    }

    let amr = vec!["pwd".to_owned()];
    let required = project.required_acr(pending.acr_values.as_deref());
    let step = code::second_step(&project, required, identity.totp);
    if step != SecondStep::None {
        let pending = pending::take(&*state.kv, authz)
            .await?
            .ok_or(AuthorizeError::LoginExpired)?;
        return code::ask(&state, pending, step, identity.id, amr).await;
    }
    let browser_can = form.get("passkey") == Some("available");
    if browser_can
        && project.allows_login(LoginMethod::Passkey)
        && enrol::offer_due(&state, &identity.id).await?
    {
        return enrol::offer(&state, &headers, authz, identity.id, amr).await;
    }
    signin::complete(&state, &headers, authz, identity.id, amr).await
}

/// The form again, with the message `message_id` (in the request's
/// language), for the same pending request.
pub async fn retry(
    state: &AuthorizeState,
    authz: &str,
    pending: &PendingAuthorization,
    email: &str,
    message_id: &str,
) -> Result<Response, AuthorizeError> {
    form(
        state,
        authz,
        pending,
        email,
        Some(&crate::i18n::t(message_id)),
    )
    .await
}

/// `POST /login/back`: the login form again, from a page of the same
/// pending request (the password-reset pages).
pub async fn back(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form_params: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(params) = form_params?;
    let Verified { authz, pending, .. } = signin::verify(&state, &headers, &params).await?;
    form(&state, &authz, &pending, "", None).await
}

/// The login form for a pending request.
async fn form(
    state: &AuthorizeState,
    authz: &str,
    pending: &PendingAuthorization,
    email: &str,
    message: Option<&str>,
) -> Result<Response, AuthorizeError> {
    let project = signin::project(state, &pending.client_id).await?;
    let project_name = signin::display_name(project.as_ref(), &pending.client_id);
    let allows = |m| project.as_ref().is_none_or(|p| p.allows_login(m));
    Ok(html(
        StatusCode::OK,
        &LoginPage {
            project_name,
            authz,
            csrf: &pending.csrf,
            email: email_prefill(Some(email)),
            error: message,
            password: allows(LoginMethod::Password),
            passkeys: state.passkeys_enabled() && allows(LoginMethod::Passkey),
            notice: None,
            forgot: state.mail,
            signup: state.mail
                && project.as_ref().is_some_and(|p| p.allow_signup)
                && allows(LoginMethod::Password),
            brand: &project
                .as_ref()
                .map(|p| p.brand.clone())
                .unwrap_or_default(),
        },
    ))
}
