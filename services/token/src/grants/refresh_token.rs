//! The refresh token grant (RFC 6749 §6) with one-time tokens: each
//! redemption rotates the token; reuse revokes the family (RFC 9700 §4.14.2);
//! a project's retry window returns the first response again.

use inkan_directory::typed::Project;
use inkan_domain::project::GrantType;
use inkan_flows::refresh::{self, Redeemed};
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::scope::Scopes;
use inkan_web::OAuthResponse;
use serde_json::Value;

use super::issue::{grant_user, issue, require_grant, stored_scope, UserGrant};
use crate::error::TokenError;
use crate::state::TokenState;

pub async fn grant(
    state: &TokenState,
    project: &Project,
    token: &str,
    requested: Option<Scopes>,
    jkt: Option<&str>,
) -> Result<Value, TokenError> {
    require_grant(project, GrantType::RefreshToken)?;
    let kv = state.kv.as_ref();
    let now = state.clock.now();
    let window = i64::from(project.refresh_token_retry_seconds);
    // RFC 9449 §5: a public client's bound refresh token needs a proof by
    // its key (checked before the token is marked used).
    let record = match refresh::redeem(kv, token, now, window, jkt).await? {
        Redeemed::Fresh(record) => record,
        Redeemed::Replay(response) => return Ok(response),
        Redeemed::InProgress => return Err(TokenError::OAuth(OAuthResponse::unavailable())),
        Redeemed::Reused { .. } => {
            inkan_telemetry::metrics::refresh_reuse_detected();
            tracing::warn!(client_id = %project.client_id, "refresh token reuse detected; token family revoked");
            return Err(OAuthError::invalid_grant("the refresh token was already used").into());
        }
        Redeemed::WrongKey => {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "the refresh token is bound to another DPoP key",
            )
            .into())
        }
        Redeemed::Invalid => {
            return Err(OAuthError::invalid_grant("the refresh token is invalid or expired").into())
        }
    };
    if record.client_id != project.client_id {
        return Err(
            OAuthError::invalid_grant("the refresh token was issued to another client").into(),
        );
    }
    let granted = stored_scope(&record.scope)?;
    // RFC 6749 §6: a narrower scope may be requested, never a wider one.
    let scope = match requested {
        Some(s) if !s.is_subset_of(granted.as_slice()) => {
            return Err(
                OAuthError::invalid_scope("the requested scope exceeds the original grant").into(),
            )
        }
        Some(s) => s,
        None => granted,
    };
    let identity = grant_user(state, &record.identity_id, record.epoch).await?;
    let response = issue(
        state,
        UserGrant {
            project,
            identity: &identity,
            scope: &scope,
            auth_time: record.auth_time,
            amr: &record.amr,
            nonce: None,
            requested_at: None,
            family: &record.family,
            generation: record.generation + 1,
            epoch: record.epoch,
            session: record.session.as_deref(),
            jkt,
        },
    )
    .await?;
    refresh::complete(kv, token, &record, now, now, &response, window).await?;
    Ok(response)
}
