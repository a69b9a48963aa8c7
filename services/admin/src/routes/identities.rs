//! `/admin/v1/identities`: end users.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use inkan_domain::identity::{Identity, IdentityCommand, LogoutReason, Passkey, ProfileInput};
use inkan_domain::validation::check_password_for_email;
use inkan_flows::session::Ending;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{entry_fields, page, page_limit, parse_id};
use crate::auth::AdminCaller;
use crate::commands::execute;
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::projections::Entry;
use crate::sessions::{self, Which};
use crate::state::AdminState;

/// The API view of an identity (never its password hash).
pub fn view(entry: &Entry<Identity>) -> Value {
    let profile = entry.state.profile.clone().unwrap_or_default();
    let mut v = json!({
        "id": entry.state.id,
        "email": profile.email,
        "email_verified": profile.email_verified,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "claims": profile.claims,
        "has_password": entry.state.password_hash.is_some(),
        "blocked": entry.state.blocked,
        // The second factor, without its secret or recovery-code hashes.
        "totp": entry.state.totp.as_ref().map(|t| json!({
            "enrolled_at": t.enrolled_at.format(&time::format_description::well_known::Rfc3339).ok(),
            "recovery_codes_left": t.recovery_codes.len(),
        })),
        // Back-channel logout notices that ran out of attempts (the newest).
        "backchannel_logout_failures": entry.state.logout_failures.iter().map(|f| json!({
            "sid": f.sid,
            "client_id": f.client_id,
            "error": f.error,
            "attempts": f.attempts,
            "at": super::rfc3339(f.at),
        })).collect::<Vec<_>>(),
    });
    if let Some(obj) = v.as_object_mut() {
        obj.extend(entry_fields(entry));
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentity {
    email: Option<String>,
    password: Option<String>,
    email_verified: Option<bool>,
    first_name: Option<String>,
    last_name: Option<String>,
    claims: Option<Value>,
}

pub async fn create(
    State(state): State<AdminState>,
    caller: AdminCaller,
    JsonBody(body): JsonBody<CreateIdentity>,
) -> Result<impl IntoResponse, ApiError> {
    let password_hash = match body.password {
        Some(password) => {
            check_password_for_email(&password, state.password_min_length, body.email.as_deref())
                .map_err(|m| ApiError::field("password", m))?;
            Some(state.hash_password(password).await?)
        }
        None => None,
    };
    let id = Uuid::now_v7();
    let command = IdentityCommand::Register {
        input: ProfileInput {
            email: body.email,
            email_verified: body.email_verified,
            first_name: body.first_name,
            last_name: body.last_name,
            claims: body.claims,
        },
        password_hash,
    };
    execute::<Identity>(&state, &caller.client_id, id, command).await?;
    let entry = state
        .projections
        .identity(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, Json(view(&entry))))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    email: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn list(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(email) = &q.email {
        let found: Vec<_> = state
            .projections
            .identity_by_email(email)
            .await?
            .into_iter()
            .collect();
        return Ok(page(&found, q.offset, q.limit, view));
    }
    // Identities live in the read-model tables (there may be millions): the
    // page is read from there, not filtered from memory.
    let offset = q.offset.unwrap_or(0) as u64;
    let limit = page_limit(q.limit) as u64;
    let (items, total) = state.projections.identities_page(offset, limit).await?;
    let items: Vec<Value> = items.iter().map(view).collect();
    Ok(Json(json!({ "items": items, "total": total })))
}

pub async fn get(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = state
        .projections
        .identity(parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&entry)))
}

pub async fn update(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ProfileInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    execute::<Identity>(
        &state,
        &caller.client_id,
        id,
        IdentityCommand::UpdateProfile { input },
    )
    .await?;
    let entry = state
        .projections
        .identity(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&entry)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    password: String,
}

pub async fn set_password(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetPassword>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let Some(identity) = state.projections.identity(id).await? else {
        return Err(ApiError::NotFound);
    };
    let email = identity.state.profile.as_ref().map(|p| p.email.as_str());
    check_password_for_email(&body.password, state.password_min_length, email)
        .map_err(|m| ApiError::field("password", m))?;
    let password_hash = state.hash_password(body.password).await?;
    execute::<Identity>(
        &state,
        &caller.client_id,
        id,
        IdentityCommand::SetPassword { password_hash },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails the identity a link that verifies its address (24 h, once); 202
/// once the request is committed (the mailer sends it), 204 if the address
/// is verified already, 409 `mail_not_configured` without SMTP.
pub async fn send_verification_email(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let Some(identity) = state.projections.identity(id).await? else {
        return Err(ApiError::NotFound);
    };
    if identity
        .state
        .profile
        .as_ref()
        .is_some_and(|p| p.email_verified)
    {
        return Ok(StatusCode::NO_CONTENT);
    }
    crate::links::request(
        &state,
        &caller.client_id,
        inkan_domain::identity::LinkPurpose::VerifyEmail,
        crate::links::Whose::Identity(id),
        "en",
        None,
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn delete(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    end_every_session_with(&state, &caller, id, |logouts| IdentityCommand::Delete {
        logouts,
    })
    .await
}

/// Runs `command` (built with the back-channel notices of every session
/// of the identity) so that the change and the notices commit together,
/// then ends the sessions with their refresh tokens, offline ones too.
async fn end_every_session_with(
    state: &AdminState,
    caller: &AdminCaller,
    id: Uuid,
    command: impl FnOnce(Vec<inkan_domain::identity::LogoutNotice>) -> IdentityCommand,
) -> Result<StatusCode, ApiError> {
    live_identity(state, id).await?;
    let endings = sessions::gather(state, id, Which::All).await?;
    let logouts = sessions::notices(state, &endings);
    execute::<Identity>(state, &caller.client_id, id, command(logouts)).await?;
    sessions::finish(state, &endings, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/v1/identities/{id}/block`: the identity can no longer
/// sign in; its sessions and refresh tokens end (offline ones too) and the
/// apps of its sessions are told by back channel, in the block's append.
/// Blocking a blocked identity changes nothing.
pub async fn block(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    end_every_session_with(&state, &caller, id, |logouts| IdentityCommand::Block {
        logouts,
    })
    .await
}

/// `POST /admin/v1/identities/{id}/unblock`: the identity may sign in
/// again (with a new login: what the block ended stays ended).
pub async fn unblock(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    execute::<Identity>(&state, &caller.client_id, id, IdentityCommand::Unblock).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A session as the admin API shows it: its `sid` (the ID tokens' claim,
/// never the cookie or its hash), how it signed in, from where, and the
/// clients that asked to be told when it ends.
fn session_view(e: &Ending) -> Value {
    let time = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .map(super::rfc3339)
    };
    json!({
        "sid": e.sid,
        "auth_time": time(e.session.auth_time),
        "last_seen": time(e.session.last_seen),
        "amr": e.session.amr,
        "device": e.session.device,
        "address": e.session.address,
        "backchannel_clients": e.clients,
    })
}

/// `GET /admin/v1/identities/{id}/sessions`: the identity's live sessions,
/// most recently used first.
pub async fn list_sessions(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    live_identity(&state, id).await?;
    let endings = sessions::gather(&state, id, Which::All).await?;
    let items: Vec<Value> = endings.iter().map(session_view).collect();
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

/// `DELETE /admin/v1/identities/{id}/sessions/{sid}`: ends one session,
/// its refresh-token families (offline ones too) and tells its clients by
/// back channel. 404 if the identity has no such live session.
pub async fn end_session(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path((id, sid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    live_identity(&state, id).await?;
    if sid.is_empty() || sid.len() > 100 {
        return Err(ApiError::NotFound);
    }
    let ended = sessions::sign_out(
        &state,
        &caller.client_id,
        id,
        Which::Sid(&sid),
        LogoutReason::Revoked,
    )
    .await?
    .ended;
    if ended == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/v1/identities/{id}/sessions`: ends every session of the
/// identity as [`end_session`] does; answers how many ended.
pub async fn end_sessions(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    live_identity(&state, id).await?;
    let ended = sessions::sign_out(
        &state,
        &caller.client_id,
        id,
        Which::All,
        LogoutReason::Revoked,
    )
    .await?
    .ended;
    Ok(Json(json!({ "ended": ended })))
}

/// The API view of a passkey: what it is and when it was registered. The
/// stored verifier record (a public key) is not shown; nothing in it helps
/// an operator.
fn passkey_view(p: &Passkey) -> Value {
    json!({
        "credential_id": p.credential_id,
        "name": p.name,
        "backup_eligible": p.backup_eligible,
        "registered_at": p.registered_at.format(&time::format_description::well_known::Rfc3339).ok(),
    })
}

/// The identity with this id, if it exists (deleted ones do not).
async fn live_identity(state: &AdminState, id: Uuid) -> Result<Entry<Identity>, ApiError> {
    state
        .projections
        .identity(id)
        .await?
        .filter(|e| e.state.profile.is_some() && !e.state.deleted)
        .ok_or(ApiError::NotFound)
}

/// `GET /admin/v1/identities/{id}/passkeys`.
pub async fn list_passkeys(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = live_identity(&state, parse_id(&id)?).await?;
    let items: Vec<Value> = entry.state.passkeys.iter().map(passkey_view).collect();
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskey {
    name: String,
}

/// `PATCH /admin/v1/identities/{id}/passkeys/{credential_id}`: `{"name": ...}`.
pub async fn rename_passkey(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path((id, credential_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<RenamePasskey>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    execute::<Identity>(
        &state,
        &caller.client_id,
        id,
        IdentityCommand::RenamePasskey {
            credential_id: credential_id.clone(),
            name: body.name,
        },
    )
    .await?;
    let entry = live_identity(&state, id).await?;
    let passkey = entry
        .state
        .passkey(&credential_id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(passkey_view(passkey)))
}

/// `DELETE /admin/v1/identities/{id}/passkeys/{credential_id}`: the
/// authenticator can no longer sign in (its credential id is free again).
pub async fn delete_passkey(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path((id, credential_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    execute::<Identity>(
        &state,
        &caller.client_id,
        id,
        IdentityCommand::RemovePasskey { credential_id },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/v1/identities/{id}/totp`: removes the one-time-code second
/// factor (a lost device); the user enrols a new one at the next login that
/// needs it. 404 if the identity has none.
pub async fn delete_totp(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    execute::<Identity>(&state, &caller.client_id, id, IdentityCommand::RemoveTotp).await?;
    Ok(StatusCode::NO_CONTENT)
}
