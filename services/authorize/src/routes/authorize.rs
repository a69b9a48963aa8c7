//! `GET` and `POST /authorize`: the authorization endpoint (RFC 6749 §4.1.1,
//! OIDC Core §3.1.2). Validates the client and its redirect URI, then the
//! request; answers with a code when a usable session exists, otherwise
//! stores the request and shows the login form.
//!
//! Consent: every client is a first-party project of this deployment, so
//! there is no consent screen; `prompt=consent` is accepted as consent
//! already given (OIDC Core §3.1.2.1 lets the OP decide how consent is
//! obtained) and `consent_required` is never returned.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use inkan_flows::pending::{self, PendingAuthorization};
use inkan_flows::session::{self, Session};
use inkan_keys::secret::generate_token;
use inkan_oauth::authorize::{
    echo_state, AuthorizationRequest, ClientPolicy, ClientTarget, Prompt,
};
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::redirect::matches_registered;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;

use crate::error::AuthorizeError;
use crate::grant::{self, Approved};
use crate::pages::{email_prefill, html, LoginPage};
use crate::redirect::{see_other, ReplyTo};
use crate::state::AuthorizeState;
use crate::{cookie, csrf};

/// The grant a project must have to use this endpoint.
const AUTHORIZATION_CODE: &str = "authorization_code";

/// The authorization endpoint; `params` come from the query (GET) or the form body (POST).
pub async fn authorize(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    params: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    // RFC 6749 §4.1.2.1: until the client and the redirect URI are
    // validated, errors are shown, never redirected. That includes
    // unreadable parameters (a repeated `redirect_uri` leaves no trusted one).
    let OAuthParams(params) = params.map_err(|r| AuthorizeError::InvalidRequest(r.error))?;
    let target = ClientTarget::parse(&params).map_err(AuthorizeError::InvalidRequest)?;
    let project = state
        .directory
        .resolve_project(&target.client_id)
        .await?
        .ok_or(AuthorizeError::UnknownClient)?;
    // OIDC Core §3.1.2.1: redirect_uri is REQUIRED (RFC 6749 §3.1.2.3 would
    // let a single-URI client omit it; OpenID Connect does not).
    let redirect_uri = target
        .redirect_uri
        .ok_or(AuthorizeError::MissingRedirectUri)?;
    // RFC 9700 §2.1 / OIDC Core §3.1.2.1: exact string match.
    if !matches_registered(&redirect_uri, &project.redirect_uris) {
        return Err(AuthorizeError::UnregisteredRedirectUri);
    }

    // From here on, errors go back to the client.
    let reply = ReplyTo {
        redirect_uri,
        state: echo_state(&params).map(str::to_owned),
    };
    let fail = |error: OAuthError| AuthorizeError::redirect(&state.issuer, &reply, error);
    let outage = |e: AuthorizeError| AuthorizeError::redirect_failure(&state.issuer, &reply, e);

    // RFC 6749 §4.1.2.1: a client not allowed this grant (e.g. a `service`
    // project, which only has client_credentials) is `unauthorized_client`.
    if !project.grant_types.iter().any(|g| g == AUTHORIZATION_CODE) {
        return Err(fail(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not allowed to use the authorization code flow",
        )));
    }
    let policy = ClientPolicy {
        allowed_scopes: project.scopes.clone(),
        requires_pkce: project.requires_pkce,
        drop_unknown_scopes: !project.reject_unknown_scopes,
    };
    let request = AuthorizationRequest::parse(&params, &policy).map_err(fail)?;
    let hinted_subject = match &request.id_token_hint {
        Some(hint) => Some(hint_subject(&state, hint).ok_or_else(|| {
            fail(OAuthError::invalid_request(
                "id_token_hint is not a valid ID token from this issuer",
            ))
        })?),
        None => None,
    };

    let now = state.clock.now();
    let sid = cookie::read(&headers, cookie::session_name(state.secure_cookies));
    let mut session = match &sid {
        Some(sid) => session::load(&*state.kv, sid, now, state.sessions)
            .await
            .map_err(|e| outage(e.into()))?,
        None => None,
    };
    // A session outlives nothing it depends on: once its identity is deleted,
    // it is ended here on whichever replica sees it next.
    if let (Some(sid), Some(s)) = (&sid, &session) {
        let exists = state
            .directory
            .get_identity(&s.identity_id)
            .await
            .map_err(|e| outage(e.into()))?
            .is_some();
        if !exists {
            session::end(&*state.kv, sid)
                .await
                .map_err(|e| outage(e.into()))?;
            session = None;
        }
    }
    let usable = match (sid, session) {
        (Some(sid), Some(session))
            if !must_reauthenticate(&request, &session, now)
                && hinted_subject
                    .as_deref()
                    .is_none_or(|sub| sub == session.identity_id) =>
        {
            Some((sid, session))
        }
        _ => None,
    };

    let approved = Approved::from_request(&request, reply.clone(), now);
    if let Some((sid, session)) = usable {
        // SSO: the session answers without showing anything.
        let location = grant::issue(&state, &approved, &sid, &session, now)
            .await
            .map_err(outage)?;
        return see_other(&location);
    }
    // OIDC Core §3.1.2.1: with prompt=none the OP "MUST NOT display any
    // authentication or consent user interface pages"; no usable session
    // means `login_required` (OIDC Core §3.1.2.6).
    if request.has_prompt(Prompt::None) {
        return Err(fail(OAuthError::new(
            ErrorCode::LoginRequired,
            "the user is not logged in",
        )));
    }

    let binding = cookie::read(&headers, cookie::login_name(state.secure_cookies))
        .unwrap_or_else(|| generate_token(32));
    let csrf_token = csrf::issue(&binding);
    let record = PendingAuthorization {
        client_id: approved.client_id.clone(),
        redirect_uri: approved.reply.redirect_uri.clone(),
        scope: approved.scope.clone(),
        state: request.state.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        prompt: request
            .prompt
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        max_age: request
            .max_age
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        login_hint: request
            .login_hint
            .as_deref()
            .filter(|h| !email_prefill(Some(h)).is_empty())
            .map(str::to_owned),
        ui_locales: request.ui_locales.clone(),
        requested_at: now,
        csrf: csrf_token.clone(),
    };
    let authz = pending::put(&*state.kv, &record)
        .await
        .map_err(|e| outage(e.into()))?;

    let project_name = if project.name.is_empty() {
        &project.client_id
    } else {
        &project.name
    };
    let mut response = html(
        StatusCode::OK,
        &LoginPage {
            project_name,
            authz: &authz,
            csrf: &csrf_token,
            email: email_prefill(request.login_hint.as_deref()),
            error: None,
        },
    );
    let cookie = cookie::login_binding(state.secure_cookies, &binding, pending::TTL_SECONDS)
        .map_err(|_| AuthorizeError::Internal("login cookie is not a header value".into()))?;
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

/// OIDC Core §3.1.2.1: whether the session may not answer this request.
fn must_reauthenticate(request: &AuthorizationRequest, session: &Session, now: i64) -> bool {
    // prompt=login: "The Authorization Server SHOULD prompt the End-User for
    // reauthentication." A browser holds one session here, so choosing an
    // account (select_account) means logging in again as well.
    if request.has_prompt(Prompt::Login) || request.has_prompt(Prompt::SelectAccount) {
        return true;
    }
    match request.max_age {
        // max_age=0 always re-authenticates (as prompt=login), even within
        // the second the session started.
        Some(0) => true,
        // "If the elapsed time is greater than this value, the OP MUST
        // attempt to actively re-authenticate the End-User." A session
        // from the future (clock skew) has elapsed 0.
        Some(max_age) => u64::try_from(now - session.auth_time).unwrap_or(0) > max_age,
        None => false,
    }
}

/// The `sub` of a valid `id_token_hint` (OIDC Core §3.1.2.1: an ID token
/// this OP issued, possibly expired). A hint for another user than the
/// session's makes the session unusable for the request.
fn hint_subject(state: &AuthorizeState, hint: &str) -> Option<String> {
    let claims = state.verify_id_token_hint(hint)?;
    claims.get("sub")?.as_str().map(str::to_owned)
}
