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

use inkan_directory::typed::Lookup;
use inkan_flows::{logout, session};

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

/// The session's `sid` and the clients its notices go to (those whose
/// project has a back-channel URI now), read before it ends; for
/// [`wait_for_deliveries`].
pub async fn owed(
    state: &AuthorizeState,
    identity_id: &str,
    handle: &str,
) -> Result<Option<(String, Vec<String>)>, AuthorizeError> {
    let Some(ending) = session::ending(&*state.kv, identity_id, handle).await? else {
        return Ok(None);
    };
    let mut clients = Vec::new();
    for client in ending.clients {
        if state
            .directory
            .project(&client)
            .await?
            .is_some_and(|p| p.backchannel_logout_uri.is_some())
        {
            clients.push(client);
        }
    }
    Ok(Some((ending.sid, clients)))
}

/// Waits, at most [`AuthorizeState::end_session_wait`], until the
/// deliverer settled (delivered or gave up) the notices of session `sid`
/// to `clients`. Polls the store every 50 ms; an outage ends the wait.
pub async fn wait_for_deliveries(state: &AuthorizeState, sid: &str, clients: &[String]) {
    let deadline = Instant::now() + state.end_session_wait;
    loop {
        match logout::all_settled(&*state.kv, sid, clients).await {
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
                clients = clients.len(),
                "redirecting before every back-channel logout was delivered"
            );
            return;
        }
        tokio::time::sleep(left.min(Duration::from_millis(50))).await;
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
