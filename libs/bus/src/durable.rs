//! Durable consumers: the bus readers that act on the outside world (the
//! mailer; later the back-channel logout deliverer).
//!
//! Unlike a [`crate::EventBus::subscribe`] cache feed, a durable consumer
//! has a name whose progress outlives the process, and every event is
//! *settled* by the worker that handled it:
//!
//! - [`Delivery::ack`] once the effect happened (the mail was accepted by
//!   the SMTP server): the event is never handed out again;
//! - [`Delivery::retry`] after a transient failure: it comes back after the
//!   delay, to this or another worker, with `attempt` one higher;
//! - [`Delivery::give_up`] when retrying cannot help (or the attempts ran out).
//!
//! A worker that dies before settling loses nothing: the event is handed out
//! again (after the ack wait in JetStream, at the next start in embedded
//! mode). So an effect happens at least once, and more than once only when
//! a worker died between the effect and its ack.
//!
//! Two implementations share this contract: [`crate::NatsBus::consume`]
//! (a JetStream durable pull consumer: replicas of one consumer share the
//! work and one event goes to one of them at a time) and, in embedded mode,
//! `inkan_relay::StoreConsumer` (a cursor in the event store).

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use inkan_domain::envelope::RecordedEvent;

use crate::Result;

/// What a durable consumer reads and how patient it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableConfig {
    /// The consumer's name; replicas with one name share one position.
    pub name: String,
    /// The aggregate whose events it reads (`identity`).
    pub stream_type: String,
    /// The event types it acts on; other events of the stream are skipped
    /// (and settled) without reaching the worker.
    pub event_types: Vec<String>,
    /// Deliveries of one event at most, first attempt included.
    pub max_attempts: u32,
    /// How long a delivery may stay unsettled before it is handed out again
    /// (the worker is presumed dead): longer than any effect takes.
    pub ack_wait: Duration,
}

impl DurableConfig {
    /// Whether an event is one the consumer acts on.
    pub fn wants(&self, event: &RecordedEvent) -> bool {
        event.stream_type == self.stream_type
            && self.event_types.iter().any(|t| t == &event.event_type)
    }
}

/// How a delivery was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Done,
    RetryAfter(Duration),
    GiveUp,
}

/// The implementation's side of a delivery.
#[async_trait]
pub trait Settle: Send + Sync {
    async fn settle(self: Box<Self>, how: Settlement) -> Result<()>;
}

/// One event handed to one worker; settle it exactly once.
pub struct Delivery {
    pub event: RecordedEvent,
    /// 1 for the first delivery of this event.
    pub attempt: u32,
    /// The consumer's bound: when `attempt` reaches it, this is the last try.
    pub max_attempts: u32,
    settle: Box<dyn Settle>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("position", &self.event.position)
            .field("event_type", &self.event.event_type)
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl Delivery {
    pub fn new(
        event: RecordedEvent,
        attempt: u32,
        max_attempts: u32,
        settle: Box<dyn Settle>,
    ) -> Delivery {
        Delivery {
            event,
            attempt,
            max_attempts,
            settle,
        }
    }

    /// Whether a failure now should give up rather than retry.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }

    /// The effect happened: never hand this event out again.
    pub async fn ack(self) -> Result<()> {
        self.settle.settle(Settlement::Done).await
    }

    /// A transient failure: hand the event out again after `after`.
    pub async fn retry(self, after: Duration) -> Result<()> {
        self.settle.settle(Settlement::RetryAfter(after)).await
    }

    /// Retrying cannot help: drop the event.
    pub async fn give_up(self) -> Result<()> {
        self.settle.settle(Settlement::GiveUp).await
    }
}

/// A stream of deliveries; an `Err` item reports a transient problem (or a
/// malformed message, already settled) and does not end the stream.
pub type Deliveries = BoxStream<'static, Result<Delivery>>;

/// Where durable consumers come from.
#[async_trait]
pub trait DurableSource: Send + Sync + 'static {
    async fn consume(&self, config: &DurableConfig) -> Result<Deliveries>;
}

/// Runs a durable consumer until `shutdown`: hands each delivery to
/// `handle`, at most `concurrency` at once (one slow effect does not hold
/// back the others), and reopens the consumer (backing off up to 5 s)
/// whenever it cannot be opened or its stream ends. `who` names the
/// consumer in logs.
pub async fn run<F, Fut>(
    who: &'static str,
    source: std::sync::Arc<dyn DurableSource>,
    config: DurableConfig,
    concurrency: usize,
    shutdown: tokio_util::sync::CancellationToken,
    handle: F,
) where
    F: Fn(Delivery) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::StreamExt;
    let mut wait = Duration::from_millis(200);
    loop {
        match source.consume(&config).await {
            Ok(deliveries) => {
                wait = Duration::from_millis(200);
                let work = deliveries.for_each_concurrent(concurrency, |item| async {
                    match item {
                        Ok(delivery) => handle(delivery).await,
                        Err(e) => tracing::warn!(consumer = who, error = %e, "consumer problem"),
                    }
                });
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = work => tracing::warn!(consumer = who, "the consumer ended; reopening"),
                }
            }
            Err(e) => {
                tracing::warn!(consumer = who, error = %e, retry_in_ms = wait.as_millis() as u64, "cannot open the consumer")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// Logs a settlement that did not reach the bus: the delivery comes again later.
pub fn settled(who: &'static str, result: Result<()>) {
    if let Err(e) = result {
        tracing::warn!(consumer = who, error = %e, "could not settle a delivery; it will come again");
    }
}

/// Exponential backoff for attempt `attempt` (1-based): `base · 2^(attempt-1)`,
/// capped at `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        let waits: Vec<u128> = (1..=7).map(|a| backoff(a, base, max).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff(u32::MAX, base, max), max);
    }
}
