//! Stored revisions of the SigningKey aggregate's events (`key.*`).
//!
//! Frozen: see the rule in [`crate::events`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aggregate::DomainEvent;
use crate::error::DomainError;
use crate::signing_key::{KeyActivated, KeyGenerated, KeyRetired, SigningKeyEvent};

pub const GENERATED_V1: &str = "key.generated.v1";
pub const ACTIVATED_V1: &str = "key.activated.v1";
pub const RETIRED_V1: &str = "key.retired.v1";

/// `key.generated.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGeneratedV1 {
    pub kid: String,
    pub alg: String,
    /// PKCS#8 private key sealed with AES-256-GCM under the key-encryption key (base64).
    pub sealed_private_key: String,
    pub public_jwk: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub activate_after: OffsetDateTime,
}

/// `key.activated.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyActivatedV1 {
    #[serde(with = "time::serde::rfc3339")]
    pub activated_at: OffsetDateTime,
}

/// `key.retired.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRetiredV1 {
    #[serde(with = "time::serde::rfc3339")]
    pub retired_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub publish_until: OffsetDateTime,
}

impl DomainEvent for SigningKeyEvent {
    fn encode(&self) -> (String, serde_json::Value) {
        match self {
            SigningKeyEvent::Generated(e) => super::encode(
                GENERATED_V1,
                &KeyGeneratedV1 {
                    kid: e.kid.clone(),
                    alg: e.alg.clone(),
                    sealed_private_key: e.sealed_private_key.clone(),
                    public_jwk: e.public_jwk.clone(),
                    activate_after: e.activate_after,
                },
            ),
            SigningKeyEvent::Activated(e) => super::encode(
                ACTIVATED_V1,
                &KeyActivatedV1 {
                    activated_at: e.activated_at,
                },
            ),
            SigningKeyEvent::Retired(e) => super::encode(
                RETIRED_V1,
                &KeyRetiredV1 {
                    retired_at: e.retired_at,
                    publish_until: e.publish_until,
                },
            ),
        }
    }

    fn decode(event_type: &str, payload: &serde_json::Value) -> Result<Self, DomainError> {
        Ok(match event_type {
            GENERATED_V1 => {
                let e: KeyGeneratedV1 = super::parse(event_type, payload)?;
                SigningKeyEvent::Generated(KeyGenerated {
                    kid: e.kid,
                    alg: e.alg,
                    sealed_private_key: e.sealed_private_key,
                    public_jwk: e.public_jwk,
                    activate_after: e.activate_after,
                })
            }
            ACTIVATED_V1 => {
                let e: KeyActivatedV1 = super::parse(event_type, payload)?;
                SigningKeyEvent::Activated(KeyActivated {
                    activated_at: e.activated_at,
                })
            }
            RETIRED_V1 => {
                let e: KeyRetiredV1 = super::parse(event_type, payload)?;
                SigningKeyEvent::Retired(KeyRetired {
                    retired_at: e.retired_at,
                    publish_until: e.publish_until,
                })
            }
            _ => return Err(super::unknown(event_type)),
        })
    }
}
