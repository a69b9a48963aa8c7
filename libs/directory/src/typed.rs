//! Projects and identities as the services use them: typed once, here, from
//! the strings the admin service sends over gRPC.
//!
//! The wire records ([`crate::Project`], [`crate::Identity`], i.e.
//! `pb::Project`/`pb::Identity`) carry enums as strings and custom claims as
//! JSON text. [`Lookup`] reads them through any [`Directory`] and converts
//! them with [`TryFrom`]: a value this version does not know (an app type, a
//! grant type, an authentication method or an algorithm added by a newer
//! admin, or unreadable claims) is an [`InvalidRecord`], never a silent
//! default. Callers map it to an internal error, logged once.

use async_trait::async_trait;
use inkan_domain::acr::Acr;
use inkan_domain::project::{
    AppType, AuthMethod, GrantType, LoginMethod, MfaPolicy, SecurityProfile,
};
use inkan_keys::signing::Algorithm;
use inkan_oauth::claims::IdentityFacts;
use inkan_proto::admin::v1 as pb;
use serde::de::IntoDeserializer;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Directory, Result};

/// A record from the admin service that this version cannot read.
#[derive(Debug, thiserror::Error)]
#[error("the admin service sent a {record} whose {field} cannot be read: {source}")]
pub struct InvalidRecord {
    /// `"project"` or `"identity"`.
    pub record: &'static str,
    pub field: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl InvalidRecord {
    fn new(
        record: &'static str,
        field: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> InvalidRecord {
        InvalidRecord {
            record,
            field,
            source: source.into(),
        }
    }
}

/// A project (an OAuth client), typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub client_id: String,
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
    pub refresh_token_retry_seconds: u32,
    /// Signs the project's ID tokens, and its access tokens.
    pub id_token_signed_response_alg: Algorithm,
    pub compat_claims: bool,
    pub custom_claims: bool,
    pub reject_unknown_scopes: bool,
    pub requires_pkce: bool,
    /// How end users may sign in (never empty).
    pub login_methods: Vec<LoginMethod>,
    pub mfa: MfaPolicy,
    /// Asked for when a request carries no `acr_values`.
    pub default_acr_values: Vec<Acr>,
    /// People may create their own accounts on the login page.
    pub allow_signup: bool,
    /// A login waits until the user's address is verified.
    pub require_verified_email: bool,
    /// The login pages' branding.
    pub brand: Brand,
    /// OpenID Back-Channel Logout 1.0: where logout tokens are posted.
    pub backchannel_logout_uri: Option<String>,
    /// The RP needs `sid` in its logout tokens (always sent).
    pub backchannel_logout_session_required: bool,
    /// Where the client's keys for `private_key_jwt` come from.
    pub client_keys: ClientKeys,
    /// Authorization requests only through `/par` (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
    /// Token requests need a DPoP proof; every access token is bound.
    pub dpop_bound_access_tokens: bool,
    pub profile: SecurityProfile,
}

/// A `private_key_jwt` client's public keys: registered inline, or
/// published at a URL the token service fetches (and caches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClientKeys {
    #[default]
    None,
    /// A JWK Set document.
    Inline(Value),
    /// The URL of a JWK Set document.
    Uri(String),
}

/// How a project's login pages look: its logo and colour (the admin
/// checked both; the pages escape them anyway).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brand {
    /// An https URL.
    pub logo_uri: Option<String>,
    /// `#rrggbb`.
    pub primary_color: Option<String>,
}

impl Project {
    /// Whether the project may use `grant` (RFC 6749 §4.1.2.1, §5.2 `unauthorized_client`).
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// A public client (RFC 6749 §2.1): it authenticates with its `client_id` alone.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
    }

    /// Under the FAPI 2.0 Security Profile.
    pub fn is_fapi2(&self) -> bool {
        self.profile == SecurityProfile::Fapi2
    }

    pub fn allows_login(&self, method: LoginMethod) -> bool {
        self.login_methods.contains(&method)
    }

    /// The level a login for this project must reach: the lowest of the
    /// request's `acr_values` this OP knows, else the project's default
    /// ones (OIDC Core §3.1.2.1 treats them as voluntary; Inkan honours
    /// them), raised to two factors when the project requires them.
    pub fn required_acr(&self, acr_values: Option<&str>) -> Option<Acr> {
        let asked =
            Acr::requested(acr_values).or_else(|| self.default_acr_values.iter().min().copied());
        match self.mfa {
            MfaPolicy::Required => {
                Some(asked.map_or(Acr::MultiFactor, |a| a.max(Acr::MultiFactor)))
            }
            _ => asked,
        }
    }

    /// What the login page calls the project.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.client_id
        } else {
            &self.name
        }
    }
}

/// One of the domain's snake_case enums, from its wire name.
fn plain<'de, T: Deserialize<'de>>(
    record: &'static str,
    field: &'static str,
    value: &'de str,
) -> std::result::Result<T, InvalidRecord> {
    let de: serde::de::value::StrDeserializer<'de, serde::de::value::Error> =
        value.into_deserializer();
    T::deserialize(de).map_err(|e| InvalidRecord::new(record, field, e))
}

impl TryFrom<pb::Project> for Project {
    type Error = InvalidRecord;

    fn try_from(p: pb::Project) -> std::result::Result<Project, InvalidRecord> {
        let app_type = plain("project", "app_type", &p.app_type)?;
        let grant_types = p
            .grant_types
            .iter()
            .map(|g| plain("project", "grant_types", g))
            .collect::<std::result::Result<_, _>>()?;
        let token_endpoint_auth_method = plain(
            "project",
            "token_endpoint_auth_method",
            &p.token_endpoint_auth_method,
        )?;
        let id_token_signed_response_alg = p
            .id_token_signed_response_alg
            .parse()
            .map_err(|e| InvalidRecord::new("project", "id_token_signed_response_alg", e))?;
        // An admin older than the login settings sends none: its defaults.
        let login_methods = if p.login_methods.is_empty() {
            LoginMethod::ALL.to_vec()
        } else {
            p.login_methods
                .iter()
                .map(|m| plain("project", "login_methods", m))
                .collect::<std::result::Result<_, _>>()?
        };
        let mfa = if p.mfa.is_empty() {
            MfaPolicy::Optional
        } else {
            plain("project", "mfa", &p.mfa)?
        };
        let default_acr_values = p
            .default_acr_values
            .iter()
            .map(|a| {
                Acr::parse(a).ok_or_else(|| {
                    InvalidRecord::new(
                        "project",
                        "default_acr_values",
                        format!("unknown level {a}"),
                    )
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        let client_keys = match (p.jwks_json.is_empty(), p.jwks_uri.is_empty()) {
            (false, _) => ClientKeys::Inline(
                serde_json::from_str(&p.jwks_json)
                    .map_err(|e| InvalidRecord::new("project", "jwks_json", e))?,
            ),
            (true, false) => ClientKeys::Uri(p.jwks_uri),
            (true, true) => ClientKeys::None,
        };
        // An admin older than the profile sends none: the standard one.
        let profile = if p.profile.is_empty() {
            SecurityProfile::Standard
        } else {
            plain("project", "profile", &p.profile)?
        };
        Ok(Project {
            id: p.id,
            client_id: p.client_id,
            name: p.name,
            app_type,
            redirect_uris: p.redirect_uris,
            post_logout_redirect_uris: p.post_logout_redirect_uris,
            scopes: p.scopes,
            grant_types,
            token_endpoint_auth_method,
            access_token_ttl_seconds: p.access_token_ttl_seconds,
            refresh_token_ttl_seconds: p.refresh_token_ttl_seconds,
            id_token_ttl_seconds: p.id_token_ttl_seconds,
            refresh_token_retry_seconds: p.refresh_token_retry_seconds,
            id_token_signed_response_alg,
            compat_claims: p.compat_claims,
            custom_claims: p.custom_claims,
            reject_unknown_scopes: p.reject_unknown_scopes,
            requires_pkce: p.requires_pkce,
            login_methods,
            mfa,
            default_acr_values,
            allow_signup: p.allow_signup,
            require_verified_email: p.require_verified_email,
            brand: Brand {
                logo_uri: Some(p.logo_uri).filter(|v| !v.is_empty()),
                primary_color: Some(p.primary_color).filter(|v| {
                    v.len() == 7
                        && v.starts_with('#')
                        && v[1..].bytes().all(|b| b.is_ascii_hexdigit())
                }),
            },
            backchannel_logout_uri: Some(p.backchannel_logout_uri).filter(|v| !v.is_empty()),
            backchannel_logout_session_required: p.backchannel_logout_session_required,
            client_keys,
            require_pushed_authorization_requests: p.require_pushed_authorization_requests,
            dpop_bound_access_tokens: p.dpop_bound_access_tokens,
            profile,
        })
    }
}

/// An identity (an end user), typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The identity's UUID: the `sub` of its tokens.
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Custom claims, released with the `profile` scope to projects that allow it.
    pub claims: Map<String, Value>,
    /// Whether the identity has a one-time-code second factor.
    pub totp: bool,
    /// Sessions and refresh tokens minted under an older epoch are dead.
    pub session_epoch: u32,
}

impl Identity {
    /// The facts claims are built from; custom claims only if `release_custom`.
    pub fn facts(&self, release_custom: bool) -> IdentityFacts<'_> {
        IdentityFacts {
            id: &self.id,
            email: &self.email,
            email_verified: self.email_verified,
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
            custom: release_custom.then_some(&self.claims),
        }
    }
}

impl TryFrom<pb::Identity> for Identity {
    type Error = InvalidRecord;

    fn try_from(i: pb::Identity) -> std::result::Result<Identity, InvalidRecord> {
        // proto3 cannot tell an unset string from an empty one: empty means no custom claims.
        let claims = if i.claims_json.is_empty() {
            Map::new()
        } else {
            match serde_json::from_str(&i.claims_json) {
                Ok(Value::Object(claims)) => claims,
                Ok(_) => {
                    return Err(InvalidRecord::new(
                        "identity",
                        "claims_json",
                        "not a JSON object",
                    ))
                }
                Err(e) => return Err(InvalidRecord::new("identity", "claims_json", e)),
            }
        };
        Ok(Identity {
            id: i.id,
            email: i.email,
            email_verified: i.email_verified,
            first_name: i.first_name,
            last_name: i.last_name,
            claims,
            totp: i.totp,
            session_epoch: i.session_epoch,
        })
    }
}

fn typed<W, T: TryFrom<W, Error = InvalidRecord>>(record: Option<W>) -> Result<Option<T>> {
    Ok(record.map(T::try_from).transpose()?)
}

/// The directory's lookups, typed: what the authorize, token and userinfo
/// services call. Implemented for every [`Directory`].
#[async_trait]
pub trait Lookup {
    /// The project registered under `client_id`, if any.
    async fn project(&self, client_id: &str) -> Result<Option<Project>>;
    /// The project if `secret` is its client secret; `None` on any mismatch.
    async fn client(&self, client_id: &str, secret: &str) -> Result<Option<Project>>;
    /// The identity if `password` is its password; `None` on any mismatch.
    async fn login(&self, email: &str, password: &str) -> Result<Option<Identity>>;
    /// The identity with this id (the `sub`), if it exists.
    async fn identity(&self, id: &str) -> Result<Option<Identity>>;
}

#[async_trait]
impl<D: Directory + ?Sized> Lookup for D {
    async fn project(&self, client_id: &str) -> Result<Option<Project>> {
        typed(self.resolve_project(client_id).await?)
    }

    async fn client(&self, client_id: &str, secret: &str) -> Result<Option<Project>> {
        typed(self.authenticate_client(client_id, secret).await?)
    }

    async fn login(&self, email: &str, password: &str) -> Result<Option<Identity>> {
        typed(self.verify_password(email, password).await?)
    }

    async fn identity(&self, id: &str) -> Result<Option<Identity>> {
        typed(self.get_identity(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DirectoryError;

    fn wire() -> pb::Project {
        pb::Project {
            id: "p1".into(),
            client_id: "shop".into(),
            name: "Shop".into(),
            app_type: "web".into(),
            redirect_uris: vec!["https://shop.example/cb".into()],
            scopes: vec!["openid".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            access_token_ttl_seconds: 3600,
            id_token_signed_response_alg: "ES256".into(),
            compat_claims: true,
            ..pb::Project::default()
        }
    }

    #[test]
    fn a_wire_project_becomes_typed_values() {
        let p = Project::try_from(wire()).unwrap();
        assert_eq!(p.app_type, AppType::Web);
        assert_eq!(
            p.grant_types,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert!(p.allows(GrantType::RefreshToken));
        assert!(!p.allows(GrantType::ClientCredentials));
        assert_eq!(p.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
        assert!(!p.is_public());
        assert_eq!(p.id_token_signed_response_alg, Algorithm::ES256);
        assert_eq!(p.display_name(), "Shop");
    }

    /// A field name and how to spoil that field of a wire project.
    type Spoil = (&'static str, fn(&mut pb::Project));

    #[test]
    fn an_unknown_value_in_a_project_is_an_error_naming_the_field_never_a_default() {
        let cases: [Spoil; 7] = [
            ("app_type", |p| p.app_type = "mainframe".into()),
            ("grant_types", |p| p.grant_types.push("password".into())),
            ("token_endpoint_auth_method", |p| {
                p.token_endpoint_auth_method = "tls_client_auth".into()
            }),
            ("profile", |p| p.profile = "fapi3".into()),
            ("jwks_json", |p| p.jwks_json = "{not json".into()),
            ("id_token_signed_response_alg", |p| {
                p.id_token_signed_response_alg = "HS256".into()
            }),
            // The old code defaulted an unreadable algorithm to RS256.
            ("id_token_signed_response_alg", |p| {
                p.id_token_signed_response_alg = String::new()
            }),
        ];
        for (field, change) in cases {
            let mut p = wire();
            change(&mut p);
            let e = Project::try_from(p).unwrap_err();
            assert_eq!((e.record, e.field), ("project", field));
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn identity_claims_are_parsed_once_and_unreadable_ones_refused() {
        let mut i = pb::Identity {
            id: "u1".into(),
            email: "ada@example.com".into(),
            claims_json: r#"{"tenant":"acme"}"#.into(),
            ..pb::Identity::default()
        };
        let typed = Identity::try_from(i.clone()).unwrap();
        assert_eq!(typed.claims["tenant"], "acme");
        assert!(typed.facts(true).custom.is_some());
        assert!(typed.facts(false).custom.is_none());

        i.claims_json = String::new();
        assert!(Identity::try_from(i.clone()).unwrap().claims.is_empty());
        for bad in ["[1,2]", "{not json", "\"text\""] {
            i.claims_json = bad.into();
            let e = Identity::try_from(i.clone()).unwrap_err();
            assert_eq!((e.record, e.field), ("identity", "claims_json"));
        }
    }

    struct One(pb::Project);

    #[async_trait]
    impl Directory for One {
        async fn resolve_project(&self, _: &str) -> Result<Option<pb::Project>> {
            Ok(Some(self.0.clone()))
        }
        async fn authenticate_client(&self, _: &str, _: &str) -> Result<Option<pb::Project>> {
            Ok(None)
        }
        async fn verify_password(&self, _: &str, _: &str) -> Result<Option<pb::Identity>> {
            Ok(None)
        }
        async fn get_identity(&self, _: &str) -> Result<Option<pb::Identity>> {
            Ok(None)
        }
        async fn signing_keys(&self) -> Result<Vec<pb::SigningKey>> {
            Ok(vec![])
        }
        async fn passkeys(&self, _: &str) -> Result<Option<Vec<pb::Passkey>>> {
            Ok(None)
        }
        async fn register_passkey(
            &self,
            _: pb::RegisterPasskeyRequest,
        ) -> Result<crate::PasskeyRegistration> {
            Ok(crate::PasskeyRegistration::NoIdentity)
        }
        async fn enrol_totp(&self, _: &str, _: Vec<u8>) -> Result<crate::TotpEnrolment> {
            Ok(crate::TotpEnrolment::NoIdentity)
        }
        async fn verify_second_factor(&self, _: &str, _: &str) -> Result<crate::SecondFactor> {
            Ok(crate::SecondFactor::NotEnrolled)
        }
        async fn request_link(&self, _: crate::LinkRequest) -> Result<crate::LinkRequested> {
            Ok(crate::LinkRequested::MailOff)
        }
        async fn redeem_link(&self, _: crate::LinkRedemption) -> Result<crate::LinkRedeemed> {
            Ok(crate::LinkRedeemed::InvalidLink)
        }
        async fn sign_up(&self, _: crate::SignUpRequest) -> Result<crate::SignedUp> {
            Ok(crate::SignedUp::NotAllowed)
        }
        async fn update_names(&self, _: &str, _: &str, _: &str) -> Result<crate::NamesUpdated> {
            Ok(crate::NamesUpdated::NoIdentity)
        }
        async fn change_password(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<crate::PasswordChange> {
            Ok(crate::PasswordChange::WrongPassword)
        }
        async fn remove_credential(&self, _: &str, _: Option<&str>) -> Result<bool> {
            Ok(false)
        }
        async fn sign_out(&self, _: &str, _: &[String], _: &str) -> Result<crate::SignedOut> {
            Ok(crate::SignedOut::default())
        }
    }

    #[tokio::test]
    async fn a_lookup_of_an_unreadable_record_fails_as_invalid() {
        let mut p = wire();
        p.app_type = "mainframe".into();
        let directory: std::sync::Arc<dyn Directory> = std::sync::Arc::new(One(p));
        assert!(matches!(
            directory.project("shop").await,
            Err(DirectoryError::Invalid(_))
        ));
        assert_eq!(directory.client("shop", "s").await.unwrap(), None);
        let fine: std::sync::Arc<dyn Directory> = std::sync::Arc::new(One(wire()));
        assert_eq!(
            fine.project("shop").await.unwrap().unwrap().client_id,
            "shop"
        );
    }
}
