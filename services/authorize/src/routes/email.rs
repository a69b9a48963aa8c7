//! Email verification links: `GET /email/verify?token=…` shows a button,
//! `POST /email/verify` follows the link. Opening the link changes nothing:
//! mail scanners and link previews open links, and must not verify (or use
//! up) one on the user's behalf.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use inkan_directory::{LinkPurpose, LinkRedeemed, LinkRedemption};
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;

use crate::error::AuthorizeError;
use crate::pages::{html, MessagePage, VerifyEmailPage};
use crate::routes::password::invalid_link;
use crate::state::AuthorizeState;

/// `GET /email/verify?token=…` and `GET /email/change?token=…`: the button.
pub async fn show(
    uri: axum::http::Uri,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let token = form.get("token").unwrap_or_default();
    let token = if token.len() <= 128 { token } else { "" };
    let change = uri.path() == "/email/change";
    Ok(html(
        StatusCode::OK,
        &VerifyEmailPage {
            token,
            action: if change {
                "/email/change"
            } else {
                "/email/verify"
            },
            title: &crate::i18n::t(if change {
                "verify-new-title"
            } else {
                "verify-title"
            }),
        },
    ))
}

/// `POST /email/verify`: the address is the account's.
pub async fn verify(
    State(state): State<AuthorizeState>,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    redeem(&state, form, LinkPurpose::VerifyEmail).await
}

/// `POST /email/change`: the account moves to the address the link went to.
pub async fn change(
    State(state): State<AuthorizeState>,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    redeem(&state, form, LinkPurpose::ChangeEmail).await
}

async fn redeem(
    state: &AuthorizeState,
    form: Result<OAuthParams, OAuthResponse>,
    purpose: LinkPurpose,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let redeemed = state
        .directory
        .redeem_link(LinkRedemption {
            purpose: purpose as i32,
            token: form.get("token").unwrap_or_default().to_owned(),
            new_password: String::new(),
            locale: crate::i18n::lang(),
        })
        .await?;
    let (title, message) = match (redeemed, purpose) {
        (LinkRedeemed::Done { .. }, LinkPurpose::ChangeEmail) => {
            ("change-done-title", "change-done")
        }
        (LinkRedeemed::Done { .. }, _) => ("verify-done-title", "verify-done"),
        (LinkRedeemed::AddressTaken, _) => ("change-taken-title", "change-taken"),
        (LinkRedeemed::InvalidLink | LinkRedeemed::RejectedPassword(_), _) => {
            return Ok(invalid_link())
        }
    };
    Ok(html(
        StatusCode::OK,
        &MessagePage {
            title: &crate::i18n::t(title),
            message: &crate::i18n::t(message),
            detail: None,
        },
    ))
}

/// Verification links one identity may be sent per hour from the login pages.
pub const RESENDS_PER_HOUR: u32 = 3;

/// Whether `project` holds the login of `identity` until its address is verified.
pub fn must_verify_first(
    project: &inkan_directory::typed::Project,
    identity: &inkan_directory::typed::Identity,
) -> bool {
    project.require_verified_email && !identity.email_verified
}

/// The right password, but the project needs a verified address first: no
/// session; the pending request remembers whom to mail, a link goes out
/// (within the hourly limit), and the page offers to send it again.
pub async fn verify_first(
    state: &AuthorizeState,
    authz: &str,
    identity_id: String,
) -> Result<Response, AuthorizeError> {
    let mut pending = inkan_flows::pending::take(&*state.kv, authz)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    pending.unverified = Some(identity_id.clone());
    let authz = inkan_flows::pending::put(&*state.kv, &pending).await?;
    send_link(state, &identity_id, &pending.client_id).await?;
    tracing::info!(client_id = %pending.client_id, "login held until the address is verified");
    let (project_name, brand) = crate::signin::shown(state, &pending.client_id).await?;
    Ok(html(
        StatusCode::OK,
        &crate::pages::VerifyFirstPage {
            project_name: &project_name,
            brand: &brand,
            authz: &authz,
            csrf: &pending.csrf,
        },
    ))
}

/// Mails `identity_id` a verification link unless it had its hourly share.
async fn send_link(
    state: &AuthorizeState,
    identity_id: &str,
    client_id: &str,
) -> Result<(), AuthorizeError> {
    use inkan_flows::limits::{self, Decision, RateLimit};
    let limit = RateLimit {
        limit: RESENDS_PER_HOUR,
        window_seconds: 3600,
    };
    let key = format!("verify:identity:{identity_id}");
    if limits::hit(&*state.kv, &key, limit).await? != Decision::Allowed {
        tracing::info!(client_id, "verification mail limited");
        return Ok(());
    }
    state
        .directory
        .request_link(inkan_directory::LinkRequest {
            purpose: LinkPurpose::VerifyEmail as i32,
            identity_id: identity_id.to_owned(),
            email: String::new(),
            locale: crate::i18n::lang(),
            client_id: Some(client_id.to_owned()),
        })
        .await?;
    Ok(())
}

/// `POST /email/resend`: the verification link again, for the login the
/// pending request holds.
pub async fn resend(
    State(state): State<AuthorizeState>,
    headers: axum::http::HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let crate::signin::Verified { authz, pending, .. } =
        crate::signin::verify(&state, &headers, &form).await?;
    let identity_id = pending
        .unverified
        .clone()
        .ok_or(AuthorizeError::LoginExpired)?;
    send_link(&state, &identity_id, &pending.client_id).await?;
    Ok(html(
        StatusCode::OK,
        &crate::pages::CheckInboxPage {
            authz: &authz,
            csrf: &pending.csrf,
            message: &crate::i18n::t("verify-resent"),
        },
    ))
}
