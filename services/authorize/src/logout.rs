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

use inkan_flows::session;

use crate::error::AuthorizeError;
use crate::state::AuthorizeState;

/// Why sessions end here (the admin's `SignOut` reasons).
#[derive(Debug, Clone, Copy)]
pub enum Reason {
    /// RP-Initiated Logout (`/end_session`).
    Logout,
    /// The user's account page.
    SignedOut,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Logout => "logout",
            Reason::SignedOut => "signed_out",
        }
    }
}

/// Ends the identity's sessions with these handles and has their
/// applications told.
pub async fn end_sessions(
    state: &AuthorizeState,
    identity_id: &str,
    handles: &[String],
    reason: Reason,
) -> Result<(), AuthorizeError> {
    if handles.is_empty() {
        return Ok(());
    }
    if let Err(e) = state
        .directory
        .sign_out(identity_id, handles, reason.as_str())
        .await
    {
        tracing::error!(error = %e, sessions = handles.len(), "could not record the back-channel logout of these sessions; they end here only");
        inkan_telemetry::metrics::backchannel_logout("unrecorded");
    }
    for handle in handles {
        session::end_handle(&*state.kv, identity_id, handle).await?;
    }
    Ok(())
}
