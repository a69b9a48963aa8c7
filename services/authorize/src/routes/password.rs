//! Forgotten passwords: `POST /password/forgot/start` (the form, from the
//! login page), `POST /password/forgot` (mail a link), `GET` and
//! `POST /password/reset` (the link's page, and the new password).
//!
//! The request's answer says the same whatever the address (OWASP
//! Forgot Password Cheat Sheet, "Return a consistent message for both
//! existent and non-existent accounts") and takes at least
//! [`MIN_ANSWER`], so its timing does not tell either: the only work that
//! differs, the append of the link's event, is far shorter. Requests are
//! limited per address typed and per client address; a limited request is
//! answered alike and mails nothing.
//!
//! The reset itself needs no CSRF token: the link's token is the secret,
//! and it signs nobody in (the user signs in afterwards, everywhere anew:
//! the reset ended every session and refresh token).

use std::time::Duration;

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::{LinkPurpose, LinkRedeemed, LinkRedemption, LinkRequest, LinkRequested};
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;
use zeroize::Zeroizing;

use crate::error::AuthorizeError;
use crate::i18n::t;
use crate::pages::{
    email_prefill, html, CheckInboxPage, ForgotPasswordPage, MessagePage, ResetPasswordPage,
};
use crate::signin::{self, Verified};
use crate::state::AuthorizeState;

/// The shortest time a reset request is answered in.
pub const MIN_ANSWER: Duration = Duration::from_millis(300);

/// Reset requests one typed address may make per hour.
pub const PER_EMAIL_PER_HOUR: u32 = 3;
/// Reset requests one client address may make per hour.
pub const PER_IP_PER_HOUR: u32 = 20;

fn mail_off() -> Response {
    html(
        StatusCode::NOT_FOUND,
        &MessagePage {
            title: &t("mail-off-title"),
            message: &t("mail-off"),
            detail: None,
        },
    )
}

/// `POST /password/forgot/start`: the form asking for the address.
pub async fn start(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Verified { authz, pending, .. } = signin::verify(&state, &headers, &form).await?;
    if !state.mail {
        return Ok(mail_off());
    }
    let (project_name, brand) = signin::shown(&state, &pending.client_id).await?;
    Ok(html(
        StatusCode::OK,
        &ForgotPasswordPage {
            project_name: &project_name,
            brand: &brand,
            authz: &authz,
            csrf: &pending.csrf,
            email: email_prefill(form.get("email")),
        },
    ))
}

/// `POST /password/forgot`: mails a reset link if the address has an
/// account, and answers the same either way.
pub async fn forgot(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let started = tokio::time::Instant::now();
    let OAuthParams(form) = form?;
    let Verified { authz, pending, .. } = signin::verify(&state, &headers, &form).await?;
    if !state.mail {
        return Ok(mail_off());
    }
    let email = form.get("email").unwrap_or_default().trim();
    if !email.is_empty() && email.chars().count() <= crate::pages::MAX_EMAIL_CHARS {
        let budget = signin::MailBudget {
            kind: "reset",
            per_email: PER_EMAIL_PER_HOUR,
            per_ip: PER_IP_PER_HOUR,
        };
        if signin::within_mail_budget(&state, &headers, &extensions, email, budget).await? {
            let requested = state
                .directory
                .request_link(LinkRequest {
                    purpose: LinkPurpose::ResetPassword as i32,
                    identity_id: String::new(),
                    email: email.to_owned(),
                    locale: crate::i18n::lang(),
                    client_id: Some(pending.client_id.clone()),
                })
                .await?;
            if requested == LinkRequested::MailOff {
                return Ok(mail_off());
            }
        } else {
            tracing::info!(client_id = %pending.client_id, "password reset request limited");
        }
    }
    tokio::time::sleep_until(started + MIN_ANSWER).await;
    Ok(html(
        StatusCode::OK,
        &CheckInboxPage {
            authz: &authz,
            csrf: &pending.csrf,
            message: &t("forgot-sent"),
        },
    ))
}

/// `GET /password/reset?token=…`: the form for the new password. Opening
/// the link changes nothing (mail scanners open links).
pub async fn show(form: Result<OAuthParams, OAuthResponse>) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let token = form.get("token").unwrap_or_default();
    Ok(reset_page(StatusCode::OK, token, None))
}

fn reset_page(status: StatusCode, token: &str, error: Option<&str>) -> Response {
    // A token is ~80 characters; anything much longer is not one and is not echoed.
    let token = if token.len() <= 128 { token } else { "" };
    html(status, &ResetPasswordPage { token, error })
}

/// `POST /password/reset`: the new password, twice, and the link's token.
pub async fn reset(
    State(state): State<AuthorizeState>,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let token = form.get("token").unwrap_or_default();
    let password = Zeroizing::new(form.get("password").unwrap_or_default().to_owned());
    if password.is_empty() {
        return Ok(reset_page(
            StatusCode::BAD_REQUEST,
            token,
            Some(&t("reset-empty")),
        ));
    }
    if form.get("confirm") != Some(password.as_str()) {
        return Ok(reset_page(
            StatusCode::BAD_REQUEST,
            token,
            Some(&t("reset-mismatch")),
        ));
    }
    let redeemed = state
        .directory
        .redeem_link(LinkRedemption {
            purpose: LinkPurpose::ResetPassword as i32,
            token: token.to_owned(),
            new_password: password.to_string(),
            locale: crate::i18n::lang(),
        })
        .await?;
    Ok(match redeemed {
        LinkRedeemed::Done { .. } => {
            tracing::info!("password reset through a mailed link");
            html(
                StatusCode::OK,
                &MessagePage {
                    title: &t("reset-done-title"),
                    message: &t("reset-done"),
                    detail: None,
                },
            )
        }
        LinkRedeemed::RejectedPassword(problem) => reset_page(
            StatusCode::BAD_REQUEST,
            token,
            Some(&crate::i18n::t1("reset-rejected", "problem", &problem)),
        ),
        LinkRedeemed::InvalidLink | LinkRedeemed::AddressTaken => invalid_link(),
    })
}

/// The page for a link that does not work (any more).
pub fn invalid_link() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        &MessagePage {
            title: &t("link-invalid-title"),
            message: &t("link-invalid"),
            detail: None,
        },
    )
}
