//! The Identity aggregate: one end user who logs in to relying parties.
//!
//! The identity's id is the `sub` of every token issued for it. Emails are
//! unique case-insensitively across identities (claimed in the event store's
//! transaction). Passwords arrive already hashed (argon2id, by the caller on
//! a blocking thread); the aggregate never sees a plain password.
//!
//! Passkeys (WebAuthn credentials) are events on the identity too: registered,
//! renamed, removed. A credential id is unique across all identities (claimed
//! in the append's transaction, like emails), so one authenticator's key can
//! never sign in as two people. What changes at every login (the signature
//! counter, the last use) is not stored here: it would add an event per login.
//!
//! A one-time-code second factor (TOTP, RFC 6238) is an event too: its
//! secret arrives sealed under the key-encryption key (the domain never sees
//! it in clear) with the keyed hashes of ten recovery codes; using a
//! recovery code is an event (so it works once, whichever replica races),
//! using a time-based code is not (its replay check lives in the key-value
//! store).
//!
//! When sessions end (a logout, an admin's revocation, a deletion, a
//! password reset), each relying party that asked to be told by back
//! channel (OpenID Back-Channel Logout 1.0) gets an event naming the
//! session and the party, appended with the change that ended it; the
//! notifier posts the logout tokens from the log and records a delivery it
//! gave up on as an event too, so operators can see which party missed one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::aggregate::{Aggregate, Unique, UniqueChanges};
use crate::error::{DomainError, Problems};
use crate::validation::{check_email, check_name, email_key};

/// Unique scope for emails in the event store.
pub const EMAIL_SCOPE: &str = "identity.email";

/// Unique scope for passkey credential ids in the event store.
pub const PASSKEY_SCOPE: &str = "identity.passkey";

/// The most passkeys one identity may hold (a phone, a laptop, a few
/// security keys; the limit keeps every identity event small).
pub const MAX_PASSKEYS: usize = 20;

/// The longest credential id accepted, base64url-encoded: WebAuthn Level 3
/// §5.1 caps a credential id at 1023 bytes (1364 characters encoded).
pub const MAX_CREDENTIAL_ID_CHARS: usize = 1364;

/// The most verification links outstanding at once (the oldest goes first).
pub const MAX_VERIFY_LINKS: usize = 3;

/// The most recovery codes one enrolment holds.
pub const MAX_RECOVERY_CODES: usize = 10;

/// The longest name a passkey may have.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

/// The most back-channel logout notices one command may carry (every
/// relying party of every session an identity has, with room to spare).
pub const MAX_LOGOUT_NOTICES: usize = 100;

/// The longest `sid` or `client_id` a logout notice may name.
pub const MAX_LOGOUT_ID_CHARS: usize = 200;

/// Failed back-channel deliveries kept on an identity (the newest).
pub const MAX_LOGOUT_FAILURES: usize = 20;

/// A failed delivery's error is cut to this many characters: it comes from
/// the relying party's answer and lands in the log and the read model.
pub const MAX_LOGOUT_ERROR_CHARS: usize = 500;

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

/// One registered passkey (a WebAuthn public-key credential, WebAuthn Level 3 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passkey {
    /// The credential id, base64url without padding: the key it is found by
    /// when a browser presents an assertion.
    pub credential_id: String,
    /// What the user or an admin calls it ("Laptop", "Security key").
    pub name: String,
    /// The verifier's record of the credential (public key, algorithm,
    /// flags), as the WebAuthn library serialises it; opaque to the domain.
    pub credential: serde_json::Value,
    /// Whether the authenticator may sync the private key to other devices
    /// (the backup-eligible flag, WebAuthn Level 3 §6.1): a synced passkey
    /// is a software-secured key (`amr` `swk`), a device-bound one
    /// hardware-secured (`hwk`, RFC 8176 §2).
    pub backup_eligible: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
}

/// A time-based one-time-password second factor (RFC 6238).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totp {
    /// The shared secret sealed under the key-encryption key (base64url):
    /// opaque to the domain, opened only by the admin to check a code.
    pub sealed_secret: String,
    /// Keyed hashes of the recovery codes not used yet.
    pub recovery_codes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: OffsetDateTime,
}

/// What a link mailed to the identity's address does when it is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Proves the address belongs to the user: sets `email_verified`.
    VerifyEmail,
    /// Lets the user choose a new password without the old one.
    ResetPassword,
    /// Moves the account to a new address (the link goes to the new one,
    /// which it proves; the address changes when it is followed).
    ChangeEmail,
}

/// An outstanding one-time link: only its keyed hash is kept, so the log
/// and read models cannot produce a working link. A new reset link replaces
/// the old one; verification links add up (to [`MAX_VERIFY_LINKS`]), so
/// "send it again" does not break the link of the first mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailedLink {
    pub purpose: LinkPurpose,
    pub token_hash: String,
    /// The address it was sent to: a link dies when the address changes.
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Why a session ended, recorded with each back-channel logout notice (for
/// the operator and the audit trail; the logout token itself does not say,
/// OpenID Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogoutReason {
    /// The relying party sent the user to the end-session endpoint
    /// (OpenID Connect RP-Initiated Logout 1.0).
    Logout,
    /// The user signed out on their account page.
    SignedOut,
    /// An admin ended the session.
    Revoked,
    /// The identity was deleted.
    Deleted,
    /// A password reset ended every session.
    PasswordReset,
    /// An admin blocked the identity.
    Blocked,
}

impl LogoutReason {
    pub const ALL: [LogoutReason; 6] = [
        LogoutReason::Logout,
        LogoutReason::SignedOut,
        LogoutReason::Revoked,
        LogoutReason::Deleted,
        LogoutReason::PasswordReset,
        LogoutReason::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogoutReason::Logout => "logout",
            LogoutReason::SignedOut => "signed_out",
            LogoutReason::Revoked => "revoked",
            LogoutReason::Deleted => "deleted",
            LogoutReason::PasswordReset => "password_reset",
            LogoutReason::Blocked => "blocked",
        }
    }

    /// The reason [`LogoutReason::as_str`] names, if any.
    pub fn parse(value: &str) -> Option<LogoutReason> {
        LogoutReason::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// One relying party of one ended session that must be told by back
/// channel (it registered a `backchannel_logout_uri`); the caller, which
/// knows the sessions, names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogoutNotice {
    /// The session's id, the `sid` claim of its tokens.
    pub sid: String,
    pub client_id: String,
}

/// A back-channel logout the notifier gave up on: the relying party was
/// not told that the session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutFailure {
    pub sid: String,
    pub client_id: String,
    /// What went wrong, at most [`MAX_LOGOUT_ERROR_CHARS`] characters.
    pub error: String,
    /// How many deliveries were tried.
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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

/// An admin blocked the identity: it cannot sign in, its sessions and
/// refresh tokens end (the session epoch moves on), and the login
/// services see it as absent until it is unblocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityBlocked {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityUnblocked {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRegistered {
    pub passkey: Passkey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRenamed {
    pub credential_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRemoved {
    pub credential_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolled {
    pub totp: Totp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRemoved {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodeUsed {
    pub code_hash: String,
}

/// A one-time link was issued; the mailer sends it (it alone opens the
/// sealed token, under the key-encryption key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequested {
    pub link: MailedLink,
    /// The token sealed for the mailer (base64url); opaque to the domain.
    pub sealed_token: String,
    /// The language the mail is written in (a BCP 47 tag).
    pub locale: String,
    /// The relying party the user came from, if any (named in the mail).
    pub client_id: Option<String>,
    /// A reset link offered because someone signed up with this address,
    /// which has an account already: the mail says so (the sign-up page
    /// itself answers as for a new address).
    pub signup: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailVerified {
    pub email: String,
    pub token_hash: String,
}

/// The address changed through a link sent to the new one (which is
/// therefore verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChanged {
    pub email: String,
    /// The address before: the mailer tells it the account moved away.
    pub previous: String,
    pub token_hash: String,
    /// The language of that notice.
    pub locale: String,
}

/// A password chosen through a reset link: ends every session and
/// refresh-token family (the session epoch moves on) and the mailer sends
/// a notice to `email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    pub password_hash: String,
    pub token_hash: String,
    pub email: String,
    pub locale: String,
}

/// A relying party must be told by back channel that one of its sessions
/// ended (OpenID Back-Channel Logout 1.0 §2.5): the notifier posts it a
/// logout token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogoutRequested {
    pub sid: String,
    pub client_id: String,
    pub reason: LogoutReason,
}

/// The notifier gave up telling a relying party (kept on the identity for
/// the operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogoutFailed {
    pub failure: LogoutFailure,
}

/// In memory only: stored as the revision types of [`crate::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityEvent {
    Registered(IdentityRegistered),
    ProfileUpdated(ProfileUpdated),
    PasswordChanged(PasswordChanged),
    Deleted(IdentityDeleted),
    Blocked(IdentityBlocked),
    Unblocked(IdentityUnblocked),
    PasskeyRegistered(PasskeyRegistered),
    PasskeyRenamed(PasskeyRenamed),
    PasskeyRemoved(PasskeyRemoved),
    TotpEnrolled(TotpEnrolled),
    TotpRemoved(TotpRemoved),
    RecoveryCodeUsed(RecoveryCodeUsed),
    LinkRequested(LinkRequested),
    EmailVerified(EmailVerified),
    PasswordReset(PasswordReset),
    EmailChanged(EmailChanged),
    BackchannelLogoutRequested(BackchannelLogoutRequested),
    BackchannelLogoutFailed(BackchannelLogoutFailed),
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
    /// Deletes the identity; the relying parties of its sessions that
    /// asked to be told by back channel are, in the same append.
    Delete {
        logouts: Vec<LogoutNotice>,
    },
    /// Blocks the identity (nothing if it is blocked already); the relying
    /// parties of its sessions are told in the same append.
    Block {
        logouts: Vec<LogoutNotice>,
    },
    /// Lets a blocked identity sign in again (nothing if it is not blocked);
    /// its old sessions and refresh tokens stay dead.
    Unblock,
    /// Adds a passkey the caller verified (a finished WebAuthn registration
    /// ceremony); refused if the identity already has it.
    RegisterPasskey {
        passkey: Passkey,
    },
    RenamePasskey {
        credential_id: String,
        name: String,
    },
    RemovePasskey {
        credential_id: String,
    },
    /// Adds a one-time-code second factor whose first code the caller
    /// checked; refused while the identity has one (remove it first).
    EnrolTotp {
        totp: Totp,
    },
    /// Removes the second factor (a lost device; an admin's reset).
    RemoveTotp,
    /// Spends one recovery code, found by its keyed hash: once only.
    UseRecoveryCode {
        code_hash: String,
    },
    /// Issues a one-time link for the current address. A verification link
    /// for an address already verified changes nothing.
    RequestLink {
        purpose: LinkPurpose,
        token_hash: String,
        sealed_token: String,
        expires_at: OffsetDateTime,
        locale: String,
        client_id: Option<String>,
        /// A reset link offered to an address someone signed up with.
        signup: bool,
        /// For [`LinkPurpose::ChangeEmail`]: the new address (the link goes
        /// there); `None` for the others (the current address).
        new_email: Option<String>,
    },
    /// Follows an email-change link: the address becomes the link's.
    ChangeEmail {
        token_hash: String,
        locale: String,
        now: OffsetDateTime,
    },
    /// Follows a verification link: once, before it expires, while the
    /// address is still the one it was sent to.
    VerifyEmail {
        token_hash: String,
        now: OffsetDateTime,
    },
    /// Follows a reset link with the new password's hash (same rules). The
    /// reset ends every session: `logouts` are the relying parties to tell.
    ResetPassword {
        token_hash: String,
        password_hash: String,
        locale: String,
        now: OffsetDateTime,
        logouts: Vec<LogoutNotice>,
    },
    /// Sessions ended (a logout, the account page, an admin): tells the
    /// relying parties that asked to be told by back channel. Nothing to
    /// tell is no event.
    SignOut {
        logouts: Vec<LogoutNotice>,
        reason: LogoutReason,
    },
    /// The notifier gave up a back-channel logout. Recorded for a deleted
    /// identity too (a deletion's notices are sent after it).
    RecordLogoutFailure {
        sid: String,
        client_id: String,
        error: String,
        attempts: u32,
        at: OffsetDateTime,
    },
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
    /// Blocked by an admin (absent from older rows: no).
    #[serde(default)]
    pub blocked: bool,
    /// Absent from read-model rows written before passkeys existed: none.
    #[serde(default)]
    pub passkeys: Vec<Passkey>,
    /// Absent from read-model rows written before one-time codes existed: none.
    #[serde(default)]
    pub totp: Option<Totp>,
    /// Outstanding mailed links (absent from older rows: none).
    #[serde(default)]
    pub links: Vec<MailedLink>,
    /// Moves on whenever every session and refresh token of the identity
    /// must end (a password reset): a session or token minted under an
    /// older epoch is dead. Absent from older rows: 0.
    #[serde(default)]
    pub session_epoch: u32,
    /// Back-channel logouts the notifier gave up on, oldest first, the
    /// newest [`MAX_LOGOUT_FAILURES`] kept. Absent from older rows: none.
    #[serde(default)]
    pub logout_failures: Vec<LogoutFailure>,
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

    /// The outstanding link `token_hash` names for `purpose`, if it still
    /// works at `now`: unexpired, and sent to the current address. Every
    /// other case is `NotFound` alike (a used, replaced, expired or unknown
    /// link tells the caller nothing more).
    fn redeemable(
        &self,
        purpose: LinkPurpose,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<&MailedLink, DomainError> {
        let profile = self.profile()?;
        self.links
            .iter()
            .find(|l| {
                l.purpose == purpose
                    && l.token_hash == token_hash
                    && now < l.expires_at
                    && email_key(&l.email) == email_key(&profile.email)
            })
            .ok_or(DomainError::NotFound)
    }

    /// The passkey with this credential id, if the identity has it.
    pub fn passkey(&self, credential_id: &str) -> Option<&Passkey> {
        self.passkeys
            .iter()
            .find(|p| p.credential_id == credential_id)
    }
}

/// A passkey name: 1 to 64 characters, trimmed, no control characters.
fn check_passkey_name(name: &str, problems: &mut Problems) -> String {
    let name = name.trim();
    if name.is_empty() {
        problems.push("name", "must not be empty");
    } else if name.chars().count() > MAX_PASSKEY_NAME_CHARS {
        problems.push(
            "name",
            format!("must be at most {MAX_PASSKEY_NAME_CHARS} characters"),
        );
    } else if let Err(e) = check_name(name) {
        problems.push("name", e);
    }
    name.to_string()
}

/// Checks one back-channel logout id (`sid` or `client_id`).
fn check_logout_id(field: String, value: &str, problems: &mut Problems) {
    if value.is_empty() {
        problems.push(field, "must not be empty");
    } else if value.chars().count() > MAX_LOGOUT_ID_CHARS {
        problems.push(
            field,
            format!("must be at most {MAX_LOGOUT_ID_CHARS} characters"),
        );
    }
}

/// The notices of a command, checked, as one event each (the same notice
/// twice is told once).
fn logout_events(
    logouts: Vec<LogoutNotice>,
    reason: LogoutReason,
) -> Result<Vec<IdentityEvent>, DomainError> {
    let mut problems = Problems::default();
    if logouts.len() > MAX_LOGOUT_NOTICES {
        problems.push(
            "logouts",
            format!("at most {MAX_LOGOUT_NOTICES} back-channel logouts at once"),
        );
    }
    for (i, notice) in logouts.iter().enumerate() {
        check_logout_id(format!("logouts[{i}].sid"), &notice.sid, &mut problems);
        check_logout_id(
            format!("logouts[{i}].client_id"),
            &notice.client_id,
            &mut problems,
        );
    }
    problems.into_result(())?;
    let mut events: Vec<IdentityEvent> = Vec::with_capacity(logouts.len());
    for (i, LogoutNotice { sid, client_id }) in logouts.iter().enumerate() {
        if logouts[..i]
            .iter()
            .any(|n| n.sid == *sid && n.client_id == *client_id)
        {
            continue;
        }
        events.push(IdentityEvent::BackchannelLogoutRequested(
            BackchannelLogoutRequested {
                sid: sid.clone(),
                client_id: client_id.clone(),
                reason,
            },
        ));
    }
    Ok(events)
}

/// `text` cut to at most `max` characters (on a character boundary).
fn truncate_chars(mut text: String, max: usize) -> String {
    if let Some((end, _)) = text.char_indices().nth(max) {
        text.truncate(end);
    }
    text
}

/// A credential id as stored: base64url without padding, within WebAuthn's length limit.
fn is_credential_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CREDENTIAL_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
            IdentityCommand::Delete { logouts } => {
                self.profile()?;
                let notices = logout_events(logouts, LogoutReason::Deleted)?;
                let mut events = vec![IdentityEvent::Deleted(IdentityDeleted {})];
                events.extend(notices);
                Ok(events)
            }
            IdentityCommand::Block { logouts } => {
                self.profile()?;
                if self.blocked {
                    return Ok(vec![]);
                }
                let notices = logout_events(logouts, LogoutReason::Blocked)?;
                let mut events = vec![IdentityEvent::Blocked(IdentityBlocked {})];
                events.extend(notices);
                Ok(events)
            }
            IdentityCommand::Unblock => {
                self.profile()?;
                if !self.blocked {
                    return Ok(vec![]);
                }
                Ok(vec![IdentityEvent::Unblocked(IdentityUnblocked {})])
            }
            IdentityCommand::RegisterPasskey { mut passkey } => {
                self.profile()?;
                let mut problems = Problems::default();
                if !is_credential_id(&passkey.credential_id) {
                    problems.push(
                        "credential_id",
                        "must be a base64url credential id of at most 1023 bytes",
                    );
                }
                passkey.name = check_passkey_name(&passkey.name, &mut problems);
                if !passkey.credential.is_object() {
                    problems.push("credential", "must be a JSON object");
                }
                if self.passkeys.len() >= MAX_PASSKEYS {
                    problems.push(
                        "passkeys",
                        format!("an identity holds at most {MAX_PASSKEYS} passkeys"),
                    );
                }
                let passkey = problems.into_result(passkey)?;
                if self.passkey(&passkey.credential_id).is_some() {
                    return Err(DomainError::AlreadyExists);
                }
                Ok(vec![IdentityEvent::PasskeyRegistered(PasskeyRegistered {
                    passkey,
                })])
            }
            IdentityCommand::RenamePasskey {
                credential_id,
                name,
            } => {
                self.profile()?;
                let current = self.passkey(&credential_id).ok_or(DomainError::NotFound)?;
                let mut problems = Problems::default();
                let name = check_passkey_name(&name, &mut problems);
                let name = problems.into_result(name)?;
                if current.name == name {
                    return Ok(vec![]);
                }
                Ok(vec![IdentityEvent::PasskeyRenamed(PasskeyRenamed {
                    credential_id,
                    name,
                })])
            }
            IdentityCommand::RemovePasskey { credential_id } => {
                self.profile()?;
                self.passkey(&credential_id).ok_or(DomainError::NotFound)?;
                Ok(vec![IdentityEvent::PasskeyRemoved(PasskeyRemoved {
                    credential_id,
                })])
            }
            IdentityCommand::EnrolTotp { totp } => {
                self.profile()?;
                if self.totp.is_some() {
                    return Err(DomainError::AlreadyExists);
                }
                let mut problems = Problems::default();
                if totp.sealed_secret.is_empty() {
                    problems.push("secret", "must not be empty");
                }
                if totp.recovery_codes.is_empty()
                    || totp.recovery_codes.len() > MAX_RECOVERY_CODES
                    || totp.recovery_codes.iter().any(String::is_empty)
                {
                    problems.push(
                        "recovery_codes",
                        format!("between 1 and {MAX_RECOVERY_CODES} code hashes"),
                    );
                }
                let totp = problems.into_result(totp)?;
                Ok(vec![IdentityEvent::TotpEnrolled(TotpEnrolled { totp })])
            }
            IdentityCommand::RemoveTotp => {
                self.profile()?;
                self.totp.as_ref().ok_or(DomainError::NotFound)?;
                Ok(vec![IdentityEvent::TotpRemoved(TotpRemoved {})])
            }
            IdentityCommand::UseRecoveryCode { code_hash } => {
                self.profile()?;
                let totp = self.totp.as_ref().ok_or(DomainError::NotFound)?;
                if !totp.recovery_codes.contains(&code_hash) {
                    return Err(DomainError::NotFound);
                }
                Ok(vec![IdentityEvent::RecoveryCodeUsed(RecoveryCodeUsed {
                    code_hash,
                })])
            }
            IdentityCommand::RequestLink {
                purpose,
                token_hash,
                sealed_token,
                expires_at,
                locale,
                client_id,
                signup,
                new_email,
            } => {
                let profile = self.profile()?;
                if purpose == LinkPurpose::VerifyEmail && profile.email_verified {
                    return Ok(vec![]);
                }
                let mut problems = Problems::default();
                let email = match (purpose, new_email) {
                    (LinkPurpose::ChangeEmail, Some(new)) => {
                        let new = new.trim().to_string();
                        if let Err(e) = check_email(&new) {
                            problems.push("email", e);
                        } else if email_key(&new) == email_key(&profile.email) {
                            problems.push("email", "is the current address");
                        }
                        new
                    }
                    (LinkPurpose::ChangeEmail, None) => {
                        problems.push("email", "is required");
                        String::new()
                    }
                    (_, _) => profile.email.clone(),
                };
                if token_hash.is_empty() || sealed_token.is_empty() {
                    problems.push("token", "must not be empty");
                }
                if locale.is_empty() || locale.len() > 35 {
                    problems.push("locale", "must be a language tag");
                }
                if signup && purpose != LinkPurpose::ResetPassword {
                    problems.push("purpose", "a sign-up offers a reset link only");
                }
                problems.into_result(())?;
                Ok(vec![IdentityEvent::LinkRequested(LinkRequested {
                    link: MailedLink {
                        purpose,
                        token_hash,
                        email,
                        expires_at,
                    },
                    sealed_token,
                    locale,
                    client_id,
                    signup,
                })])
            }
            IdentityCommand::VerifyEmail { token_hash, now } => {
                let link = self.redeemable(LinkPurpose::VerifyEmail, &token_hash, now)?;
                Ok(vec![IdentityEvent::EmailVerified(EmailVerified {
                    email: link.email.clone(),
                    token_hash,
                })])
            }
            IdentityCommand::ChangeEmail {
                token_hash,
                locale,
                now,
            } => {
                let previous = self.profile()?.email.clone();
                let link = self
                    .links
                    .iter()
                    .find(|l| {
                        l.purpose == LinkPurpose::ChangeEmail
                            && l.token_hash == token_hash
                            && now < l.expires_at
                    })
                    .ok_or(DomainError::NotFound)?;
                Ok(vec![IdentityEvent::EmailChanged(EmailChanged {
                    email: link.email.clone(),
                    previous,
                    token_hash,
                    locale,
                })])
            }
            IdentityCommand::ResetPassword {
                token_hash,
                password_hash,
                locale,
                now,
                logouts,
            } => {
                let link = self.redeemable(LinkPurpose::ResetPassword, &token_hash, now)?;
                let notices = logout_events(logouts, LogoutReason::PasswordReset)?;
                let mut events = vec![IdentityEvent::PasswordReset(PasswordReset {
                    password_hash,
                    email: link.email.clone(),
                    token_hash,
                    locale,
                })];
                events.extend(notices);
                Ok(events)
            }
            IdentityCommand::SignOut { logouts, reason } => {
                self.profile()?;
                logout_events(logouts, reason)
            }
            IdentityCommand::RecordLogoutFailure {
                sid,
                client_id,
                error,
                attempts,
                at,
            } => {
                // A deleted identity still has its deletion's notices to fail.
                if self.profile.is_none() {
                    return Err(DomainError::NotFound);
                }
                let mut problems = Problems::default();
                check_logout_id("sid".into(), &sid, &mut problems);
                check_logout_id("client_id".into(), &client_id, &mut problems);
                problems.into_result(())?;
                Ok(vec![IdentityEvent::BackchannelLogoutFailed(
                    BackchannelLogoutFailed {
                        failure: LogoutFailure {
                            sid,
                            client_id,
                            error: truncate_chars(error, MAX_LOGOUT_ERROR_CHARS),
                            attempts,
                            at,
                        },
                    },
                )])
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
            IdentityEvent::Blocked(_) => {
                self.blocked = true;
                // Every session and refresh token minted before ends, and
                // stays dead after an unblock.
                self.session_epoch = self.session_epoch.saturating_add(1);
            }
            IdentityEvent::Unblocked(_) => self.blocked = false,
            IdentityEvent::PasskeyRegistered(e) => self.passkeys.push(e.passkey.clone()),
            IdentityEvent::PasskeyRenamed(e) => {
                if let Some(p) = self
                    .passkeys
                    .iter_mut()
                    .find(|p| p.credential_id == e.credential_id)
                {
                    p.name = e.name.clone();
                }
            }
            IdentityEvent::PasskeyRemoved(e) => {
                self.passkeys.retain(|p| p.credential_id != e.credential_id)
            }
            IdentityEvent::TotpEnrolled(e) => self.totp = Some(e.totp.clone()),
            IdentityEvent::TotpRemoved(_) => self.totp = None,
            IdentityEvent::RecoveryCodeUsed(e) => {
                if let Some(totp) = &mut self.totp {
                    totp.recovery_codes.retain(|h| h != &e.code_hash);
                }
            }
            IdentityEvent::LinkRequested(e) => {
                match e.link.purpose {
                    LinkPurpose::ResetPassword => self
                        .links
                        .retain(|l| l.purpose != LinkPurpose::ResetPassword),
                    LinkPurpose::ChangeEmail => {
                        self.links.retain(|l| l.purpose != LinkPurpose::ChangeEmail)
                    }
                    LinkPurpose::VerifyEmail => {
                        let verify = |l: &MailedLink| l.purpose == LinkPurpose::VerifyEmail;
                        if self.links.iter().filter(|l| verify(l)).count() >= MAX_VERIFY_LINKS {
                            if let Some(oldest) = self.links.iter().position(verify) {
                                self.links.remove(oldest);
                            }
                        }
                    }
                }
                self.links.push(e.link.clone());
            }
            IdentityEvent::EmailVerified(e) => {
                if let Some(profile) = &mut self.profile {
                    if email_key(&profile.email) == email_key(&e.email) {
                        profile.email_verified = true;
                    }
                }
                self.links.retain(|l| l.purpose != LinkPurpose::VerifyEmail);
            }
            IdentityEvent::EmailChanged(e) => {
                if let Some(profile) = &mut self.profile {
                    profile.email = e.email.clone();
                    profile.email_verified = true;
                }
                // Links sent to the old address (or for another move) die.
                self.links.clear();
            }
            IdentityEvent::PasswordReset(e) => {
                self.password_hash = Some(e.password_hash.clone());
                self.session_epoch = self.session_epoch.saturating_add(1);
                self.links
                    .retain(|l| l.purpose != LinkPurpose::ResetPassword);
            }
            IdentityEvent::BackchannelLogoutRequested(_) => {}
            IdentityEvent::BackchannelLogoutFailed(e) => {
                self.logout_failures.push(e.failure.clone());
                let excess = self
                    .logout_failures
                    .len()
                    .saturating_sub(MAX_LOGOUT_FAILURES);
                self.logout_failures.drain(..excess);
            }
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
                IdentityEvent::EmailChanged(e) => Some(email_key(&e.email)),
                IdentityEvent::Deleted(_) => {
                    // A deleted identity's credential ids are free again
                    // (its authenticators may register them elsewhere).
                    changes.release.extend(
                        self.passkeys
                            .iter()
                            .map(|p| passkey_unique(&p.credential_id)),
                    );
                    None
                }
                IdentityEvent::PasskeyRegistered(e) => {
                    changes.claim.push(passkey_unique(&e.passkey.credential_id));
                    continue;
                }
                IdentityEvent::PasskeyRemoved(e) => {
                    changes.release.push(passkey_unique(&e.credential_id));
                    continue;
                }
                IdentityEvent::PasswordChanged(_)
                | IdentityEvent::PasskeyRenamed(_)
                | IdentityEvent::TotpEnrolled(_)
                | IdentityEvent::TotpRemoved(_)
                | IdentityEvent::RecoveryCodeUsed(_)
                | IdentityEvent::LinkRequested(_)
                | IdentityEvent::EmailVerified(_)
                | IdentityEvent::PasswordReset(_)
                | IdentityEvent::BackchannelLogoutRequested(_)
                | IdentityEvent::BackchannelLogoutFailed(_)
                | IdentityEvent::Blocked(_)
                | IdentityEvent::Unblocked(_) => continue,
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

fn passkey_unique(credential_id: &str) -> Unique {
    Unique {
        scope: PASSKEY_SCOPE,
        value: credential_id.to_string(),
    }
}
