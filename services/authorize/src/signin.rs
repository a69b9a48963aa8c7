//! What every way of signing in shares: checking that a post belongs to a
//! pending request shown in this browser, starting the session once someone
//! proved who they are, and answering the request with a code.
//!
//! The steps of one login (password, then perhaps the passkey offer; or a
//! passkey alone) are posts against the same pending authorization. Each
//! post carries the pending request's id (`authz`) and its CSRF token, bound
//! to the browser's login cookie ([`crate::csrf`]); the request is taken
//! (consumed) only by the step that answers it, so a form cannot be posted
//! twice.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use inkan_directory::typed::Lookup;
use inkan_flows::pending::{self, PendingAuthorization};
use inkan_flows::session::{self, Session};
use inkan_oauth::params::Params;

use crate::error::AuthorizeError;
use crate::grant::{self, Approved};
use crate::redirect::see_other;
use crate::state::AuthorizeState;
use crate::{cookie, csrf};

/// A post's pending request, after the CSRF check: its id, the record, and
/// the browser's login binding.
pub struct Verified {
    pub authz: String,
    pub pending: PendingAuthorization,
    pub binding: Option<String>,
}

/// The pending request `form` names, if its CSRF token matches and was
/// issued to this browser.
pub async fn verify(
    state: &AuthorizeState,
    headers: &HeaderMap,
    form: &Params,
) -> Result<Verified, AuthorizeError> {
    let authz = form.get("authz").unwrap_or_default().to_owned();
    let pending = pending::get(&*state.kv, &authz)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    let binding = cookie::read(headers, cookie::login_name(state.secure_cookies));
    if !csrf::verify(
        &pending.csrf,
        form.get("csrf").unwrap_or_default(),
        binding.as_deref(),
    ) {
        return Err(AuthorizeError::CsrfMismatch);
    }
    Ok(Verified {
        authz,
        pending,
        binding,
    })
}

/// A new session for someone who just signed in. The browser's previous
/// session (if any) ends and the new one gets an id the browser has never
/// held (no session fixation). Returns the id, the record and the cookie.
pub async fn start_session(
    state: &AuthorizeState,
    headers: &HeaderMap,
    mut session: Session,
) -> Result<(String, Session, HeaderValue), AuthorizeError> {
    // The session lives in the identity's current epoch; a reset after
    // this moment ends it.
    session.epoch = state
        .directory
        .identity(&session.identity_id)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?
        .session_epoch;
    session.device = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(200).collect());
    session.address = headers
        .get(crate::CLIENT_ADDRESS)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(old) = cookie::read(headers, cookie::session_name(state.secure_cookies)) {
        session::end(&*state.kv, &old).await?;
    }
    let sid = session::create(&*state.kv, &session, state.sessions).await?;
    let cookie = cookie::session(state.secure_cookies, &sid, state.sessions.absolute_seconds)
        .map_err(|_| AuthorizeError::Internal("session cookie is not a header value".into()))?;
    Ok((sid, session, cookie))
}

/// Answers a pending request (already taken) with a code for `session`:
/// `303` to the redirect URI, setting `cookie` if given.
pub async fn answer(
    state: &AuthorizeState,
    pending: PendingAuthorization,
    sid: &str,
    session: &Session,
    cookie: Option<HeaderValue>,
) -> Result<Response, AuthorizeError> {
    let now = state.clock.now();
    // The account page's own login: back to the page, no code.
    let location = if pending.client_id == crate::routes::account::CLIENT_ID {
        "/account".to_owned()
    } else {
        grant::issue(state, &Approved::from_pending(pending), sid, session, now).await?
    };
    let mut response = see_other(&location)?;
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Signs `identity_id` in with `amr` and answers the pending request `authz`
/// at once: takes the request (a racing second post finds nothing), starts
/// the session, issues the code.
pub async fn complete(
    state: &AuthorizeState,
    headers: &HeaderMap,
    authz: &str,
    identity_id: String,
    amr: Vec<String>,
) -> Result<Response, AuthorizeError> {
    let pending = pending::take(&*state.kv, authz)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    let (sid, session, cookie) = start_session(
        state,
        headers,
        Session::new(identity_id, state.clock.now(), amr),
    )
    .await?;
    tracing::info!(client_id = %pending.client_id, amr = ?session.amr, "login succeeded");
    inkan_telemetry::metrics::login_attempt(true);
    answer(state, pending, &sid, &session, Some(cookie)).await
}

/// A login that signed in but keeps its request open for one more page
/// (the passkey offer, the recovery codes): the request's new id and
/// record, and the session cookie to set.
pub struct Held {
    pub authz: String,
    pub pending: PendingAuthorization,
    pub cookie: HeaderValue,
}

/// Signs `identity_id` in with `amr` (a new session) but does not answer
/// the pending request `authz`: it is stored again, marked signed in by
/// that user, for the page `next` names (in the log) to answer through
/// [`resume`].
pub async fn hold(
    state: &AuthorizeState,
    headers: &HeaderMap,
    authz: &str,
    identity_id: String,
    amr: Vec<String>,
    next: &'static str,
) -> Result<Held, AuthorizeError> {
    let mut pending = pending::take(&*state.kv, authz)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    let (_, session, cookie) = start_session(
        state,
        headers,
        Session::new(identity_id.clone(), state.clock.now(), amr),
    )
    .await?;
    tracing::info!(client_id = %pending.client_id, amr = ?session.amr, next, "login succeeded");
    inkan_telemetry::metrics::login_attempt(true);
    pending.second_factor = None;
    pending.signed_in = Some(identity_id);
    let authz = pending::put(&*state.kv, &pending).await?;
    Ok(Held {
        authz,
        pending,
        cookie,
    })
}

/// Answers a pending request whose user signed in at an earlier step (the
/// passkey offer): the browser's session must still be that user's.
pub async fn resume(
    state: &AuthorizeState,
    headers: &HeaderMap,
    authz: &str,
) -> Result<Response, AuthorizeError> {
    let (sid, session) = signed_in_session(state, headers).await?;
    let pending = pending::take(&*state.kv, authz)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    if pending.signed_in.as_deref() != Some(session.identity_id.as_str()) {
        return Err(AuthorizeError::LoginExpired);
    }
    answer(state, pending, &sid, &session, None).await
}

/// A live session: its id, its record, and its identity as just read.
pub struct Live {
    pub sid: String,
    pub session: Session,
    pub identity: inkan_directory::typed::Identity,
}

/// The browser's session if it has a live one. A session outlives nothing
/// it depends on: once its identity is deleted, or its session epoch moved
/// on (a password reset), it is ended here on whichever replica sees it next.
pub async fn live_session(
    state: &AuthorizeState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Live>, AuthorizeError> {
    let Some(sid) = cookie::read(headers, cookie::session_name(state.secure_cookies)) else {
        return Ok(None);
    };
    let Some(session) = session::load(&*state.kv, &sid, now, state.sessions).await? else {
        return Ok(None);
    };
    match state.directory.identity(&session.identity_id).await? {
        Some(identity) if identity.session_epoch <= session.epoch => Ok(Some(Live {
            sid,
            session,
            identity,
        })),
        _ => {
            session::end(&*state.kv, &sid).await?;
            Ok(None)
        }
    }
}

/// The browser's live session; a step after sign-in without one has expired.
pub async fn signed_in_session(
    state: &AuthorizeState,
    headers: &HeaderMap,
) -> Result<(String, Session), AuthorizeError> {
    let sid = cookie::read(headers, cookie::session_name(state.secure_cookies))
        .ok_or(AuthorizeError::LoginExpired)?;
    let session = session::load(&*state.kv, &sid, state.clock.now(), state.sessions)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?;
    Ok((sid, session))
}

/// The project of a pending request's client, if it still exists.
pub async fn project(
    state: &AuthorizeState,
    client_id: &str,
) -> Result<Option<inkan_directory::typed::Project>, AuthorizeError> {
    use inkan_directory::typed::Lookup;
    if client_id == crate::routes::account::CLIENT_ID {
        return Ok(Some(crate::routes::account::project(&state.issuer)));
    }
    Ok(state.directory.project(client_id).await?)
}

/// The name the pages show for `project` of `client_id` (its `client_id`
/// if the project is gone).
pub fn display_name<'a>(
    project: Option<&'a inkan_directory::typed::Project>,
    client_id: &'a str,
) -> &'a str {
    project.map_or(client_id, |p| p.display_name())
}

/// The name and branding the pages show for the client of a pending request.
pub async fn shown(
    state: &AuthorizeState,
    client_id: &str,
) -> Result<(String, inkan_directory::typed::Brand), AuthorizeError> {
    let project = project(state, client_id).await?;
    let name = display_name(project.as_ref(), client_id).to_owned();
    Ok((name, project.map(|p| p.brand).unwrap_or_default()))
}

/// The name the pages show for the client of a pending request.
pub async fn project_name(
    state: &AuthorizeState,
    client_id: &str,
) -> Result<String, AuthorizeError> {
    let project = project(state, client_id).await?;
    Ok(display_name(project.as_ref(), client_id).to_owned())
}

/// Hourly budgets of a request that mails someone (a reset link, a
/// sign-up): per address typed and per client address.
pub struct MailBudget {
    /// Names the counters (`reset`, `signup`).
    pub kind: &'static str,
    pub per_email: u32,
    pub per_ip: u32,
}

/// Counts one request for `email` from this client against `budget`;
/// whether both counters are within it. A limited request is answered
/// like any other (no enumeration, no hint to retry) and mails nothing.
pub async fn within_mail_budget(
    state: &AuthorizeState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    email: &str,
    budget: MailBudget,
) -> Result<bool, AuthorizeError> {
    use inkan_flows::limits::{self, Decision, IpKey};
    let ip = IpKey::for_ip(inkan_web::client_ip::client_ip(
        headers,
        extensions,
        state.trusted_proxy_header.as_ref(),
    ));
    let kind = budget.kind;
    let by_email = format!(
        "{kind}:email:{}",
        inkan_keys::secret::sha256_b64(&email.to_lowercase())
    );
    let by_ip = format!("{kind}:ip:{}", ip.as_str());
    let decisions = limits::hit_all(
        &*state.kv,
        &[(&by_email, budget.per_email), (&by_ip, budget.per_ip)],
        3600,
    )
    .await?;
    Ok(decisions.iter().all(|d| *d == Decision::Allowed))
}
