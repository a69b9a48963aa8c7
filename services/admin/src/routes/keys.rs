//! `/admin/v1/keys`: signing keys (public parts only) and rotation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use inkan_domain::signing_key::SigningKey;
use inkan_keys::signing::Algorithm;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::rfc3339;
use crate::auth::AdminCaller;
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::keys;
use crate::projections::Entry;
use crate::state::AdminState;

fn view(entry: &Entry<SigningKey>) -> Value {
    let fmt = |t: Option<OffsetDateTime>| t.map(rfc3339);
    let key = entry.state.key.as_ref();
    json!({
        "id": entry.state.id,
        "kid": key.map(|k| k.kid.clone()),
        "alg": key.map(|k| k.alg.clone()),
        "status": entry.state.status,
        "created_at": fmt(Some(entry.created_at)),
        "activate_after": fmt(key.map(|k| k.activate_after)),
        "activated_at": fmt(entry.state.activated_at),
        "publish_until": fmt(entry.state.publish_until),
        "public_jwk": key.map(|k| k.public_jwk.clone()),
    })
}

pub async fn list(State(state): State<AdminState>, _caller: AdminCaller) -> Json<Value> {
    let items: Vec<Value> = state.projections.signing_keys().iter().map(view).collect();
    Json(json!({ "items": items }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    alg: Option<String>,
}

/// Publishes a new key per algorithm (or the one named); it signs once the
/// activation delay has passed, and its predecessor is retired then.
pub async fn rotate(
    State(state): State<AdminState>,
    caller: AdminCaller,
    JsonBody(body): JsonBody<RotateRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let alg = match body.alg.as_deref() {
        None => None,
        Some(a) => Some(
            a.parse::<Algorithm>()
                .map_err(|_| ApiError::field("alg", "must be RS256, ES256 or EdDSA"))?,
        ),
    };
    let ids = keys::rotate(&state, &caller.client_id, alg).await?;
    let all = state.projections.signing_keys();
    let items: Vec<Value> = all
        .iter()
        .filter(|k| ids.contains(&k.state.id))
        .map(view)
        .collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "items": items }))))
}
