//! The contract every event-sourced aggregate follows (after esrs):
//! a pure `decide(state, command) -> events` and a pure `apply(state, event)`.
//! Loading, appending and retrying live in the admin service.

use serde::{de::DeserializeOwned, Serialize};

use crate::envelope::RecordedEvent;
use crate::error::DomainError;

/// A unique value an aggregate holds across all aggregates of the log
/// (an email, a client id); the event store checks it in the append's transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unique {
    pub scope: &'static str,
    pub value: String,
}

/// Unique values to claim and release when appending some events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UniqueChanges {
    pub claim: Vec<Unique>,
    pub release: Vec<Unique>,
}

pub trait Aggregate: Default + Clone {
    /// The stream type written beside every event; never renamed.
    const STREAM_TYPE: &'static str;

    type Command;
    type Event: DomainEvent;

    /// The empty state of a not-yet-registered aggregate with this id.
    fn with_id(id: uuid::Uuid) -> Self;

    /// Decides which events a command produces, without changing `self`.
    /// An empty vector means "nothing to change" and nothing is appended.
    fn decide(&self, command: Self::Command) -> Result<Vec<Self::Event>, DomainError>;

    /// Folds one event into the state.
    fn apply(&mut self, event: &Self::Event);

    /// Whether the aggregate exists (registered and not deleted).
    fn exists(&self) -> bool;

    /// Which unique values `events` claim or release, given the state before them.
    fn unique_changes(&self, events: &[Self::Event]) -> UniqueChanges;

    /// Rebuilds an aggregate from its stored events.
    fn load(id: uuid::Uuid, events: &[RecordedEvent]) -> Result<Self, DomainError> {
        let mut state = Self::with_id(id);
        for recorded in events {
            state.apply(&Self::Event::decode(
                &recorded.event_type,
                &recorded.payload,
            )?);
        }
        Ok(state)
    }
}

/// An event that knows its revisioned type name and (de)serialises its payload.
///
/// Implemented for enums declared `#[serde(tag = "type", content = "data")]`
/// whose variants are renamed to their type names (`project.registered.v1`).
pub trait DomainEvent: Serialize + DeserializeOwned + Clone {
    /// `(event_type, payload)` as stored.
    fn encode(&self) -> (String, serde_json::Value) {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                let event_type = match map.remove("type") {
                    Some(serde_json::Value::String(t)) => t,
                    _ => String::new(),
                };
                let payload = map
                    .remove("data")
                    .unwrap_or(serde_json::Value::Object(Default::default()));
                (event_type, payload)
            }
            // Adjacently tagged enums of plain data always serialise to an object.
            _ => (String::new(), serde_json::Value::Null),
        }
    }

    fn decode(event_type: &str, payload: &serde_json::Value) -> Result<Self, DomainError> {
        let tagged = serde_json::json!({ "type": event_type, "data": payload });
        serde_json::from_value(tagged).map_err(|e| DomainError::UnknownEvent {
            event_type: event_type.to_string(),
            reason: e.to_string(),
        })
    }
}
