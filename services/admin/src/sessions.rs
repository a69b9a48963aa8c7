//! Ending IdP sessions from the admin side, and the back-channel logout
//! notices they owe (OpenID Back-Channel Logout 1.0).
//!
//! Sessions live in the key-value store; the notices are events on the
//! identity, so the deliverer (a durable bus consumer) finds them even
//! after a crash. The order makes that safe: read the sessions and the
//! clients each issued to, append the notices (with whatever caused the
//! logout — a deletion, a password reset — in the same append), and only
//! then end the sessions and their refresh-token families. An append that
//! fails leaves the sessions as they were, so the caller can try again
//! and nothing is ended without its notices.

use inkan_domain::identity::{Identity, IdentityCommand, LogoutNotice, LogoutReason};
use inkan_flows::refresh;
use inkan_flows::session::{self, Ending};
use uuid::Uuid;

use crate::commands::execute_adding;
use crate::error::ApiError;
use crate::state::AdminState;

/// Which of an identity's sessions to end.
pub enum Which<'a> {
    All,
    /// By handle (the hash of the session cookie).
    Handles(&'a [String]),
    /// By the `sid` its ID tokens carried (the admin API's name for a session).
    Sid(&'a str),
}

/// The identity's live sessions that `which` names, with their clients.
pub async fn gather(
    state: &AdminState,
    identity: Uuid,
    which: Which<'_>,
) -> Result<Vec<Ending>, ApiError> {
    let kv = &*state.kv;
    let id = identity.to_string();
    Ok(match which {
        Which::All => session::endings(kv, &id, |_| true).await?,
        Which::Sid(sid) => session::endings(kv, &id, |s| s == sid).await?,
        Which::Handles(handles) => {
            let mut out = Vec::new();
            for handle in handles.iter().take(MAX_HANDLES) {
                if let Some(ending) = session::ending(kv, &id, handle).await? {
                    out.push(ending);
                }
            }
            out
        }
    })
}

/// The most sessions one request names by handle.
const MAX_HANDLES: usize = 100;

/// The notices `endings` owe: one per session and client whose project
/// has a back-channel logout URI now (a project deleted or that dropped
/// its URI since is not told).
pub fn notices(state: &AdminState, endings: &[Ending]) -> Vec<LogoutNotice> {
    endings
        .iter()
        .flat_map(|e| e.clients.iter().map(move |c| (e, c)))
        .filter(|(_, client)| {
            state
                .projections
                .project_by_client_id(client)
                .is_some_and(|p| {
                    !p.state.deleted
                        && p.state
                            .settings
                            .as_ref()
                            .is_some_and(|s| s.backchannel_logout_uri.is_some())
                })
        })
        .map(|(e, client)| LogoutNotice {
            sid: e.sid.clone(),
            client_id: client.clone(),
        })
        .collect()
}

/// Ends sessions whose notices are committed: their records, and the
/// refresh-token families of their logins (those granted `offline_access`
/// too when `offline_too`).
pub async fn finish(
    state: &AdminState,
    endings: &[Ending],
    offline_too: bool,
) -> Result<(), ApiError> {
    for ending in endings {
        refresh::revoke_session_families(
            &*state.kv,
            &ending.session.identity_id,
            &ending.handle,
            offline_too,
        )
        .await?;
        session::finish(&*state.kv, ending).await?;
    }
    Ok(())
}

/// What [`sign_out`] did.
pub struct SignedOut {
    pub ended: usize,
    /// The notices recorded (none for a deleted identity).
    pub notices: Vec<LogoutNotice>,
}

/// Ends the sessions `which` names and records their notices. An admin's
/// revocation ends offline grants too; a user's logout leaves them (OIDC
/// Core §11).
pub async fn sign_out(
    state: &AdminState,
    actor: &str,
    identity: Uuid,
    which: Which<'_>,
    reason: LogoutReason,
) -> Result<SignedOut, ApiError> {
    let endings = gather(state, identity, which).await?;
    let logouts = notices(state, &endings);
    let mut recorded = Vec::new();
    if !logouts.is_empty() {
        let command = || IdentityCommand::SignOut {
            logouts: logouts.clone(),
            reason,
        };
        match execute_adding::<Identity>(state, actor, identity, command).await {
            Ok(_) => recorded = logouts,
            // A deleted identity's deletion already told every client.
            Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    finish(state, &endings, reason == LogoutReason::Revoked).await?;
    tracing::info!(
        identity = %identity,
        sessions = endings.len(),
        reason = reason.as_str(),
        "sessions ended"
    );
    Ok(SignedOut {
        ended: endings.len(),
        notices: recorded,
    })
}

/// Where the back-channel deliverer records a notice that ran out of
/// attempts: `identity.backchannel_logout_failed.v1` on the identity, so
/// the admin API shows it (and it outlives every process).
pub struct FailureLog(pub AdminState);

#[async_trait::async_trait]
impl inkan_backchannel::FailureLog for FailureLog {
    async fn record(
        &self,
        identity: Uuid,
        failure: inkan_domain::identity::LogoutFailure,
    ) -> Result<(), String> {
        let command = || IdentityCommand::RecordLogoutFailure {
            sid: failure.sid.clone(),
            client_id: failure.client_id.clone(),
            error: failure.error.clone(),
            attempts: failure.attempts,
            at: failure.at,
        };
        execute_adding::<Identity>(&self.0, "backchannel-logout", identity, command)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
