//! One-time links by mail (email verification, password reset), as the
//! admin issues and redeems them.
//!
//! A link's token is `<identity id, 32 hex>.<256 random bits, base64url>`:
//! the first half finds the identity, the second proves the link. The
//! identity's events keep only a keyed hash of the whole token (HMAC under
//! the KEK-derived pepper, bound to the identity and the purpose) and, for
//! the mailer alone, the token sealed under the KEK (AES-256-GCM, the
//! identity as associated data). Neither the log nor the read models can
//! produce a working link.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use inkan_domain::identity::{Identity, IdentityCommand, LinkPurpose};
use inkan_domain::validation::check_password_for_email;
use inkan_domain::Aggregate;
use inkan_keys::kek::Kek;
use inkan_keys::secret::{generate_token, SecretHasher};
use time::Duration;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::state::AdminState;

/// How long a verification link works.
pub const VERIFY_EMAIL_LIFETIME: Duration = Duration::hours(24);
/// How long a reset link works.
pub const RESET_PASSWORD_LIFETIME: Duration = Duration::minutes(30);

fn lifetime(purpose: LinkPurpose) -> Duration {
    match purpose {
        LinkPurpose::VerifyEmail | LinkPurpose::ChangeEmail => VERIFY_EMAIL_LIFETIME,
        LinkPurpose::ResetPassword => RESET_PASSWORD_LIFETIME,
    }
}

fn purpose_name(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::VerifyEmail => "verify-email",
        LinkPurpose::ResetPassword => "reset-password",
        LinkPurpose::ChangeEmail => "change-email",
    }
}

fn aad(identity: Uuid) -> Vec<u8> {
    format!("inkan/mailed-link/v1:{identity}").into_bytes()
}

/// The stored form of `token` for `purpose`.
fn token_hash(hasher: &SecretHasher, purpose: LinkPurpose, token: &str) -> String {
    hasher.hash(&format!(
        "inkan/mailed-link/v1:{}:{token}",
        purpose_name(purpose)
    ))
}

/// The identity a token names, if it has the token's shape.
fn identity_of(token: &str) -> Option<Uuid> {
    let (id, secret) = token.split_once('.')?;
    if id.len() != 32 || secret.len() != 43 || token.len() > 100 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(secret).ok()?;
    Uuid::try_parse(id).ok()
}

/// Opens sealed tokens for the mailer.
pub struct Opener(pub Arc<Kek>);

impl inkan_mailer::TokenOpener for Opener {
    fn open(&self, identity: Uuid, sealed: &str) -> Option<Zeroizing<String>> {
        let blob = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let bytes = Zeroizing::new(self.0.decrypt(&blob, &aad(identity)).ok()?);
        String::from_utf8(bytes.to_vec()).ok().map(Zeroizing::new)
    }
}

/// What a link request names.
pub enum Whose<'a> {
    Identity(Uuid),
    Email(&'a str),
    /// An email change of the identity, to the new address.
    Move {
        identity: Uuid,
        to: &'a str,
    },
}

/// Issues a link for `whose` (nothing for an unknown identity or address:
/// the caller answers alike). `Unavailable` when no mail is configured.
pub async fn request(
    state: &AdminState,
    actor: &str,
    purpose: LinkPurpose,
    whose: Whose<'_>,
    locale: &str,
    client_id: Option<String>,
) -> Result<(), ApiError> {
    if !state.mail {
        return Err(ApiError::MailOff);
    }
    let (entry, new_email) = match whose {
        Whose::Identity(id) => (state.projections.identity(id).await?, None),
        Whose::Email(email) => (state.projections.identity_by_email(email).await?, None),
        Whose::Move { identity, to } => (
            state.projections.identity(identity).await?,
            Some(to.to_string()),
        ),
    };
    // Seal and hash a token either way, so a known address costs what an
    // unknown one does up to the append.
    let id = entry.as_ref().map_or(Uuid::nil(), |e| e.state.id);
    let token = Zeroizing::new(format!("{}.{}", id.simple(), generate_token(32)));
    let sealed = URL_SAFE_NO_PAD.encode(state.kek.encrypt(token.as_bytes(), &aad(id)));
    let hash = token_hash(&state.secrets, purpose, &token);
    let Some(entry) =
        entry.filter(|e| e.state.profile.is_some() && !e.state.deleted && !e.state.blocked)
    else {
        return Ok(());
    };
    let link = Link {
        purpose,
        locale,
        client_id,
        signup: false,
        new_email,
    };
    issue_sealed(state, actor, entry.state.id, link, hash, sealed).await
}

/// What a link is for and how its mail is worded.
pub struct Link<'a> {
    pub purpose: LinkPurpose,
    pub locale: &'a str,
    pub client_id: Option<String>,
    /// A reset link offered because someone signed up with the address.
    pub signup: bool,
    /// An email change's new address (the link goes there).
    pub new_email: Option<String>,
}

/// Issues a link for the identity `id` (which exists).
pub async fn issue(
    state: &AdminState,
    actor: &str,
    id: Uuid,
    link: Link<'_>,
) -> Result<(), ApiError> {
    let token = Zeroizing::new(format!("{}.{}", id.simple(), generate_token(32)));
    let sealed = URL_SAFE_NO_PAD.encode(state.kek.encrypt(token.as_bytes(), &aad(id)));
    let hash = token_hash(&state.secrets, link.purpose, &token);
    issue_sealed(state, actor, id, link, hash, sealed).await
}

async fn issue_sealed(
    state: &AdminState,
    actor: &str,
    id: Uuid,
    link: Link<'_>,
    token_hash: String,
    sealed_token: String,
) -> Result<(), ApiError> {
    let command = IdentityCommand::RequestLink {
        purpose: link.purpose,
        token_hash,
        sealed_token,
        expires_at: state.clock.now_utc() + lifetime(link.purpose),
        locale: link.locale.to_string(),
        client_id: link.client_id,
        signup: link.signup,
        new_email: link.new_email,
    };
    crate::commands::execute::<Identity>(state, actor, id, command).await?;
    Ok(())
}

/// How following a link went.
#[derive(Debug, PartialEq, Eq)]
pub enum Redeemed {
    Done(Uuid),
    InvalidLink,
    RejectedPassword(String),
    /// An email change to an address another account took meanwhile.
    AddressTaken,
}

/// Follows a link: verifies the address, or sets `new_password`.
pub async fn redeem(
    state: &AdminState,
    purpose: LinkPurpose,
    token: &str,
    new_password: Zeroizing<String>,
    locale: &str,
) -> Result<Redeemed, ApiError> {
    let Some(id) = identity_of(token) else {
        return Ok(Redeemed::InvalidLink);
    };
    let hash = token_hash(&state.secrets, purpose, token);
    let now = state.clock.now_utc();
    let mut endings = Vec::new();
    let command = match purpose {
        LinkPurpose::VerifyEmail => IdentityCommand::VerifyEmail {
            token_hash: hash,
            now,
        },
        LinkPurpose::ChangeEmail => IdentityCommand::ChangeEmail {
            token_hash: hash,
            locale: locale.to_string(),
            now,
        },
        LinkPurpose::ResetPassword => {
            // Check the link before spending an argon2 hash on the password,
            // on the log itself: another admin replica may have issued the
            // link moments ago, before this one's read models saw it.
            let identity = Identity::load(id, &state.store.read_stream(id).await?)?;
            let live = identity
                .links
                .iter()
                .any(|l| l.purpose == purpose && l.token_hash == hash && now < l.expires_at);
            let Some(profile) = identity
                .profile
                .as_ref()
                .filter(|_| live && !identity.deleted && !identity.blocked)
            else {
                return Ok(Redeemed::InvalidLink);
            };
            if let Err(problem) = check_password_for_email(
                &new_password,
                state.password_min_length,
                Some(&profile.email),
            ) {
                return Ok(Redeemed::RejectedPassword(problem.to_string()));
            }
            // A reset ends every session (its epoch moves on): their
            // clients are told in the same append.
            let ending = crate::sessions::gather(state, id, crate::sessions::Which::All).await?;
            let logouts = crate::sessions::notices(state, &ending);
            endings = ending;
            IdentityCommand::ResetPassword {
                token_hash: hash,
                password_hash: state.hash_password(new_password.to_string()).await?,
                locale: locale.to_string(),
                now,
                logouts,
            }
        }
    };
    match crate::commands::execute::<Identity>(state, "authorize", id, command).await {
        Ok(_) => {
            crate::sessions::finish(state, &endings, true).await?;
            Ok(Redeemed::Done(id))
        }
        // Used, expired, unknown, or redeemed by a racing request first.
        Err(ApiError::NotFound | ApiError::Conflict(_)) => Ok(Redeemed::InvalidLink),
        Err(ApiError::Taken { .. }) => Ok(Redeemed::AddressTaken),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_name_an_identity() {
        let id = Uuid::new_v4();
        let token = format!("{}.{}", id.simple(), generate_token(32));
        assert_eq!(identity_of(&token), Some(id));
        for bad in [
            "",
            ".",
            "abc.def",
            &format!("{}.{}", id, generate_token(32)),
            &format!("{}.{}x", id.simple(), generate_token(32)),
            &format!("{}.{}", id.simple(), "!".repeat(43)),
        ] {
            assert_eq!(identity_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_sealed_token_opens_only_for_its_identity() {
        use inkan_mailer::TokenOpener as _;
        let kek = Arc::new(Kek::generate().0);
        let id = Uuid::new_v4();
        let sealed = URL_SAFE_NO_PAD.encode(kek.encrypt(b"the-token", &aad(id)));
        let opener = Opener(kek);
        assert_eq!(
            opener.open(id, &sealed).as_deref().map(String::as_str),
            Some("the-token")
        );
        assert!(opener.open(Uuid::new_v4(), &sealed).is_none());
        assert!(opener.open(id, "not base64!").is_none());
    }
}
