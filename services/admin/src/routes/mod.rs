//! One module per admin resource, mounted under `/admin/v1`.

pub mod events;
pub mod identities;
pub mod keys;
pub mod projects;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::projections::Entry;

/// A time as the API shows it (RFC 3339).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The fields every resource view carries besides its own: its `version`
/// (for optimistic concurrency) and when it was created and last changed.
pub(crate) fn entry_fields<T>(entry: &Entry<T>) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("version".into(), json!(entry.version));
    fields.insert("created_at".into(), json!(rfc3339(entry.created_at)));
    fields.insert("updated_at".into(), json!(rfc3339(entry.updated_at)));
    fields
}

/// Path ids that are not UUIDs name nothing: 404, like an unknown UUID.
pub(crate) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

/// `?limit=` bounded to 1..=1000, default 100.
pub(crate) fn page_limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(100).clamp(1, 1000)
}

/// One page of a list as `{"items": [...], "total": N}`.
pub(crate) fn page<T>(
    all: &[T],
    offset: Option<usize>,
    limit: Option<usize>,
    view: impl Fn(&T) -> serde_json::Value,
) -> axum::Json<serde_json::Value> {
    let items: Vec<serde_json::Value> = all
        .iter()
        .skip(offset.unwrap_or(0))
        .take(page_limit(limit))
        .map(view)
        .collect();
    axum::Json(serde_json::json!({ "items": items, "total": all.len() }))
}
