//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3).

use inkan_directory::typed::Project;
use inkan_domain::project::GrantType;
use inkan_flows::code;
use inkan_flows::revocation::revoke_family;
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::pkce;
use serde_json::Value;

use super::issue::{grant_user, issue, require_grant, stored_scope, UserGrant};
use crate::error::TokenError;
use crate::state::TokenState;

/// What the client presents with the code.
pub struct Presented<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    /// The key of the request's DPoP proof, if it had one.
    pub jkt: Option<&'a str>,
}

pub async fn grant(
    state: &TokenState,
    project: &Project,
    presented: Presented<'_>,
) -> Result<Value, TokenError> {
    let Presented {
        code: code_value,
        redirect_uri,
        code_verifier,
        jkt,
    } = presented;
    require_grant(project, GrantType::AuthorizationCode)?;
    let kv = state.kv.as_ref();
    let family = code::family_of(code_value);
    let record = match code::redeem(kv, code_value).await? {
        code::Redemption::Redeemed(record) => *record,
        code::Redemption::Replayed { family } => {
            // RFC 6749 §4.1.2 / §10.5: a code presented twice revokes every token it produced.
            revoke_family(kv, &family).await?;
            tracing::warn!(client_id = %project.client_id, "authorization code replay; its tokens are revoked");
            return Err(
                OAuthError::invalid_grant("the authorization code was already used").into(),
            );
        }
        code::Redemption::Unknown => {
            return Err(
                OAuthError::invalid_grant("the authorization code is invalid or expired").into(),
            )
        }
    };
    let now = state.clock.now();
    if record.expires_at < now {
        return Err(OAuthError::invalid_grant("the authorization code has expired").into());
    }
    if record.client_id != project.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        )
        .into());
    }
    // RFC 6749 §4.1.3: the redirect_uri must be present and identical to the authorization request's.
    if redirect_uri != Some(record.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        )
        .into());
    }
    // RFC 9449 §10: a code bound to a DPoP key (dpop_jkt, or a proof at
    // /par) is only exchanged with a proof by that key.
    if let Some(bound) = &record.dpop_jkt {
        if jkt != Some(bound.as_str()) {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "the authorization code is bound to another DPoP key",
            )
            .into());
        }
    }
    match (&record.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) => {
            if !pkce::verify_s256(verifier, challenge) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                )
                .into());
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant("code_verifier is required").into())
        }
        // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "no code_challenge was sent with the authorization request",
            )
            .into())
        }
        (None, None) => {
            if project.requires_pkce {
                return Err(OAuthError::invalid_grant("PKCE is required for this client").into());
            }
        }
    }
    let identity = grant_user(state, &record.identity_id, record.epoch).await?;
    let scope = stored_scope(&record.scope)?;
    issue(
        state,
        UserGrant {
            project,
            identity: &identity,
            scope: &scope,
            auth_time: record.auth_time,
            amr: &record.amr,
            nonce: record.nonce.as_deref(),
            requested_at: Some(record.requested_at),
            family: &family,
            generation: 0,
            epoch: record.epoch,
            session: Some(&record.session)
                .filter(|h| !h.is_empty())
                .map(String::as_str),
            jkt,
        },
    )
    .await
}
