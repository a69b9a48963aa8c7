//! The event bus: every committed event, in log order, to every process that
//! keeps a cache.
//!
//! Only the relay publishes (after the event is committed); consumers
//! subscribe from the last position they have seen and receive each later
//! event once, in position order. Publishing the same event twice (after a
//! relay crash) is harmless: the NATS implementation dedupes by event id and
//! every subscription drops positions it has already delivered.
//!
//! # Layout
//! - [`EventBus`]: the trait every caller uses.
//! - [`nats`]: the real implementation (NATS JetStream).
//! - [`memory`]: the embedded, in-process implementation.
//! - [`durable`]: named consumers that settle each event after acting on it
//!   (JetStream here; a store cursor in embedded mode, in `inkan-relay`).

use async_trait::async_trait;
use futures::stream::BoxStream;
use inkan_domain::envelope::RecordedEvent;

pub mod durable;
pub mod memory;
pub mod nats;

pub use durable::{Deliveries, Delivery, DurableConfig, DurableSource};

pub use memory::MemoryBus;
pub use nats::{NatsBus, NatsBusConfig};

/// Why a bus call failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus cannot be reached or did not confirm in time; retry later.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// A message on the bus is not a valid event (a subscription skips it
    /// and goes on).
    #[error("malformed bus message: {0}")]
    Malformed(String),
}

/// `Result` with [`BusError`] as the default error.
pub type Result<T, E = BusError> = std::result::Result<T, E>;

/// A stream of events in strictly increasing position order.
pub type EventStream = BoxStream<'static, Result<RecordedEvent>>;

/// A bus that carries committed events, in position order, to subscribers.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes one committed event and waits until the bus has accepted it.
    async fn publish(&self, event: &RecordedEvent) -> Result<()>;

    /// Every event with a position greater than `after` that the bus holds or
    /// receives later, each once, in position order.
    async fn subscribe(&self, after: i64) -> Result<EventStream>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;
}
