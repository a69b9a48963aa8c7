//! The Identity aggregate: one end user who logs in to relying parties.
//!
//! The identity's id is the `sub` of every token issued for it. Emails are
//! unique case-insensitively across identities (claimed in the event store's
//! transaction). Passwords arrive already hashed (argon2id, by the caller on
//! a blocking thread); the aggregate never sees a plain password.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, Unique, UniqueChanges};
use crate::error::{DomainError, Problems};
use crate::validation::{check_email, check_name, email_key};

/// Unique scope for emails in the event store.
pub const EMAIL_SCOPE: &str = "identity.email";

/// Claim names Inkan sets itself; custom claims may not shadow them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "scope",
    "client_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "user_id",
    "first_name",
    "last_name",
    "verified",
    "rat",
    "typ",
];

/// Custom claims are stored in every identity event and copied into tokens: keep them small.
pub const MAX_CLAIMS_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub email: String,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Custom claims: a JSON object merged into ID tokens and userinfo where allowed.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Caller-supplied profile fields; `None` means "unchanged" on update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileInput {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub claims: Option<serde_json::Value>,
}

impl Profile {
    fn overlay(
        mut self,
        input: ProfileInput,
        mut problems: Problems,
    ) -> Result<Profile, DomainError> {
        if let Some(email) = input.email {
            self.email = email.trim().to_string();
        }
        if let Some(v) = input.email_verified {
            self.email_verified = v;
        }
        if let Some(v) = input.first_name {
            self.first_name = Some(v.trim().to_string()).filter(|s| !s.is_empty());
        }
        if let Some(v) = input.last_name {
            self.last_name = Some(v.trim().to_string()).filter(|s| !s.is_empty());
        }
        if let Some(claims) = input.claims {
            match claims {
                serde_json::Value::Object(map) => self.claims = map,
                serde_json::Value::Null => self.claims.clear(),
                _ => problems.push("claims", "must be a JSON object"),
            }
        }
        if let Err(e) = check_email(&self.email) {
            problems.push("email", e);
        }
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if let Some(v) = value {
                if let Err(e) = check_name(v) {
                    problems.push(field, e);
                }
            }
        }
        for key in self.claims.keys() {
            if RESERVED_CLAIMS.contains(&key.as_str()) {
                problems.push(format!("claims.{key}"), "is a reserved claim name");
            } else if key.is_empty() || key.len() > 100 {
                problems.push("claims", "claim names must be 1 to 100 characters");
            }
        }
        let size = serde_json::to_vec(&self.claims)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_CLAIMS_BYTES {
            problems.push(
                "claims",
                format!("must be at most {MAX_CLAIMS_BYTES} bytes of JSON"),
            );
        }
        problems.into_result(self)
    }
}

// ---- events ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRegistered {
    pub profile: Profile,
    /// PHC string (argon2id); `None` when the identity has no password yet.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileUpdated {
    pub profile: Profile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChanged {
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDeleted {}

/// In memory only: stored as the revision types of [`crate::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityEvent {
    Registered(IdentityRegistered),
    ProfileUpdated(ProfileUpdated),
    PasswordChanged(PasswordChanged),
    Deleted(IdentityDeleted),
}

// ---- commands ----

#[derive(Debug, Clone)]
pub enum IdentityCommand {
    Register {
        input: ProfileInput,
        password_hash: Option<String>,
    },
    UpdateProfile {
        input: ProfileInput,
    },
    /// Sets (or replaces) the password; also used to re-hash with stronger parameters.
    SetPassword {
        password_hash: String,
    },
    Delete,
}

// ---- state ----

/// An identity as folded from its events; also the admin API's read model
/// (stored as JSON in the read-model tables; the password hash, skipped here,
/// has a column of its own there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub id: Uuid,
    pub profile: Option<Profile>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub deleted: bool,
}

impl Identity {
    pub fn new(id: Uuid) -> Self {
        Identity {
            id,
            ..Default::default()
        }
    }

    fn profile(&self) -> Result<&Profile, DomainError> {
        match &self.profile {
            Some(p) if !self.deleted => Ok(p),
            _ => Err(DomainError::NotFound),
        }
    }
}

impl Aggregate for Identity {
    const STREAM_TYPE: &'static str = "identity";
    type Command = IdentityCommand;
    type Event = IdentityEvent;

    fn with_id(id: Uuid) -> Self {
        Identity::new(id)
    }

    fn decide(&self, command: IdentityCommand) -> Result<Vec<IdentityEvent>, DomainError> {
        match command {
            IdentityCommand::Register {
                input,
                password_hash,
            } => {
                if self.profile.is_some() {
                    return Err(DomainError::AlreadyExists);
                }
                let mut problems = Problems::default();
                if input.email.is_none() {
                    problems.push("email", "is required");
                }
                let profile = Profile::default().overlay(input, problems)?;
                Ok(vec![IdentityEvent::Registered(IdentityRegistered {
                    profile,
                    password_hash,
                })])
            }
            IdentityCommand::UpdateProfile { input } => {
                let current = self.profile()?;
                let profile = current.clone().overlay(input, Problems::default())?;
                if &profile == current {
                    return Ok(vec![]);
                }
                Ok(vec![IdentityEvent::ProfileUpdated(ProfileUpdated {
                    profile,
                })])
            }
            IdentityCommand::SetPassword { password_hash } => {
                self.profile()?;
                Ok(vec![IdentityEvent::PasswordChanged(PasswordChanged {
                    password_hash,
                })])
            }
            IdentityCommand::Delete => {
                self.profile()?;
                Ok(vec![IdentityEvent::Deleted(IdentityDeleted {})])
            }
        }
    }

    fn apply(&mut self, event: &IdentityEvent) {
        match event {
            IdentityEvent::Registered(e) => {
                self.profile = Some(e.profile.clone());
                self.password_hash = e.password_hash.clone();
            }
            IdentityEvent::ProfileUpdated(e) => self.profile = Some(e.profile.clone()),
            IdentityEvent::PasswordChanged(e) => self.password_hash = Some(e.password_hash.clone()),
            IdentityEvent::Deleted(_) => self.deleted = true,
        }
    }

    fn exists(&self) -> bool {
        self.profile.is_some() && !self.deleted
    }

    fn unique_changes(&self, events: &[IdentityEvent]) -> UniqueChanges {
        let mut changes = UniqueChanges::default();
        let mut current = self.profile.as_ref().map(|p| email_key(&p.email));
        for event in events {
            let next = match event {
                IdentityEvent::Registered(e) => Some(email_key(&e.profile.email)),
                IdentityEvent::ProfileUpdated(e) => Some(email_key(&e.profile.email)),
                IdentityEvent::Deleted(_) => None,
                IdentityEvent::PasswordChanged(_) => continue,
            };
            if next != current {
                if let Some(old) = current.take() {
                    changes.release.push(Unique {
                        scope: EMAIL_SCOPE,
                        value: old,
                    });
                }
                if let Some(new) = &next {
                    changes.claim.push(Unique {
                        scope: EMAIL_SCOPE,
                        value: new.clone(),
                    });
                }
            }
            current = next;
        }
        changes
    }
}
