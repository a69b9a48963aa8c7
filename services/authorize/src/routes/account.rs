//! `/account`: the first-party page where a signed-in user sees and changes
//! their own account — names, password (the current one required), the
//! browsers signed in to it (sign out one, the others, or this one) and the
//! apps holding refresh tokens (revoke one).
//!
//! It sits behind the IdP session: without one, `GET /account` shows the
//! login page for a built-in client ([`CLIENT_ID`]) whose successful login
//! comes back here instead of issuing a code ([`crate::signin::answer`]).
//! Every form carries a token derived from the session id
//! ([`form_token`]): a cross-site post knows no session id, so it cannot
//! make one (OWASP CSRF Prevention Cheat Sheet, "synchronizer token").

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::typed::{Lookup, Project};
use inkan_directory::{NamesUpdated, PasswordChange};
use inkan_flows::pending::{self, PendingAuthorization};
use inkan_flows::refresh;
use inkan_flows::session::{self, Session};
use inkan_keys::secret::{generate_token, sha256_b64};
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::AuthorizeError;
use crate::i18n::{t, t1};
use crate::logout;
use crate::pages::{html, AccountApp, AccountPage, AccountPasskey, AccountSession, LoginPage};
use crate::redirect::see_other;
use crate::state::AuthorizeState;
use crate::{cookie, csrf};
use inkan_domain::identity::LogoutReason;

/// The built-in client the account page signs in through. Never a
/// project's: generated client ids are random and start with a letter,
/// and none has a hyphen-separated word like this one.
pub const CLIENT_ID: &str = "inkan-account";

/// The account page's client as a project: both login methods, a code when
/// the user set one up, no sign-up (that belongs to an application).
pub fn project(issuer: &str) -> Project {
    let wire = inkan_directory::Project {
        id: String::new(),
        client_id: CLIENT_ID.into(),
        name: "your account".into(),
        app_type: "web".into(),
        redirect_uris: vec![format!("{issuer}/account")],
        scopes: vec!["openid".into()],
        grant_types: vec!["authorization_code".into()],
        token_endpoint_auth_method: "none".into(),
        id_token_signed_response_alg: "RS256".into(),
        login_methods: vec!["password".into(), "passkey".into()],
        mfa: "optional".into(),
        ..Default::default()
    };
    Project::try_from(wire).expect("the account client is a valid project record")
}

/// The token the account page's forms carry: bound to the session id,
/// which only the browser's cookie holds.
fn form_token(sid: &str) -> String {
    sha256_b64(&format!("inkan/account-form/v1:{sid}"))
}

fn token_ok(sid: &str, presented: &str) -> bool {
    form_token(sid)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

/// The browser's live session, if any (as at `/authorize`).
async fn live(
    state: &AuthorizeState,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, AuthorizeError> {
    let live = crate::signin::live_session(state, headers, state.clock.now()).await?;
    Ok(live.map(|l| (l.sid, l.session)))
}

/// What a finished form says on the page (from `?done=`; never echoed).
fn done_message(code: Option<&str>) -> Option<String> {
    let id = match code? {
        "names" => "account-done-names",
        "password" => "account-done-password",
        "session" => "account-done-session",
        "others" => "account-done-others",
        "app" => "account-done-app",
        "passkey" => "account-done-passkey",
        "totp" => "account-done-totp",
        "email" => "account-done-email",
        _ => return None,
    };
    Some(t(id))
}

/// `GET /account`: the page, or the login for it.
pub async fn show(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    query: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(query) = query?;
    let Some((sid, session)) = live(&state, &headers).await? else {
        return login(&state, &headers).await;
    };
    let notice = done_message(query.get("done"));
    page(&state, &sid, &session, notice.as_deref(), None).await
}

/// The browser's login binding (the one it holds, or a new one) and a
/// pending request of the account client (its login, its passkey or code
/// set-up) whose CSRF token is bound to it.
fn bound_request(state: &AuthorizeState, headers: &HeaderMap) -> (String, PendingAuthorization) {
    let binding = cookie::read(headers, cookie::login_name(state.secure_cookies))
        .unwrap_or_else(|| generate_token(32));
    let csrf = csrf::issue(&binding);
    (binding, account_request(state, csrf))
}

/// `response` with the login binding cookie the pending request's token needs.
fn bind(
    state: &AuthorizeState,
    binding: &str,
    mut response: Response,
) -> Result<Response, AuthorizeError> {
    let cookie = cookie::login_binding(state.secure_cookies, binding, pending::TTL_SECONDS)
        .map_err(|_| AuthorizeError::Internal("login cookie is not a header value".into()))?;
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

fn account_request(state: &AuthorizeState, csrf: String) -> PendingAuthorization {
    PendingAuthorization {
        client_id: CLIENT_ID.into(),
        redirect_uri: format!("{}/account", state.issuer),
        scope: "openid".into(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: vec![],
        max_age: None,
        login_hint: None,
        ui_locales: None,
        requested_at: state.clock.now(),
        csrf,
        signed_in: None,
        acr_values: None,
        second_factor: None,
        unverified: None,
        backchannel: false,
        dpop_jkt: None,
    }
}

/// The login page for the account client.
async fn login(state: &AuthorizeState, headers: &HeaderMap) -> Result<Response, AuthorizeError> {
    let (binding, record) = bound_request(state, headers);
    let csrf_token = record.csrf.clone();
    let authz = pending::put(&*state.kv, &record).await?;
    let response = html(
        StatusCode::OK,
        &LoginPage {
            project_name: "your account",
            authz: &authz,
            csrf: &csrf_token,
            email: "",
            error: None,
            password: true,
            passkeys: state.passkeys_enabled(),
            notice: None,
            forgot: state.mail,
            signup: false,
            brand: &inkan_directory::typed::Brand::default(),
        },
    );
    bind(state, &binding, response)
}

fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The account page for the signed-in `session`.
async fn page(
    state: &AuthorizeState,
    sid: &str,
    session: &Session,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Response, AuthorizeError> {
    let identity = state
        .directory
        .identity(&session.identity_id)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    let current = session::handle(sid);
    let sessions: Vec<AccountSession> = session::list(&*state.kv, &session.identity_id)
        .await?
        .into_iter()
        .map(|(handle, s)| AccountSession {
            current: handle == current,
            device: s.device.unwrap_or_else(|| t("account-unknown-browser")),
            address: s.address.unwrap_or_else(|| t("account-unknown-address")),
            signed_in: when(s.auth_time),
            last_seen: when(s.last_seen),
            handle,
        })
        .collect();
    let mut apps = Vec::new();
    for family in refresh::families(&*state.kv, &session.identity_id).await? {
        let name = state
            .directory
            .project(&family.client_id)
            .await?
            .map_or_else(|| family.client_id.clone(), |p| p.display_name().to_owned());
        apps.push(AccountApp {
            name,
            scope: family.scope,
            since: when(family.since),
            family: family.family,
        });
    }
    let passkeys: Vec<AccountPasskey> = state
        .directory
        .passkeys(&session.identity_id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|p| AccountPasskey {
            credential_id: p.credential_id,
            name: p.name,
        })
        .collect();
    Ok(html(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        &AccountPage {
            token: &form_token(sid),
            email: &identity.email,
            email_verified: identity.email_verified,
            first_name: identity.first_name.as_deref().unwrap_or(""),
            last_name: identity.last_name.as_deref().unwrap_or(""),
            sessions: &sessions,
            apps: &apps,
            passkeys: &passkeys,
            passkeys_enabled: state.passkeys_enabled(),
            totp: identity.totp,
            notice,
            error,
        },
    ))
}

/// The session a form was posted from, after its token checked out.
async fn posted(
    state: &AuthorizeState,
    headers: &HeaderMap,
    form: &inkan_oauth::params::Params,
) -> Result<Option<(String, Session)>, AuthorizeError> {
    let Some((sid, session)) = live(state, headers).await? else {
        return Ok(None);
    };
    if !token_ok(&sid, form.get("token").unwrap_or_default()) {
        return Err(AuthorizeError::CsrfMismatch);
    }
    Ok(Some((sid, session)))
}

fn back(done: &str) -> Result<Response, AuthorizeError> {
    see_other(&format!("/account?done={done}"))
}

/// `POST /account/names`: `first_name`, `last_name` (empty removes one).
pub async fn names(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Some((sid, session)) = posted(&state, &headers, &form).await? else {
        return see_other("/account");
    };
    let first = form.get("first_name").unwrap_or_default().trim();
    let last = form.get("last_name").unwrap_or_default().trim();
    match state
        .directory
        .update_names(&session.identity_id, first, last)
        .await?
    {
        NamesUpdated::Updated => back("names"),
        NamesUpdated::Invalid(problem) => {
            let message = t1("account-names-rejected", "problem", &problem);
            page(&state, &sid, &session, None, Some(&message)).await
        }
        NamesUpdated::NoIdentity => see_other("/account"),
    }
}

/// `POST /account/email`: `email`, the new address; a link goes there.
pub async fn email(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    use inkan_directory::{LinkPurpose, LinkRequest, LinkRequested};
    let OAuthParams(form) = form?;
    let Some((sid, session)) = posted(&state, &headers, &form).await? else {
        return see_other("/account");
    };
    let email = form.get("email").unwrap_or_default().trim();
    if email.chars().count() > crate::pages::MAX_EMAIL_CHARS {
        let message = t("signup-not-email");
        return page(&state, &sid, &session, None, Some(&message)).await;
    }
    let requested = state
        .directory
        .request_link(LinkRequest {
            purpose: LinkPurpose::ChangeEmail as i32,
            identity_id: session.identity_id.clone(),
            email: email.to_owned(),
            locale: crate::i18n::lang(),
            client_id: None,
        })
        .await?;
    match requested {
        LinkRequested::Queued => back("email"),
        LinkRequested::Invalid(problem) => {
            let message = t1("account-email-rejected", "problem", &problem);
            page(&state, &sid, &session, None, Some(&message)).await
        }
        LinkRequested::MailOff => {
            let message = t("account-email-mail-off");
            page(&state, &sid, &session, None, Some(&message)).await
        }
        LinkRequested::NoIdentity => see_other("/account"),
    }
}

/// `POST /account/password`: `current`, `password`, `confirm`.
pub async fn password(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Some((sid, session)) = posted(&state, &headers, &form).await? else {
        return see_other("/account");
    };
    let new = Zeroizing::new(form.get("password").unwrap_or_default().to_owned());
    if new.is_empty() || form.get("confirm") != Some(new.as_str()) {
        let message = t("account-passwords-differ");
        return page(&state, &sid, &session, None, Some(&message)).await;
    }
    let current = Zeroizing::new(form.get("current").unwrap_or_default().to_owned());
    match state
        .directory
        .change_password(&session.identity_id, &current, &new)
        .await?
    {
        PasswordChange::Changed => {
            tracing::info!("password changed on the account page");
            back("password")
        }
        PasswordChange::WrongPassword => {
            let message = t("account-wrong-password");
            page(&state, &sid, &session, None, Some(&message)).await
        }
        PasswordChange::Rejected(problem) => {
            let message = t1("reset-rejected", "problem", &problem);
            page(&state, &sid, &session, None, Some(&message)).await
        }
    }
}

/// `POST /account/sessions/end`: `session` (a handle from the list).
/// Ending this browser's own session signs it out.
pub async fn end_session(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Some((sid, session)) = posted(&state, &headers, &form).await? else {
        return see_other("/account");
    };
    let handle = form.get("session").unwrap_or_default();
    logout::end_sessions(
        &state,
        &session.identity_id,
        &[handle.to_owned()],
        LogoutReason::SignedOut,
    )
    .await?;
    if handle == session::handle(&sid) {
        return signed_out(&state);
    }
    back("session")
}

/// `POST /account/sessions/end-others`: every session but this one.
pub async fn end_others(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Some((sid, session)) = posted(&state, &headers, &form).await? else {
        return see_other("/account");
    };
    let current = session::handle(&sid);
    let others: Vec<String> = session::list(&*state.kv, &session.identity_id)
        .await?
        .into_iter()
        .map(|(handle, _)| handle)
        .filter(|handle| *handle != current)
        .collect();
    logout::end_sessions(
        &state,
        &session.identity_id,
        &others,
        LogoutReason::SignedOut,
    )
    .await?;
    back("others")
}

/// `POST /account/apps/revoke`: `family` (from the list).
pub async fn revoke_app(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let Some((_, session)) = posted(&state, &headers, &form).await? else {
        return see_other("/account");
    };
    let family = form.get("family").unwrap_or_default();
    refresh::revoke_for(&*state.kv, &session.identity_id, family).await?;
    back("app")
}

/// How recent a login must be to remove a sign-in method here: someone
/// who found an unlocked, signed-in browser must not strip the account of
/// its factors (the rule the set-up of a code follows, too).
pub const FRESH_FOR_CHANGES_SECONDS: i64 = 600;

const SIGN_IN_AGAIN: &str = "account-sign-in-again";

/// A post that changes a sign-in method: the session it acts for, or the
/// answer already due (no session: the page's login; a session older than
/// [`FRESH_FOR_CHANGES_SECONDS`]: the page, asking to sign in again).
enum Posted {
    Fresh(Session),
    Answered(Response),
}

async fn posted_fresh(
    state: &AuthorizeState,
    headers: &HeaderMap,
    form: &inkan_oauth::params::Params,
) -> Result<Posted, AuthorizeError> {
    let Some((sid, session)) = posted(state, headers, form).await? else {
        return Ok(Posted::Answered(see_other("/account")?));
    };
    if state.clock.now() - session.auth_time > FRESH_FOR_CHANGES_SECONDS {
        let page = page(state, &sid, &session, None, Some(&t(SIGN_IN_AGAIN))).await?;
        return Ok(Posted::Answered(page));
    }
    Ok(Posted::Fresh(session))
}

/// `POST /account/passkeys/remove`: `credential` (from the list).
pub async fn remove_passkey(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let session = match posted_fresh(&state, &headers, &form).await? {
        Posted::Fresh(session) => session,
        Posted::Answered(response) => return Ok(response),
    };
    let credential = form.get("credential").unwrap_or_default();
    state
        .directory
        .remove_credential(&session.identity_id, Some(credential))
        .await?;
    back("passkey")
}

/// `POST /account/totp/remove`: turns two-step codes off.
pub async fn remove_totp(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let session = match posted_fresh(&state, &headers, &form).await? {
        Posted::Fresh(session) => session,
        Posted::Answered(response) => return Ok(response),
    };
    state
        .directory
        .remove_credential(&session.identity_id, None)
        .await?;
    back("totp")
}

/// `POST /account/passkeys/add`: the passkey page for this account (the
/// login flow's offer, for the account client: it comes back here when
/// the passkey is created or the user says "Not now").
pub async fn add_passkey(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let session = match posted_fresh(&state, &headers, &form).await? {
        Posted::Fresh(session) => session,
        Posted::Answered(response) => return Ok(response),
    };
    state.passkey_rp()?;
    let (binding, mut record) = bound_request(&state, &headers);
    record.signed_in = Some(session.identity_id.clone());
    let authz = pending::put(&*state.kv, &record).await?;
    let response = crate::routes::enrol::offer_page(&state, &authz, &record, None).await?;
    bind(&state, &binding, response)
}

/// `POST /account/totp/add`: sets up two-step codes — the login flow's
/// set-up page, for the account client (the QR code, the first code, the
/// recovery codes, then back here, signed in with both factors).
pub async fn add_totp(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let session = match posted_fresh(&state, &headers, &form).await? {
        Posted::Fresh(session) => session,
        Posted::Answered(response) => return Ok(response),
    };
    let identity = state
        .directory
        .identity(&session.identity_id)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    if identity.totp {
        return see_other("/account");
    }
    let (binding, record) = bound_request(&state, &headers);
    let response = crate::routes::code::ask(
        &state,
        record,
        crate::routes::code::SecondStep::Enrol,
        session.identity_id.clone(),
        session.amr.clone(),
    )
    .await?;
    bind(&state, &binding, response)
}

/// `POST /account/sign-out`: this browser's session.
pub async fn sign_out(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    if let Some((sid, session)) = posted(&state, &headers, &form).await? {
        logout::end_sessions(
            &state,
            &session.identity_id,
            &[session::handle(&sid)],
            LogoutReason::SignedOut,
        )
        .await?;
    }
    signed_out(&state)
}

/// Back to the (now signed-out) account page, the cookie cleared.
fn signed_out(state: &AuthorizeState) -> Result<Response, AuthorizeError> {
    let mut response = see_other("/account")?;
    let clear = cookie::clear_session(state.secure_cookies)
        .map_err(|_| AuthorizeError::Internal("session cookie is not a header value".into()))?;
    response.headers_mut().append(SET_COOKIE, clear);
    Ok(response)
}
