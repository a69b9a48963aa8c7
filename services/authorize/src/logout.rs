//! Ending sessions from the login side (RP-initiated logout, the account
//! page) so that every application of the session is told (OpenID
//! Back-Channel Logout 1.0).
//!
//! The admin does the work: it reads each session's clients, commits one
//! back-channel notice per client (the deliverer posts the logout tokens
//! from there) and ends the sessions with their refresh-token families.
//! The sessions are ended here as well, so an answer lost on the way never
//! leaves one alive. When the admin cannot be reached the sessions still
//! end here — logging out is the safe direction, and a user must be able
//! to — but their applications are not told; that is logged as an error
//! and counted (`inkan_backchannel_logouts_total{outcome="unrecorded"}`).

use std::time::{Duration, Instant};

use inkan_directory::SignOutNotice;
use inkan_domain::identity::LogoutReason;
use inkan_flows::{logout, session};

use crate::error::AuthorizeError;
use crate::state::AuthorizeState;

/// Waits, at most [`AuthorizeState::end_session_wait`], until the
/// deliverer settled (delivered or gave up) `notices`. Polls the store
/// every 50 ms; an outage ends the wait.
pub async fn wait_for_deliveries(state: &AuthorizeState, notices: &[SignOutNotice]) {
    let pairs: Vec<(&str, &str)> = notices
        .iter()
        .map(|n| (n.sid.as_str(), n.client_id.as_str()))
        .collect();
    let deadline = Instant::now() + state.end_session_wait;
    loop {
        match logout::all_settled(&*state.kv, &pairs).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether back-channel logouts were delivered; not waiting");
                return;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            tracing::info!(
                notices = pairs.len(),
                "redirecting before every back-channel logout was delivered"
            );
            return;
        }
        tokio::time::sleep(left.min(Duration::from_millis(50))).await;
    }
}

/// Ends the identity's sessions with these handles and has their
/// applications told (`reason`: [`LogoutReason::Logout`] or
/// [`LogoutReason::SignedOut`]); answers the notices the admin recorded.
pub async fn end_sessions(
    state: &AuthorizeState,
    identity_id: &str,
    handles: &[String],
    reason: LogoutReason,
) -> Result<Vec<SignOutNotice>, AuthorizeError> {
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    let notices = match state
        .directory
        .sign_out(identity_id, handles, reason.as_str())
        .await
    {
        Ok(signed_out) => signed_out.notices,
        Err(e) => {
            tracing::error!(error = %e, sessions = handles.len(), "could not record the back-channel logout of these sessions; they end here only");
            inkan_telemetry::metrics::backchannel_logout("unrecorded");
            Vec::new()
        }
    };
    for handle in handles {
        session::end_handle(&*state.kv, identity_id, handle).await?;
    }
    Ok(notices)
}
