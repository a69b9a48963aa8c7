//! The first admin client: created on first start with an empty store, so
//! an operator can call the admin API at all.

use inkan_domain::project::{AppType, Project, ProjectCommand, ProjectInput};
use inkan_eventstore::StoreError;
use uuid::Uuid;

use crate::commands::execute;
use crate::error::ApiError;
use crate::state::AdminState;
use inkan_domain::project::ADMIN_SCOPE;

/// Creates the admin client `client_id` with `secret` if the event log is
/// empty. Returns whether this call created it. Safe when several admin
/// replicas start at once: the client id's uniqueness lets exactly one win.
pub async fn ensure_admin_client(
    state: &AdminState,
    client_id: &str,
    secret: &str,
) -> Result<bool, ApiError> {
    if state.store.head().await? > 0 {
        return Ok(false);
    }
    let command = ProjectCommand::Register {
        client_id: client_id.to_string(),
        input: ProjectInput {
            name: Some("Inkan bootstrap admin".into()),
            app_type: Some(AppType::Service),
            scopes: Some(vec![ADMIN_SCOPE.to_string()]),
            ..Default::default()
        },
        secret_hash: Some(state.secrets.hash(secret)),
    };
    match execute::<Project>(state, "bootstrap", Uuid::now_v7(), command).await {
        Ok(_) => Ok(true),
        Err(ApiError::Conflict(_) | ApiError::Taken { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether an error means "the store is down" (startup retries those).
pub fn is_unavailable(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(_))
}
