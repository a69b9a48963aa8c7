//! Signing in with a passkey, usernameless (WebAuthn Level 3 §7.2 with a
//! discoverable credential): `POST /login/passkey/options` hands the page a
//! challenge, `POST /login/passkey` checks the authenticator's signed answer
//! and signs its owner in. `GET /static/passkey.js` is the pages' script.
//!
//! The answer names its credential and user handle (the identity's id); the
//! identity's stored passkeys supply the public key. A login is refused when
//! the ceremony is unknown, expired or already finished (a replayed answer),
//! was started for another pending request or in another browser, the
//! credential is not (or no longer) registered, the signature or the user
//! verification fails, or an authenticator's signature counter did not move
//! forward ([`inkan_flows::passkey`]). Every refusal shows the same message.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inkan_flows::ceremony::{self, binding_hash, Ceremony, Purpose};
use inkan_flows::passkey;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;
use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential};

use crate::error::AuthorizeError;
use crate::routes::login::retry;
use crate::signin::{self, Verified};
use crate::state::AuthorizeState;
use crate::webauthn;

/// Shown for every refused passkey login: it does not say which check failed.
pub const PASSKEY_FAILED: &str = "login-passkey-failed";

/// The pages' script (`static/passkey.js`).
pub async fn script() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        include_str!("../../static/passkey.js"),
    )
        .into_response()
}

/// `POST /login/passkey/options` (`authz`, `csrf`): `{"ceremony", "options"}`,
/// the challenge for a discoverable-credential assertion.
pub async fn options(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Verified {
        authz,
        binding,
        pending,
    } = signin::verify(&state, &headers, &form).await?;
    let rp = state.passkey_rp()?;
    allowed_for(&state, &pending.client_id).await?;
    let (challenge, ceremony_state) = rp
        .start_discoverable_authentication()
        .map_err(|e| AuthorizeError::Internal(e.into()))?;
    let verified = Verified {
        authz,
        binding,
        pending,
    };
    let options = to_json(&challenge)?;
    start(&state, &verified, Purpose::Login, &ceremony_state, options).await
}

/// Passkey sign-in exists only for projects whose `login_methods` name it.
async fn allowed_for(state: &AuthorizeState, client_id: &str) -> Result<(), AuthorizeError> {
    let project = signin::project(state, client_id).await?;
    if project.is_some_and(|p| !p.allows_login(inkan_domain::project::LoginMethod::Passkey)) {
        return Err(AuthorizeError::PasskeysOff);
    }
    Ok(())
}

/// Stores a ceremony for the post `verified` (its state, for `purpose`)
/// and answers the page: `{"ceremony": id, "options": ...}`.
pub async fn start(
    state: &AuthorizeState,
    verified: &Verified,
    purpose: Purpose,
    ceremony_state: &impl serde::Serialize,
    options: serde_json::Value,
) -> Result<Response, AuthorizeError> {
    let id = ceremony::start(
        &*state.kv,
        &Ceremony {
            purpose,
            authz: verified.authz.clone(),
            binding: binding_hash(verified.binding.as_deref().unwrap_or_default()),
            state: to_json(ceremony_state)?,
        },
    )
    .await?;
    Ok(Json(serde_json::json!({ "ceremony": id, "options": options })).into_response())
}

/// `POST /login/passkey` (`authz`, `csrf`, `ceremony`, `credential`): the
/// authenticator's answer. Success signs its owner in and answers the
/// pending request; any failure shows the login form again.
pub async fn finish(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Verified {
        authz,
        pending,
        binding,
    } = signin::verify(&state, &headers, &form).await?;
    let rp = state.passkey_rp()?;
    allowed_for(&state, &pending.client_id).await?;
    let ceremony = ceremony::take(&*state.kv, form.get("ceremony").unwrap_or_default()).await?;
    let outcome = match ceremony {
        Some(c) if c.purpose == Purpose::Login && c.belongs_to(&authz, binding.as_deref()) => {
            verify_assertion(&state, rp, c, form.get("credential").unwrap_or_default()).await?
        }
        _ => Err("no such ceremony for this sign-in (expired, finished, or another browser's)"),
    };
    match outcome {
        Ok((identity_id, amr)) => {
            use inkan_directory::typed::Lookup;
            let project = signin::project(&state, &pending.client_id).await?;
            let identity = state.directory.identity(&identity_id).await?;
            if let (Some(project), Some(identity)) = (project, identity) {
                if crate::routes::email::must_verify_first(&project, &identity) {
                    return crate::routes::email::verify_first(&state, &authz, identity_id).await;
                }
            }
            signin::complete(&state, &headers, &authz, identity_id, amr).await
        }
        Err(reason) => {
            tracing::info!(client_id = %pending.client_id, reason, "passkey login refused");
            inkan_telemetry::metrics::login_attempt(false);
            retry(&state, &authz, &pending, "", PASSKEY_FAILED).await
        }
    }
}

/// The identity a valid assertion proves, and the login's `amr`; `Err` says
/// (for the log) why the assertion was refused.
async fn verify_assertion(
    state: &AuthorizeState,
    rp: &webauthn_rs::prelude::Webauthn,
    ceremony: Ceremony,
    credential: &str,
) -> Result<Result<(String, Vec<String>), &'static str>, AuthorizeError> {
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err("the answer is not a WebAuthn assertion"));
    };
    let Ok(ceremony_state) = serde_json::from_value::<DiscoverableAuthentication>(ceremony.state)
    else {
        return Err(AuthorizeError::Internal(
            "a stored WebAuthn ceremony is unreadable".into(),
        ));
    };
    let Ok((user, raw_id)) = rp.identify_discoverable_authentication(&answer) else {
        return Ok(Err("the assertion carries no user handle"));
    };
    let identity_id = user.to_string();
    let Some(passkeys) = state.directory.passkeys(&identity_id).await? else {
        return Ok(Err("the user handle names no identity"));
    };
    let Some(key) = webauthn::discoverable_key(&passkeys, raw_id) else {
        return Ok(Err("the credential is not registered to the identity"));
    };
    let Ok(result) = rp.finish_discoverable_authentication(&answer, ceremony_state, &[key]) else {
        return Ok(Err("the assertion does not verify"));
    };
    let credential_id = webauthn::credential_id(result.cred_id().as_ref());
    let now = state.clock.now();
    if !passkey::record_use(&*state.kv, &credential_id, result.counter(), now).await? {
        tracing::warn!(
            identity = %identity_id,
            "a passkey's signature counter went backwards: a cloned authenticator or a replayed assertion"
        );
        return Ok(Err("the signature counter did not move forward"));
    }
    Ok(Ok((identity_id, webauthn::amr(result.backup_eligible()))))
}

/// A ceremony state as stored.
pub fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, AuthorizeError> {
    serde_json::to_value(value).map_err(|e| AuthorizeError::Internal(e.into()))
}
