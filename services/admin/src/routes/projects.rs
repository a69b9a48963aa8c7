//! `/admin/v1/projects`: OAuth clients.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use inkan_domain::project::{Project, ProjectCommand, ProjectInput};
use inkan_keys::secret::{generate_secret, generate_token};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{page, parse_id};
use crate::auth::AdminCaller;
use crate::commands::execute;
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::projections::Entry;
use crate::state::AdminState;

/// The API view of a project (never its secret hash).
pub fn view(entry: &Entry<Project>) -> Value {
    let mut v = json!({
        "id": entry.state.id,
        "client_id": entry.state.client_id,
        "version": entry.version,
        "created_at": entry.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "updated_at": entry.updated_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    if let Some(settings) = &entry.state.settings {
        if let (Some(obj), Ok(Value::Object(s))) =
            (v.as_object_mut(), serde_json::to_value(settings))
        {
            obj.extend(s);
            obj.insert("requires_pkce".into(), json!(settings.requires_pkce()));
        }
    }
    v
}

pub async fn create(
    State(state): State<AdminState>,
    caller: AdminCaller,
    JsonBody(input): JsonBody<ProjectInput>,
) -> Result<impl IntoResponse, ApiError> {
    let id = Uuid::now_v7();
    let secret = input
        .app_type
        .filter(|t| t.is_confidential())
        .map(|_| generate_secret());
    let command = ProjectCommand::Register {
        client_id: generate_token(16),
        input,
        secret_hash: secret.as_deref().map(|s| state.secrets.hash(s)),
    };
    execute::<Project>(&state, &caller.client_id, id, command).await?;
    let entry = state.projections.project(id).ok_or(ApiError::NotFound)?;
    let mut body = view(&entry);
    if let Some(secret) = secret {
        // Returned exactly once; only its keyed hash is stored.
        body["client_secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn list(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Query(q): Query<ListQuery>,
) -> Json<Value> {
    let all = state.projections.projects();
    page(&all, q.offset, q.limit, view)
}

pub async fn get(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = state
        .projections
        .project(parse_id(&id)?)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&entry)))
}

pub async fn update(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ProjectInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    execute::<Project>(
        &state,
        &caller.client_id,
        id,
        ProjectCommand::Update { input },
    )
    .await?;
    let entry = state.projections.project(id).ok_or(ApiError::NotFound)?;
    Ok(Json(view(&entry)))
}

pub async fn delete(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    execute::<Project>(&state, &caller.client_id, id, ProjectCommand::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new client secret; the old one stops working at once.
pub async fn rotate_secret(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let secret = generate_secret();
    let command = ProjectCommand::RotateSecret {
        secret_hash: state.secrets.hash(&secret),
    };
    execute::<Project>(&state, &caller.client_id, id, command).await?;
    let entry = state.projections.project(id).ok_or(ApiError::NotFound)?;
    let mut body = view(&entry);
    body["client_secret"] = json!(secret);
    Ok(Json(body))
}

/// Everything a relying party's developer needs to configure an OIDC client
/// library for this project: the issuer and endpoints, the client id, how it
/// authenticates, what it may request, and whether PKCE is required.
pub async fn client_configuration(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = state
        .projections
        .project(parse_id(&id)?)
        .ok_or(ApiError::NotFound)?;
    let settings = entry.state.settings.as_ref().ok_or(ApiError::NotFound)?;
    Ok(Json(client_configuration_of(
        &state.issuer,
        &entry.state.client_id,
        settings,
    )))
}

pub fn client_configuration_of(
    issuer: &str,
    client_id: &str,
    s: &inkan_domain::project::ProjectSettings,
) -> Value {
    use inkan_oauth::discovery::endpoint_url;
    let confidential = s.app_type.is_confidential();
    json!({
        "issuer": inkan_oauth::discovery::normalize_issuer(issuer),
        "discovery_url": endpoint_url(issuer, "/.well-known/openid-configuration"),
        "authorization_endpoint": endpoint_url(issuer, "/authorize"),
        "token_endpoint": endpoint_url(issuer, "/token"),
        "userinfo_endpoint": endpoint_url(issuer, "/userinfo"),
        "jwks_uri": endpoint_url(issuer, "/jwks"),
        "end_session_endpoint": endpoint_url(issuer, "/end_session"),
        "client_id": client_id,
        "client_type": if confidential { "confidential" } else { "public" },
        "client_secret": if confidential {
            "shown once when the project was created; rotate it with POST /admin/v1/projects/{id}/secret"
        } else {
            "none: this is a public client"
        },
        "token_endpoint_auth_method": s.token_endpoint_auth_method.as_str(),
        "response_type": if s.app_type == inkan_domain::project::AppType::Service { Value::Null } else { json!("code") },
        "grant_types": s.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": s.scopes,
        "redirect_uris": s.redirect_uris,
        "post_logout_redirect_uris": s.post_logout_redirect_uris,
        "pkce": {
            "required": s.requires_pkce(),
            "code_challenge_method": "S256",
        },
        "id_token_signed_response_alg": s.id_token_signed_response_alg,
        "access_token_lifetime_seconds": s.access_token_ttl_seconds,
        "refresh_token_lifetime_seconds": s.refresh_token_ttl_seconds,
    })
}
