//! `GET` and `POST /end_session`: OpenID Connect RP-Initiated Logout 1.0.
//!
//! Choices:
//! - an `id_token_hint` that does not verify (forged, modified, signed by a
//!   key this OP never published, or another issuer's) stops everything: an
//!   error page, no redirect, and the session is NOT ended, so a forged
//!   request cannot even log the user out;
//! - the client is the hint's audience or the `client_id` parameter; when
//!   both are given they must agree (§2);
//! - `post_logout_redirect_uri` is honoured only if it is, character for
//!   character, one of that client's registered `post_logout_redirect_uris`
//!   (§2, §3.1); otherwise the user is logged out and shown a page instead;
//! - without a hint (or with a hint for another user than the session's)
//!   the session is ended without asking the user: §2 says the OP SHOULD
//!   ask, but logging out is the safe direction and there is no
//!   confirmation UI in this version.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::typed::Lookup;
use inkan_flows::session;
use inkan_oauth::redirect::append_query;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;
use serde_json::Value;

use crate::cookie;
use crate::error::AuthorizeError;
use crate::logout;
use crate::pages::{html, MessagePage};
use crate::redirect::see_other;
use crate::state::AuthorizeState;
use inkan_domain::identity::LogoutReason;

/// The end-session endpoint: `id_token_hint`, `client_id`,
/// `post_logout_redirect_uri`, `state`, from the query (GET) or form body (POST).
pub async fn end_session(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    params: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(params) = params?;

    // Everything about the request is checked before the session is touched.
    let hinted_client = match params.get("id_token_hint") {
        Some(hint) => Some(hint_client(&state, hint)?),
        None => None,
    };
    let client_id = match (hinted_client, params.get("client_id")) {
        (Some(Some(hinted)), Some(sent)) if hinted != sent => {
            return Err(AuthorizeError::InvalidLogout(
                "client_id does not match the id_token_hint",
            ))
        }
        (Some(Some(hinted)), _) => Some(hinted),
        (_, sent) => sent.map(str::to_owned),
    };

    if let Some(sid) = cookie::read(&headers, cookie::session_name(state.secure_cookies)) {
        let handle = session::handle(&sid);
        // Every application of the session is told (Back-Channel Logout
        // 1.0 §2.7), the one that asked included (§2.5 does not exempt it).
        match session::read(&*state.kv, &handle).await? {
            Some(s) => {
                let notices =
                    logout::end_sessions(&state, &s.identity_id, &[handle], LogoutReason::Logout)
                        .await?;
                // INKAN_END_SESSION_WAIT_MS: the redirect waits (bounded)
                // until the other apps were told.
                if !state.end_session_wait.is_zero() {
                    logout::wait_for_deliveries(&state, &notices).await;
                }
            }
            None => session::end(&*state.kv, &sid).await?,
        }
        tracing::info!("session ended by logout");
    }

    let target = match (params.get("post_logout_redirect_uri"), client_id) {
        (Some(uri), Some(client_id)) => registered_target(&state, &client_id, uri).await,
        _ => None,
    };
    let mut response = match target {
        Some(uri) => {
            // §3: the state is passed back to the RP as `state`.
            let location = match params.get("state") {
                Some(s) => append_query(uri, &[("state", s)]),
                None => uri.to_owned(),
            };
            see_other(&location)?
        }
        None => html(
            StatusCode::OK,
            &MessagePage {
                title: &crate::i18n::t("logged-out-title"),
                message: &crate::i18n::t("logged-out"),
                detail: None,
            },
        ),
    };
    let clear = cookie::clear_session(state.secure_cookies)
        .map_err(|_| AuthorizeError::Internal("session cookie is not a header value".into()))?;
    response.headers_mut().append(SET_COOKIE, clear);
    Ok(response)
}

/// Verifies the hint (signature by a published key, our `iss`; expired is
/// fine, RP-Initiated Logout §2) and returns the client it was issued to,
/// `None` if its audience names no single client.
fn hint_client(state: &AuthorizeState, hint: &str) -> Result<Option<String>, AuthorizeError> {
    let claims = state
        .verify_id_token_hint(hint)
        .ok_or(AuthorizeError::InvalidLogout(
            "the id_token_hint is not a valid ID token from this server",
        ))?;
    Ok(audience(&claims))
}

/// The client an ID token is for: `aud` when it is one value, else `azp`
/// when it is one of the audiences (OIDC Core §2).
fn audience(claims: &Value) -> Option<String> {
    let azp = claims.get("azp").and_then(Value::as_str);
    match claims.get("aud")? {
        Value::String(aud) => Some(aud.clone()),
        Value::Array(auds) => {
            let auds: Vec<&str> = auds.iter().filter_map(Value::as_str).collect();
            match (auds.as_slice(), azp) {
                ([one], _) => Some((*one).to_owned()),
                (_, Some(azp)) if auds.contains(&azp) => Some(azp.to_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `uri` if it is exactly one of the client's registered logout URIs. The
/// user is already logged out, so a directory outage only costs the
/// redirect (logged), not the logout.
async fn registered_target<'a>(
    state: &AuthorizeState,
    client_id: &str,
    uri: &'a str,
) -> Option<&'a str> {
    match state.directory.project(client_id).await {
        Ok(Some(project)) => project
            .post_logout_redirect_uris
            .iter()
            .any(|registered| registered == uri)
            .then_some(uri),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check a post_logout_redirect_uri: directory failed");
            None
        }
    }
}
