//! The SigningKey aggregate: one JWS signing key's life.
//!
//! A key is generated (and published in the JWKS at once), activated for
//! signing only after a publication delay longer than any JWKS cache
//! lifetime, so every relying party can verify the first token it signs;
//! when a successor activates it is retired, and stays published until every
//! token it signed has expired. The private key arrives sealed under the
//! key-encryption key: the log never holds it in clear.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::aggregate::{Aggregate, UniqueChanges};
use crate::error::{DomainError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Published, not yet signing.
    Pending,
    /// Published and signing.
    Active,
    /// Published until `publish_until`, no longer signing.
    Retired,
}

/// Also part of [`SigningKey`]'s state, hence its serde (the read-model
/// row); the stored event is [`crate::events::signing_key::KeyGeneratedV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGenerated {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// PKCS#8 private key sealed with AES-256-GCM under the key-encryption key (base64).
    pub sealed_private_key: String,
    /// The public JWK, as served at `/jwks`.
    pub public_jwk: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub activate_after: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyActivated {
    pub activated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRetired {
    pub retired_at: OffsetDateTime,
    /// Tokens signed by this key expire by then; it leaves the JWKS afterwards.
    pub publish_until: OffsetDateTime,
}

/// In memory only: stored as the revision types of [`crate::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeyEvent {
    Generated(KeyGenerated),
    Activated(KeyActivated),
    Retired(KeyRetired),
}

#[derive(Debug, Clone)]
pub enum SigningKeyCommand {
    Generate(KeyGenerated),
    /// Starts signing; refused before `activate_after`.
    Activate {
        now: OffsetDateTime,
    },
    Retire {
        now: OffsetDateTime,
        publish_until: OffsetDateTime,
    },
}

/// A key as folded from its events; also the read model (stored as JSON in
/// the read-model tables; the private key in it is sealed, as in the event).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub id: Uuid,
    pub key: Option<KeyGenerated>,
    pub status: Option<KeyStatus>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub publish_until: Option<OffsetDateTime>,
}

impl SigningKey {
    /// Whether the key belongs in the JWKS at `now`.
    pub fn is_published(&self, now: OffsetDateTime) -> bool {
        match self.status {
            Some(KeyStatus::Pending | KeyStatus::Active) => true,
            Some(KeyStatus::Retired) => self.publish_until.is_some_and(|until| until > now),
            None => false,
        }
    }
}

impl Aggregate for SigningKey {
    const STREAM_TYPE: &'static str = "signing_key";
    type Command = SigningKeyCommand;
    type Event = SigningKeyEvent;

    fn with_id(id: Uuid) -> Self {
        SigningKey {
            id,
            ..Default::default()
        }
    }

    fn decide(&self, command: SigningKeyCommand) -> Result<Vec<SigningKeyEvent>, DomainError> {
        match (command, self.status) {
            (SigningKeyCommand::Generate(generated), None) => {
                if !crate::project::SIGNING_ALGS.contains(&generated.alg.as_str()) {
                    return Err(DomainError::Invalid(vec![FieldError::new(
                        "alg",
                        "must be RS256, ES256 or EdDSA",
                    )]));
                }
                Ok(vec![SigningKeyEvent::Generated(generated)])
            }
            (SigningKeyCommand::Generate(_), Some(_)) => Err(DomainError::AlreadyExists),
            (SigningKeyCommand::Activate { now }, Some(KeyStatus::Pending)) => {
                let due = self.key.as_ref().is_some_and(|k| k.activate_after <= now);
                if !due {
                    return Err(DomainError::Invalid(vec![FieldError::new(
                        "activate_after",
                        "the key is still within its publication delay",
                    )]));
                }
                Ok(vec![SigningKeyEvent::Activated(KeyActivated {
                    activated_at: now,
                })])
            }
            (SigningKeyCommand::Activate { .. }, Some(KeyStatus::Active)) => Ok(vec![]),
            (
                SigningKeyCommand::Retire { now, publish_until },
                Some(KeyStatus::Pending | KeyStatus::Active),
            ) => Ok(vec![SigningKeyEvent::Retired(KeyRetired {
                retired_at: now,
                publish_until,
            })]),
            (SigningKeyCommand::Retire { .. }, Some(KeyStatus::Retired)) => Ok(vec![]),
            (_, _) => Err(DomainError::NotFound),
        }
    }

    fn apply(&mut self, event: &SigningKeyEvent) {
        match event {
            SigningKeyEvent::Generated(e) => {
                self.key = Some(e.clone());
                self.status = Some(KeyStatus::Pending);
            }
            SigningKeyEvent::Activated(e) => {
                self.status = Some(KeyStatus::Active);
                self.activated_at = Some(e.activated_at);
            }
            SigningKeyEvent::Retired(e) => {
                self.status = Some(KeyStatus::Retired);
                self.publish_until = Some(e.publish_until);
            }
        }
    }

    fn exists(&self) -> bool {
        self.status.is_some()
    }

    fn unique_changes(&self, _events: &[SigningKeyEvent]) -> UniqueChanges {
        UniqueChanges::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn generated(now: OffsetDateTime, delay: Duration) -> KeyGenerated {
        KeyGenerated {
            kid: "k1".into(),
            alg: "ES256".into(),
            sealed_private_key: "c2VhbGVk".into(),
            public_jwk: serde_json::json!({"kty": "EC", "kid": "k1"}),
            activate_after: now + delay,
        }
    }

    fn fold(key: &mut SigningKey, command: SigningKeyCommand) -> Result<(), DomainError> {
        for e in key.decide(command)? {
            key.apply(&e);
        }
        Ok(())
    }

    #[test]
    fn a_key_is_published_before_it_signs_and_after_it_retires() {
        let now = OffsetDateTime::now_utc();
        let mut key = SigningKey::with_id(Uuid::new_v4());
        fold(
            &mut key,
            SigningKeyCommand::Generate(generated(now, Duration::minutes(10))),
        )
        .unwrap();
        assert_eq!(key.status, Some(KeyStatus::Pending));
        assert!(key.is_published(now));

        // Too early: still within the publication delay.
        assert!(fold(&mut key, SigningKeyCommand::Activate { now }).is_err());
        let later = now + Duration::minutes(11);
        fold(&mut key, SigningKeyCommand::Activate { now: later }).unwrap();
        assert_eq!(key.status, Some(KeyStatus::Active));

        let until = later + Duration::days(1);
        fold(
            &mut key,
            SigningKeyCommand::Retire {
                now: later,
                publish_until: until,
            },
        )
        .unwrap();
        assert!(key.is_published(later));
        assert!(!key.is_published(until));
        assert!(key
            .decide(SigningKeyCommand::Activate { now: until })
            .is_err());
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        let now = OffsetDateTime::now_utc();
        let mut g = generated(now, Duration::ZERO);
        g.alg = "HS256".into();
        let key = SigningKey::with_id(Uuid::new_v4());
        assert!(key.decide(SigningKeyCommand::Generate(g)).is_err());
    }
}
