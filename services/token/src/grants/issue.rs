//! Minting the tokens of a user grant (authorization code or refresh): an
//! access token, an ID token when `openid` was granted, and a refresh token
//! when the project allows the refresh grant. All tokens of one login at one
//! client share a family, so reuse detection can revoke them together.

use inkan_directory::typed::{Identity, Lookup, Project};
use inkan_domain::project::GrantType;
use inkan_flows::refresh::{self, RefreshToken};
use inkan_flows::session;
use inkan_oauth::claims::user_claims;
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::scope::Scopes;
use serde_json::{json, Value};

use crate::error::TokenError;
use crate::mint::{self, AccessTokenClaims, IdTokenBase};
use crate::state::TokenState;

pub struct UserGrant<'a> {
    pub project: &'a Project,
    pub identity: &'a Identity,
    pub scope: &'a Scopes,
    pub auth_time: i64,
    pub amr: &'a [String],
    /// Only on the code grant (OIDC Core §3.1.3.6; not repeated on refresh).
    pub nonce: Option<&'a str>,
    /// When the authentication was requested (`rat`), on the code grant.
    pub requested_at: Option<i64>,
    pub family: &'a str,
    pub generation: u32,
    /// The login's session epoch, carried on to the refresh token.
    pub epoch: u32,
    /// Handle of the login's IdP session, when known: the ID token's
    /// `sid`, carried on to the refresh token.
    pub session: Option<&'a str>,
    /// The DPoP key the request proved (RFC 9449 §5): the access token is
    /// bound to it, and so is a public client's refresh token.
    pub jkt: Option<&'a str>,
}

pub async fn issue(state: &TokenState, g: UserGrant<'_>) -> Result<Value, TokenError> {
    let now = state.clock.now();
    let project = g.project;
    let alg = project.id_token_signed_response_alg;
    let scope = g.scope.to_string();
    let keys = state.keyring.current();
    let access = mint::access_token(
        &keys,
        alg,
        &AccessTokenClaims {
            issuer: &state.issuer,
            subject: &g.identity.id,
            client_id: &project.client_id,
            scope: &scope,
            lifetime_seconds: project.access_token_ttl_seconds,
            now,
            auth_time: Some(g.auth_time),
            family: Some(g.family),
            jkt: g.jkt,
        },
    )?;
    let mut body = json!({
        "access_token": access.token,
        "token_type": crate::dpop::token_type(g.jkt),
        "expires_in": project.access_token_ttl_seconds,
        "scope": scope,
    });
    if g.scope.contains("openid") {
        let facts = g.identity.facts(project.custom_claims);
        let mut extra = user_claims(&facts, g.scope, project.compat_claims);
        extra.insert("amr".into(), json!(g.amr));
        // OIDC Core §2: the level this login reached (crate inkan_oauth::acr).
        extra.insert(
            "acr".into(),
            json!(inkan_oauth::Acr::of_amr(g.amr).as_str()),
        );
        if let Some(rat) = g.requested_at {
            extra.insert("rat".into(), json!(rat));
        }
        // Back-Channel Logout 1.0 §2.1: the session's id, which a logout
        // token names; the same on every token of the login.
        if let Some(handle) = g.session {
            extra.insert("sid".into(), json!(session::sid_of(handle)));
        }
        let id_token = mint::id_token(
            &keys,
            alg,
            IdTokenBase {
                issuer: &state.issuer,
                subject: &g.identity.id,
                client_id: &project.client_id,
                now,
                lifetime_seconds: project.id_token_ttl_seconds,
                auth_time: g.auth_time,
                nonce: g.nonce,
                access_token: Some(&access.token),
            },
            extra,
        )?;
        body["id_token"] = json!(id_token);
    }
    if project.allows(GrantType::RefreshToken) {
        let record = RefreshToken {
            family: g.family.to_string(),
            generation: g.generation,
            client_id: project.client_id.clone(),
            identity_id: g.identity.id.clone(),
            scope: scope.clone(),
            auth_time: g.auth_time,
            amr: g.amr.to_vec(),
            expires_at: now + i64::from(project.refresh_token_ttl_seconds),
            epoch: g.epoch,
            session: g.session.map(str::to_owned),
            // RFC 9449 §5: "Refresh tokens issued to public clients [...]
            // MUST be bound"; a confidential client's are bound to its
            // authentication instead.
            jkt: g.jkt.filter(|_| project.is_public()).map(str::to_owned),
        };
        let token = refresh::issue(state.kv.as_ref(), &record, now).await?;
        if g.generation == 0 {
            // A new login's family: listed on the user's account page.
            refresh::record_family(state.kv.as_ref(), &record, now).await?;
        }
        body["refresh_token"] = json!(token);
    }
    Ok(body)
}

/// RFC 6749 §5.2: a client not registered for `grant` is `unauthorized_client`.
pub fn require_grant(project: &Project, grant: GrantType) -> Result<(), TokenError> {
    if project.allows(grant) {
        return Ok(());
    }
    Err(OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!("this client may not use the {} grant", grant.as_str()),
    )
    .into())
}

/// The user a code or refresh token was issued for; `invalid_grant` once
/// the identity is deleted (its grants end with it) or once its session
/// epoch moved past the grant's (a password reset ended every login).
pub async fn grant_user(
    state: &TokenState,
    identity_id: &str,
    epoch: u32,
) -> Result<Identity, TokenError> {
    let identity = state
        .directory
        .identity(identity_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    if identity.session_epoch > epoch {
        return Err(OAuthError::invalid_grant("the user's sessions were ended").into());
    }
    Ok(identity)
}

/// The scope stored with a code or refresh token, which Inkan wrote itself.
pub fn stored_scope(scope: &str) -> Result<Scopes, TokenError> {
    Scopes::parse(scope).map_err(|e| TokenError::Internal(e.into()))
}
