//! Minting the tokens of a user grant (authorization code or refresh): an
//! access token, an ID token when `openid` was granted, and a refresh token
//! when the project allows the refresh grant. All tokens of one login at one
//! client share a family, so reuse detection can revoke them together.

use inkan_directory::{Identity, Project};
use inkan_flows::refresh::{self, RefreshToken};
use inkan_keys::signing::Algorithm;
use inkan_oauth::claims::{user_claims, IdentityFacts};
use inkan_oauth::scope::Scopes;
use serde_json::{json, Map, Value};

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
}

pub async fn issue(state: &TokenState, g: UserGrant<'_>) -> Result<Value, TokenError> {
    let now = state.clock.now();
    let project = g.project;
    let alg: Algorithm = project
        .id_token_signed_response_alg
        .parse()
        .unwrap_or(Algorithm::RS256);
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
        },
    )?;
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": project.access_token_ttl_seconds,
        "scope": scope,
    });
    if g.scope.contains("openid") {
        let custom: Map<String, Value> =
            serde_json::from_str(&g.identity.claims_json).unwrap_or_default();
        let facts = IdentityFacts {
            id: &g.identity.id,
            email: &g.identity.email,
            email_verified: g.identity.email_verified,
            first_name: g.identity.first_name.as_deref(),
            last_name: g.identity.last_name.as_deref(),
            custom: project.custom_claims.then_some(&custom),
        };
        let mut extra = user_claims(&facts, g.scope, project.compat_claims);
        extra.insert("amr".into(), json!(g.amr));
        if let Some(rat) = g.requested_at {
            extra.insert("rat".into(), json!(rat));
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
    if project.grant_types.iter().any(|t| t == "refresh_token") {
        let record = RefreshToken {
            family: g.family.to_string(),
            generation: g.generation,
            client_id: project.client_id.clone(),
            identity_id: g.identity.id.clone(),
            scope: scope.clone(),
            auth_time: g.auth_time,
            amr: g.amr.to_vec(),
            expires_at: now + i64::from(project.refresh_token_ttl_seconds),
        };
        let token = refresh::issue(state.kv.as_ref(), &record, now)
            .await
            .map_err(flow_error)?;
        body["refresh_token"] = json!(token);
    }
    Ok(body)
}

/// Key-value failures are outages (503), never grant errors.
pub fn flow_error(e: inkan_flows::FlowError) -> TokenError {
    match e {
        inkan_flows::FlowError::Store(kv) => kv.into(),
        inkan_flows::FlowError::Corrupt(m) => TokenError::Internal(m),
    }
}
