//! One module per admin resource, mounted under `/admin/v1`.

pub mod events;
pub mod identities;
pub mod keys;
pub mod projects;

use uuid::Uuid;

use crate::error::ApiError;

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
