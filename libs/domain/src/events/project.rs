//! Stored revisions of the Project aggregate's events (`project.*`).
//!
//! Frozen: see the rule in [`crate::events`].

use serde::{Deserialize, Serialize};

use crate::acr::Acr;
use crate::aggregate::DomainEvent;
use crate::error::DomainError;
use crate::project::{
    AppType, AuthMethod, ClientSecretRotated, GrantType, LoginMethod, MfaPolicy, ProjectDeleted,
    ProjectEvent, ProjectRegistered, ProjectSettings, ProjectUpdated, SecurityProfile,
};

pub const REGISTERED_V1: &str = "project.registered.v1";
pub const UPDATED_V1: &str = "project.updated.v1";
pub const REGISTERED_V2: &str = "project.registered.v2";
pub const UPDATED_V2: &str = "project.updated.v2";
pub const REGISTERED_V3: &str = "project.registered.v3";
pub const UPDATED_V3: &str = "project.updated.v3";
pub const REGISTERED_V4: &str = "project.registered.v4";
pub const UPDATED_V4: &str = "project.updated.v4";
pub const REGISTERED_V5: &str = "project.registered.v5";
pub const UPDATED_V5: &str = "project.updated.v5";
pub const SECRET_ROTATED_V1: &str = "project.secret_rotated.v1";
pub const DELETED_V1: &str = "project.deleted.v1";

/// `project.registered.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRegisteredV1 {
    pub client_id: String,
    pub settings: ProjectSettingsV1,
    /// Keyed hash of the client secret; `null` for public clients.
    pub secret_hash: Option<String>,
}

/// `project.updated.v1`: the whole settings after the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectUpdatedV1 {
    pub settings: ProjectSettingsV1,
}

/// `project.registered.v2`: v1 with the login settings (issue #12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRegisteredV2 {
    pub client_id: String,
    pub settings: ProjectSettingsV2,
    pub secret_hash: Option<String>,
}

/// `project.updated.v2`: the whole settings after the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectUpdatedV2 {
    pub settings: ProjectSettingsV2,
}

/// `project.registered.v3`: v2 with self-service accounts and branding (issue #13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRegisteredV3 {
    pub client_id: String,
    pub settings: ProjectSettingsV3,
    pub secret_hash: Option<String>,
}

/// `project.updated.v3`: the whole settings after the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectUpdatedV3 {
    pub settings: ProjectSettingsV3,
}

/// `project.registered.v4`: v3 with OpenID Back-Channel Logout 1.0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRegisteredV4 {
    pub client_id: String,
    pub settings: ProjectSettingsV4,
    pub secret_hash: Option<String>,
}

/// `project.updated.v4`: the whole settings after the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectUpdatedV4 {
    pub settings: ProjectSettingsV4,
}

/// `project.registered.v5`: v4 with the FAPI 2.0 baseline (private_key_jwt,
/// pushed authorization requests, DPoP, the security profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRegisteredV5 {
    pub client_id: String,
    pub settings: ProjectSettingsV5,
    pub secret_hash: Option<String>,
}

/// `project.updated.v5`: the whole settings after the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectUpdatedV5 {
    pub settings: ProjectSettingsV5,
}

/// `project.secret_rotated.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSecretRotatedV1 {
    pub secret_hash: String,
}

/// `project.deleted.v1`: an empty object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDeletedV1 {}

/// A project's settings as `project.registered.v1` and `project.updated.v1` store them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettingsV1 {
    pub name: String,
    pub app_type: AppTypeV1,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantTypeV1>,
    pub token_endpoint_auth_method: AuthMethodV1,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub id_token_ttl_seconds: u32,
    pub refresh_token_retry_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub compat_claims: bool,
    /// Added in place before revisions were frozen: absent means `true`.
    #[serde(default = "default_true")]
    pub custom_claims: bool,
    /// Added in place before revisions were frozen: absent means `false`.
    #[serde(default)]
    pub reject_unknown_scopes: bool,
}

fn default_true() -> bool {
    true
}

/// A project's settings as `project.registered.v2` and `project.updated.v2`
/// store them: every v1 field, then how end users sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettingsV2 {
    pub name: String,
    pub app_type: AppTypeV1,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantTypeV1>,
    pub token_endpoint_auth_method: AuthMethodV1,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub id_token_ttl_seconds: u32,
    pub refresh_token_retry_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub compat_claims: bool,
    pub custom_claims: bool,
    pub reject_unknown_scopes: bool,
    pub login_methods: Vec<LoginMethodV2>,
    pub mfa: MfaPolicyV2,
    pub default_acr_values: Vec<AcrV2>,
}

/// A project's settings as `project.registered.v3` and `project.updated.v3`
/// store them: every v2 field, then self-service accounts and branding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettingsV3 {
    pub name: String,
    pub app_type: AppTypeV1,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantTypeV1>,
    pub token_endpoint_auth_method: AuthMethodV1,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub id_token_ttl_seconds: u32,
    pub refresh_token_retry_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub compat_claims: bool,
    pub custom_claims: bool,
    pub reject_unknown_scopes: bool,
    pub login_methods: Vec<LoginMethodV2>,
    pub mfa: MfaPolicyV2,
    pub default_acr_values: Vec<AcrV2>,
    /// People may create their own accounts on the login page.
    pub allow_signup: bool,
    /// A login waits until the user's address is verified.
    pub require_verified_email: bool,
    /// An https URL of the logo the login pages show, or `null`.
    pub logo_uri: Option<String>,
    /// `#rrggbb` for buttons and links, or `null` (Inkan's).
    pub primary_color: Option<String>,
}

/// The upcaster: a project registered before self-service accounts had
/// none (no sign-up, no verification required) and no branding.
impl From<ProjectSettingsV2> for ProjectSettingsV3 {
    fn from(s: ProjectSettingsV2) -> Self {
        ProjectSettingsV3 {
            name: s.name,
            app_type: s.app_type,
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            scopes: s.scopes,
            grant_types: s.grant_types,
            token_endpoint_auth_method: s.token_endpoint_auth_method,
            access_token_ttl_seconds: s.access_token_ttl_seconds,
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
            id_token_ttl_seconds: s.id_token_ttl_seconds,
            refresh_token_retry_seconds: s.refresh_token_retry_seconds,
            id_token_signed_response_alg: s.id_token_signed_response_alg,
            compat_claims: s.compat_claims,
            custom_claims: s.custom_claims,
            reject_unknown_scopes: s.reject_unknown_scopes,
            login_methods: s.login_methods,
            mfa: s.mfa,
            default_acr_values: s.default_acr_values,
            allow_signup: false,
            require_verified_email: false,
            logo_uri: None,
            primary_color: None,
        }
    }
}

/// A project's settings as `project.registered.v4` and `project.updated.v4`
/// store them: every v3 field, then OpenID Back-Channel Logout 1.0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettingsV4 {
    pub name: String,
    pub app_type: AppTypeV1,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantTypeV1>,
    pub token_endpoint_auth_method: AuthMethodV1,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub id_token_ttl_seconds: u32,
    pub refresh_token_retry_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub compat_claims: bool,
    pub custom_claims: bool,
    pub reject_unknown_scopes: bool,
    pub login_methods: Vec<LoginMethodV2>,
    pub mfa: MfaPolicyV2,
    pub default_acr_values: Vec<AcrV2>,
    pub allow_signup: bool,
    pub require_verified_email: bool,
    pub logo_uri: Option<String>,
    pub primary_color: Option<String>,
    /// Where logout tokens are posted (OpenID Back-Channel Logout 1.0
    /// §2.2), or `null`.
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens must carry `sid`.
    pub backchannel_logout_session_required: bool,
}

/// The upcaster: a project registered before back-channel logout was told
/// of no logout (no URI, so `sid` was not required either).
impl From<ProjectSettingsV3> for ProjectSettingsV4 {
    fn from(s: ProjectSettingsV3) -> Self {
        ProjectSettingsV4 {
            name: s.name,
            app_type: s.app_type,
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            scopes: s.scopes,
            grant_types: s.grant_types,
            token_endpoint_auth_method: s.token_endpoint_auth_method,
            access_token_ttl_seconds: s.access_token_ttl_seconds,
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
            id_token_ttl_seconds: s.id_token_ttl_seconds,
            refresh_token_retry_seconds: s.refresh_token_retry_seconds,
            id_token_signed_response_alg: s.id_token_signed_response_alg,
            compat_claims: s.compat_claims,
            custom_claims: s.custom_claims,
            reject_unknown_scopes: s.reject_unknown_scopes,
            login_methods: s.login_methods,
            mfa: s.mfa,
            default_acr_values: s.default_acr_values,
            allow_signup: s.allow_signup,
            require_verified_email: s.require_verified_email,
            logo_uri: s.logo_uri,
            primary_color: s.primary_color,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        }
    }
}

/// A project's settings as `project.registered.v5` and `project.updated.v5`
/// store them: every v4 field (the authentication method from a larger
/// set), then the FAPI 2.0 baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettingsV5 {
    pub name: String,
    pub app_type: AppTypeV1,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantTypeV1>,
    pub token_endpoint_auth_method: AuthMethodV5,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub id_token_ttl_seconds: u32,
    pub refresh_token_retry_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub compat_claims: bool,
    pub custom_claims: bool,
    pub reject_unknown_scopes: bool,
    pub login_methods: Vec<LoginMethodV2>,
    pub mfa: MfaPolicyV2,
    pub default_acr_values: Vec<AcrV2>,
    pub allow_signup: bool,
    pub require_verified_email: bool,
    pub logo_uri: Option<String>,
    pub primary_color: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// The client's public keys (a JWK Set), or `null`.
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set, or `null`.
    pub jwks_uri: Option<String>,
    /// Authorization requests only through `/par` (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
    /// DPoP proofs required at the token endpoint (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    pub profile: SecurityProfileV5,
}

/// The upcaster: a project registered before the FAPI 2.0 baseline
/// authenticated with a secret or none, had no keys, and used none of it.
impl From<ProjectSettingsV4> for ProjectSettingsV5 {
    fn from(s: ProjectSettingsV4) -> Self {
        ProjectSettingsV5 {
            name: s.name,
            app_type: s.app_type,
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            scopes: s.scopes,
            grant_types: s.grant_types,
            token_endpoint_auth_method: s.token_endpoint_auth_method.into(),
            access_token_ttl_seconds: s.access_token_ttl_seconds,
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
            id_token_ttl_seconds: s.id_token_ttl_seconds,
            refresh_token_retry_seconds: s.refresh_token_retry_seconds,
            id_token_signed_response_alg: s.id_token_signed_response_alg,
            compat_claims: s.compat_claims,
            custom_claims: s.custom_claims,
            reject_unknown_scopes: s.reject_unknown_scopes,
            login_methods: s.login_methods,
            mfa: s.mfa,
            default_acr_values: s.default_acr_values,
            allow_signup: s.allow_signup,
            require_verified_email: s.require_verified_email,
            logo_uri: s.logo_uri,
            primary_color: s.primary_color,
            backchannel_logout_uri: s.backchannel_logout_uri,
            backchannel_logout_session_required: s.backchannel_logout_session_required,
            jwks: None,
            jwks_uri: None,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
            profile: SecurityProfileV5::Standard,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethodV5 {
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt,
    #[serde(rename = "none")]
    None,
}

impl From<AuthMethodV1> for AuthMethodV5 {
    fn from(v: AuthMethodV1) -> Self {
        match v {
            AuthMethodV1::ClientSecretBasic => AuthMethodV5::ClientSecretBasic,
            AuthMethodV1::ClientSecretPost => AuthMethodV5::ClientSecretPost,
            AuthMethodV1::None => AuthMethodV5::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityProfileV5 {
    #[serde(rename = "standard")]
    Standard,
    #[serde(rename = "fapi2")]
    Fapi2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginMethodV2 {
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "passkey")]
    Passkey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaPolicyV2 {
    #[serde(rename = "off")]
    Off,
    #[serde(rename = "optional")]
    Optional,
    #[serde(rename = "required")]
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcrV2 {
    #[serde(rename = "urn:inkan:acr:1fa")]
    OneFactor,
    #[serde(rename = "urn:inkan:acr:mfa")]
    MultiFactor,
    #[serde(rename = "urn:inkan:acr:phr")]
    PhishingResistant,
}

/// The upcaster: a project registered before login settings existed signed
/// users in with a password or a passkey, asked for a code when the
/// identity had one, and had no default levels.
impl From<ProjectSettingsV1> for ProjectSettingsV2 {
    fn from(s: ProjectSettingsV1) -> Self {
        ProjectSettingsV2 {
            name: s.name,
            app_type: s.app_type,
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            scopes: s.scopes,
            grant_types: s.grant_types,
            token_endpoint_auth_method: s.token_endpoint_auth_method,
            access_token_ttl_seconds: s.access_token_ttl_seconds,
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
            id_token_ttl_seconds: s.id_token_ttl_seconds,
            refresh_token_retry_seconds: s.refresh_token_retry_seconds,
            id_token_signed_response_alg: s.id_token_signed_response_alg,
            compat_claims: s.compat_claims,
            custom_claims: s.custom_claims,
            reject_unknown_scopes: s.reject_unknown_scopes,
            login_methods: vec![LoginMethodV2::Password, LoginMethodV2::Passkey],
            mfa: MfaPolicyV2::Optional,
            default_acr_values: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppTypeV1 {
    #[serde(rename = "web")]
    Web,
    #[serde(rename = "spa")]
    Spa,
    #[serde(rename = "native")]
    Native,
    #[serde(rename = "service")]
    Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantTypeV1 {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethodV1 {
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
    #[serde(rename = "none")]
    None,
}

// ---- domain → newest revision (recording) ----

impl From<AppType> for AppTypeV1 {
    fn from(v: AppType) -> Self {
        match v {
            AppType::Web => AppTypeV1::Web,
            AppType::Spa => AppTypeV1::Spa,
            AppType::Native => AppTypeV1::Native,
            AppType::Service => AppTypeV1::Service,
        }
    }
}

impl From<GrantType> for GrantTypeV1 {
    fn from(v: GrantType) -> Self {
        match v {
            GrantType::AuthorizationCode => GrantTypeV1::AuthorizationCode,
            GrantType::RefreshToken => GrantTypeV1::RefreshToken,
            GrantType::ClientCredentials => GrantTypeV1::ClientCredentials,
        }
    }
}

impl From<AuthMethod> for AuthMethodV5 {
    fn from(v: AuthMethod) -> Self {
        match v {
            AuthMethod::ClientSecretBasic => AuthMethodV5::ClientSecretBasic,
            AuthMethod::ClientSecretPost => AuthMethodV5::ClientSecretPost,
            AuthMethod::PrivateKeyJwt => AuthMethodV5::PrivateKeyJwt,
            AuthMethod::None => AuthMethodV5::None,
        }
    }
}

impl From<SecurityProfile> for SecurityProfileV5 {
    fn from(v: SecurityProfile) -> Self {
        match v {
            SecurityProfile::Standard => SecurityProfileV5::Standard,
            SecurityProfile::Fapi2 => SecurityProfileV5::Fapi2,
        }
    }
}

impl From<LoginMethod> for LoginMethodV2 {
    fn from(v: LoginMethod) -> Self {
        match v {
            LoginMethod::Password => LoginMethodV2::Password,
            LoginMethod::Passkey => LoginMethodV2::Passkey,
        }
    }
}

impl From<MfaPolicy> for MfaPolicyV2 {
    fn from(v: MfaPolicy) -> Self {
        match v {
            MfaPolicy::Off => MfaPolicyV2::Off,
            MfaPolicy::Optional => MfaPolicyV2::Optional,
            MfaPolicy::Required => MfaPolicyV2::Required,
        }
    }
}

impl From<Acr> for AcrV2 {
    fn from(v: Acr) -> Self {
        match v {
            Acr::OneFactor => AcrV2::OneFactor,
            Acr::MultiFactor => AcrV2::MultiFactor,
            Acr::PhishingResistant => AcrV2::PhishingResistant,
        }
    }
}

impl From<&ProjectSettings> for ProjectSettingsV5 {
    fn from(s: &ProjectSettings) -> Self {
        ProjectSettingsV5 {
            name: s.name.clone(),
            app_type: s.app_type.into(),
            redirect_uris: s.redirect_uris.clone(),
            post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
            scopes: s.scopes.clone(),
            grant_types: s.grant_types.iter().copied().map(Into::into).collect(),
            token_endpoint_auth_method: s.token_endpoint_auth_method.into(),
            access_token_ttl_seconds: s.access_token_ttl_seconds,
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
            id_token_ttl_seconds: s.id_token_ttl_seconds,
            refresh_token_retry_seconds: s.refresh_token_retry_seconds,
            id_token_signed_response_alg: s.id_token_signed_response_alg.clone(),
            compat_claims: s.compat_claims,
            custom_claims: s.custom_claims,
            reject_unknown_scopes: s.reject_unknown_scopes,
            login_methods: s.login_methods.iter().copied().map(Into::into).collect(),
            mfa: s.mfa.into(),
            default_acr_values: s
                .default_acr_values
                .iter()
                .copied()
                .map(Into::into)
                .collect(),
            allow_signup: s.allow_signup,
            require_verified_email: s.require_verified_email,
            logo_uri: s.logo_uri.clone(),
            primary_color: s.primary_color.clone(),
            backchannel_logout_uri: s.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: s.backchannel_logout_session_required,
            jwks: s.jwks.clone(),
            jwks_uri: s.jwks_uri.clone(),
            require_pushed_authorization_requests: s.require_pushed_authorization_requests,
            dpop_bound_access_tokens: s.dpop_bound_access_tokens,
            profile: s.profile.into(),
        }
    }
}

// ---- stored revision → domain (loading) ----

impl From<AppTypeV1> for AppType {
    fn from(v: AppTypeV1) -> Self {
        match v {
            AppTypeV1::Web => AppType::Web,
            AppTypeV1::Spa => AppType::Spa,
            AppTypeV1::Native => AppType::Native,
            AppTypeV1::Service => AppType::Service,
        }
    }
}

impl From<GrantTypeV1> for GrantType {
    fn from(v: GrantTypeV1) -> Self {
        match v {
            GrantTypeV1::AuthorizationCode => GrantType::AuthorizationCode,
            GrantTypeV1::RefreshToken => GrantType::RefreshToken,
            GrantTypeV1::ClientCredentials => GrantType::ClientCredentials,
        }
    }
}

impl From<AuthMethodV5> for AuthMethod {
    fn from(v: AuthMethodV5) -> Self {
        match v {
            AuthMethodV5::ClientSecretBasic => AuthMethod::ClientSecretBasic,
            AuthMethodV5::ClientSecretPost => AuthMethod::ClientSecretPost,
            AuthMethodV5::PrivateKeyJwt => AuthMethod::PrivateKeyJwt,
            AuthMethodV5::None => AuthMethod::None,
        }
    }
}

impl From<SecurityProfileV5> for SecurityProfile {
    fn from(v: SecurityProfileV5) -> Self {
        match v {
            SecurityProfileV5::Standard => SecurityProfile::Standard,
            SecurityProfileV5::Fapi2 => SecurityProfile::Fapi2,
        }
    }
}

impl From<LoginMethodV2> for LoginMethod {
    fn from(v: LoginMethodV2) -> Self {
        match v {
            LoginMethodV2::Password => LoginMethod::Password,
            LoginMethodV2::Passkey => LoginMethod::Passkey,
        }
    }
}

impl From<MfaPolicyV2> for MfaPolicy {
    fn from(v: MfaPolicyV2) -> Self {
        match v {
            MfaPolicyV2::Off => MfaPolicy::Off,
            MfaPolicyV2::Optional => MfaPolicy::Optional,
            MfaPolicyV2::Required => MfaPolicy::Required,
        }
    }
}

impl From<AcrV2> for Acr {
    fn from(v: AcrV2) -> Self {
        match v {
            AcrV2::OneFactor => Acr::OneFactor,
            AcrV2::MultiFactor => Acr::MultiFactor,
            AcrV2::PhishingResistant => Acr::PhishingResistant,
        }
    }
}

impl From<ProjectSettingsV5> for ProjectSettings {
    fn from(s: ProjectSettingsV5) -> Self {
        ProjectSettings {
            name: s.name,
            app_type: s.app_type.into(),
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            scopes: s.scopes,
            grant_types: s.grant_types.into_iter().map(Into::into).collect(),
            token_endpoint_auth_method: s.token_endpoint_auth_method.into(),
            access_token_ttl_seconds: s.access_token_ttl_seconds,
            refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
            id_token_ttl_seconds: s.id_token_ttl_seconds,
            refresh_token_retry_seconds: s.refresh_token_retry_seconds,
            id_token_signed_response_alg: s.id_token_signed_response_alg,
            compat_claims: s.compat_claims,
            custom_claims: s.custom_claims,
            reject_unknown_scopes: s.reject_unknown_scopes,
            login_methods: s.login_methods.into_iter().map(Into::into).collect(),
            mfa: s.mfa.into(),
            default_acr_values: s.default_acr_values.into_iter().map(Into::into).collect(),
            allow_signup: s.allow_signup,
            require_verified_email: s.require_verified_email,
            logo_uri: s.logo_uri,
            primary_color: s.primary_color,
            backchannel_logout_uri: s.backchannel_logout_uri,
            backchannel_logout_session_required: s.backchannel_logout_session_required,
            jwks: s.jwks,
            jwks_uri: s.jwks_uri,
            require_pushed_authorization_requests: s.require_pushed_authorization_requests,
            dpop_bound_access_tokens: s.dpop_bound_access_tokens,
            profile: s.profile.into(),
        }
    }
}

/// Any older settings revision, upcast step by step to the domain's settings.
fn from_v2(s: ProjectSettingsV2) -> ProjectSettings {
    from_v3(s.into())
}

fn from_v3(s: ProjectSettingsV3) -> ProjectSettings {
    from_v4(s.into())
}

fn from_v4(s: ProjectSettingsV4) -> ProjectSettings {
    ProjectSettingsV5::from(s).into()
}

impl DomainEvent for ProjectEvent {
    fn encode(&self) -> (String, serde_json::Value) {
        match self {
            ProjectEvent::Registered(e) => super::encode(
                REGISTERED_V5,
                &ProjectRegisteredV5 {
                    client_id: e.client_id.clone(),
                    settings: (&e.settings).into(),
                    secret_hash: e.secret_hash.clone(),
                },
            ),
            ProjectEvent::Updated(e) => super::encode(
                UPDATED_V5,
                &ProjectUpdatedV5 {
                    settings: (&e.settings).into(),
                },
            ),
            ProjectEvent::SecretRotated(e) => super::encode(
                SECRET_ROTATED_V1,
                &ProjectSecretRotatedV1 {
                    secret_hash: e.secret_hash.clone(),
                },
            ),
            ProjectEvent::Deleted(ProjectDeleted {}) => {
                super::encode(DELETED_V1, &ProjectDeletedV1 {})
            }
        }
    }

    fn decode(event_type: &str, payload: &serde_json::Value) -> Result<Self, DomainError> {
        Ok(match event_type {
            REGISTERED_V1 => {
                let e: ProjectRegisteredV1 = super::parse(event_type, payload)?;
                ProjectEvent::Registered(ProjectRegistered {
                    client_id: e.client_id,
                    settings: from_v2(e.settings.into()),
                    secret_hash: e.secret_hash,
                })
            }
            UPDATED_V1 => {
                let e: ProjectUpdatedV1 = super::parse(event_type, payload)?;
                ProjectEvent::Updated(ProjectUpdated {
                    settings: from_v2(e.settings.into()),
                })
            }
            REGISTERED_V2 => {
                let e: ProjectRegisteredV2 = super::parse(event_type, payload)?;
                ProjectEvent::Registered(ProjectRegistered {
                    client_id: e.client_id,
                    settings: from_v2(e.settings),
                    secret_hash: e.secret_hash,
                })
            }
            UPDATED_V2 => {
                let e: ProjectUpdatedV2 = super::parse(event_type, payload)?;
                ProjectEvent::Updated(ProjectUpdated {
                    settings: from_v2(e.settings),
                })
            }
            REGISTERED_V3 => {
                let e: ProjectRegisteredV3 = super::parse(event_type, payload)?;
                ProjectEvent::Registered(ProjectRegistered {
                    client_id: e.client_id,
                    settings: from_v3(e.settings),
                    secret_hash: e.secret_hash,
                })
            }
            UPDATED_V3 => {
                let e: ProjectUpdatedV3 = super::parse(event_type, payload)?;
                ProjectEvent::Updated(ProjectUpdated {
                    settings: from_v3(e.settings),
                })
            }
            REGISTERED_V4 => {
                let e: ProjectRegisteredV4 = super::parse(event_type, payload)?;
                ProjectEvent::Registered(ProjectRegistered {
                    client_id: e.client_id,
                    settings: from_v4(e.settings),
                    secret_hash: e.secret_hash,
                })
            }
            UPDATED_V4 => {
                let e: ProjectUpdatedV4 = super::parse(event_type, payload)?;
                ProjectEvent::Updated(ProjectUpdated {
                    settings: from_v4(e.settings),
                })
            }
            REGISTERED_V5 => {
                let e: ProjectRegisteredV5 = super::parse(event_type, payload)?;
                ProjectEvent::Registered(ProjectRegistered {
                    client_id: e.client_id,
                    settings: e.settings.into(),
                    secret_hash: e.secret_hash,
                })
            }
            UPDATED_V5 => {
                let e: ProjectUpdatedV5 = super::parse(event_type, payload)?;
                ProjectEvent::Updated(ProjectUpdated {
                    settings: e.settings.into(),
                })
            }
            SECRET_ROTATED_V1 => {
                let e: ProjectSecretRotatedV1 = super::parse(event_type, payload)?;
                ProjectEvent::SecretRotated(ClientSecretRotated {
                    secret_hash: e.secret_hash,
                })
            }
            DELETED_V1 => {
                let ProjectDeletedV1 {} = super::parse(event_type, payload)?;
                ProjectEvent::Deleted(ProjectDeleted {})
            }
            _ => return Err(super::unknown(event_type)),
        })
    }
}
