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
use inkan_directory::typed::{Lookup, Project};
use inkan_domain::project::{GrantType, LoginMethod};
use inkan_flows::par;
use inkan_flows::pending::{self, PendingAuthorization};
use inkan_flows::session::Session;
use inkan_keys::secret::generate_token;
use inkan_oauth::authorize::{
    echo_state, AuthorizationRequest, ClientPolicy, ClientTarget, Prompt,
};
use inkan_oauth::error::{ErrorCode, OAuthError};
use inkan_oauth::params::Params;
use inkan_oauth::redirect::matches_registered;
use inkan_oauth::Acr;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;

use crate::error::AuthorizeError;
use crate::grant::{self, Approved};
use crate::pages::{email_prefill, html, LoginPage};
use crate::redirect::{see_other, ReplyTo};
use crate::routes::code::{self, SecondStep};
use crate::state::AuthorizeState;
use crate::{cookie, csrf};

/// The authorization endpoint; `params` come from the query (GET) or the
/// form body (POST). Parse (the client, its redirect URI, the request),
/// look up the browser's session, [`decide`], then render the decision.
pub async fn authorize(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    params: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let target = parse_target(&state, params).await?;
    let fail = |error: OAuthError| AuthorizeError::redirect(&state.issuer, &target.reply, error);
    let outage =
        |e: AuthorizeError| AuthorizeError::redirect_failure(&state.issuer, &target.reply, e);
    let request = parse_request(&state, &target).map_err(fail)?;

    let now = state.clock.now();
    // A project that needs verified addresses is not answered by the
    // session of someone whose address is not: they sign in (and are held
    // at the verification page there).
    let session = crate::signin::live_session(&state, &headers, now)
        .await
        .map_err(outage)?
        .filter(|live| !target.project.require_verified_email || live.identity.email_verified)
        .map(|live| (live.sid, live.session));
    let approved =
        Approved::from_request(&request.request, &target.project, target.reply.clone(), now);
    match (
        decide(&request, session.as_ref().map(|(_, s)| s), now),
        session,
    ) {
        (Decision::Answer, Some((sid, session))) => {
            // SSO: the session answers without showing anything.
            let location = grant::issue(&state, &approved, &sid, &session, now)
                .await
                .map_err(outage)?;
            see_other(&location)
        }
        (Decision::LoginRequired, _) => Err(fail(OAuthError::new(
            ErrorCode::LoginRequired,
            "the user is not logged in",
        ))),
        (decision, session) => {
            let login = LoginForm {
                project: &target.project,
                request: &request,
                approved: &approved,
                now,
            };
            // Step-up asks only for the missing factor: a password session
            // that needs two factors goes straight to the code (or its set-up).
            let step_up = match (decision, session) {
                (Decision::StepUp, Some((_, session))) => {
                    step_up(&state, &target.project, &request, session, now)
                        .await
                        .map_err(outage)?
                }
                _ => None,
            };
            login_page(&state, &headers, login, step_up, &outage).await
        }
    }
}

/// How recent a password login must be for its session to set up a
/// one-time code without the password again (10 minutes).
pub const FRESH_FOR_SET_UP_SECONDS: i64 = 600;

/// The second step a password session owes to reach `request`'s level, if
/// a one-time code can supply it.
async fn step_up(
    state: &AuthorizeState,
    project: &Project,
    request: &Parsed,
    session: Session,
    now: i64,
) -> Result<Option<(SecondStep, Session)>, AuthorizeError> {
    let Some(identity) = state.directory.identity(&session.identity_id).await? else {
        return Ok(None);
    };
    let step = code::second_step(project, request.required, identity.totp);
    Ok(step_up_allowed(step, session.auth_time, now).then_some((step, session)))
}

/// Whether a session may take `step` without signing in again. Asking for
/// an existing code is always fine (it is the missing factor); setting one
/// up binds a second factor to the account, so it needs a recent password:
/// a stolen older session must not lock its user out with the thief's app.
fn step_up_allowed(step: SecondStep, auth_time: i64, now: i64) -> bool {
    match step {
        SecondStep::None => false,
        SecondStep::Code => true,
        SecondStep::Enrol => now - auth_time <= FRESH_FOR_SET_UP_SECONDS,
    }
}

/// A client and redirect URI that are known good: from here on, errors go
/// back to the client (RFC 6749 §4.1.2.1).
struct Target {
    project: Project,
    params: Params,
    reply: ReplyTo,
    /// The parameters came from a pushed authorization request (RFC 9126).
    pushed: bool,
}

/// RFC 6749 §4.1.2.1: until the client and the redirect URI are validated,
/// errors are shown, never redirected. That includes unreadable parameters
/// (a repeated `redirect_uri` leaves no trusted one).
async fn parse_target(
    state: &AuthorizeState,
    params: Result<OAuthParams, OAuthResponse>,
) -> Result<Target, AuthorizeError> {
    let OAuthParams(params) = params?;
    let (params, pushed) = match params.get("request_uri") {
        Some(uri) if uri.starts_with(par::REQUEST_URI_PREFIX) => {
            (pushed_request(state, &params, uri).await?, true)
        }
        _ => (params, false),
    };
    let target = ClientTarget::parse(&params).map_err(AuthorizeError::InvalidRequest)?;
    let project = state
        .directory
        .project(&target.client_id)
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
    let reply = ReplyTo {
        redirect_uri,
        state: echo_state(&params).map(str::to_owned),
    };
    Ok(Target {
        project,
        params,
        reply,
        pushed,
    })
}

/// The parameters of a pushed authorization request (RFC 9126 §4): the
/// `request_uri` is taken once, must belong to the `client_id` the browser
/// brings, and its parameters replace the query's. A `request_uri` that is
/// unknown, expired or used is shown on an error page: nothing trustworthy
/// says where to redirect.
async fn pushed_request(
    state: &AuthorizeState,
    params: &Params,
    request_uri: &str,
) -> Result<Params, AuthorizeError> {
    let client_id = ClientTarget::parse(params)
        .map_err(AuthorizeError::InvalidRequest)?
        .client_id;
    let invalid = |why: &str| {
        AuthorizeError::InvalidRequest(OAuthError::new(ErrorCode::InvalidRequestUri, why))
    };
    let pushed = par::take(&*state.kv, request_uri)
        .await?
        .ok_or_else(|| invalid("the request_uri is unknown, expired or already used"))?;
    if pushed.client_id != client_id {
        return Err(invalid("the request_uri was pushed by another client"));
    }
    Params::parse(pushed.params.as_bytes())
        .map_err(|_| AuthorizeError::Internal("a pushed request is unreadable".into()))
}

/// The request, parsed under the project's policy, with the subject of its
/// `id_token_hint` if it has one.
struct Parsed {
    request: AuthorizationRequest,
    hinted_subject: Option<String>,
    /// The level the login must reach ([`Project::required_acr`]).
    required: Option<Acr>,
    /// The project's `login_methods`.
    password: bool,
    passkey: bool,
}

fn parse_request(state: &AuthorizeState, target: &Target) -> Result<Parsed, OAuthError> {
    let project = &target.project;
    // RFC 6749 §4.1.2.1: a client not allowed this grant (e.g. a `service`
    // project, which only has client_credentials) is `unauthorized_client`.
    if !project.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not allowed to use the authorization code flow",
        ));
    }
    // RFC 9126 §6; FAPI 2.0 Security Profile §5.3.2.2 item 1.
    if project.require_pushed_authorization_requests && !target.pushed {
        return Err(OAuthError::invalid_request(
            "this client must push its authorization requests to /par",
        ));
    }
    let policy = ClientPolicy {
        allowed_scopes: project.scopes.clone(),
        requires_pkce: project.requires_pkce,
        drop_unknown_scopes: !project.reject_unknown_scopes,
    };
    let request = AuthorizationRequest::parse(&target.params, &policy)?;
    let hinted_subject = match &request.id_token_hint {
        Some(hint) => Some(hint_subject(state, hint).ok_or_else(|| {
            OAuthError::invalid_request("id_token_hint is not a valid ID token from this issuer")
        })?),
        None => None,
    };
    let required = project.required_acr(request.acr_values.as_deref());
    Ok(Parsed {
        request,
        hinted_subject,
        required,
        password: project.allows_login(LoginMethod::Password),
        passkey: project.allows_login(LoginMethod::Passkey),
    })
}

/// What the endpoint does with a valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// The session answers at once with a code (SSO).
    Answer,
    /// `prompt=none` and no usable session: `login_required`.
    LoginRequired,
    /// Show the login form.
    ShowLogin,
    /// The session is fine but for its level: one factor (a password)
    /// where two are needed. Ask for the second, not the password again.
    StepUp,
}

/// Whether the session (if any) may answer `request` now. Pure: everything
/// it needs is looked up before.
///
/// Step-up: a session answers a request only if its login reached the
/// level the request (or the project, [`Project::required_acr`]) asks for;
/// otherwise the user signs in again (with a passkey), or, from a password
/// session that needs two factors, enters a one-time code
/// ([`Decision::StepUp`]). `acr_values` stays voluntary (OIDC Core
/// §3.1.2.1): a new login that reaches a lower level still answers, with
/// the `acr` it reached, for the relying party to judge.
fn decide(request: &Parsed, session: Option<&Session>, now: i64) -> Decision {
    let fine_but_level = session.filter(|session| {
        !must_reauthenticate(&request.request, session, now)
            && used_an_allowed_method(request, session)
            && request
                .hinted_subject
                .as_deref()
                .is_none_or(|sub| sub == session.identity_id)
    });
    let reached = fine_but_level.map(|s| Acr::of_amr(&s.amr));
    let usable = reached.is_some_and(|level| request.required.is_none_or(|r| level >= r));
    if usable {
        Decision::Answer
    } else if request.request.has_prompt(Prompt::None) {
        // OIDC Core §3.1.2.1: with prompt=none the OP "MUST NOT display any
        // authentication or consent user interface pages"; no usable session
        // means `login_required` (OIDC Core §3.1.2.6).
        Decision::LoginRequired
    } else if reached == Some(Acr::OneFactor)
        && request.required == Some(Acr::MultiFactor)
        && request.password
        && fine_but_level.is_some_and(|s| s.amr.iter().any(|m| m == "pwd"))
    {
        Decision::StepUp
    } else {
        Decision::ShowLogin
    }
}

/// Whether the session's login used a method the project accepts (a
/// password session does not sign in to a passkey-only project).
fn used_an_allowed_method(request: &Parsed, session: &Session) -> bool {
    let password = session.amr.iter().any(|a| a == "pwd");
    (request.password && password)
        || (request.passkey && inkan_domain::acr::used_passkey(&session.amr))
}

/// Shown when the request asks for a passkey.
pub const STRONGER_SIGN_IN: &str = "login-stronger";

/// Shown when the request or the project asks for two factors.
pub const TWO_STEP_SIGN_IN: &str = "login-two-step";

/// What the login form is rendered for.
struct LoginForm<'a> {
    project: &'a Project,
    request: &'a Parsed,
    approved: &'a Approved,
    now: i64,
}

/// Stores the pending request and renders the login form, binding its CSRF
/// token to this browser. A store failure goes back to the client (`outage`).
async fn login_page(
    state: &AuthorizeState,
    headers: &HeaderMap,
    form: LoginForm<'_>,
    step_up: Option<(SecondStep, Session)>,
    outage: &(dyn Fn(AuthorizeError) -> AuthorizeError + Sync),
) -> Result<Response, AuthorizeError> {
    let LoginForm {
        project,
        request: parsed,
        approved,
        now,
    } = form;
    let request = &parsed.request;
    let binding = cookie::read(headers, cookie::login_name(state.secure_cookies))
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
        signed_in: None,
        acr_values: request.acr_values.clone(),
        backchannel: approved.backchannel,
        second_factor: None,
        unverified: None,
        dpop_jkt: approved.dpop_jkt.clone(),
    };
    let mut response = if let Some((step, session)) = step_up {
        code::ask(state, record, step, session.identity_id, session.amr)
            .await
            .map_err(outage)?
    } else {
        let authz = pending::put(&*state.kv, &record)
            .await
            .map_err(|e| outage(e.into()))?;
        let passkeys = state.passkeys_enabled() && parsed.passkey;
        let notice = match parsed.required {
            Some(Acr::PhishingResistant) if passkeys => Some(crate::i18n::t(STRONGER_SIGN_IN)),
            Some(Acr::MultiFactor) => Some(crate::i18n::t(TWO_STEP_SIGN_IN)),
            _ => None,
        };
        html(
            StatusCode::OK,
            &LoginPage {
                project_name: project.display_name(),
                authz: &authz,
                csrf: &csrf_token,
                email: email_prefill(request.login_hint.as_deref()),
                error: None,
                password: parsed.password,
                passkeys,
                notice: notice.as_deref(),
                forgot: state.mail,
                signup: state.mail && project.allow_signup && parsed.password,
                brand: &project.brand,
            },
        )
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn parsed(query: &str, hinted_subject: Option<&str>) -> Parsed {
        let base = "response_type=code&client_id=shop&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=openid";
        let params = Params::parse(format!("{base}{query}").as_bytes()).unwrap();
        let policy = ClientPolicy {
            allowed_scopes: vec!["openid".into()],
            requires_pkce: false,
            drop_unknown_scopes: true,
        };
        let request = AuthorizationRequest::parse(&params, &policy).unwrap();
        Parsed {
            required: Acr::requested(request.acr_values.as_deref()),
            request,
            hinted_subject: hinted_subject.map(str::to_owned),
            password: true,
            passkey: true,
        }
    }

    fn session(auth_time: i64) -> Session {
        Session::new("ada", auth_time, vec!["pwd".into()])
    }

    #[test]
    fn a_live_session_answers_at_once_and_none_shows_the_login_form() {
        let s = session(NOW - 60);
        assert_eq!(decide(&parsed("", None), Some(&s), NOW), Decision::Answer);
        assert_eq!(decide(&parsed("", None), None, NOW), Decision::ShowLogin);
    }

    #[test]
    fn prompt_none_without_a_usable_session_is_login_required_never_a_form() {
        let s = session(NOW - 60);
        assert_eq!(
            decide(&parsed("&prompt=none", None), None, NOW),
            Decision::LoginRequired
        );
        assert_eq!(
            decide(&parsed("&prompt=none", None), Some(&s), NOW),
            Decision::Answer
        );
        // A hint for another user makes the session unusable.
        assert_eq!(
            decide(&parsed("&prompt=none", Some("bob")), Some(&s), NOW),
            Decision::LoginRequired
        );
    }

    #[test]
    fn prompt_login_select_account_and_an_exceeded_max_age_ask_for_a_login_again() {
        let s = session(NOW - 60);
        for query in [
            "&prompt=login",
            "&prompt=select_account",
            "&max_age=0",
            "&max_age=59",
        ] {
            assert_eq!(
                decide(&parsed(query, None), Some(&s), NOW),
                Decision::ShowLogin,
                "{query}"
            );
        }
        assert_eq!(
            decide(&parsed("&max_age=60", None), Some(&s), NOW),
            Decision::Answer
        );
        // A session from the future (clock skew) has elapsed 0.
        assert_eq!(
            decide(&parsed("&max_age=5", None), Some(&session(NOW + 30)), NOW),
            Decision::Answer
        );
    }

    #[test]
    fn a_session_below_the_requested_level_asks_for_a_login_again() {
        let password = session(NOW - 60);
        let passkey = Session {
            amr: vec!["hwk".into(), "user".into(), "mfa".into()],
            ..session(NOW - 60)
        };
        let phr = "&acr_values=urn%3Ainkan%3Aacr%3Aphr";
        assert_eq!(
            decide(&parsed(phr, None), Some(&password), NOW),
            Decision::ShowLogin
        );
        assert_eq!(
            decide(&parsed(phr, None), Some(&passkey), NOW),
            Decision::Answer
        );
        let one = "&acr_values=urn%3Ainkan%3Aacr%3A1fa";
        assert_eq!(
            decide(&parsed(one, None), Some(&password), NOW),
            Decision::Answer
        );
        // Unknown values ask for nothing; prompt=none cannot step up.
        let unknown = "&acr_values=urn%3Aother%3Agold";
        assert_eq!(
            decide(&parsed(unknown, None), Some(&password), NOW),
            Decision::Answer
        );
        assert_eq!(
            decide(
                &parsed(&format!("{phr}&prompt=none"), None),
                Some(&password),
                NOW
            ),
            Decision::LoginRequired
        );
    }

    #[test]
    fn a_session_sets_up_a_code_only_within_minutes_of_its_password() {
        assert!(step_up_allowed(SecondStep::Code, NOW - 86_400, NOW));
        assert!(step_up_allowed(SecondStep::Enrol, NOW - 600, NOW));
        assert!(!step_up_allowed(SecondStep::Enrol, NOW - 601, NOW));
        assert!(!step_up_allowed(SecondStep::None, NOW, NOW));
    }

    #[test]
    fn a_hint_for_the_sessions_own_user_keeps_it_usable() {
        let s = session(NOW - 60);
        assert_eq!(
            decide(&parsed("", Some("ada")), Some(&s), NOW),
            Decision::Answer
        );
        assert_eq!(
            decide(&parsed("", Some("bob")), Some(&s), NOW),
            Decision::ShowLogin
        );
    }
}
