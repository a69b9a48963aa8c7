//! The embedded durable consumer: a named cursor in the event store instead
//! of a JetStream consumer (one process, no NATS).
//!
//! It tails the log like the relay and hands out each wanted event; the
//! stored cursor only moves past an event once it is settled, so a crash
//! hands out again everything that was not (at-least-once, as JetStream).
//! A retry waits in memory and does not hold back later events: the cursor
//! stays just before the oldest unsettled one while the rest flow.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use inkan_bus::durable::{Settle, Settlement};
use inkan_bus::{BusError, Deliveries, Delivery, DurableConfig, DurableSource};
use inkan_domain::envelope::RecordedEvent;
use inkan_eventstore::EventStore;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Durable consumers over the event store (embedded mode).
#[derive(Clone)]
pub struct StoreConsumer {
    store: Arc<dyn EventStore>,
    poll: Duration,
}

impl StoreConsumer {
    pub fn new(store: Arc<dyn EventStore>) -> StoreConsumer {
        StoreConsumer {
            store,
            poll: Duration::from_millis(200),
        }
    }

    /// How often the log is read for new events.
    pub fn with_poll_interval(mut self, poll: Duration) -> StoreConsumer {
        self.poll = poll;
        self
    }
}

/// The cursor a consumer named `name` keeps in the event store.
pub fn cursor_name(name: &str) -> String {
    format!("consumer.{name}")
}

#[async_trait]
impl DurableSource for StoreConsumer {
    async fn consume(&self, config: &DurableConfig) -> inkan_bus::Result<Deliveries> {
        let cursor = self
            .store
            .cursor(&cursor_name(&config.name))
            .await
            .map_err(|e| BusError::Unavailable(format!("consumer cursor: {e}")))?;
        let (out, deliveries) = mpsc::channel(64);
        let driver = Driver {
            store: self.store.clone(),
            config: config.clone(),
            poll: self.poll,
            cursor,
            scanned: cursor,
            outstanding: BTreeSet::new(),
            waiting: BTreeMap::new(),
        };
        tokio::spawn(driver.run(out));
        Ok(tokio_stream::wrappers::ReceiverStream::new(deliveries)
            .map(Ok)
            .boxed())
    }
}

type Settled = (RecordedEvent, u32, Settlement);

struct Driver {
    store: Arc<dyn EventStore>,
    config: DurableConfig,
    poll: Duration,
    /// What the store holds: every wanted event at or before it is settled.
    cursor: i64,
    /// The last position read from the log.
    scanned: i64,
    /// Handed out or waiting to be, not settled yet.
    outstanding: BTreeSet<i64>,
    /// Retries by due time (position breaks ties).
    waiting: BTreeMap<(Instant, i64), (RecordedEvent, u32)>,
}

impl Driver {
    async fn run(mut self, out: mpsc::Sender<Delivery>) {
        let (settled_tx, mut settled) = mpsc::unbounded_channel::<Settled>();
        let mut tick = tokio::time::interval(self.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next_retry = self.waiting.keys().next().map(|(at, _)| *at);
            tokio::select! {
                _ = out.closed() => return,
                Some((event, attempt, how)) = settled.recv() => self.settle(event, attempt, how),
                _ = sleep_until(next_retry) => {
                    if let Some((_, (event, attempt))) = self.waiting.pop_first() {
                        if !self.hand_out(&out, &settled_tx, event, attempt).await {
                            return;
                        }
                    }
                }
                _ = tick.tick() => {
                    if !self.read_log(&out, &settled_tx).await {
                        return;
                    }
                }
            }
            self.store_cursor().await;
        }
    }

    async fn read_log(
        &mut self,
        out: &mpsc::Sender<Delivery>,
        settled: &mpsc::UnboundedSender<Settled>,
    ) -> bool {
        let events = match self.store.read_all(self.scanned, 256).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(consumer = %self.config.name, error = %e, "durable consumer could not read the log; will retry");
                return true;
            }
        };
        for event in events {
            self.scanned = event.position;
            if self.config.wants(&event) {
                self.outstanding.insert(event.position);
                if !self.hand_out(out, settled, event, 1).await {
                    return false;
                }
            }
        }
        true
    }

    async fn hand_out(
        &mut self,
        out: &mpsc::Sender<Delivery>,
        settled: &mpsc::UnboundedSender<Settled>,
        event: RecordedEvent,
        attempt: u32,
    ) -> bool {
        let settle = ChannelSettle {
            event: Some(event.clone()),
            attempt,
            ack_wait: self.config.ack_wait,
            settled: settled.clone(),
        };
        let delivery = Delivery::new(event, attempt, self.config.max_attempts, Box::new(settle));
        out.send(delivery).await.is_ok()
    }

    fn settle(&mut self, event: RecordedEvent, attempt: u32, how: Settlement) {
        match how {
            Settlement::RetryAfter(delay) if attempt < self.config.max_attempts => {
                let position = event.position;
                self.waiting
                    .insert((Instant::now() + delay, position), (event, attempt + 1));
            }
            Settlement::RetryAfter(_) | Settlement::GiveUp | Settlement::Done => {
                self.outstanding.remove(&event.position);
            }
        }
    }

    /// Moves the stored cursor up to just before the oldest unsettled event.
    async fn store_cursor(&mut self) {
        let settled_up_to = self
            .outstanding
            .first()
            .map_or(self.scanned, |oldest| oldest - 1);
        if settled_up_to > self.cursor {
            let name = cursor_name(&self.config.name);
            match self.store.set_cursor(&name, settled_up_to).await {
                Ok(()) => self.cursor = settled_up_to,
                Err(e) => {
                    tracing::warn!(consumer = %self.config.name, error = %e, "durable consumer could not store its cursor; will retry")
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Settles through the driver's channel; dropped unsettled (the worker
/// panicked or forgot), the event comes back after the ack wait.
struct ChannelSettle {
    event: Option<RecordedEvent>,
    attempt: u32,
    ack_wait: Duration,
    settled: mpsc::UnboundedSender<Settled>,
}

#[async_trait]
impl Settle for ChannelSettle {
    async fn settle(mut self: Box<Self>, how: Settlement) -> inkan_bus::Result<()> {
        if let Some(event) = self.event.take() {
            self.settled
                .send((event, self.attempt, how))
                .map_err(|_| BusError::Unavailable("durable consumer stopped".into()))?;
        }
        Ok(())
    }
}

impl Drop for ChannelSettle {
    fn drop(&mut self) {
        if let Some(event) = self.event.take() {
            let _ = self
                .settled
                .send((event, self.attempt, Settlement::RetryAfter(self.ack_wait)));
        }
    }
}
