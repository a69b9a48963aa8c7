//! The client credentials grant (RFC 6749 §4.4): a confidential client gets
//! an access token for itself, for scopes it is allowed. No refresh token
//! (§4.4.3) and no ID token (there is no end user).

use inkan_directory::typed::Project;
use inkan_domain::project::GrantType;
use inkan_oauth::error::OAuthError;
use inkan_oauth::scope::Scopes;
use serde_json::{json, Value};

use super::issue::require_grant;
use crate::error::TokenError;
use crate::mint::{self, AccessTokenClaims};
use crate::state::TokenState;

pub async fn grant(
    state: &TokenState,
    project: &Project,
    requested: Option<Scopes>,
    jkt: Option<&str>,
) -> Result<Value, TokenError> {
    require_grant(project, GrantType::ClientCredentials)?;
    // RFC 6749 §3.3: without a scope parameter, the client's registered scopes apply.
    let scope = match requested {
        Some(scopes) if !scopes.is_subset_of(&project.scopes) => {
            return Err(OAuthError::invalid_scope(
                "the requested scope exceeds what this client may request",
            )
            .into());
        }
        Some(scopes) => scopes.to_string(),
        None => project.scopes.join(" "),
    };
    let alg = project.id_token_signed_response_alg;
    let keys = state.keyring.current();
    let minted = mint::access_token(
        &keys,
        alg,
        &AccessTokenClaims {
            issuer: &state.issuer,
            subject: &project.client_id,
            client_id: &project.client_id,
            scope: &scope,
            lifetime_seconds: project.access_token_ttl_seconds,
            now: state.clock.now(),
            auth_time: None,
            family: None,
            jkt,
        },
    )?;
    let mut body = json!({
        "access_token": minted.token,
        "token_type": crate::dpop::token_type(jkt),
        "expires_in": project.access_token_ttl_seconds,
    });
    if !scope.is_empty() {
        body["scope"] = json!(scope);
    }
    Ok(body)
}
