//! Stored revisions of the Identity aggregate's events (`identity.*`).
//!
//! Frozen: see the rule in [`crate::events`].

use serde::{Deserialize, Serialize};

use crate::aggregate::DomainEvent;
use crate::error::DomainError;
use crate::identity::{
    BackchannelLogoutFailed, BackchannelLogoutRequested, EmailChanged, EmailVerified,
    IdentityBlocked, IdentityDeleted, IdentityEvent, IdentityRegistered, IdentityUnblocked,
    LinkPurpose, LinkRequested, LogoutFailure, LogoutReason, MailedLink, Passkey,
    PasskeyRegistered, PasskeyRemoved, PasskeyRenamed, PasswordChanged, PasswordReset, Profile,
    ProfileUpdated, RecoveryCodeUsed, Totp, TotpEnrolled, TotpRemoved,
};

pub const REGISTERED_V1: &str = "identity.registered.v1";
pub const PROFILE_UPDATED_V1: &str = "identity.profile_updated.v1";
pub const PASSWORD_CHANGED_V1: &str = "identity.password_changed.v1";
pub const DELETED_V1: &str = "identity.deleted.v1";
pub const BLOCKED_V1: &str = "identity.blocked.v1";
pub const UNBLOCKED_V1: &str = "identity.unblocked.v1";
pub const PASSKEY_REGISTERED_V1: &str = "identity.passkey_registered.v1";
pub const PASSKEY_RENAMED_V1: &str = "identity.passkey_renamed.v1";
pub const PASSKEY_REMOVED_V1: &str = "identity.passkey_removed.v1";
pub const TOTP_ENROLLED_V1: &str = "identity.totp_enrolled.v1";
pub const TOTP_REMOVED_V1: &str = "identity.totp_removed.v1";
pub const RECOVERY_CODE_USED_V1: &str = "identity.recovery_code_used.v1";
pub const EMAIL_VERIFICATION_REQUESTED_V1: &str = "identity.email_verification_requested.v1";
pub const PASSWORD_RESET_REQUESTED_V1: &str = "identity.password_reset_requested.v1";
/// A reset link offered to an address that signed up again (same payload).
pub const PASSWORD_RESET_OFFERED_V1: &str = "identity.password_reset_offered.v1";
pub const EMAIL_VERIFIED_V1: &str = "identity.email_verified.v1";
/// A link to move the account to a new address, sent there (same payload
/// as the other link requests; `email` is the new address).
pub const EMAIL_CHANGE_REQUESTED_V1: &str = "identity.email_change_requested.v1";
pub const EMAIL_CHANGED_V1: &str = "identity.email_changed.v1";
pub const PASSWORD_RESET_V1: &str = "identity.password_reset.v1";
pub const BACKCHANNEL_LOGOUT_REQUESTED_V1: &str = "identity.backchannel_logout_requested.v1";
pub const BACKCHANNEL_LOGOUT_FAILED_V1: &str = "identity.backchannel_logout_failed.v1";

/// `identity.registered.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRegisteredV1 {
    pub profile: ProfileV1,
    /// PHC string (argon2id); `null` when the identity has no password.
    pub password_hash: Option<String>,
}

/// `identity.profile_updated.v1`: the whole profile after the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdatedV1 {
    pub profile: ProfileV1,
}

/// `identity.password_changed.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChangedV1 {
    pub password_hash: String,
}

/// `identity.deleted.v1`: an empty object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDeletedV1 {}

/// `identity.blocked.v1`: an empty object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityBlockedV1 {}

/// `identity.unblocked.v1`: an empty object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityUnblockedV1 {}

/// `identity.passkey_registered.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRegisteredV1 {
    /// base64url (no padding) credential id; unique across identities.
    pub credential_id: String,
    pub name: String,
    /// The WebAuthn library's serialised credential (public key, algorithm, flags).
    pub credential: serde_json::Value,
    pub backup_eligible: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: time::OffsetDateTime,
}

/// `identity.passkey_renamed.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRenamedV1 {
    pub credential_id: String,
    pub name: String,
}

/// `identity.passkey_removed.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRemovedV1 {
    pub credential_id: String,
}

/// `identity.totp_enrolled.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolledV1 {
    /// The RFC 6238 secret sealed under the key-encryption key (base64url).
    pub sealed_secret: String,
    /// Keyed hashes of the recovery codes.
    pub recovery_codes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: time::OffsetDateTime,
}

/// `identity.totp_removed.v1`: an empty object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpRemovedV1 {}

/// `identity.recovery_code_used.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodeUsedV1 {
    pub code_hash: String,
}

/// `identity.email_verification_requested.v1`,
/// `identity.password_reset_requested.v1` and
/// `identity.password_reset_offered.v1` (the type name says which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequestedV1 {
    /// Keyed hash of the link's token.
    pub token_hash: String,
    /// The token sealed under the key-encryption key for the mailer (base64url).
    pub sealed_token: String,
    /// The address the link is mailed to.
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    /// BCP 47 language tag of the mail.
    pub locale: String,
    /// The relying party the user came from, or `null`.
    pub client_id: Option<String>,
}

/// `identity.email_verified.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailVerifiedV1 {
    pub email: String,
    pub token_hash: String,
}

/// `identity.email_changed.v1`: the new address, verified by its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChangedV1 {
    pub email: String,
    /// The address before the change (mailed a notice).
    pub previous: String,
    pub token_hash: String,
    /// The notice's language.
    pub locale: String,
}

/// `identity.password_reset.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordResetV1 {
    pub password_hash: String,
    pub token_hash: String,
    /// Where the notice of the reset is mailed.
    pub email: String,
    pub locale: String,
}

/// `identity.backchannel_logout_requested.v1`: tell one relying party that
/// one session ended (OpenID Back-Channel Logout 1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackchannelLogoutRequestedV1 {
    /// The session's id (the `sid` claim).
    pub sid: String,
    pub client_id: String,
    /// Why it ended: `logout`, `signed_out`, `revoked`, `deleted`,
    /// `password_reset` or `blocked` (anything else is refused when read).
    pub reason: String,
}

/// `identity.backchannel_logout_failed.v1`: a delivery given up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackchannelLogoutFailedV1 {
    pub sid: String,
    pub client_id: String,
    /// What went wrong (at most 500 characters).
    pub error: String,
    /// Deliveries tried.
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
}

/// A logout reason as `identity.backchannel_logout_requested.v1` stores it,
/// spelled out here so renaming the domain's names cannot change the log.
fn reason_v1(reason: LogoutReason) -> &'static str {
    match reason {
        LogoutReason::Logout => "logout",
        LogoutReason::SignedOut => "signed_out",
        LogoutReason::Revoked => "revoked",
        LogoutReason::Deleted => "deleted",
        LogoutReason::PasswordReset => "password_reset",
        LogoutReason::Blocked => "blocked",
    }
}

fn reason_from_v1(event_type: &str, reason: &str) -> Result<LogoutReason, DomainError> {
    Ok(match reason {
        "logout" => LogoutReason::Logout,
        "signed_out" => LogoutReason::SignedOut,
        "revoked" => LogoutReason::Revoked,
        "deleted" => LogoutReason::Deleted,
        "password_reset" => LogoutReason::PasswordReset,
        "blocked" => LogoutReason::Blocked,
        other => {
            return Err(DomainError::UnknownEvent {
                event_type: event_type.to_string(),
                reason: format!("unknown logout reason {other:?}"),
            })
        }
    })
}

/// A profile as `identity.registered.v1` and `identity.profile_updated.v1` store it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileV1 {
    pub email: String,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Custom claims: a JSON object.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl From<&Profile> for ProfileV1 {
    fn from(p: &Profile) -> Self {
        ProfileV1 {
            email: p.email.clone(),
            email_verified: p.email_verified,
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            claims: p.claims.clone(),
        }
    }
}

impl From<ProfileV1> for Profile {
    fn from(p: ProfileV1) -> Self {
        Profile {
            email: p.email,
            email_verified: p.email_verified,
            first_name: p.first_name,
            last_name: p.last_name,
            claims: p.claims,
        }
    }
}

impl DomainEvent for IdentityEvent {
    fn encode(&self) -> (String, serde_json::Value) {
        match self {
            IdentityEvent::Registered(e) => super::encode(
                REGISTERED_V1,
                &IdentityRegisteredV1 {
                    profile: (&e.profile).into(),
                    password_hash: e.password_hash.clone(),
                },
            ),
            IdentityEvent::ProfileUpdated(e) => super::encode(
                PROFILE_UPDATED_V1,
                &ProfileUpdatedV1 {
                    profile: (&e.profile).into(),
                },
            ),
            IdentityEvent::PasswordChanged(e) => super::encode(
                PASSWORD_CHANGED_V1,
                &PasswordChangedV1 {
                    password_hash: e.password_hash.clone(),
                },
            ),
            IdentityEvent::Blocked(IdentityBlocked {}) => {
                super::encode(BLOCKED_V1, &IdentityBlockedV1 {})
            }
            IdentityEvent::Unblocked(IdentityUnblocked {}) => {
                super::encode(UNBLOCKED_V1, &IdentityUnblockedV1 {})
            }
            IdentityEvent::Deleted(IdentityDeleted {}) => {
                super::encode(DELETED_V1, &IdentityDeletedV1 {})
            }
            IdentityEvent::PasskeyRegistered(PasskeyRegistered { passkey: p }) => super::encode(
                PASSKEY_REGISTERED_V1,
                &PasskeyRegisteredV1 {
                    credential_id: p.credential_id.clone(),
                    name: p.name.clone(),
                    credential: p.credential.clone(),
                    backup_eligible: p.backup_eligible,
                    registered_at: p.registered_at,
                },
            ),
            IdentityEvent::PasskeyRenamed(e) => super::encode(
                PASSKEY_RENAMED_V1,
                &PasskeyRenamedV1 {
                    credential_id: e.credential_id.clone(),
                    name: e.name.clone(),
                },
            ),
            IdentityEvent::PasskeyRemoved(e) => super::encode(
                PASSKEY_REMOVED_V1,
                &PasskeyRemovedV1 {
                    credential_id: e.credential_id.clone(),
                },
            ),
            IdentityEvent::TotpEnrolled(TotpEnrolled { totp: t }) => super::encode(
                TOTP_ENROLLED_V1,
                &TotpEnrolledV1 {
                    sealed_secret: t.sealed_secret.clone(),
                    recovery_codes: t.recovery_codes.clone(),
                    enrolled_at: t.enrolled_at,
                },
            ),
            IdentityEvent::TotpRemoved(TotpRemoved {}) => {
                super::encode(TOTP_REMOVED_V1, &TotpRemovedV1 {})
            }
            IdentityEvent::RecoveryCodeUsed(e) => super::encode(
                RECOVERY_CODE_USED_V1,
                &RecoveryCodeUsedV1 {
                    code_hash: e.code_hash.clone(),
                },
            ),
            IdentityEvent::LinkRequested(e) => super::encode(
                match (e.link.purpose, e.signup) {
                    (LinkPurpose::VerifyEmail, _) => EMAIL_VERIFICATION_REQUESTED_V1,
                    (LinkPurpose::ResetPassword, false) => PASSWORD_RESET_REQUESTED_V1,
                    (LinkPurpose::ResetPassword, true) => PASSWORD_RESET_OFFERED_V1,
                    (LinkPurpose::ChangeEmail, _) => EMAIL_CHANGE_REQUESTED_V1,
                },
                &LinkRequestedV1 {
                    token_hash: e.link.token_hash.clone(),
                    sealed_token: e.sealed_token.clone(),
                    email: e.link.email.clone(),
                    expires_at: e.link.expires_at,
                    locale: e.locale.clone(),
                    client_id: e.client_id.clone(),
                },
            ),
            IdentityEvent::EmailVerified(e) => super::encode(
                EMAIL_VERIFIED_V1,
                &EmailVerifiedV1 {
                    email: e.email.clone(),
                    token_hash: e.token_hash.clone(),
                },
            ),
            IdentityEvent::EmailChanged(e) => super::encode(
                EMAIL_CHANGED_V1,
                &EmailChangedV1 {
                    email: e.email.clone(),
                    previous: e.previous.clone(),
                    token_hash: e.token_hash.clone(),
                    locale: e.locale.clone(),
                },
            ),
            IdentityEvent::PasswordReset(e) => super::encode(
                PASSWORD_RESET_V1,
                &PasswordResetV1 {
                    password_hash: e.password_hash.clone(),
                    token_hash: e.token_hash.clone(),
                    email: e.email.clone(),
                    locale: e.locale.clone(),
                },
            ),
            IdentityEvent::BackchannelLogoutRequested(e) => super::encode(
                BACKCHANNEL_LOGOUT_REQUESTED_V1,
                &BackchannelLogoutRequestedV1 {
                    sid: e.sid.clone(),
                    client_id: e.client_id.clone(),
                    reason: reason_v1(e.reason).to_string(),
                },
            ),
            IdentityEvent::BackchannelLogoutFailed(BackchannelLogoutFailed { failure: f }) => {
                super::encode(
                    BACKCHANNEL_LOGOUT_FAILED_V1,
                    &BackchannelLogoutFailedV1 {
                        sid: f.sid.clone(),
                        client_id: f.client_id.clone(),
                        error: f.error.clone(),
                        attempts: f.attempts,
                        at: f.at,
                    },
                )
            }
        }
    }

    fn decode(event_type: &str, payload: &serde_json::Value) -> Result<Self, DomainError> {
        Ok(match event_type {
            REGISTERED_V1 => {
                let e: IdentityRegisteredV1 = super::parse(event_type, payload)?;
                IdentityEvent::Registered(IdentityRegistered {
                    profile: e.profile.into(),
                    password_hash: e.password_hash,
                })
            }
            PROFILE_UPDATED_V1 => {
                let e: ProfileUpdatedV1 = super::parse(event_type, payload)?;
                IdentityEvent::ProfileUpdated(ProfileUpdated {
                    profile: e.profile.into(),
                })
            }
            PASSWORD_CHANGED_V1 => {
                let e: PasswordChangedV1 = super::parse(event_type, payload)?;
                IdentityEvent::PasswordChanged(PasswordChanged {
                    password_hash: e.password_hash,
                })
            }
            BLOCKED_V1 => {
                let IdentityBlockedV1 {} = super::parse(event_type, payload)?;
                IdentityEvent::Blocked(IdentityBlocked {})
            }
            UNBLOCKED_V1 => {
                let IdentityUnblockedV1 {} = super::parse(event_type, payload)?;
                IdentityEvent::Unblocked(IdentityUnblocked {})
            }
            DELETED_V1 => {
                let IdentityDeletedV1 {} = super::parse(event_type, payload)?;
                IdentityEvent::Deleted(IdentityDeleted {})
            }
            PASSKEY_REGISTERED_V1 => {
                let e: PasskeyRegisteredV1 = super::parse(event_type, payload)?;
                IdentityEvent::PasskeyRegistered(PasskeyRegistered {
                    passkey: Passkey {
                        credential_id: e.credential_id,
                        name: e.name,
                        credential: e.credential,
                        backup_eligible: e.backup_eligible,
                        registered_at: e.registered_at,
                    },
                })
            }
            PASSKEY_RENAMED_V1 => {
                let e: PasskeyRenamedV1 = super::parse(event_type, payload)?;
                IdentityEvent::PasskeyRenamed(PasskeyRenamed {
                    credential_id: e.credential_id,
                    name: e.name,
                })
            }
            PASSKEY_REMOVED_V1 => {
                let e: PasskeyRemovedV1 = super::parse(event_type, payload)?;
                IdentityEvent::PasskeyRemoved(PasskeyRemoved {
                    credential_id: e.credential_id,
                })
            }
            TOTP_ENROLLED_V1 => {
                let e: TotpEnrolledV1 = super::parse(event_type, payload)?;
                IdentityEvent::TotpEnrolled(TotpEnrolled {
                    totp: Totp {
                        sealed_secret: e.sealed_secret,
                        recovery_codes: e.recovery_codes,
                        enrolled_at: e.enrolled_at,
                    },
                })
            }
            TOTP_REMOVED_V1 => {
                let TotpRemovedV1 {} = super::parse(event_type, payload)?;
                IdentityEvent::TotpRemoved(TotpRemoved {})
            }
            RECOVERY_CODE_USED_V1 => {
                let e: RecoveryCodeUsedV1 = super::parse(event_type, payload)?;
                IdentityEvent::RecoveryCodeUsed(RecoveryCodeUsed {
                    code_hash: e.code_hash,
                })
            }
            EMAIL_VERIFICATION_REQUESTED_V1
            | PASSWORD_RESET_REQUESTED_V1
            | PASSWORD_RESET_OFFERED_V1
            | EMAIL_CHANGE_REQUESTED_V1 => {
                let e: LinkRequestedV1 = super::parse(event_type, payload)?;
                let purpose = match event_type {
                    EMAIL_VERIFICATION_REQUESTED_V1 => LinkPurpose::VerifyEmail,
                    EMAIL_CHANGE_REQUESTED_V1 => LinkPurpose::ChangeEmail,
                    _ => LinkPurpose::ResetPassword,
                };
                IdentityEvent::LinkRequested(LinkRequested {
                    link: MailedLink {
                        purpose,
                        token_hash: e.token_hash,
                        email: e.email,
                        expires_at: e.expires_at,
                    },
                    sealed_token: e.sealed_token,
                    locale: e.locale,
                    client_id: e.client_id,
                    signup: event_type == PASSWORD_RESET_OFFERED_V1,
                })
            }
            EMAIL_CHANGED_V1 => {
                let e: EmailChangedV1 = super::parse(event_type, payload)?;
                IdentityEvent::EmailChanged(EmailChanged {
                    email: e.email,
                    previous: e.previous,
                    token_hash: e.token_hash,
                    locale: e.locale,
                })
            }
            EMAIL_VERIFIED_V1 => {
                let e: EmailVerifiedV1 = super::parse(event_type, payload)?;
                IdentityEvent::EmailVerified(EmailVerified {
                    email: e.email,
                    token_hash: e.token_hash,
                })
            }
            PASSWORD_RESET_V1 => {
                let e: PasswordResetV1 = super::parse(event_type, payload)?;
                IdentityEvent::PasswordReset(PasswordReset {
                    password_hash: e.password_hash,
                    token_hash: e.token_hash,
                    email: e.email,
                    locale: e.locale,
                })
            }
            BACKCHANNEL_LOGOUT_REQUESTED_V1 => {
                let e: BackchannelLogoutRequestedV1 = super::parse(event_type, payload)?;
                IdentityEvent::BackchannelLogoutRequested(BackchannelLogoutRequested {
                    reason: reason_from_v1(event_type, &e.reason)?,
                    sid: e.sid,
                    client_id: e.client_id,
                })
            }
            BACKCHANNEL_LOGOUT_FAILED_V1 => {
                let e: BackchannelLogoutFailedV1 = super::parse(event_type, payload)?;
                IdentityEvent::BackchannelLogoutFailed(BackchannelLogoutFailed {
                    failure: LogoutFailure {
                        sid: e.sid,
                        client_id: e.client_id,
                        error: e.error,
                        attempts: e.attempts,
                        at: e.at,
                    },
                })
            }
            _ => return Err(super::unknown(event_type)),
        })
    }
}
