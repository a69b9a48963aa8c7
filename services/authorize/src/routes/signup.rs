//! Self-registration: `POST /signup/start` (the form, from the login page)
//! and `POST /signup` (create the account, mail the verification link).
//!
//! Offered only when the project allows it (`allow_signup`) and mail is
//! configured: the answer must not tell whether the address has an account
//! (OWASP Authentication Cheat Sheet, "Account creation"), and only a mail
//! can tell its owner. So every accepted sign-up answers "check your
//! inbox", after at least [`MIN_ANSWER`]; the admin mails a new address a
//! verification link and an address with an account a note with a reset
//! link. Nobody is signed in by a sign-up: the new user signs in after
//! following the link (or at once, if the project does not require a
//! verified address). Sign-ups are limited per typed address and per client
//! address; a limited one is answered alike and creates nothing.

use std::time::Duration;

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::{SignUpRequest, SignedUp};
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;
use zeroize::Zeroizing;

use crate::error::AuthorizeError;
use crate::i18n::t;
use crate::pages::{email_prefill, html, CheckInboxPage, MessagePage, SignUpPage};
use crate::signin::{self, Verified};
use crate::state::AuthorizeState;

/// The shortest time a sign-up is answered in (it hashes a password either way).
pub const MIN_ANSWER: Duration = Duration::from_millis(500);

/// Sign-ups one typed address may make per hour.
pub const PER_EMAIL_PER_HOUR: u32 = 3;
/// Sign-ups one client address may make per hour.
pub const PER_IP_PER_HOUR: u32 = 10;

/// The longest name written back into the form.
const MAX_NAME_CHARS: usize = 100;

const ACCEPTED: &str = "signup-sent";

fn not_offered() -> Response {
    html(
        StatusCode::NOT_FOUND,
        &MessagePage {
            title: &t("mail-off-title"),
            message: &t("signup-not-offered"),
            detail: None,
        },
    )
}

/// Whether the pending request's project offers sign-up on this server.
async fn offered(
    state: &AuthorizeState,
    client_id: &str,
) -> Result<Option<(String, inkan_directory::typed::Brand)>, AuthorizeError> {
    let project = signin::project(state, client_id).await?;
    Ok(project
        .filter(|p| {
            state.mail
                && p.allow_signup
                && p.allows_login(inkan_domain::project::LoginMethod::Password)
        })
        .map(|p| (p.display_name().to_owned(), p.brand)))
}

fn prefill(value: Option<&str>) -> &str {
    value
        .filter(|v| v.chars().count() <= MAX_NAME_CHARS)
        .unwrap_or("")
}

/// `POST /signup/start`: the form.
pub async fn start(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Verified { authz, pending, .. } = signin::verify(&state, &headers, &form).await?;
    let Some((project_name, brand)) = offered(&state, &pending.client_id).await? else {
        return Ok(not_offered());
    };
    Ok(html(
        StatusCode::OK,
        &SignUpPage {
            project_name: &project_name,
            brand: &brand,
            authz: &authz,
            csrf: &pending.csrf,
            email: "",
            first_name: "",
            last_name: "",
            error: None,
        },
    ))
}

/// `POST /signup`: `email`, `password`, `confirm`, optional `first_name`
/// and `last_name`, with the pending request's `authz` and `csrf`.
pub async fn sign_up(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let started = tokio::time::Instant::now();
    let OAuthParams(form) = form?;
    let Verified { authz, pending, .. } = signin::verify(&state, &headers, &form).await?;
    let Some((project_name, brand)) = offered(&state, &pending.client_id).await? else {
        return Ok(not_offered());
    };
    let email = form.get("email").unwrap_or_default().trim();
    let first_name = form
        .get("first_name")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let last_name = form
        .get("last_name")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let password = Zeroizing::new(form.get("password").unwrap_or_default().to_owned());
    let again = |error: &str| {
        html(
            StatusCode::BAD_REQUEST,
            &SignUpPage {
                project_name: &project_name,
                brand: &brand,
                authz: &authz,
                csrf: &pending.csrf,
                email: email_prefill(Some(email)),
                first_name: prefill(first_name),
                last_name: prefill(last_name),
                error: Some(error),
            },
        )
    };
    if email.is_empty() || password.is_empty() {
        return Ok(again(&t("signup-incomplete")));
    }
    if form.get("confirm") != Some(password.as_str()) {
        return Ok(again(&t("reset-mismatch")));
    }
    if email.chars().count() > crate::pages::MAX_EMAIL_CHARS {
        return Ok(again(&t("signup-not-email")));
    }
    let budget = signin::MailBudget {
        kind: "signup",
        per_email: PER_EMAIL_PER_HOUR,
        per_ip: PER_IP_PER_HOUR,
    };
    if signin::within_mail_budget(&state, &headers, &extensions, email, budget).await? {
        let outcome = state
            .directory
            .sign_up(SignUpRequest {
                client_id: pending.client_id.clone(),
                email: email.to_owned(),
                password: password.to_string(),
                first_name: first_name.map(str::to_owned),
                last_name: last_name.map(str::to_owned),
                locale: crate::i18n::lang(),
            })
            .await?;
        match outcome {
            SignedUp::Accepted => {
                tracing::info!(client_id = %pending.client_id, "sign-up accepted");
            }
            SignedUp::Invalid { field, problem } => {
                let message = match field.as_str() {
                    "password" => crate::i18n::t1("reset-rejected", "problem", &problem),
                    "email" => t("signup-not-email"),
                    "first_name" => format!("The first name {problem}."),
                    "last_name" => format!("The last name {problem}."),
                    _ => "Check what you entered.".to_owned(),
                };
                return Ok(again(&message));
            }
            SignedUp::NotAllowed | SignedUp::MailOff => return Ok(not_offered()),
        }
    } else {
        tracing::info!(client_id = %pending.client_id, "sign-up limited");
    }
    tokio::time::sleep_until(started + MIN_ANSWER).await;
    Ok(html(
        StatusCode::OK,
        &CheckInboxPage {
            authz: &authz,
            csrf: &pending.csrf,
            message: &t(ACCEPTED),
        },
    ))
}
