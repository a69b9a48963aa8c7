//! Issuing an authorization code for an approved request and building the
//! success response (RFC 6749 §4.1.2, RFC 9207 §2), whether the user just
//! logged in or already had a session.

use inkan_directory::typed::Project;
use inkan_flows::code::{self, AuthorizationCode};
use inkan_flows::pending::PendingAuthorization;
use inkan_flows::session::{self, Session};
use inkan_oauth::authorize::AuthorizationRequest;

use crate::error::AuthorizeError;
use crate::redirect::ReplyTo;
use crate::state::AuthorizeState;

/// A validated authorization request, ready for a code once someone is logged in.
#[derive(Debug, Clone)]
pub struct Approved {
    pub client_id: String,
    pub reply: ReplyTo,
    /// Granted scopes, space-separated.
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// When the request arrived (`rat`).
    pub requested_at: i64,
    /// The client has a back-channel logout URI: the session remembers it.
    pub backchannel: bool,
    /// The DPoP key the code is bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

impl Approved {
    /// From a request parsed just now for `project`, answered at `reply`.
    pub fn from_request(
        request: &AuthorizationRequest,
        project: &Project,
        reply: ReplyTo,
        now: i64,
    ) -> Approved {
        Approved {
            backchannel: project.backchannel_logout_uri.is_some(),
            client_id: request.target.client_id.clone(),
            reply,
            scope: request.scopes.to_string(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            requested_at: now,
            dpop_jkt: request.dpop_jkt.clone(),
        }
    }

    /// From a pending request, after the user logged in.
    pub fn from_pending(pending: PendingAuthorization) -> Approved {
        Approved {
            client_id: pending.client_id,
            reply: ReplyTo {
                redirect_uri: pending.redirect_uri,
                state: pending.state,
            },
            scope: pending.scope,
            nonce: pending.nonce,
            code_challenge: pending.code_challenge,
            requested_at: pending.requested_at,
            backchannel: pending.backchannel,
            dpop_jkt: pending.dpop_jkt,
        }
    }
}

/// Stores a code for `approved`, produced by the session `sid`, and returns
/// the URI to send the browser to: `code`, `state`, `iss`.
pub async fn issue(
    state: &AuthorizeState,
    approved: &Approved,
    sid: &str,
    session: &Session,
    now: i64,
) -> Result<String, AuthorizeError> {
    let record = AuthorizationCode {
        client_id: approved.client_id.clone(),
        redirect_uri: approved.reply.redirect_uri.clone(),
        scope: approved.scope.clone(),
        nonce: approved.nonce.clone(),
        code_challenge: approved.code_challenge.clone(),
        identity_id: session.identity_id.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        requested_at: approved.requested_at,
        session: session::handle(sid),
        expires_at: now + code::TTL_SECONDS,
        epoch: session.epoch,
        dpop_jkt: approved.dpop_jkt.clone(),
    };
    let code = code::issue(&*state.kv, &record).await?;
    // A client that wants back-channel logout is remembered by the session,
    // to be told when it ends (Back-Channel Logout 1.0 §2.7). Others cost
    // nothing here.
    if approved.backchannel {
        session::add_client(
            &*state.kv,
            &record.session,
            &approved.client_id,
            state.sessions,
        )
        .await?;
    }
    Ok(approved.reply.uri(&state.issuer, &[("code", &code)]))
}
