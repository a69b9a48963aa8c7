//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), parsed in
//! two phases.
//!
//! RFC 6749 §4.1.2.1: if the client identifier or the redirect URI is
//! missing, invalid or unregistered, the server must tell the user and must
//! not redirect. So a handler:
//! 1. parses a [`ClientTarget`] — its errors go on an error page;
//! 2. looks the client up and checks the redirect URI with
//!    [`crate::redirect::matches_registered`] — still an error page;
//! 3. parses the [`AuthorizationRequest`] with the client's [`ClientPolicy`] —
//!    from here on errors are redirected to the redirect URI with `state`
//!    (see [`echo_state`]).
//!
//! Only the authorization code flow is supported (`response_type=code`),
//! only with S256 PKCE, and responses only use the query (`response_mode`
//! absent or `query`; `fragment` would not reach a server, and `form_post`
//! is not offered). Unknown parameters are ignored (RFC 6749 §3.1), including
//! `claims` (discovery advertises `claims_parameter_supported: false`).

use crate::error::{quoted, ErrorCode, OAuthError};
use crate::params::Params;
use crate::pkce::{self, CodeChallengeMethod};
use crate::scope::Scopes;

/// The longest accepted `state` and `nonce`, in characters.
pub const MAX_STATE_CHARS: usize = 2048;

/// Who the request is for and where the answer goes: the part that must be
/// validated before any error may be redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTarget {
    pub client_id: String,
    /// RFC 6749 §3.1.2.3 lets a client with one registered redirect URI omit
    /// it; OIDC Core §3.1.2.1 makes it REQUIRED. The service decides.
    pub redirect_uri: Option<String>,
}

impl ClientTarget {
    /// Reads `client_id` and `redirect_uri`. An error here must be shown to
    /// the user, never redirected (RFC 6749 §4.1.2.1).
    pub fn parse(params: &Params) -> Result<ClientTarget, OAuthError> {
        let client_id = params.require("client_id")?;
        // RFC 6749 Appendix A.1: client_id = *VSCHAR.
        if !client_id.bytes().all(is_vschar) {
            return Err(OAuthError::invalid_request(
                "client_id contains a character outside %x20-7E",
            ));
        }
        Ok(ClientTarget {
            client_id: client_id.to_owned(),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
        })
    }
}

/// What the registered client allows, looked up by the service between the
/// two phases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Scopes the client may request; `openid` must be among them.
    pub allowed_scopes: Vec<String>,
    /// Whether a request without `code_challenge` is refused. Every request
    /// that does send one must use S256 regardless.
    pub requires_pkce: bool,
    /// Whether scopes outside `allowed_scopes` are silently dropped (true)
    /// or refused with `invalid_scope` (false).
    pub drop_unknown_scopes: bool,
}

/// A `prompt` value (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

impl Prompt {
    fn parse(value: &str) -> Option<Prompt> {
        match value {
            "none" => Some(Prompt::None),
            "login" => Some(Prompt::Login),
            "consent" => Some(Prompt::Consent),
            "select_account" => Some(Prompt::SelectAccount),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::None => "none",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::SelectAccount => "select_account",
        }
    }
}

/// A `display` value (OIDC Core §3.1.2.1). All four are accepted; the login
/// UI may render `touch` and `wap` like `page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Display {
    Page,
    Popup,
    Touch,
    Wap,
}

impl Display {
    fn parse(value: &str) -> Option<Display> {
        match value {
            "page" => Some(Display::Page),
            "popup" => Some(Display::Popup),
            "touch" => Some(Display::Touch),
            "wap" => Some(Display::Wap),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Display::Page => "page",
            Display::Popup => "popup",
            Display::Touch => "touch",
            Display::Wap => "wap",
        }
    }
}

/// A valid authorization code request: `response_type=code`, `openid` in
/// scope, S256 PKCE when a challenge is sent, responses in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub target: ClientTarget,
    /// The requested scopes after the client policy (unknown ones dropped
    /// when the policy says so); always contains `openid`.
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 `code_challenge`, syntax-checked.
    pub code_challenge: Option<String>,
    /// Distinct prompt values in request order; `none` is always alone.
    pub prompt: Vec<Prompt>,
    /// Seconds; the service compares it with the session's `auth_time`.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub claims_locales: Option<String>,
    pub acr_values: Option<String>,
    pub display: Option<Display>,
    pub id_token_hint: Option<String>,
    /// The DPoP key the code is to be bound to (RFC 9449 §10): the
    /// thumbprint, base64url of a SHA-256 hash.
    pub dpop_jkt: Option<String>,
}

impl AuthorizationRequest {
    /// Parses the request once the client and redirect URI are trusted.
    /// Every error from here is redirected (RFC 6749 §4.1.2.1) — except one
    /// from the embedded [`ClientTarget::parse`], which the handler has
    /// already run successfully on the same parameters.
    pub fn parse(params: &Params, policy: &ClientPolicy) -> Result<Self, OAuthError> {
        let target = ClientTarget::parse(params)?;

        // OIDC Core §6: request objects are not supported (discovery says
        // request_parameter_supported / request_uri_parameter_supported false).
        if params.contains("request") {
            return Err(OAuthError::new(
                ErrorCode::RequestNotSupported,
                "the request parameter is not supported",
            ));
        }
        if params.contains("request_uri") {
            return Err(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "the request_uri parameter is not supported",
            ));
        }
        // OIDC Core §7.2.1 / §3.1.2.6.
        if params.contains("registration") {
            return Err(OAuthError::new(
                ErrorCode::RegistrationNotSupported,
                "the registration parameter is not supported",
            ));
        }

        check_response_type(params.require("response_type")?)?;
        check_response_mode(params.get("response_mode"))?;
        let scopes = parse_scopes(params.get("scope"), policy)?;

        let state = params.get("state");
        if let Some(state) = state {
            // RFC 6749 Appendix A.5: state = 1*VSCHAR.
            if !state.bytes().all(is_vschar) {
                return Err(OAuthError::invalid_request(
                    "state contains a character outside %x20-7E",
                ));
            }
            check_length("state", state)?;
        }
        let nonce = params.get("nonce");
        if let Some(nonce) = nonce {
            check_length("nonce", nonce)?;
        }

        let code_challenge = parse_pkce(params, policy)?;
        let prompt = parse_prompt(params.get("prompt"))?;
        let max_age = params.get("max_age").map(parse_max_age).transpose()?;
        let display = params
            .get("display")
            .map(|d| {
                Display::parse(d).ok_or_else(|| {
                    OAuthError::invalid_request(format!("unsupported display {}", quoted(d)))
                })
            })
            .transpose()?;

        let dpop_jkt = params.get("dpop_jkt");
        if let Some(jkt) = dpop_jkt {
            // RFC 9449 §10 / RFC 7638 §3: base64url (no padding) of SHA-256.
            let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            if jkt.len() != 43 || !jkt.bytes().all(base64url) {
                return Err(OAuthError::invalid_request(
                    "dpop_jkt must be a base64url SHA-256 JWK thumbprint",
                ));
            }
        }
        let owned = |name: &str| params.get(name).map(str::to_owned);
        Ok(AuthorizationRequest {
            target,
            scopes,
            state: state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge,
            prompt,
            max_age,
            login_hint: owned("login_hint"),
            ui_locales: owned("ui_locales"),
            claims_locales: owned("claims_locales"),
            acr_values: owned("acr_values"),
            display,
            id_token_hint: owned("id_token_hint"),
            dpop_jkt: dpop_jkt.map(str::to_owned),
        })
    }

    pub fn has_prompt(&self, prompt: Prompt) -> bool {
        self.prompt.contains(&prompt)
    }
}

/// The `state` to send back with a redirected error: the client's value if it
/// could be echoed at all (RFC 6749 §4.1.2.1 requires it when it was sent),
/// `None` when absent or malformed.
pub fn echo_state(params: &Params) -> Option<&str> {
    params
        .get("state")
        .filter(|s| s.len() <= MAX_STATE_CHARS && s.bytes().all(is_vschar))
}

/// RFC 6749 Appendix A: `VSCHAR = %x20-7E`.
fn is_vschar(b: u8) -> bool {
    (0x20..=0x7E).contains(&b)
}

fn check_length(name: &str, value: &str) -> Result<(), OAuthError> {
    if value.chars().count() > MAX_STATE_CHARS {
        return Err(OAuthError::invalid_request(format!(
            "{name} must be at most {MAX_STATE_CHARS} characters"
        )));
    }
    Ok(())
}

fn check_response_type(response_type: &str) -> Result<(), OAuthError> {
    // Only the authorization code flow (OIDC Core §3.1); implicit and hybrid
    // response types (`token`, `id_token`, `code id_token`, ...) are refused
    // (RFC 9700 §2.1.2).
    if response_type == "code" {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            format!(
                "response_type {} is not supported, use code",
                quoted(response_type)
            ),
        ))
    }
}

fn check_response_mode(response_mode: Option<&str>) -> Result<(), OAuthError> {
    match response_mode {
        None | Some("query") => Ok(()),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "response_mode {} is not supported, use query",
            quoted(other)
        ))),
    }
}

fn parse_scopes(scope: Option<&str>, policy: &ClientPolicy) -> Result<Scopes, OAuthError> {
    // OIDC Core §3.1.2.1: "OpenID Connect requests MUST contain the openid
    // scope value."
    let Some(scope) = scope else {
        return Err(OAuthError::invalid_scope(
            "scope is required and must include openid",
        ));
    };
    let requested = Scopes::parse(scope)?;
    if !requested.contains("openid") {
        return Err(OAuthError::invalid_scope("scope must include openid"));
    }
    let allowed: Vec<&str> = policy
        .allowed_scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !crate::scope::is_machine_only(s))
        .collect();
    let granted = requested.intersect(&allowed);
    if !policy.drop_unknown_scopes {
        if let Some(unknown) = requested.iter().find(|t| !allowed.contains(t)) {
            return Err(OAuthError::invalid_scope(format!(
                "scope {} is not allowed for this client",
                quoted(unknown)
            )));
        }
    }
    if !granted.contains("openid") {
        return Err(OAuthError::invalid_scope(
            "scope openid is not allowed for this client",
        ));
    }
    Ok(granted)
}

fn parse_pkce(params: &Params, policy: &ClientPolicy) -> Result<Option<String>, OAuthError> {
    let method = params.get("code_challenge_method");
    match params.get("code_challenge") {
        Some(challenge) => {
            // RFC 7636 §4.3: an absent method means plain, which
            // CodeChallengeMethod refuses (RFC 9700 §2.1.1).
            let CodeChallengeMethod::S256 = CodeChallengeMethod::parse(method)?;
            pkce::check_challenge_syntax(challenge)?;
            Ok(Some(challenge.to_owned()))
        }
        None if method.is_some() => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        None if policy.requires_pkce => Err(OAuthError::invalid_request(
            "code_challenge is required for this client (PKCE with S256)",
        )),
        None => Ok(None),
    }
}

fn parse_prompt(prompt: Option<&str>) -> Result<Vec<Prompt>, OAuthError> {
    let mut values = Vec::new();
    // A space-delimited, case-sensitive list (OIDC Core §3.1.2.1); empty
    // tokens are skipped as for scope.
    for token in prompt
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
    {
        let value = Prompt::parse(token).ok_or_else(|| {
            OAuthError::invalid_request(format!("unsupported prompt value {}", quoted(token)))
        })?;
        if !values.contains(&value) {
            values.push(value);
        }
    }
    // OIDC Core §3.1.2.1: "If this parameter contains none with any other
    // value, an error is returned."
    if values.contains(&Prompt::None) && values.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt none cannot be combined with other values",
        ));
    }
    Ok(values)
}

fn parse_max_age(value: &str) -> Result<u64, OAuthError> {
    // OIDC Core §3.1.2.1: a number of seconds; only plain digits, so `+5`,
    // `-1` and `1e3` are refused.
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OAuthError::invalid_request(
            "max_age must be a non-negative integer",
        ));
    }
    value
        .parse()
        .map_err(|_| OAuthError::invalid_request("max_age is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn policy() -> ClientPolicy {
        ClientPolicy {
            allowed_scopes: vec!["openid".into(), "email".into(), "profile".into()],
            requires_pkce: true,
            drop_unknown_scopes: false,
        }
    }

    fn base() -> String {
        format!(
            "client_id=shop&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&response_type=code\
             &scope=openid+email&state=xyz&nonce=n-1&code_challenge={CHALLENGE}\
             &code_challenge_method=S256"
        )
    }

    fn parse_with(extra: &str, policy: &ClientPolicy) -> Result<AuthorizationRequest, OAuthError> {
        let params = Params::parse(format!("{}{extra}", base()).as_bytes())?;
        AuthorizationRequest::parse(&params, policy)
    }

    fn parse(extra: &str) -> Result<AuthorizationRequest, OAuthError> {
        parse_with(extra, &policy())
    }

    /// Parses `base()` with `name` replaced by `value` (or removed if empty).
    fn with(name: &str, value: &str) -> Result<AuthorizationRequest, OAuthError> {
        let query: Vec<String> = base()
            .split('&')
            .filter(|p| !p.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .chain((!value.is_empty()).then(|| format!("{name}={value}")))
            .collect();
        let params = Params::parse(query.join("&").as_bytes())?;
        AuthorizationRequest::parse(&params, &policy())
    }

    fn code(result: Result<AuthorizationRequest, OAuthError>) -> ErrorCode {
        result.unwrap_err().code
    }

    #[test]
    fn a_complete_code_request_parses() {
        let r = parse("&prompt=login+consent&max_age=300&display=popup&login_hint=a%40b.example")
            .unwrap();
        assert_eq!(r.target.client_id, "shop");
        assert_eq!(
            r.target.redirect_uri.as_deref(),
            Some("https://shop.example/cb")
        );
        assert_eq!(r.scopes.to_string(), "openid email");
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.nonce.as_deref(), Some("n-1"));
        assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
        assert_eq!(r.prompt, [Prompt::Login, Prompt::Consent]);
        assert!(r.has_prompt(Prompt::Consent));
        assert_eq!(r.max_age, Some(300));
        assert_eq!(r.display, Some(Display::Popup));
        assert_eq!(r.login_hint.as_deref(), Some("a@b.example"));
    }

    #[test]
    fn client_target_needs_a_client_id() {
        let params = Params::parse(b"redirect_uri=https%3A%2F%2Fa.example").unwrap();
        let err = ClientTarget::parse(&params).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn client_target_redirect_uri_is_optional() {
        let params = Params::parse(b"client_id=shop&response_type=token").unwrap();
        let target = ClientTarget::parse(&params).unwrap();
        assert_eq!(target.client_id, "shop");
        assert_eq!(target.redirect_uri, None);
    }

    #[test]
    fn client_id_with_control_characters_is_invalid() {
        let params = Params::parse(b"client_id=a%0Ab").unwrap();
        assert!(ClientTarget::parse(&params).is_err());
    }

    #[test]
    fn request_object_is_not_supported() {
        assert_eq!(code(parse("&request=eyJ")), ErrorCode::RequestNotSupported);
    }

    #[test]
    fn request_uri_is_not_supported() {
        assert_eq!(
            code(parse("&request_uri=urn%3Ax")),
            ErrorCode::RequestUriNotSupported
        );
    }

    #[test]
    fn registration_parameter_is_not_supported() {
        assert_eq!(
            code(parse("&registration=%7B%7D")),
            ErrorCode::RegistrationNotSupported
        );
    }

    #[test]
    fn missing_response_type_is_invalid_request() {
        assert_eq!(code(with("response_type", "")), ErrorCode::InvalidRequest);
    }

    #[test]
    fn hybrid_response_type_is_unsupported() {
        for rt in [
            "code+id_token",
            "id_token+code",
            "code+token",
            "code+id_token+token",
        ] {
            assert_eq!(
                code(with("response_type", rt)),
                ErrorCode::UnsupportedResponseType,
                "{rt}"
            );
        }
    }

    #[test]
    fn implicit_response_types_are_unsupported() {
        for rt in ["token", "id_token", "id_token+token", "none", "CODE"] {
            assert_eq!(
                code(with("response_type", rt)),
                ErrorCode::UnsupportedResponseType,
                "{rt}"
            );
        }
    }

    #[test]
    fn scope_without_openid_is_invalid_scope() {
        assert_eq!(code(with("scope", "email")), ErrorCode::InvalidScope);
        assert_eq!(code(with("scope", "")), ErrorCode::InvalidScope);
    }

    #[test]
    fn unknown_scope_is_refused_unless_the_policy_drops_it() {
        assert_eq!(code(with("scope", "openid+admin")), ErrorCode::InvalidScope);
        let lenient = ClientPolicy {
            drop_unknown_scopes: true,
            ..policy()
        };
        let params = Params::parse(
            format!("client_id=c&response_type=code&scope=openid+admin+email&code_challenge={CHALLENGE}&code_challenge_method=S256")
                .as_bytes(),
        )
        .unwrap();
        let r = AuthorizationRequest::parse(&params, &lenient).unwrap();
        assert_eq!(r.scopes.to_string(), "openid email");
    }

    #[test]
    fn openid_must_be_allowed_by_the_policy() {
        let no_openid = ClientPolicy {
            allowed_scopes: vec!["email".into()],
            drop_unknown_scopes: true,
            ..policy()
        };
        let err = parse_with("", &no_openid).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn the_admin_scope_is_never_granted_in_a_user_flow() {
        // A project registered before the admin scope was limited to
        // service projects may still list it.
        let legacy = ClientPolicy {
            allowed_scopes: vec!["openid".into(), "admin".into()],
            drop_unknown_scopes: true,
            ..policy()
        };
        let params = Params::parse(
            format!(
                "client_id=shop&response_type=code&scope=openid+admin&code_challenge={CHALLENGE}\
                 &code_challenge_method=S256"
            )
            .as_bytes(),
        )
        .unwrap();
        let r = AuthorizationRequest::parse(&params, &legacy).unwrap();
        assert_eq!(r.scopes.to_string(), "openid");
        let strict = ClientPolicy {
            drop_unknown_scopes: false,
            ..legacy
        };
        let err = AuthorizationRequest::parse(&params, &strict).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert!(err.description.contains("admin"), "{}", err.description);
    }

    #[test]
    fn plain_pkce_is_rejected() {
        let err = with("code_challenge_method", "plain").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("plain is not supported"));
    }

    #[test]
    fn challenge_without_method_defaults_to_plain_and_is_rejected() {
        let err = with("code_challenge_method", "").unwrap_err();
        assert!(err.description.contains("plain is not supported"));
    }

    #[test]
    fn missing_challenge_is_invalid_when_pkce_is_required() {
        let params = Params::parse(b"client_id=c&response_type=code&scope=openid").unwrap();
        let err = AuthorizationRequest::parse(&params, &policy()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        let optional = ClientPolicy {
            requires_pkce: false,
            ..policy()
        };
        let r = AuthorizationRequest::parse(&params, &optional).unwrap();
        assert_eq!(r.code_challenge, None);
    }

    #[test]
    fn method_without_challenge_is_invalid_request() {
        assert_eq!(code(with("code_challenge", "")), ErrorCode::InvalidRequest);
    }

    #[test]
    fn malformed_challenge_is_invalid_request() {
        assert_eq!(
            code(with("code_challenge", "short")),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn prompt_none_with_login_is_invalid() {
        assert_eq!(code(parse("&prompt=none+login")), ErrorCode::InvalidRequest);
        assert_eq!(parse("&prompt=none").unwrap().prompt, [Prompt::None]);
        assert_eq!(parse("&prompt=none+none").unwrap().prompt, [Prompt::None]);
    }

    #[test]
    fn unknown_prompt_is_invalid_request() {
        assert_eq!(code(parse("&prompt=create")), ErrorCode::InvalidRequest);
        assert_eq!(code(parse("&prompt=Login")), ErrorCode::InvalidRequest);
    }

    #[test]
    fn max_age_must_be_a_non_negative_integer() {
        assert_eq!(parse("&max_age=0").unwrap().max_age, Some(0));
        for bad in ["-1", "%2B5", "1.5", "1e3", "abc", "99999999999999999999999"] {
            assert_eq!(
                code(parse(&format!("&max_age={bad}"))),
                ErrorCode::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_display_is_invalid_request() {
        assert_eq!(code(parse("&display=tv")), ErrorCode::InvalidRequest);
        assert_eq!(parse("&display=wap").unwrap().display, Some(Display::Wap));
    }

    #[test]
    fn only_query_response_mode_is_accepted() {
        assert!(parse("&response_mode=query").is_ok());
        for mode in ["fragment", "form_post", "jwt"] {
            assert_eq!(
                code(parse(&format!("&response_mode={mode}"))),
                ErrorCode::InvalidRequest
            );
        }
    }

    #[test]
    fn state_and_nonce_are_limited_to_2048_characters() {
        let long = "s".repeat(2049);
        assert!(parse(&format!("&login_hint={}", "h".repeat(2049))).is_ok());
        assert_eq!(code(with("state", &long)), ErrorCode::InvalidRequest);
        assert_eq!(code(with("nonce", &long)), ErrorCode::InvalidRequest);
        assert!(with("state", &"s".repeat(2048)).is_ok());
    }

    #[test]
    fn state_outside_vschar_is_invalid_and_not_echoed() {
        assert_eq!(code(with("state", "a%0Ab")), ErrorCode::InvalidRequest);
        let params = Params::parse(b"state=a%0Ab").unwrap();
        assert_eq!(echo_state(&params), None);
        let params = Params::parse(b"state=ok+state").unwrap();
        assert_eq!(echo_state(&params), Some("ok state"));
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        assert!(parse("&foo=bar&claims=%7B%7D").is_ok());
    }
}
