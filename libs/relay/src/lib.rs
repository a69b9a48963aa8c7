//! The relay: publishes every committed event to the bus, in log order,
//! resuming after a crash from a cursor stored in the event store.
//!
//! This is what makes "committed ⇒ eventually published" hold without a
//! distributed transaction: the append commits first, then the relay tails
//! the log by global position, publishes each event (the bus dedupes by event
//! id) and stores the position it reached. A crash between publish and
//! cursor update republishes a few events, which consumers drop by position;
//! a crash (or a bus outage) between commit and publish loses nothing, since
//! the next run starts from the stored cursor.
//!
//! # Layout
//! - [`Relay`]: one pass ([`Relay::run_once`]) and the long-running loop ([`Relay::run`]).
//! - [`consumer`]: durable consumers over the event store, for embedded mode.

pub mod consumer;

pub use consumer::StoreConsumer;

use std::sync::Arc;
use std::time::Duration;

use inkan_bus::EventBus;
use inkan_eventstore::EventStore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The cursor name the relay stores its position under.
pub const CURSOR: &str = "relay.bus";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] inkan_eventstore::StoreError),
    #[error(transparent)]
    Bus(#[from] inkan_bus::BusError),
}

pub struct Relay {
    store: Arc<dyn EventStore>,
    bus: Arc<dyn EventBus>,
    batch: usize,
    poll: Duration,
}

impl Relay {
    pub fn new(store: Arc<dyn EventStore>, bus: Arc<dyn EventBus>) -> Relay {
        Relay {
            store,
            bus,
            batch: 256,
            poll: Duration::from_millis(500),
        }
    }

    /// How often the loop looks for events appended by other processes
    /// (local appends wake it immediately through the `Notify`).
    pub fn with_poll_interval(mut self, poll: Duration) -> Relay {
        self.poll = poll;
        self
    }

    /// Publishes every event after the stored cursor; returns how many were published.
    /// Stops at the first failure, keeping the cursor at the last published event.
    pub async fn run_once(&self) -> Result<usize, RelayError> {
        let mut cursor = self.store.cursor(CURSOR).await?;
        let mut published = 0;
        loop {
            let events = self.store.read_all(cursor, self.batch).await?;
            if events.is_empty() {
                return Ok(published);
            }
            let mut result = Ok(());
            for event in &events {
                // Publish within the trace of the request that caused the event.
                let span = tracing::info_span!("relay.publish", position = event.position);
                if let Some(traceparent) = &event.metadata.trace_id {
                    inkan_telemetry::propagation::set_parent(
                        &span,
                        inkan_telemetry::propagation::context_from_traceparent(traceparent),
                    );
                }
                if let Err(e) = tracing::Instrument::instrument(self.bus.publish(event), span).await
                {
                    result = Err(e);
                    break;
                }
                cursor = event.position;
                published += 1;
            }
            // Store progress even after a failure, so the next pass resumes exactly here.
            if published > 0 {
                self.store.set_cursor(CURSOR, cursor).await?;
            }
            result?;
        }
    }

    /// Runs until `shutdown` is cancelled: a pass whenever `wake` is notified
    /// (after a local append) or the poll interval elapses; after a failure,
    /// backs off (up to 5 s) and retries from the cursor.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let wait = match self.run_once().await {
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(published = n, "relay published events");
                    }
                    backoff = Duration::from_millis(100);
                    self.poll
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "relay could not publish; will retry from its cursor");
                    let wait = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    wait
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
