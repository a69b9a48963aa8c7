//! Passkey enrolment after a password login: the offer page, `POST
//! /passkeys/options` (creation options for the signed-in user), `POST
//! /passkeys` (the authenticator's new credential, verified and stored
//! through the admin service), and `POST /login/continue` ("Not now").
//!
//! The offer is made to a browser that reported it can create a passkey,
//! for a user who has none and did not decline one in the last
//! [`DECLINE_SECONDS`]. Its pending request stays open, marked signed in by
//! that user; whichever step answers it (a created passkey, "Not now")
//! checks the browser's session is still that user's.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::typed::Lookup;
use inkan_directory::{NewPasskey, PasskeyRegistration};
use inkan_flows::ceremony::{self, Purpose};
use inkan_flows::pending;
use inkan_flows::session::Session;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;
use webauthn_rs::prelude::{PasskeyRegistration as RegistrationState, RegisterPublicKeyCredential};

use crate::error::AuthorizeError;
use crate::pages::{html, PasskeyOfferPage};
use crate::routes::passkey::{start, to_json};
use crate::signin::{self, Verified};
use crate::state::AuthorizeState;
use crate::webauthn;

/// After "Not now", no offer for this long (30 days).
pub const DECLINE_SECONDS: i64 = 30 * 24 * 3600;

/// Shown when the authenticator's answer could not be stored.
pub const NOT_CREATED: &str = "offer-not-created";

/// Shown when the authenticator already holds a passkey registered here.
pub const ALREADY_REGISTERED: &str =
    "This passkey is already registered. You can sign in with it next time.";

fn declined_key(identity_id: &str) -> String {
    format!("pkoffer-declined:{identity_id}")
}

/// Whether to offer `identity_id` a passkey now.
pub async fn offer_due(state: &AuthorizeState, identity_id: &str) -> Result<bool, AuthorizeError> {
    if !state.passkeys_enabled() {
        return Ok(false);
    }
    if state.kv.get(&declined_key(identity_id)).await?.is_some() {
        return Ok(false);
    }
    let passkeys = state.directory.passkeys(identity_id).await?;
    Ok(passkeys.is_some_and(|p| p.is_empty()))
}

/// Signs `identity_id` in (session and cookie) and shows the offer instead
/// of answering the request; the request is kept, marked signed in.
pub async fn offer(
    state: &AuthorizeState,
    headers: &HeaderMap,
    authz: &str,
    identity_id: String,
    amr: Vec<String>,
) -> Result<Response, AuthorizeError> {
    let held = signin::hold(state, headers, authz, identity_id, amr, "the passkey offer").await?;
    let mut response = offer_page(state, &held.authz, &held.pending, None).await?;
    response.headers_mut().append(SET_COOKIE, held.cookie);
    Ok(response)
}

/// The offer page for a pending request already marked signed in.
pub async fn offer_page(
    state: &AuthorizeState,
    authz: &str,
    pending: &pending::PendingAuthorization,
    error: Option<&str>,
) -> Result<Response, AuthorizeError> {
    let (project_name, brand) = signin::shown(state, &pending.client_id).await?;
    let project_name = project_name.as_str();
    Ok(html(
        StatusCode::OK,
        &PasskeyOfferPage {
            project_name,
            brand: &brand,
            authz,
            csrf: &pending.csrf,
            error,
        },
    ))
}

/// A post of the offer page: its request must be signed in by the browser's session's user.
async fn signed_in(
    state: &AuthorizeState,
    headers: &HeaderMap,
    form: &inkan_oauth::params::Params,
) -> Result<(Verified, Session), AuthorizeError> {
    let verified = signin::verify(state, headers, form).await?;
    let (_, session) = signin::signed_in_session(state, headers).await?;
    if verified.pending.signed_in.as_deref() != Some(session.identity_id.as_str()) {
        return Err(AuthorizeError::LoginExpired);
    }
    Ok((verified, session))
}

/// `POST /passkeys/options` (`authz`, `csrf`): `{"ceremony", "options"}`,
/// creation options for a discoverable, user-verified credential of the
/// signed-in user, excluding the passkeys they already have.
pub async fn options(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let (verified, session) = signed_in(&state, &headers, &form).await?;
    let rp = state.passkey_rp()?;
    let identity = state
        .directory
        .identity(&session.identity_id)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    let user = uuid::Uuid::parse_str(&identity.id)
        .map_err(|_| AuthorizeError::Internal("an identity id is not a UUID".into()))?;
    let existing = state
        .directory
        .passkeys(&identity.id)
        .await?
        .unwrap_or_default()
        .iter()
        .filter_map(webauthn::passkey)
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let display = identity
        .first_name
        .as_deref()
        .unwrap_or(&identity.email)
        .to_owned();
    let (challenge, registration) = rp
        .start_passkey_registration(user, &identity.email, &display, Some(existing))
        .map_err(|e| AuthorizeError::Internal(e.into()))?;
    let options = webauthn::require_discoverable(&challenge)
        .map_err(|e| AuthorizeError::Internal(e.into()))?;
    let purpose = Purpose::Register {
        identity_id: identity.id,
    };
    start(&state, &verified, purpose, &registration, options).await
}

/// `POST /passkeys` (`authz`, `csrf`, `ceremony`, `credential`): stores the
/// new passkey and answers the pending request; a failure shows the offer
/// again with a message.
pub async fn register(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let (verified, session) = signed_in(&state, &headers, &form).await?;
    let rp = state.passkey_rp()?;
    let ceremony = ceremony::take(&*state.kv, form.get("ceremony").unwrap_or_default()).await?;
    let expected = Purpose::Register {
        identity_id: session.identity_id.clone(),
    };
    let registered = match ceremony {
        Some(c)
            if c.purpose == expected
                && c.belongs_to(&verified.authz, verified.binding.as_deref()) =>
        {
            let state_json = c.state;
            let registration: RegistrationState =
                serde_json::from_value(state_json).map_err(|_| {
                    AuthorizeError::Internal("a stored WebAuthn ceremony is unreadable".into())
                })?;
            serde_json::from_str::<RegisterPublicKeyCredential>(
                form.get("credential").unwrap_or_default(),
            )
            .ok()
            .and_then(|answer| rp.finish_passkey_registration(&answer, &registration).ok())
        }
        _ => None,
    };
    let Some(passkey) = registered else {
        tracing::info!(client_id = %verified.pending.client_id, "passkey registration refused");
        return offer_page(
            &state,
            &verified.authz,
            &verified.pending,
            Some(&crate::i18n::t(NOT_CREATED)),
        )
        .await;
    };
    let outcome = state
        .directory
        .register_passkey(NewPasskey {
            identity_id: session.identity_id.clone(),
            credential_id: webauthn::credential_id(passkey.cred_id().as_ref()),
            name: "Passkey".into(),
            credential_json: to_json(&passkey)?.to_string(),
            backup_eligible: webauthn::backup_eligible(&passkey),
        })
        .await?;
    match outcome {
        PasskeyRegistration::Registered(_) => {
            tracing::info!(client_id = %verified.pending.client_id, "passkey registered");
            signin::resume(&state, &headers, &verified.authz).await
        }
        PasskeyRegistration::Taken => {
            offer_page(
                &state,
                &verified.authz,
                &verified.pending,
                Some(ALREADY_REGISTERED),
            )
            .await
        }
        PasskeyRegistration::NoIdentity => Err(AuthorizeError::LoginExpired),
        PasskeyRegistration::Refused(reason) => {
            tracing::info!(client_id = %verified.pending.client_id, reason, "passkey refused by the admin");
            offer_page(
                &state,
                &verified.authz,
                &verified.pending,
                Some(&crate::i18n::t(NOT_CREATED)),
            )
            .await
        }
    }
}

/// `POST /login/continue` (`authz`, `csrf`, `skip=passkey`): "Not now" —
/// no offer for [`DECLINE_SECONDS`], and the request is answered.
pub async fn decline(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let (verified, session) = signed_in(&state, &headers, &form).await?;
    if form.get("skip") == Some("passkey") {
        state
            .kv
            .put(
                &declined_key(&session.identity_id),
                b"1",
                std::time::Duration::from_secs(DECLINE_SECONDS as u64),
            )
            .await?;
    }
    signin::resume(&state, &headers, &verified.authz).await
}
