//! The `DPoP` request header (RFC 9449 §4.1) on the token endpoint, `/par`
//! and the resource endpoints: read the one proof a request carries, check
//! it ([`inkan_flows::dpop::check`]) against the endpoint's URL, and turn a
//! refusal into the OAuth error the endpoint answers.

use axum::http::HeaderMap;
use inkan_flows::dpop::{self, DpopError};
use inkan_keys::dpop::VerifiedProof;
use inkan_kv::KvError;
use inkan_oauth::discovery::endpoint_url;
use inkan_oauth::error::{ErrorCode, OAuthError};

use crate::{OAuthResponse, ServiceCore};

/// Why a request's proof was not accepted.
#[derive(Debug)]
pub enum DpopRejection {
    /// `invalid_dpop_proof` or `use_dpop_nonce` (with the nonce to use).
    Refused(OAuthResponse),
    /// The replay memory is down: 503.
    Unavailable(KvError),
}

/// The request's one `DPoP` header value, if it has one; why it is
/// unusable otherwise.
pub fn header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    // §4.3 item 1: "There is not more than one DPoP HTTP request header field."
    if values.next().is_some() {
        return Err("more than one DPoP header");
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| "the DPoP header is not a JWT")
}

/// The request's proof, checked; `None` when it sends none. `path` is the
/// endpoint's path under the issuer (`/token`), which `htu` must name;
/// `access_token` is the token a resource request presents (`ath`).
pub async fn proof(
    core: &ServiceCore,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Option<VerifiedProof>, DpopRejection> {
    let now = core.clock.now();
    let refused = |code: ErrorCode, description: &str| {
        DpopRejection::Refused(
            OAuthResponse::new(OAuthError::new(code, description))
                .with_dpop_nonce(core.dpop.nonce(now)),
        )
    };
    let Some(value) = header(headers).map_err(|why| refused(ErrorCode::InvalidDpopProof, why))?
    else {
        return Ok(None);
    };
    let url = endpoint_url(&core.issuer, path);
    let request = dpop::Request {
        method,
        url: &url,
        access_token,
        now,
    };
    match dpop::check(core.kv.as_ref(), &core.dpop, value.trim(), &request).await {
        Ok(proof) => Ok(Some(proof)),
        Err(DpopError::Invalid(why)) => Err(refused(ErrorCode::InvalidDpopProof, &why)),
        Err(DpopError::UseNonce) => Err(refused(
            ErrorCode::UseDpopNonce,
            "use the DPoP nonce this server provided",
        )),
        Err(DpopError::Store(e)) => Err(DpopRejection::Unavailable(e)),
    }
}
