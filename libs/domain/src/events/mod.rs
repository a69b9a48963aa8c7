//! Stored event payloads: one frozen schema type per event type and revision,
//! kept apart from the aggregates' state and domain events.
//!
//! The log keeps every event forever, so what a release wrote is a contract
//! every later release must read. The aggregates' own types (`ProjectSettings`,
//! `Profile`, `ProjectEvent`, ...) are free to change; the types here are not.
//!
//! # The rule
//! **A change to a stored shape is a new revision type plus an upcaster, never
//! an edited struct.** To change what `project.registered.v1` holds:
//! 1. add `ProjectRegisteredV2` (with its own frozen settings type) beside
//!    `ProjectRegisteredV1` and give it the type name `project.registered.v2`;
//! 2. write the upcaster `impl From<ProjectRegisteredV1> for ProjectRegisteredV2`
//!    (what an old event means in the new shape);
//! 3. decode `project.registered.v1` as V1 and upcast it, decode
//!    `project.registered.v2` as V2, and encode the domain event as V2 only;
//! 4. commit a golden payload for the new revision (`tests/fixtures/events/`)
//!    and keep every older one: `tests/stored_events.rs` decodes them all.
//!
//! The only in-place change a revision ever had is grandfathered:
//! `ProjectSettingsV1` gained `custom_claims` and `reject_unknown_scopes`
//! (with serde defaults) before this rule existed, so a v1 payload may lack them.
//!
//! Nothing here derives `Default` or takes a field from the aggregates' types:
//! every field, enum and serde attribute is spelled out, so changing the
//! aggregates cannot change what is stored. Each module converts both ways:
//! domain event → newest revision when recording ([`crate::DomainEvent::encode`]),
//! any stored revision → domain event when loading ([`crate::DomainEvent::decode`],
//! by the stored type name; an unknown name is [`DomainError::UnknownEvent`]).
//!
//! # Layout
//! - [`project`]: `project.*` revisions.
//! - [`identity`]: `identity.*` revisions.
//! - [`signing_key`]: `key.*` revisions.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::DomainError;

pub mod identity;
pub mod project;
pub mod signing_key;

/// Decodes a stored payload as the revision type its event type names.
pub(crate) fn parse<T: DeserializeOwned>(
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<T, DomainError> {
    T::deserialize(payload).map_err(|e| DomainError::UnknownEvent {
        event_type: event_type.to_string(),
        reason: e.to_string(),
    })
}

/// A type name this binary has no revision type for: the log is newer than
/// this binary, or corrupt.
pub(crate) fn unknown(event_type: &str) -> DomainError {
    DomainError::UnknownEvent {
        event_type: event_type.to_string(),
        reason: "unknown event type or revision".into(),
    }
}

/// `(event_type, payload)` as stored.
///
/// The revision types are plain data (strings, numbers, JSON objects, RFC 3339
/// times), which always serialise; the one value that could fail is a time
/// outside RFC 3339's years 0–9999, which no clock produces. Such a payload
/// is stored as `null` and refused when read back, never stored half-written.
pub(crate) fn encode<T: Serialize>(event_type: &str, payload: &T) -> (String, serde_json::Value) {
    let payload = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
    (event_type.to_string(), payload)
}
