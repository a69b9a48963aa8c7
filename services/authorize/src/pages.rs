//! The server-rendered pages: the login form and one message page for
//! errors and "you are logged out". Askama escapes every value it inserts
//! (the templates are `.html`), and every page carries the security headers
//! of [`inkan_web::headers::html_security`]: no script, no framing, no
//! referrer, no caching.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_web::headers::html_security;

/// The longest `login_hint` or typed email written back into the form. An
/// address is at most 254 characters (RFC 5321 §4.5.3.1); anything longer
/// is not one, and is not echoed.
pub const MAX_EMAIL_CHARS: usize = 320;

/// The login form (`templates/login.html`).
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// The client's project name, so the user knows where they are signing in to.
    pub project_name: &'a str,
    /// The pending authorization's id.
    pub authz: &'a str,
    pub csrf: &'a str,
    /// Pre-filled email (`login_hint`, or what was typed before an error).
    pub email: &'a str,
    /// A message about the previous attempt.
    pub error: Option<&'a str>,
    /// Whether to show the email and password form (the project's `login_methods`).
    pub password: bool,
    /// Whether to offer "Sign in with a passkey" (and passkey autofill).
    pub passkeys: bool,
    /// Why the user is asked to sign in (again): a request for a stronger sign-in.
    pub notice: Option<&'a str>,
    /// Whether to offer "Forgot password?" (mail is configured).
    pub forgot: bool,
    /// Whether to offer "Create an account" (the project allows sign-up
    /// and mail is configured).
    pub signup: bool,
    /// The project's logo and colour (checked by the admin; escaped here).
    pub brand: &'a inkan_directory::typed::Brand,
}

/// Asking for a reset link (`templates/forgot_password.html`).
#[derive(Template)]
#[template(path = "forgot_password.html")]
pub struct ForgotPasswordPage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    pub authz: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
}

/// The new password, from a reset link (`templates/reset_password.html`).
#[derive(Template)]
#[template(path = "reset_password.html")]
pub struct ResetPasswordPage<'a> {
    pub token: &'a str,
    pub error: Option<&'a str>,
}

/// After a reset request: the same page whether or not the address has an
/// account (`templates/check_inbox.html`).
#[derive(Template)]
#[template(path = "check_inbox.html")]
pub struct CheckInboxPage<'a> {
    pub authz: &'a str,
    pub csrf: &'a str,
    pub message: &'a str,
}

/// The account page (`templates/account.html`).
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    /// The forms' token (bound to the session).
    pub token: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub sessions: &'a [AccountSession],
    pub apps: &'a [AccountApp],
    pub passkeys: &'a [AccountPasskey],
    /// Whether this issuer can create passkeys (a domain name).
    pub passkeys_enabled: bool,
    pub totp: bool,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// One signed-in browser on the account page.
pub struct AccountSession {
    pub handle: String,
    pub device: String,
    pub address: String,
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
}

/// One passkey on the account page.
pub struct AccountPasskey {
    pub credential_id: String,
    pub name: String,
}

/// One app holding a refresh-token family, on the account page.
pub struct AccountApp {
    pub family: String,
    pub name: String,
    pub scope: String,
    pub since: String,
}

/// Creating an account (`templates/signup.html`).
#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignUpPage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    pub authz: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub error: Option<&'a str>,
}

/// The right password, but the project needs a verified address first
/// (`templates/verify_first.html`).
#[derive(Template)]
#[template(path = "verify_first.html")]
pub struct VerifyFirstPage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    pub authz: &'a str,
    pub csrf: &'a str,
}

/// Confirming an address, from a verification link (`templates/verify_email.html`).
/// A button, not the link itself, verifies: mail scanners open links.
#[derive(Template)]
#[template(path = "verify_email.html")]
pub struct VerifyEmailPage<'a> {
    pub token: &'a str,
    /// Where the button posts: `/email/verify` or `/email/change`.
    pub action: &'a str,
    pub title: &'a str,
}

/// The offer to create a passkey after a password login (`templates/passkey_offer.html`).
#[derive(Template)]
#[template(path = "passkey_offer.html")]
pub struct PasskeyOfferPage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    /// The pending authorization, now marked as signed in.
    pub authz: &'a str,
    pub csrf: &'a str,
    /// Why the last attempt did not create a passkey.
    pub error: Option<&'a str>,
}

/// The second step of a login: a one-time code or a recovery code (`templates/code.html`).
#[derive(Template)]
#[template(path = "code.html")]
pub struct CodePage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    pub authz: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

/// Setting up a one-time code: the QR code, the key as text, the first
/// code (`templates/totp_enrol.html`).
#[derive(Template)]
#[template(path = "totp_enrol.html")]
pub struct TotpEnrolPage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    pub authz: &'a str,
    pub csrf: &'a str,
    /// The `otpauth://` URI as an SVG element, made by `inkan_otp::qr_svg`
    /// (inserted unescaped: it holds only path data Inkan generated).
    pub qr_svg: &'a str,
    /// The secret as base32, for typing in.
    pub secret: &'a str,
    pub error: Option<&'a str>,
}

/// The recovery codes, shown once after a one-time code was set up
/// (`templates/recovery_codes.html`).
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub project_name: &'a str,
    /// The project's logo and colour.
    pub brand: &'a inkan_directory::typed::Brand,
    pub authz: &'a str,
    pub csrf: &'a str,
    pub codes: &'a [String],
}

/// A page with a heading and a message (`templates/message.html`).
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    /// A technical detail (an OAuth error description), already sanitised.
    pub detail: Option<&'a str>,
}

/// `value` if it is short enough to write back into the email field, else "".
pub fn email_prefill(value: Option<&str>) -> &str {
    value
        .filter(|v| v.chars().count() <= MAX_EMAIL_CHARS)
        .unwrap_or("")
}

/// Renders `page` as an HTML response with the security headers.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    let mut response = match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again later.",
            )
                .into_response()
        }
    };
    html_security(response.headers_mut());
    response
}
