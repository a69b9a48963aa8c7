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

use super::{page_limit, parse_id};
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
    let total = all.len();
    let items: Vec<Value> = all
        .iter()
        .skip(q.offset.unwrap_or(0))
        .take(page_limit(q.limit))
        .map(view)
        .collect();
    Json(json!({ "items": items, "total": total }))
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
