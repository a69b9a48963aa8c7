//! One module per endpoint of the token service.

pub mod introspect;
pub mod par;
pub mod revoke;
pub mod token;

use inkan_flows::access;
use inkan_oauth::AccessClaims;

use crate::error::TokenError;
use crate::state::TokenState;

/// The claims of `token` if it is an active access token of this issuer
/// (verified, unexpired, not revoked); `None` for anything else.
pub async fn active_access_token(
    state: &TokenState,
    token: &str,
) -> Result<Option<AccessClaims>, TokenError> {
    let keys = state.keyring.current();
    let claims = access::check(state.kv.as_ref(), &keys.verifier, &state.issuer, token).await?;
    // Signed with our key but without our claims: not a token we minted.
    Ok(claims.and_then(|c| AccessClaims::from_value(c).ok()))
}
