//! An in-memory [`Directory`] for service tests: projects with plain-text
//! secrets, identities with plain-text passwords, and real signing keys
//! (one active key per algorithm, sealed under a test key-encryption key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use inkan_directory::{
    Directory, Identity, KeyRing, LinkPurpose, LinkRedeemed, LinkRedemption, LinkRequest,
    LinkRequested, NewPasskey, PasskeyRegistration, Project, SecondFactor, StoredKey,
    StoredPasskey, TotpEnrolment,
};
use inkan_keys::kek::Kek;
use inkan_keys::signing::{Algorithm, SigningKey};

#[derive(Default)]
struct Data {
    projects: HashMap<String, (Project, Option<String>)>,
    identities: HashMap<String, (Identity, Option<String>)>,
    /// Passkeys by identity id.
    passkeys: HashMap<String, Vec<StoredPasskey>>,
    /// One-time-code secrets and unused recovery codes by identity id.
    totp: HashMap<String, (inkan_otp::Secret, Vec<String>)>,
    /// Outstanding links: token → (purpose, identity id).
    links: HashMap<String, (i32, String)>,
    /// Every link "mailed": (address, purpose, token), oldest first.
    mailed: Vec<(String, i32, String)>,
    /// Every sign-out asked for: (identity id, session handles, reason).
    sign_outs: Vec<(String, Vec<String>, String)>,
}

pub struct FakeDirectory {
    data: Mutex<Data>,
    keys: Vec<StoredKey>,
    pub kek: Kek,
    /// The key pairs behind `keys`, to sign foreign-looking tokens in tests.
    pub pairs: Vec<Arc<SigningKey>>,
}

/// A project as the admin would register it, with defaults by app type.
pub fn project(client_id: &str, app_type: &str, redirect_uris: &[&str]) -> Project {
    let public = matches!(app_type, "spa" | "native");
    Project {
        id: uuid::Uuid::new_v4().to_string(),
        client_id: client_id.into(),
        name: format!("{client_id} app"),
        app_type: app_type.into(),
        redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
        post_logout_redirect_uris: vec![],
        scopes: if app_type == "service" {
            vec!["reports".into()]
        } else {
            ["openid", "profile", "email", "offline_access"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        },
        grant_types: if app_type == "service" {
            vec!["client_credentials".into()]
        } else {
            vec!["authorization_code".into(), "refresh_token".into()]
        },
        token_endpoint_auth_method: if public {
            "none"
        } else {
            "client_secret_basic"
        }
        .into(),
        access_token_ttl_seconds: 3600,
        refresh_token_ttl_seconds: 86_400,
        id_token_ttl_seconds: 3600,
        refresh_token_retry_seconds: 0,
        id_token_signed_response_alg: "RS256".into(),
        compat_claims: true,
        custom_claims: true,
        reject_unknown_scopes: false,
        requires_pkce: public,
        login_methods: vec!["password".into(), "passkey".into()],
        mfa: "optional".into(),
        default_acr_values: vec![],
        allow_signup: false,
        require_verified_email: false,
        logo_uri: String::new(),
        primary_color: String::new(),
        backchannel_logout_uri: String::new(),
        backchannel_logout_session_required: false,
        jwks_json: String::new(),
        jwks_uri: String::new(),
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
        profile: "standard".into(),
    }
}

pub fn identity(email: &str) -> Identity {
    Identity {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.into(),
        email_verified: true,
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        claims_json: r#"{"tenant":"acme"}"#.into(),
        totp: false,
        session_epoch: 0,
    }
}

impl FakeDirectory {
    /// The links "mailed" so far: (address, purpose, token).
    pub fn mailed(&self) -> Vec<(String, LinkPurpose, String)> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        data.mailed
            .iter()
            .map(|(to, purpose, token)| {
                let purpose = LinkPurpose::try_from(*purpose).unwrap_or(LinkPurpose::Unspecified);
                (to.clone(), purpose, token.clone())
            })
            .collect()
    }

    /// The sign-outs asked for so far: (identity id, session handles, reason).
    pub fn sign_outs(&self) -> Vec<(String, Vec<String>, String)> {
        self.data
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sign_outs
            .clone()
    }

    pub fn new() -> FakeDirectory {
        let kek = Kek::generate().0;
        let mut keys = Vec::new();
        let mut pairs = Vec::new();
        for alg in Algorithm::ALL {
            let pair = SigningKey::generate(alg).expect("generate a test key");
            keys.push(StoredKey {
                kid: pair.kid().to_string(),
                alg: alg.as_str().to_string(),
                status: "active".into(),
                sealed_private_key: pair.seal(&kek),
                public_jwk_json: pair.public_jwk().to_string(),
            });
            pairs.push(Arc::new(pair));
        }
        FakeDirectory {
            data: Mutex::new(Data::default()),
            keys,
            kek,
            pairs,
        }
    }

    pub fn add_project(&self, project: Project, secret: Option<&str>) {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        data.projects.insert(
            project.client_id.clone(),
            (project, secret.map(str::to_string)),
        );
    }

    pub fn remove_project(&self, client_id: &str) {
        self.data
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .projects
            .remove(client_id);
    }

    pub fn add_identity(&self, identity: Identity, password: Option<&str>) {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        data.identities.insert(
            identity.id.clone(),
            (identity, password.map(str::to_string)),
        );
    }

    pub fn remove_identity(&self, id: &str) {
        self.data
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .identities
            .remove(id);
    }

    /// A key ring over this directory, already loaded.
    pub async fn keyring(self: &Arc<Self>) -> Arc<KeyRing> {
        let ring = Arc::new(KeyRing::new(self.clone(), self.kek.clone()));
        ring.refresh().await.expect("load test keys");
        ring
    }
}

impl Default for FakeDirectory {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Directory for FakeDirectory {
    async fn resolve_project(&self, client_id: &str) -> inkan_directory::Result<Option<Project>> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(data.projects.get(client_id).map(|(p, _)| p.clone()))
    }

    async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> inkan_directory::Result<Option<Project>> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(data
            .projects
            .get(client_id)
            .filter(|(_, s)| s.as_deref() == Some(secret))
            .map(|(p, _)| p.clone()))
    }

    async fn verify_password(
        &self,
        email: &str,
        password: &str,
    ) -> inkan_directory::Result<Option<Identity>> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(data
            .identities
            .values()
            .find(|(i, p)| i.email.eq_ignore_ascii_case(email) && p.as_deref() == Some(password))
            .map(|(i, _)| i.clone()))
    }

    async fn get_identity(&self, id: &str) -> inkan_directory::Result<Option<Identity>> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(data.identities.get(id).map(|(i, _)| i.clone()))
    }

    async fn signing_keys(&self) -> inkan_directory::Result<Vec<StoredKey>> {
        Ok(self.keys.clone())
    }

    async fn passkeys(
        &self,
        identity_id: &str,
    ) -> inkan_directory::Result<Option<Vec<StoredPasskey>>> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(data
            .identities
            .contains_key(identity_id)
            .then(|| data.passkeys.get(identity_id).cloned().unwrap_or_default()))
    }

    /// Like the admin: the credential id is unique across identities.
    async fn register_passkey(
        &self,
        request: NewPasskey,
    ) -> inkan_directory::Result<PasskeyRegistration> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        if !data.identities.contains_key(&request.identity_id) {
            return Ok(PasskeyRegistration::NoIdentity);
        }
        let taken = data
            .passkeys
            .values()
            .flatten()
            .any(|p| p.credential_id == request.credential_id);
        if taken {
            return Ok(PasskeyRegistration::Taken);
        }
        let list = data.passkeys.entry(request.identity_id).or_default();
        list.push(StoredPasskey {
            credential_id: request.credential_id,
            name: request.name,
            credential_json: request.credential_json,
            backup_eligible: request.backup_eligible,
            registered_at: 0,
        });
        Ok(PasskeyRegistration::Registered(list.clone()))
    }

    async fn enrol_totp(
        &self,
        identity_id: &str,
        secret: Vec<u8>,
    ) -> inkan_directory::Result<TotpEnrolment> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let Some((identity, _)) = data.identities.get_mut(identity_id) else {
            return Ok(TotpEnrolment::NoIdentity);
        };
        if identity.totp {
            return Ok(TotpEnrolment::AlreadyEnrolled);
        }
        identity.totp = true;
        let secret = inkan_otp::Secret::from_bytes(&secret).expect("a 20-byte secret");
        let codes = inkan_otp::recovery_codes();
        data.totp
            .insert(identity_id.to_string(), (secret, codes.clone()));
        Ok(TotpEnrolment::Enrolled {
            recovery_codes: codes,
        })
    }

    /// Like the admin: a code of the steps around now, or an unused recovery code (spent).
    async fn verify_second_factor(
        &self,
        identity_id: &str,
        code: &str,
    ) -> inkan_directory::Result<SecondFactor> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let Some((secret, codes)) = data.totp.get_mut(identity_id) else {
            return Ok(SecondFactor::NotEnrolled);
        };
        if inkan_otp::looks_like_code(code) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return Ok(match secret.check(code, now) {
                Some(step) => SecondFactor::Totp {
                    step: i64::try_from(step).unwrap_or(0),
                },
                None => SecondFactor::Rejected,
            });
        }
        let Some(code) = inkan_otp::normalize_recovery_code(code) else {
            return Ok(SecondFactor::Rejected);
        };
        let before = codes.len();
        codes.retain(|c| c != &code);
        Ok(if codes.len() < before {
            SecondFactor::RecoveryCode {
                left: u32::try_from(codes.len()).unwrap_or(0),
            }
        } else {
            SecondFactor::Rejected
        })
    }

    async fn request_link(&self, request: LinkRequest) -> inkan_directory::Result<LinkRequested> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let found = data
            .identities
            .values()
            .find(|(i, _)| {
                if request.purpose == LinkPurpose::VerifyEmail as i32 {
                    i.id == request.identity_id
                } else {
                    i.email.eq_ignore_ascii_case(&request.email)
                }
            })
            .map(|(i, _)| (i.id.clone(), i.email.clone()));
        let Some((id, email)) = found else {
            return Ok(if request.purpose == LinkPurpose::VerifyEmail as i32 {
                LinkRequested::NoIdentity
            } else {
                LinkRequested::Queued
            });
        };
        let token = format!("{}.{}", id, inkan_keys::secret::generate_token(32));
        data.links
            .retain(|_, (p, i)| !(*p == request.purpose && *i == id));
        data.links.insert(token.clone(), (request.purpose, id));
        data.mailed.push((email, request.purpose, token));
        Ok(LinkRequested::Queued)
    }

    /// Creates the identity (email unverified) and "mails" it a
    /// verification link; an address that exists gets a reset link.
    async fn sign_up(
        &self,
        request: inkan_directory::SignUpRequest,
    ) -> inkan_directory::Result<inkan_directory::SignedUp> {
        let allowed = {
            let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
            data.projects
                .get(&request.client_id)
                .is_some_and(|(p, _)| p.allow_signup)
        };
        if !allowed {
            return Ok(inkan_directory::SignedUp::NotAllowed);
        }
        let exists = {
            let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
            data.identities
                .values()
                .any(|(i, _)| i.email.eq_ignore_ascii_case(&request.email))
        };
        let purpose = if exists {
            LinkPurpose::ResetPassword
        } else {
            let mut created = identity(&request.email);
            created.email_verified = false;
            created.first_name = request.first_name.clone();
            created.last_name = request.last_name.clone();
            self.add_identity(created.clone(), Some(&request.password));
            LinkPurpose::VerifyEmail
        };
        let identity_id = {
            let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
            data.identities
                .values()
                .find(|(i, _)| i.email.eq_ignore_ascii_case(&request.email))
                .map(|(i, _)| i.id.clone())
                .unwrap_or_default()
        };
        self.request_link(LinkRequest {
            purpose: purpose as i32,
            identity_id,
            email: request.email,
            locale: request.locale,
            client_id: Some(request.client_id),
        })
        .await?;
        Ok(inkan_directory::SignedUp::Accepted)
    }

    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> inkan_directory::Result<inkan_directory::NamesUpdated> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let Some((identity, _)) = data.identities.get_mut(identity_id) else {
            return Ok(inkan_directory::NamesUpdated::NoIdentity);
        };
        identity.first_name = Some(first.to_owned()).filter(|n| !n.is_empty());
        identity.last_name = Some(last.to_owned()).filter(|n| !n.is_empty());
        Ok(inkan_directory::NamesUpdated::Updated)
    }

    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> inkan_directory::Result<inkan_directory::PasswordChange> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, password)) = data.identities.get_mut(identity_id) else {
            return Ok(inkan_directory::PasswordChange::WrongPassword);
        };
        if password.as_deref() != Some(current) {
            return Ok(inkan_directory::PasswordChange::WrongPassword);
        }
        if new.len() < 8 {
            return Ok(inkan_directory::PasswordChange::Rejected(
                "must be at least 8 characters".into(),
            ));
        }
        *password = Some(new.to_owned());
        Ok(inkan_directory::PasswordChange::Changed)
    }

    async fn remove_credential(
        &self,
        identity_id: &str,
        passkey: Option<&str>,
    ) -> inkan_directory::Result<bool> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(match passkey {
            Some(credential_id) => data.passkeys.get_mut(identity_id).is_some_and(|list| {
                let before = list.len();
                list.retain(|p| p.credential_id != credential_id);
                list.len() < before
            }),
            None => {
                let had = data.totp.remove(identity_id).is_some();
                if let Some((identity, _)) = data.identities.get_mut(identity_id) {
                    identity.totp = false;
                }
                had
            }
        })
    }

    /// Records the call; the sessions themselves live in the caller's
    /// key-value store, which the caller ends too.
    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> inkan_directory::Result<inkan_directory::SignedOut> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        if !data.identities.contains_key(identity_id) {
            return Ok(inkan_directory::SignedOut::default());
        }
        data.sign_outs
            .push((identity_id.into(), handles.to_vec(), reason.into()));
        Ok(inkan_directory::SignedOut {
            ended: handles.len() as u32,
            notices: vec![],
        })
    }

    async fn redeem_link(&self, request: LinkRedemption) -> inkan_directory::Result<LinkRedeemed> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        match data.links.get(&request.token) {
            Some((purpose, _)) if *purpose == request.purpose => {}
            _ => return Ok(LinkRedeemed::InvalidLink),
        }
        if request.purpose == LinkPurpose::ResetPassword as i32 && request.new_password.len() < 8 {
            return Ok(LinkRedeemed::RejectedPassword(
                "must be at least 8 characters".into(),
            ));
        }
        let Some((_, id)) = data.links.remove(&request.token) else {
            return Ok(LinkRedeemed::InvalidLink);
        };
        if let Some((identity, password)) = data.identities.get_mut(&id) {
            if request.purpose == LinkPurpose::VerifyEmail as i32 {
                identity.email_verified = true;
            } else {
                *password = Some(request.new_password);
                identity.session_epoch += 1;
            }
        }
        Ok(LinkRedeemed::Done { identity_id: id })
    }
}
