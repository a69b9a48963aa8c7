//! The shape every stored and published event shares, independent of which
//! aggregate produced it. The event store writes it, the bus carries it, and
//! projections read it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who caused an event and when; stored beside the payload, never inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The authenticated caller (an admin client id, `bootstrap`, `system`).
    pub actor: String,
    /// The W3C trace context (a `traceparent` value) of the request that
    /// caused the event, when it was traced; the relay publishes the event
    /// within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}

/// An event about to be appended: everything but its position and version,
/// which the store assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique id; the bus uses it to drop duplicates.
    pub id: Uuid,
    /// Revisioned type name, e.g. `project.registered.v1`.
    pub event_type: String,
    pub payload: serde_json::Value,
    pub metadata: Metadata,
}

/// An event as committed to the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Global, gap-free, strictly increasing position in the whole log (starts at 1).
    pub position: i64,
    pub id: Uuid,
    /// The aggregate the event belongs to.
    pub stream_id: Uuid,
    /// The aggregate's kind (`project`, `identity`, `signing_key`).
    pub stream_type: String,
    /// The aggregate's version after this event (starts at 1).
    pub version: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub metadata: Metadata,
}
