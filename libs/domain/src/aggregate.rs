//! The contract every event-sourced aggregate follows (after esrs):
//! a pure `decide(state, command) -> events` and a pure `apply(state, event)`.
//! Loading, appending and retrying live in the admin service.

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

/// An event that knows its stored form: the type name and payload of its
/// newest revision when recorded, and every stored revision when loaded.
///
/// The stored shapes are the frozen revision types of [`crate::events`], never
/// the event's own fields: see the rule written there.
pub trait DomainEvent: Clone + Sized {
    /// `(event_type, payload)` as stored, in the newest revision.
    fn encode(&self) -> (String, serde_json::Value);

    /// The event a stored `(event_type, payload)` means, upcasting older
    /// revisions; an unknown type name or a payload that does not match its
    /// revision is [`DomainError::UnknownEvent`].
    fn decode(event_type: &str, payload: &serde_json::Value) -> Result<Self, DomainError>;
}
