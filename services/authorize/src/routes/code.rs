//! The second step of a login: a one-time code (TOTP, RFC 6238) after a
//! password. `POST /login/code` checks a code or a recovery code; `POST
//! /login/totp` finishes setting up a one-time code for someone who must
//! have one and has none yet, then shows the recovery codes once.
//!
//! Until the second step succeeds there is no session: the pending request
//! carries who proved the first factor ([`SecondFactorDue`]), so a password
//! alone never yields a session that another application could use. Code
//! guessing is throttled like password guessing (NIST SP 800-63B §5.2.2),
//! on a key of its own per identity and on the client address; a used time
//! step is refused afterwards on every replica ([`inkan_flows::otp`]).

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use inkan_directory::typed::{Lookup, Project};
use inkan_directory::{SecondFactor, TotpEnrolment};
use inkan_domain::acr::Acr;
use inkan_domain::project::MfaPolicy;
use inkan_flows::limits::{self, AccountKey, IpKey, LoginGate};
use inkan_flows::pending::{self, PendingAuthorization, SecondFactorDue};
use inkan_web::client_ip::client_ip;
use inkan_web::form::OAuthParams;
use inkan_web::OAuthResponse;

use crate::error::AuthorizeError;
use crate::pages::{html, CodePage, RecoveryCodesPage, TotpEnrolPage};
use crate::signin::{self, Verified};
use crate::state::AuthorizeState;

/// Shown for a wrong, expired or throttled code: one message for all.
pub const CODE_FAILED: &str = "code-failed";

/// Shown for a code whose time step was used already.
pub const CODE_USED: &str = "code-used";

/// RFC 8176 §2: a one-time password, and more than one factor.
const SECOND_FACTOR_AMR: [&str; 2] = ["otp", "mfa"];

/// What a login owes after its first factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    /// Nothing: the login is complete.
    None,
    /// A one-time code (or a recovery code) of the identity's.
    Code,
    /// Setting up a one-time code first: the project or the request needs
    /// two factors and the identity has no second one.
    Enrol,
}

/// The step a password login for `project` owes, given the level
/// (`required`, [`Project::required_acr`]) and whether the identity has a
/// one-time code. `mfa: off` never asks; an identity that set up a code is
/// asked for it; one without a code sets one up when the project requires
/// two factors or the request asks for them (`urn:inkan:acr:mfa`). A request
/// for a phishing-resistant login is met only by a passkey: no code helps,
/// and the login answers at the level it reached (`acr_values` is voluntary,
/// OIDC Core §3.1.2.1).
pub fn second_step(project: &Project, required: Option<Acr>, has_code: bool) -> SecondStep {
    match (project.mfa, has_code) {
        (MfaPolicy::Off, _) => SecondStep::None,
        (_, true) => SecondStep::Code,
        (MfaPolicy::Required, false) => SecondStep::Enrol,
        (MfaPolicy::Optional, false) if required == Some(Acr::MultiFactor) => SecondStep::Enrol,
        (MfaPolicy::Optional, false) => SecondStep::None,
    }
}

/// Keeps the pending request `pending` (already taken) waiting for the
/// second step of `identity_id` and shows its page: the code form, or the
/// set-up page with a new secret.
pub async fn ask(
    state: &AuthorizeState,
    mut pending: PendingAuthorization,
    step: SecondStep,
    identity_id: String,
    amr: Vec<String>,
) -> Result<Response, AuthorizeError> {
    let enrolling = (step == SecondStep::Enrol).then(|| inkan_otp::Secret::generate().to_base32());
    pending.second_factor = Some(SecondFactorDue {
        identity_id,
        amr,
        enrolling,
    });
    let authz = pending::put(&*state.kv, &pending).await?;
    render(state, &authz, &pending, None).await
}

/// The page the pending request's second step shows, with `error`.
async fn render(
    state: &AuthorizeState,
    authz: &str,
    pending: &PendingAuthorization,
    error: Option<&str>,
) -> Result<Response, AuthorizeError> {
    let (project_name, brand) = signin::shown(state, &pending.client_id).await?;
    let project_name = project_name.as_str();
    let brand = &brand;
    let Some(due) = &pending.second_factor else {
        return Err(AuthorizeError::LoginExpired);
    };
    let Some(secret) = &due.enrolling else {
        return Ok(html(
            StatusCode::OK,
            &CodePage {
                project_name,
                brand,
                authz,
                csrf: &pending.csrf,
                error,
            },
        ));
    };
    let account = state
        .directory
        .identity(&due.identity_id)
        .await?
        .ok_or(AuthorizeError::LoginExpired)?
        .email;
    let issuer = format!("{project_name} ({})", state.issuer_host());
    let uri = inkan_otp::Secret::from_base32(secret)
        .and_then(|s| s.otpauth_uri(&issuer, &account))
        .map_err(|e| AuthorizeError::Internal(e.into()))?;
    let qr_svg = inkan_otp::qr_svg(&uri).map_err(|e| AuthorizeError::Internal(e.into()))?;
    Ok(html(
        StatusCode::OK,
        &TotpEnrolPage {
            project_name,
            brand,
            authz,
            csrf: &pending.csrf,
            qr_svg: &qr_svg,
            secret,
            error,
        },
    ))
}

/// A post of a second-step page: the pending request, who owes the step,
/// the throttling keys, and whether guessing is throttled now (NIST SP
/// 800-63B §5.2.2: a throttled attempt gets the page a wrong code gets,
/// and its code is not checked).
struct Due {
    verified: Verified,
    due: SecondFactorDue,
    account: AccountKey,
    ip: IpKey,
    client_id: String,
    now: i64,
    throttled: bool,
}

async fn due(
    state: &AuthorizeState,
    headers: &HeaderMap,
    extensions: &Extensions,
    form: &inkan_oauth::params::Params,
) -> Result<Due, AuthorizeError> {
    let verified = signin::verify(state, headers, form).await?;
    let due = verified
        .pending
        .second_factor
        .clone()
        .ok_or(AuthorizeError::LoginExpired)?;
    let account = AccountKey::for_second_factor(&due.identity_id);
    let ip = IpKey::for_ip(client_ip(
        headers,
        extensions,
        state.trusted_proxy_header.as_ref(),
    ));
    let client_id = verified.pending.client_id.clone();
    let now = state.clock.now();
    let gate = limits::login_allowed(&*state.kv, &account, &ip, now).await?;
    if gate != LoginGate::Open {
        tracing::info!(%client_id, ?gate, "second factor throttled");
    }
    Ok(Due {
        verified,
        due,
        account,
        ip,
        client_id,
        now,
        throttled: gate != LoginGate::Open,
    })
}

impl Due {
    /// The same page again, with `message`.
    /// The page again with the message `message_id`.
    async fn again(
        &self,
        state: &AuthorizeState,
        message_id: &str,
    ) -> Result<Response, AuthorizeError> {
        render(
            state,
            &self.verified.authz,
            &self.verified.pending,
            Some(&crate::i18n::t(message_id)),
        )
        .await
    }

    /// Records a wrong code against the identity and the address, and
    /// shows the page again.
    async fn wrong(&self, state: &AuthorizeState, what: &str) -> Result<Response, AuthorizeError> {
        let failures =
            limits::record_login_failure(&*state.kv, &self.account, &self.ip, self.now).await?;
        tracing::info!(client_id = %self.client_id, failures, "{what}");
        self.again(state, CODE_FAILED).await
    }
}

/// The methods of a login that passed its second step.
fn with_second_factor(mut amr: Vec<String>) -> Vec<String> {
    for m in SECOND_FACTOR_AMR {
        if !amr.iter().any(|a| a == m) {
            amr.push(m.to_owned());
        }
    }
    amr
}

/// `POST /login/code` (`authz`, `csrf`, `code`): a six-digit code or a
/// recovery code. Success signs in with `amr` `pwd otp mfa` and answers
/// the request; anything else shows the form again with one message.
pub async fn code(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let d = due(&state, &headers, &extensions, &form).await?;
    if d.due.enrolling.is_some() {
        return Err(AuthorizeError::LoginExpired);
    }
    if d.throttled {
        return d.again(&state, CODE_FAILED).await;
    }
    let identity_id = &d.due.identity_id;
    let typed = form.get("code").unwrap_or_default();
    match state
        .directory
        .verify_second_factor(identity_id, typed)
        .await?
    {
        SecondFactor::Totp { step } => {
            if !inkan_flows::otp::spend_step(&*state.kv, identity_id, step).await? {
                tracing::info!(client_id = %d.client_id, "one-time code refused: its time step was used");
                return d.again(&state, CODE_USED).await;
            }
        }
        SecondFactor::RecoveryCode { left } => {
            tracing::info!(client_id = %d.client_id, left, "recovery code used");
        }
        SecondFactor::Rejected => {
            inkan_telemetry::metrics::login_attempt(false);
            return d.wrong(&state, "second factor failed").await;
        }
        // Removed by an admin since the password step: start again.
        SecondFactor::NotEnrolled => return Err(AuthorizeError::LoginExpired),
    }
    let Due {
        verified,
        due,
        account,
        ..
    } = d;
    limits::record_login_success(&*state.kv, &account).await?;
    let amr = with_second_factor(due.amr);
    signin::complete(&state, &headers, &verified.authz, due.identity_id, amr).await
}

/// `POST /login/totp` (`authz`, `csrf`, `code`): the first code of the
/// secret being set up. A right code stores the secret (through the admin),
/// signs in with two factors and shows the recovery codes once; their page
/// continues to the application (`/login/continue`).
pub async fn enrol(
    State(state): State<AuthorizeState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<OAuthParams, OAuthResponse>,
) -> Result<Response, AuthorizeError> {
    let OAuthParams(form) = form?;
    let d = due(&state, &headers, &extensions, &form).await?;
    let Some(text) = d.due.enrolling.as_deref() else {
        return Err(AuthorizeError::LoginExpired);
    };
    let secret = inkan_otp::Secret::from_base32(text).map_err(|_| {
        AuthorizeError::Internal("a pending one-time-code secret is unreadable".into())
    })?;
    if d.throttled {
        return d.again(&state, CODE_FAILED).await;
    }
    let step = secret.check(
        form.get("code").unwrap_or_default(),
        u64::try_from(d.now).unwrap_or(0),
    );
    let Some(step) = step.and_then(|s| i64::try_from(s).ok()) else {
        return d.wrong(&state, "one-time code set-up: wrong code").await;
    };
    let Due {
        verified,
        due,
        account,
        client_id,
        ..
    } = d;
    let codes = match state
        .directory
        .enrol_totp(&due.identity_id, secret.as_bytes().to_vec())
        .await?
    {
        TotpEnrolment::Enrolled { recovery_codes } => recovery_codes,
        // Set up meanwhile (another tab) or gone: this login starts again.
        TotpEnrolment::AlreadyEnrolled | TotpEnrolment::NoIdentity => {
            return Err(AuthorizeError::LoginExpired)
        }
    };
    // The set-up code is spent too: it cannot sign in a second time.
    inkan_flows::otp::restart(&*state.kv, &due.identity_id, step).await?;
    limits::record_login_success(&*state.kv, &account).await?;
    tracing::info!(%client_id, "one-time code set up");

    // Signed in now; the request waits for "continue" on the codes page.
    let amr = with_second_factor(due.amr);
    let held = signin::hold(
        &state,
        &headers,
        &verified.authz,
        due.identity_id,
        amr,
        "recovery codes",
    )
    .await?;
    let (project_name, brand) = signin::shown(&state, &held.pending.client_id).await?;
    let mut response = html(
        StatusCode::OK,
        &RecoveryCodesPage {
            project_name: &project_name,
            brand: &brand,
            authz: &held.authz,
            csrf: &held.pending.csrf,
            codes: &codes,
        },
    );
    response.headers_mut().append(SET_COOKIE, held.cookie);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inkan_domain::project::LoginMethod;

    fn project(mfa: MfaPolicy) -> Project {
        let mut wire =
            inkan_testkit::directory::project("shop", "web", &["https://shop.example/cb"]);
        wire.mfa = match mfa {
            MfaPolicy::Off => "off",
            MfaPolicy::Optional => "optional",
            MfaPolicy::Required => "required",
        }
        .into();
        let project = Project::try_from(wire).unwrap();
        assert_eq!(project.login_methods, LoginMethod::ALL);
        project
    }

    #[test]
    fn a_password_login_owes_a_code_by_the_projects_policy_and_the_requested_level() {
        use SecondStep::*;
        let mfa = Some(Acr::MultiFactor);
        let phr = Some(Acr::PhishingResistant);
        for (policy, required, has_code, expected) in [
            (MfaPolicy::Off, mfa, true, None),
            (MfaPolicy::Optional, Option::None, true, Code),
            (MfaPolicy::Optional, Option::None, false, None),
            (MfaPolicy::Optional, mfa, false, Enrol),
            (MfaPolicy::Optional, phr, false, None),
            (MfaPolicy::Required, Option::None, false, Enrol),
            (MfaPolicy::Required, Option::None, true, Code),
        ] {
            assert_eq!(
                second_step(&project(policy), required, has_code),
                expected,
                "{policy:?} {required:?} code={has_code}"
            );
        }
    }

    #[test]
    fn a_required_second_factor_raises_the_level_a_login_must_reach() {
        assert_eq!(
            project(MfaPolicy::Required).required_acr(None),
            Some(Acr::MultiFactor)
        );
        assert_eq!(
            project(MfaPolicy::Required).required_acr(Some("urn:inkan:acr:phr")),
            Some(Acr::PhishingResistant)
        );
        assert_eq!(
            project(MfaPolicy::Optional).required_acr(None),
            Option::None
        );
        assert_eq!(
            project(MfaPolicy::Off).required_acr(Some("urn:other urn:inkan:acr:mfa")),
            Some(Acr::MultiFactor)
        );
        // The project's defaults stand in for a request without acr_values.
        let mut defaults = project(MfaPolicy::Optional);
        defaults.default_acr_values = vec![Acr::PhishingResistant, Acr::MultiFactor];
        assert_eq!(defaults.required_acr(None), Some(Acr::MultiFactor));
        assert_eq!(
            defaults.required_acr(Some("urn:inkan:acr:1fa")),
            Some(Acr::OneFactor)
        );
    }

    #[test]
    fn the_second_factor_adds_otp_and_mfa_once() {
        assert_eq!(
            with_second_factor(vec!["pwd".into()]),
            ["pwd", "otp", "mfa"]
        );
        assert_eq!(
            with_second_factor(vec!["pwd".into(), "otp".into(), "mfa".into()]),
            ["pwd", "otp", "mfa"]
        );
    }
}
