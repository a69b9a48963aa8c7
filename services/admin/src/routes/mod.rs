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
