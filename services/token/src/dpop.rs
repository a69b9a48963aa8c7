//! DPoP at the token service's endpoints (RFC 9449 §5): the proof a token
//! or pushed-authorization request carries, as the endpoint's error, and
//! the nonce a successful answer hands on (§8.2).

use axum::http::{HeaderMap, HeaderValue};
use inkan_keys::dpop::VerifiedProof;
use inkan_web::dpop::DpopRejection;

use crate::error::TokenError;
use crate::state::TokenState;

/// The checked proof of a POST to `path`; `None` if the request has none.
pub async fn proof(
    state: &TokenState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<VerifiedProof>, TokenError> {
    inkan_web::dpop::proof(&state.core, headers, "POST", path, None)
        .await
        .map_err(|rejection| match rejection {
            DpopRejection::Refused(response) => TokenError::OAuth(response),
            DpopRejection::Unavailable(e) => e.into(),
        })
}

/// Adds the current nonce (`DPoP-Nonce`) when nonces are required, so the
/// client's next proof carries a fresh one without a refusal first.
pub fn fresh_nonce(state: &TokenState, headers: &mut HeaderMap) {
    if let Some(v) = state
        .dpop
        .nonce(state.clock.now())
        .and_then(|n| HeaderValue::from_str(&n).ok())
    {
        headers.insert("dpop-nonce", v);
    }
}

/// RFC 9449 §5: the `token_type` of an access token bound to `jkt`.
pub fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}
