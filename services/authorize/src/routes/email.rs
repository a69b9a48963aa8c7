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

/// `GET /email/verify?token=…`
pub async fn show(form: Result<OAuthParams, OAuthResponse>) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let token = form.get("token").unwrap_or_default();
    let token = if token.len() <= 128 { token } else { "" };
    Ok(html(StatusCode::OK, &VerifyEmailPage { token }))
}

/// `POST /email/verify`
pub async fn verify(
    State(state): State<AuthorizeState>,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let redeemed = state
        .directory
        .redeem_link(LinkRedemption {
            purpose: LinkPurpose::VerifyEmail as i32,
            token: form.get("token").unwrap_or_default().to_owned(),
            new_password: String::new(),
            locale: String::new(),
        })
        .await?;
    Ok(match redeemed {
        LinkRedeemed::Done { .. } => html(
            StatusCode::OK,
            &MessagePage {
                title: "Email address confirmed",
                message: "Thank you: your email address is confirmed. You can close this page.",
                detail: None,
            },
        ),
        LinkRedeemed::InvalidLink | LinkRedeemed::RejectedPassword(_) => invalid_link(),
    })
}
