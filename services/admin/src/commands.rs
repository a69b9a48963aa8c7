//! The write path shared by every admin command: load the aggregate, decide
//! (pure), append with the expected version and unique keys in one
//! transaction, then wait until the read models include the write.

use inkan_domain::envelope::{Metadata, NewEvent};
use inkan_domain::{Aggregate, DomainEvent};
use inkan_eventstore::{Append, ExpectedVersion, UniqueKey};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AdminState;

/// Runs one command against one aggregate; returns the log position the
/// read models have reached afterwards (unchanged when nothing was emitted).
pub async fn execute<A: Aggregate>(
    state: &AdminState,
    actor: &str,
    id: Uuid,
    command: A::Command,
) -> Result<i64, ApiError> {
    let recorded = state.store.read_stream(id).await?;
    let version = recorded.last().map(|e| e.version).unwrap_or(0);
    let aggregate = A::load(id, &recorded)?;
    let events = aggregate.decide(command)?;
    if events.is_empty() {
        return Ok(state.projections.position());
    }
    let changes = aggregate.unique_changes(&events);
    let occurred_at = state.clock.now_utc();
    let new_events = events
        .iter()
        .map(|event| {
            let (event_type, payload) = event.encode();
            NewEvent {
                id: Uuid::now_v7(),
                event_type,
                payload,
                metadata: Metadata {
                    actor: actor.to_string(),
                    // The request's trace (as a `traceparent`): the relay publishes
                    // the event within it, so the bus message joins the same trace.
                    trace_id: inkan_telemetry::propagation::current_traceparent(),
                    occurred_at,
                },
            }
        })
        .collect();
    let key = |u: inkan_domain::Unique| UniqueKey::new(u.scope, u.value);
    let appended = state
        .store
        .append(Append {
            stream_id: id,
            stream_type: A::STREAM_TYPE.to_string(),
            expected: if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(version)
            },
            events: new_events,
            claim: changes.claim.into_iter().map(key).collect(),
            release: changes.release.into_iter().map(key).collect(),
        })
        .await?;
    state.appended.notify_one();
    state.projections.wait_for(appended.position).await?;
    Ok(appended.position)
}

/// Runs a command that only adds events (back-channel notices, a failed
/// delivery's record): a write racing on the aggregate makes the append
/// conflict, and deciding again on the new state is always right, so it is
/// tried again (at most five more times) instead of answering 409.
pub async fn execute_adding<A: Aggregate>(
    state: &AdminState,
    actor: &str,
    id: Uuid,
    command: impl Fn() -> A::Command,
) -> Result<i64, ApiError> {
    let mut tries = 0;
    loop {
        match execute::<A>(state, actor, id, command()).await {
            Err(ApiError::Conflict(_)) if tries < 5 => tries += 1,
            outcome => return outcome,
        }
    }
}
