//! The Project aggregate: one OAuth client (relying party) and its settings.
//!
//! A project's app type decides its defaults and limits: `web` and `service`
//! are confidential (they hold a client secret), `spa` and `native` are
//! public (no secret, PKCE S256 mandatory). Inkan generates every secret and
//! the aggregate only ever sees its keyed hash.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::acr::Acr;
use crate::aggregate::{Aggregate, Unique, UniqueChanges};
use crate::error::{DomainError, FieldError, Problems};
use crate::validation::{
    check_backchannel_logout_uri, check_name, check_redirect_uri, is_scope_token,
};

/// Unique scope for client ids in the event store.
pub const CLIENT_ID_SCOPE: &str = "project.client_id";

/// The OAuth scope that grants use of the admin API. Only `service`
/// projects may hold it, and only through the client credentials grant: a
/// scope an end user's login could carry would let any user who signs in
/// through an app administer the provider.
pub const ADMIN_SCOPE: &str = "admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    /// A server-side web app: confidential, authorization code with PKCE.
    Web,
    /// A browser app: public, PKCE S256 mandatory.
    Spa,
    /// A mobile or desktop app: public, PKCE S256 mandatory, private-use URI schemes.
    Native,
    /// A machine client: confidential, client credentials only.
    Service,
}

impl AppType {
    /// Confidential clients can keep a secret (RFC 6749 §2.1).
    pub fn is_confidential(self) -> bool {
        matches!(self, AppType::Web | AppType::Service)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with one of the client's registered keys (RFC 7523
    /// §2.2, OIDC Core §9): the client holds no shared secret.
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    /// Authenticates with a client secret Inkan generated.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

/// A security profile: a set of rules one setting switches on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProfile {
    /// OAuth 2.0 / OpenID Connect with Inkan's defaults.
    #[default]
    Standard,
    /// The FAPI 2.0 Security Profile: a confidential client authenticating
    /// with `private_key_jwt`, pushed authorization requests, PKCE S256 and
    /// DPoP-bound tokens (FAPI 2.0 Security Profile §5.3).
    Fapi2,
}

/// A way an end user may sign in to a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// Email and password (then a one-time code if the identity has one).
    Password,
    /// A passkey (WebAuthn discoverable credential), no email needed.
    Passkey,
}

impl LoginMethod {
    pub const ALL: [LoginMethod; 2] = [LoginMethod::Password, LoginMethod::Passkey];
}

/// Whether a project's logins ask for a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaPolicy {
    /// A password is enough, even for identities that enrolled a code.
    Off,
    /// Identities that enrolled a one-time code are asked for it.
    Optional,
    /// Every login reaches two factors: a passkey, or a password and a
    /// one-time code (enrolled at the login if the identity has none).
    Required,
}

/// JWS algorithms a project may choose for its ID tokens.
pub const SIGNING_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// Everything configurable about a project, after defaults and validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettings {
    pub name: String,
    pub app_type: AppType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: AuthMethod,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub id_token_ttl_seconds: u32,
    /// Within this many seconds a just-rotated refresh token returns the first
    /// redemption's response again instead of revoking its family (0 = off, max 60).
    pub refresh_token_retry_seconds: u32,
    /// ID-token signing algorithm (`RS256` default, `ES256`, `EdDSA`).
    pub id_token_signed_response_alg: String,
    /// Also emit the legacy claim names (`user_id`, `first_name`, `last_name`, `verified`).
    pub compat_claims: bool,
    /// Release identities' custom claims (with the `profile` scope) to this project.
    /// Absent from read-model rows written before it existed: the default, `true`.
    #[serde(default = "default_true")]
    pub custom_claims: bool,
    /// Refuse an authorization request naming a scope this project may not
    /// request (`invalid_scope`) instead of dropping it. Absent means `false`.
    #[serde(default)]
    pub reject_unknown_scopes: bool,
    /// How end users may sign in (at least one). Absent from rows written
    /// before it existed: both.
    #[serde(default = "all_login_methods")]
    pub login_methods: Vec<LoginMethod>,
    /// Second-factor policy. Absent means `optional`.
    #[serde(default = "default_mfa")]
    pub mfa: MfaPolicy,
    /// The levels asked for when an authorization request carries no
    /// `acr_values` (OpenID Connect Dynamic Client Registration 1.0 §2).
    #[serde(default)]
    pub default_acr_values: Vec<Acr>,
    /// People may create their own accounts on the login page (needs the
    /// password login method). Absent from older rows: false.
    #[serde(default)]
    pub allow_signup: bool,
    /// A login waits until the user's address is verified (a link is
    /// mailed). Absent: false.
    #[serde(default)]
    pub require_verified_email: bool,
    /// Branding: an https URL of the logo the login pages show. Absent: none.
    #[serde(default)]
    pub logo_uri: Option<String>,
    /// Branding: `#rrggbb` for buttons and links. Absent: Inkan's blue.
    #[serde(default)]
    pub primary_color: Option<String>,
    /// Where Inkan posts a logout token when one of this project's sessions
    /// ends (OpenID Back-Channel Logout 1.0 §2.2). Absent: none, the
    /// project is not told.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The project needs the `sid` claim in its logout tokens to know which
    /// session ended (OpenID Back-Channel Logout 1.0 §2.2). Absent: false.
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// The client's public keys, a JWK Set (RFC 7517 §5), for
    /// `private_key_jwt`. Absent: none.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set, for `private_key_jwt`.
    /// Absent: none.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Authorization requests must come through `/par` (RFC 9126 §6).
    /// Absent: false.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Token requests must carry a DPoP proof, and every access token is
    /// bound to its key (RFC 9449 §5.2). Absent: false.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// The security profile whose rules apply. Absent: standard.
    #[serde(default)]
    pub profile: SecurityProfile,
}

fn default_true() -> bool {
    true
}

pub(crate) fn all_login_methods() -> Vec<LoginMethod> {
    LoginMethod::ALL.to_vec()
}

pub(crate) fn default_mfa() -> MfaPolicy {
    MfaPolicy::Optional
}

impl ProjectSettings {
    /// PKCE S256 is mandatory for public clients (RFC 9700 §2.1.1) and
    /// under FAPI 2.0 (Security Profile §5.3.2.2).
    pub fn requires_pkce(&self) -> bool {
        !self.app_type.is_confidential() || self.profile == SecurityProfile::Fapi2
    }

    /// Whether the project authenticates with a client secret Inkan issued.
    pub fn uses_secret(&self) -> bool {
        self.app_type.is_confidential() && self.token_endpoint_auth_method.uses_secret()
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn allows_login(&self, method: LoginMethod) -> bool {
        self.login_methods.contains(&method)
    }
}

/// Caller-supplied settings; `None` means "default" on create and "unchanged" on update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    pub name: Option<String>,
    pub app_type: Option<AppType>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub token_endpoint_auth_method: Option<AuthMethod>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    pub id_token_ttl_seconds: Option<u32>,
    pub refresh_token_retry_seconds: Option<u32>,
    pub id_token_signed_response_alg: Option<String>,
    pub compat_claims: Option<bool>,
    pub custom_claims: Option<bool>,
    pub reject_unknown_scopes: Option<bool>,
    pub login_methods: Option<Vec<LoginMethod>>,
    pub mfa: Option<MfaPolicy>,
    pub default_acr_values: Option<Vec<Acr>>,
    pub allow_signup: Option<bool>,
    pub require_verified_email: Option<bool>,
    /// `Some("")` (JSON `""`) removes the logo.
    pub logo_uri: Option<String>,
    /// `Some("")` removes the colour.
    pub primary_color: Option<String>,
    /// `Some("")` removes the back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    /// A JWK Set; an empty object (`{}`) removes it.
    pub jwks: Option<serde_json::Value>,
    /// `Some("")` removes the JWK Set URL.
    pub jwks_uri: Option<String>,
    pub require_pushed_authorization_requests: Option<bool>,
    pub dpop_bound_access_tokens: Option<bool>,
    pub profile: Option<SecurityProfile>,
}

impl ProjectSettings {
    /// Defaults for an app type, before caller input is laid over them.
    pub fn defaults(name: String, app_type: AppType) -> ProjectSettings {
        let (grant_types, auth, scopes) = match app_type {
            AppType::Web => (
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                AuthMethod::ClientSecretBasic,
                vec!["openid", "profile", "email", "offline_access"],
            ),
            AppType::Spa | AppType::Native => (
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                AuthMethod::None,
                vec!["openid", "profile", "email", "offline_access"],
            ),
            AppType::Service => (
                vec![GrantType::ClientCredentials],
                AuthMethod::ClientSecretBasic,
                vec![],
            ),
        };
        ProjectSettings {
            name,
            app_type,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: scopes.into_iter().map(String::from).collect(),
            grant_types,
            token_endpoint_auth_method: auth,
            access_token_ttl_seconds: 3600,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            id_token_ttl_seconds: 3600,
            refresh_token_retry_seconds: 0,
            id_token_signed_response_alg: "RS256".into(),
            compat_claims: true,
            custom_claims: true,
            reject_unknown_scopes: false,
            login_methods: all_login_methods(),
            mfa: default_mfa(),
            default_acr_values: vec![],
            allow_signup: false,
            require_verified_email: false,
            logo_uri: None,
            primary_color: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            jwks: None,
            jwks_uri: None,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
            profile: SecurityProfile::Standard,
        }
    }

    /// Settings for a new project: defaults for its app type, overlaid with input, validated.
    pub fn create(input: ProjectInput) -> Result<ProjectSettings, DomainError> {
        let mut problems = Problems::default();
        let name = input.name.clone().unwrap_or_default();
        if input.name.is_none() {
            problems.push("name", "is required");
        }
        let Some(app_type) = input.app_type else {
            problems.push("app_type", "is required (web, spa, native or service)");
            return Err(problems.into_error());
        };
        ProjectSettings::defaults(name, app_type).overlay(input, problems)
    }

    /// These settings with an update laid over them, validated as a whole.
    pub fn update(&self, input: ProjectInput) -> Result<ProjectSettings, DomainError> {
        let mut problems = Problems::default();
        if let Some(app_type) = input.app_type {
            if app_type != self.app_type {
                problems.push(
                    "app_type",
                    "cannot be changed; create a new project instead",
                );
            }
        }
        self.clone().overlay(input, problems)
    }

    fn overlay(
        mut self,
        input: ProjectInput,
        mut problems: Problems,
    ) -> Result<ProjectSettings, DomainError> {
        if let Some(v) = input.name {
            self.name = v.trim().to_string();
        }
        if let Some(v) = input.redirect_uris {
            self.redirect_uris = v;
        }
        if let Some(v) = input.post_logout_redirect_uris {
            self.post_logout_redirect_uris = v;
        }
        if let Some(v) = input.scopes {
            self.scopes = v;
        }
        if let Some(v) = input.grant_types {
            self.grant_types = v;
        }
        if let Some(v) = input.token_endpoint_auth_method {
            self.token_endpoint_auth_method = v;
        }
        if let Some(v) = input.access_token_ttl_seconds {
            self.access_token_ttl_seconds = v;
        }
        if let Some(v) = input.refresh_token_ttl_seconds {
            self.refresh_token_ttl_seconds = v;
        }
        if let Some(v) = input.id_token_ttl_seconds {
            self.id_token_ttl_seconds = v;
        }
        if let Some(v) = input.refresh_token_retry_seconds {
            self.refresh_token_retry_seconds = v;
        }
        if let Some(v) = input.id_token_signed_response_alg {
            self.id_token_signed_response_alg = v;
        }
        if let Some(v) = input.compat_claims {
            self.compat_claims = v;
        }
        if let Some(v) = input.custom_claims {
            self.custom_claims = v;
        }
        if let Some(v) = input.reject_unknown_scopes {
            self.reject_unknown_scopes = v;
        }
        if let Some(v) = input.login_methods {
            self.login_methods = v;
        }
        if let Some(v) = input.mfa {
            self.mfa = v;
        }
        if let Some(v) = input.default_acr_values {
            self.default_acr_values = v;
        }
        if let Some(v) = input.allow_signup {
            self.allow_signup = v;
        }
        if let Some(v) = input.require_verified_email {
            self.require_verified_email = v;
        }
        if let Some(v) = input.logo_uri {
            self.logo_uri = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = input.primary_color {
            self.primary_color = Some(v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty());
        }
        if let Some(v) = input.backchannel_logout_uri {
            self.backchannel_logout_uri = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = input.backchannel_logout_session_required {
            self.backchannel_logout_session_required = v;
        }
        if let Some(v) = input.jwks {
            self.jwks = Some(v).filter(|v| v.as_object().is_none_or(|o| !o.is_empty()));
        }
        if let Some(v) = input.jwks_uri {
            self.jwks_uri = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = input.profile {
            self.profile = v;
        }
        // FAPI 2.0 Security Profile §5.3.2.2: pushed authorization requests
        // (for a project that makes authorization requests) and
        // sender-constrained (here DPoP-bound) tokens. The profile turns
        // them on; turning one off while it applies is refused.
        let fapi2 = self.profile == SecurityProfile::Fapi2;
        let browser = self.allows_grant(GrantType::AuthorizationCode);
        for (field, asked, current, forced) in [
            (
                "require_pushed_authorization_requests",
                input.require_pushed_authorization_requests,
                &mut self.require_pushed_authorization_requests,
                fapi2 && browser,
            ),
            (
                "dpop_bound_access_tokens",
                input.dpop_bound_access_tokens,
                &mut self.dpop_bound_access_tokens,
                fapi2,
            ),
        ] {
            match asked {
                Some(false) if forced => problems.push(field, "the fapi2 profile requires it"),
                Some(v) => *current = v,
                None => {}
            }
            if forced {
                *current = true;
            }
        }
        self.validate(&mut problems);
        problems.into_result(self)
    }

    fn validate(&mut self, problems: &mut Problems) {
        if self.name.trim().is_empty() {
            problems.push("name", "must not be empty");
        } else if let Err(e) = check_name(&self.name) {
            problems.push("name", e);
        }
        let native = self.app_type == AppType::Native;
        let uses_code = self.app_type != AppType::Service;
        for (field, uris) in [
            ("redirect_uris", &self.redirect_uris),
            ("post_logout_redirect_uris", &self.post_logout_redirect_uris),
        ] {
            if uris.len() > 50 {
                problems.push(field, "at most 50 URIs");
            }
            for (i, uri) in uris.iter().enumerate() {
                if let Err(e) = check_redirect_uri(uri, native) {
                    problems.push(format!("{field}[{i}]"), e);
                }
            }
            if !uses_code && !uris.is_empty() {
                problems.push(field, "a service project has no browser redirects");
            }
        }
        if uses_code && self.redirect_uris.is_empty() {
            problems.push("redirect_uris", "at least one redirect URI is required");
        }
        dedup(&mut self.redirect_uris);
        dedup(&mut self.post_logout_redirect_uris);

        if self.scopes.len() > 100 {
            problems.push("scopes", "at most 100 scopes");
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            if !is_scope_token(scope) {
                problems.push(
                    format!("scopes[{i}]"),
                    "must be a scope token (RFC 6749 §3.3)",
                );
            } else if scope == ADMIN_SCOPE && self.app_type != AppType::Service {
                problems.push(
                    format!("scopes[{i}]"),
                    "the admin scope is only allowed on service projects (client credentials)",
                );
            }
        }
        dedup(&mut self.scopes);

        dedup(&mut self.grant_types);
        if self.grant_types.is_empty() {
            problems.push("grant_types", "at least one grant type is required");
        }
        for grant in &self.grant_types {
            let allowed = match (self.app_type, grant) {
                (AppType::Service, GrantType::ClientCredentials) => true,
                (AppType::Service, _) => false,
                (AppType::Web, _) => true,
                (_, GrantType::ClientCredentials) => false,
                _ => true,
            };
            if !allowed {
                problems.push(
                    "grant_types",
                    format!(
                        "{} is not allowed for a {:?} project",
                        grant.as_str(),
                        self.app_type
                    )
                    .to_lowercase(),
                );
            }
        }
        if self.grant_types == [GrantType::RefreshToken] {
            problems.push("grant_types", "refresh_token needs authorization_code");
        }

        match (self.app_type.is_confidential(), self.token_endpoint_auth_method) {
            (true, AuthMethod::None) => problems.push(
                "token_endpoint_auth_method",
                "a confidential project authenticates with client_secret_basic, client_secret_post or private_key_jwt",
            ),
            (false, m) if m != AuthMethod::None => problems.push(
                "token_endpoint_auth_method",
                "a public project (spa, native) has no secret: use none",
            ),
            _ => {}
        }

        for (field, value, min, max) in [
            (
                "access_token_ttl_seconds",
                self.access_token_ttl_seconds,
                60,
                86_400,
            ),
            (
                "id_token_ttl_seconds",
                self.id_token_ttl_seconds,
                60,
                86_400,
            ),
            (
                "refresh_token_ttl_seconds",
                self.refresh_token_ttl_seconds,
                60,
                365 * 86_400,
            ),
            (
                "refresh_token_retry_seconds",
                self.refresh_token_retry_seconds,
                0,
                60,
            ),
        ] {
            if value < min || value > max {
                problems.push(field, format!("must be between {min} and {max}"));
            }
        }
        if !SIGNING_ALGS.contains(&self.id_token_signed_response_alg.as_str()) {
            problems.push(
                "id_token_signed_response_alg",
                "must be RS256, ES256 or EdDSA",
            );
        }

        dedup(&mut self.login_methods);
        if self.login_methods.is_empty() {
            problems.push(
                "login_methods",
                "at least one login method is required (password, passkey)",
            );
        }
        dedup(&mut self.default_acr_values);
        if self.default_acr_values.contains(&Acr::PhishingResistant)
            && !self.allows_login(LoginMethod::Passkey)
        {
            problems.push(
                "default_acr_values",
                "urn:inkan:acr:phr needs a passkey, which login_methods does not allow",
            );
        }
        if self.allow_signup && !self.allows_login(LoginMethod::Password) {
            problems.push(
                "allow_signup",
                "sign-up sets a password, which login_methods does not allow",
            );
        }
        if self.app_type == AppType::Service && (self.allow_signup || self.require_verified_email) {
            let field = if self.allow_signup {
                "allow_signup"
            } else {
                "require_verified_email"
            };
            problems.push(field, "service projects have no users");
        }
        if let Some(uri) = &self.logo_uri {
            if let Err(e) = check_logo_uri(uri) {
                problems.push("logo_uri", e);
            }
        }
        if let Some(color) = &self.primary_color {
            let hex = color.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                problems.push("primary_color", "must be a colour as #rrggbb");
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            if self.app_type == AppType::Service {
                problems.push(
                    "backchannel_logout_uri",
                    "service projects have no users whose sessions end",
                );
            } else if let Err(e) = check_backchannel_logout_uri(uri) {
                problems.push("backchannel_logout_uri", e);
            }
        }
        self.validate_client_keys(problems);
        if self.profile == SecurityProfile::Fapi2 {
            // FAPI 2.0 Security Profile §5.3.2.1: confidential clients only,
            // authenticated by private_key_jwt (or mTLS, which Inkan does
            // not offer); never a shared secret.
            if !self.app_type.is_confidential() {
                problems.push(
                    "profile",
                    "fapi2 needs a confidential project (web or service)",
                );
            } else if self.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
                problems.push(
                    "token_endpoint_auth_method",
                    "the fapi2 profile allows private_key_jwt only",
                );
            }
        }
        if self.require_pushed_authorization_requests
            && !self.allows_grant(GrantType::AuthorizationCode)
        {
            problems.push(
                "require_pushed_authorization_requests",
                "the project has no authorization requests (no authorization_code grant)",
            );
        }
    }

    /// `jwks` and `jwks_uri`: exactly one of them with `private_key_jwt`
    /// (OIDC Dynamic Client Registration §2: never both), neither otherwise.
    fn validate_client_keys(&self, problems: &mut Problems) {
        let private_key_jwt = self.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt;
        match (&self.jwks, &self.jwks_uri) {
            (Some(_), Some(_)) => problems.push("jwks", "give jwks or jwks_uri, not both"),
            (None, None) if private_key_jwt => problems.push(
                "jwks",
                "private_key_jwt needs the client's public keys: jwks or jwks_uri",
            ),
            (Some(_), None) | (None, Some(_)) if !private_key_jwt => {
                let field = if self.jwks.is_some() {
                    "jwks"
                } else {
                    "jwks_uri"
                };
                problems.push(
                    field,
                    "only used with token_endpoint_auth_method private_key_jwt",
                );
            }
            _ => {}
        }
        if let Some(jwks) = &self.jwks {
            if let Err(e) = check_jwks(jwks) {
                problems.push("jwks", e);
            }
        }
        if let Some(uri) = &self.jwks_uri {
            if let Err(e) = check_jwks_uri(uri) {
                problems.push("jwks_uri", e);
            }
        }
    }
}

/// Members of a private JWK (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A client's JWK Set: `{"keys": [...]}` with 1 to 20 public signing keys
/// (RSA, EC P-256 or OKP Ed25519), at most 32 KiB. Whether a key parses is
/// the token service's concern; this refuses what can never be right,
/// above all a private key pasted by mistake.
fn check_jwks(jwks: &serde_json::Value) -> Result<(), String> {
    if jwks.to_string().len() > 32 * 1024 {
        return Err("must be at most 32 KiB".into());
    }
    let Some(keys) = jwks.get("keys").and_then(serde_json::Value::as_array) else {
        return Err("must be a JWK Set: {\"keys\": [...]}".into());
    };
    if keys.is_empty() || keys.len() > 20 {
        return Err("must hold 1 to 20 keys".into());
    }
    for (i, key) in keys.iter().enumerate() {
        let Some(key) = key.as_object() else {
            return Err(format!("keys[{i}] must be a JWK object"));
        };
        if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| key.contains_key(**m)) {
            return Err(format!(
                "keys[{i}] holds private key material ({member}); register the public key only"
            ));
        }
        let text = |name: &str| key.get(name).and_then(serde_json::Value::as_str);
        match (text("kty"), text("crv")) {
            (Some("RSA"), _) if text("n").is_some() && text("e").is_some() => {}
            (Some("EC"), Some("P-256")) if text("x").is_some() && text("y").is_some() => {}
            (Some("OKP"), Some("Ed25519")) if text("x").is_some() => {}
            _ => {
                return Err(format!(
                    "keys[{i}] must be an RSA, EC P-256 or Ed25519 public key"
                ))
            }
        }
        if key.contains_key("use") && text("use") != Some("sig") {
            return Err(format!("keys[{i}] must be a signing key (use: sig)"));
        }
    }
    Ok(())
}

/// Where a client publishes its keys: an https URL as for the logo, and
/// no fragment. Private addresses are the fetcher's rule (it knows the
/// deployment).
fn check_jwks_uri(uri: &str) -> Result<(), &'static str> {
    if check_https_url(uri)?.fragment().is_some() {
        return Err("must not contain a fragment");
    }
    Ok(())
}

/// A logo URL: https (http only on loopback, for development), no
/// credentials, at most 2000 characters. It is put into the login pages'
/// `img src` (escaped) and their Content-Security-Policy allows https images.
fn check_logo_uri(uri: &str) -> Result<(), &'static str> {
    check_https_url(uri).map(drop)
}

/// A URL Inkan fetches or shows: https (http only on loopback, for
/// development), no credentials, at most 2000 characters.
fn check_https_url(uri: &str) -> Result<url::Url, &'static str> {
    if uri.len() > 2000 {
        return Err("must be at most 2000 characters");
    }
    let Ok(url) = url::Url::parse(uri) else {
        return Err("must be an absolute https URL");
    };
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must be an https URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials");
    }
    Ok(url)
}

fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        if seen.contains(item) {
            false
        } else {
            seen.push(item.clone());
            true
        }
    });
}

// ---- events ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRegistered {
    pub client_id: String,
    pub settings: ProjectSettings,
    /// Keyed hash of the client secret; `None` for public clients.
    pub secret_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectUpdated {
    pub settings: ProjectSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecretRotated {
    pub secret_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDeleted {}

/// In memory only: stored as the revision types of [`crate::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectEvent {
    Registered(ProjectRegistered),
    Updated(ProjectUpdated),
    SecretRotated(ClientSecretRotated),
    Deleted(ProjectDeleted),
}

// ---- commands ----

#[derive(Debug, Clone)]
pub enum ProjectCommand {
    /// Registers a new project. `secret_hash` must be present exactly for
    /// confidential app types (the caller generated the secret).
    Register {
        client_id: String,
        input: ProjectInput,
        secret_hash: Option<String>,
    },
    Update {
        input: ProjectInput,
    },
    RotateSecret {
        secret_hash: String,
    },
    Delete,
}

// ---- state ----

/// A project as folded from its events; also the read model the admin API
/// serves (stored as JSON in the read-model tables; the secret hash, skipped
/// here, has a column of its own there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: Uuid,
    pub client_id: String,
    pub settings: Option<ProjectSettings>,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub deleted: bool,
}

impl Project {
    pub fn new(id: Uuid) -> Self {
        Project {
            id,
            ..Default::default()
        }
    }

    fn settings(&self) -> Result<&ProjectSettings, DomainError> {
        match &self.settings {
            Some(s) if !self.deleted => Ok(s),
            _ => Err(DomainError::NotFound),
        }
    }
}

impl Aggregate for Project {
    const STREAM_TYPE: &'static str = "project";
    type Command = ProjectCommand;
    type Event = ProjectEvent;

    fn with_id(id: Uuid) -> Self {
        Project::new(id)
    }

    fn decide(&self, command: ProjectCommand) -> Result<Vec<ProjectEvent>, DomainError> {
        match command {
            ProjectCommand::Register {
                client_id,
                input,
                secret_hash,
            } => {
                if self.settings.is_some() {
                    return Err(DomainError::AlreadyExists);
                }
                let settings = ProjectSettings::create(input)?;
                if settings.uses_secret() != secret_hash.is_some() {
                    return Err(DomainError::Invalid(vec![FieldError::new(
                        "client_secret",
                        "projects authenticating with a client secret have one, others none",
                    )]));
                }
                Ok(vec![ProjectEvent::Registered(ProjectRegistered {
                    client_id,
                    settings,
                    secret_hash,
                })])
            }
            ProjectCommand::Update { input } => {
                let current = self.settings()?;
                let settings = current.update(input)?;
                if &settings == current {
                    return Ok(vec![]);
                }
                if settings.uses_secret() && self.secret_hash.is_none() {
                    return Err(DomainError::Invalid(vec![FieldError::new(
                        "token_endpoint_auth_method",
                        "this project has no client secret yet: rotate one first (POST /admin/v1/projects/{id}/secret)",
                    )]));
                }
                Ok(vec![ProjectEvent::Updated(ProjectUpdated { settings })])
            }
            ProjectCommand::RotateSecret { secret_hash } => {
                let settings = self.settings()?;
                if !settings.app_type.is_confidential() {
                    return Err(DomainError::Invalid(vec![FieldError::new(
                        "app_type",
                        "a public project has no client secret to rotate",
                    )]));
                }
                Ok(vec![ProjectEvent::SecretRotated(ClientSecretRotated {
                    secret_hash,
                })])
            }
            ProjectCommand::Delete => {
                self.settings()?;
                Ok(vec![ProjectEvent::Deleted(ProjectDeleted {})])
            }
        }
    }

    fn apply(&mut self, event: &ProjectEvent) {
        match event {
            ProjectEvent::Registered(e) => {
                self.client_id = e.client_id.clone();
                self.settings = Some(e.settings.clone());
                self.secret_hash = e.secret_hash.clone();
            }
            ProjectEvent::Updated(e) => self.settings = Some(e.settings.clone()),
            ProjectEvent::SecretRotated(e) => self.secret_hash = Some(e.secret_hash.clone()),
            ProjectEvent::Deleted(_) => self.deleted = true,
        }
    }

    fn exists(&self) -> bool {
        self.settings.is_some() && !self.deleted
    }

    fn unique_changes(&self, events: &[ProjectEvent]) -> UniqueChanges {
        let mut changes = UniqueChanges::default();
        for event in events {
            match event {
                ProjectEvent::Registered(e) => changes.claim.push(Unique {
                    scope: CLIENT_ID_SCOPE,
                    value: e.client_id.clone(),
                }),
                ProjectEvent::Deleted(_) => changes.release.push(Unique {
                    scope: CLIENT_ID_SCOPE,
                    value: self.client_id.clone(),
                }),
                _ => {}
            }
        }
        changes
    }
}
