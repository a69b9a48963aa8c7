//! `/admin/v1/events`: the audit log, read page by page from the event store.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::page_limit;
use crate::auth::AdminCaller;
use crate::error::ApiError;
use crate::state::AdminState;

/// Whether a payload field holds credential material: credential hashes
/// (`secret_hash`, `password_hash`) and private keys, sealed or not
/// (`sealed_private_key`). Matched by shape as well as by name, so a field a
/// later event revision adds (`*_hash`, `sealed_*`, `*private_key*`) is
/// redacted without anyone remembering this list: no key material, sealed
/// or not, leaves through the API.
fn is_credential_field(name: &str) -> bool {
    name.ends_with("_hash") || name.starts_with("sealed_") || name.contains("private_key")
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    after: Option<i64>,
    limit: Option<usize>,
}

/// Events after position `after` (default 0), oldest first; `next_after`
/// is the position to pass for the next page.
pub async fn list(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = q.after.unwrap_or(0).max(0);
    let events = state.store.read_all(after, page_limit(q.limit)).await?;
    let next_after = events.last().map(|e| e.position).unwrap_or(after);
    let items: Vec<Value> = events
        .into_iter()
        .map(|mut e| {
            redact(&mut e.payload);
            json!(e)
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_after": next_after })))
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_credential_field(key) && !v.is_null() {
                    *v = json!("[redacted]");
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}
