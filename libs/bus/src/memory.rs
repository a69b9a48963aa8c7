//! The embedded event bus: everything lives in this process.
//!
//! Used when Inkan runs as a single process. The bus keeps every published
//! event in memory (the history lets a subscriber that starts late, or from
//! an old position, catch up) and hands new events to live subscribers
//! through a [`tokio::sync::broadcast`] channel.
//!
//! A subscription first replays the history after its position, then follows
//! the live channel. The history snapshot and the channel subscription are
//! taken under the same lock that publishers hold while appending and
//! broadcasting, so nothing falls between the two phases; live events at or
//! below the last replayed position are skipped, so nothing is seen twice. A
//! subscriber that falls too far behind the channel re-reads what it missed
//! from the history instead of losing it.
//!
//! The history grows with the event log; it is bounded by the number of
//! events the process commits, like the caches built from it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::StreamExt;
use inkan_domain::envelope::RecordedEvent;
use tokio::sync::broadcast;

use crate::{EventBus, EventStream, Result};

/// How many live events a subscriber may fall behind before it has to
/// re-read from the history.
const LIVE_CAPACITY: usize = 1024;

struct Inner {
    /// Every published event, strictly increasing by position.
    history: Vec<RecordedEvent>,
    live: broadcast::Sender<RecordedEvent>,
}

impl Inner {
    /// The last published position (0 when nothing was published).
    fn last_position(&self) -> i64 {
        self.history.last().map_or(0, |e| e.position)
    }

    /// Every held event with a position greater than `after`.
    fn after(&self, after: i64) -> VecDeque<RecordedEvent> {
        let start = self.history.partition_point(|e| e.position <= after);
        self.history[start..].iter().cloned().collect()
    }
}

/// The in-process event bus. Clones share the same history and subscribers.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("MemoryBus")
            .field("events", &inner.history.len())
            .field("last_position", &inner.last_position())
            .finish()
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        MemoryBus::new()
    }
}

/// Locks the state. The lock is never held across an await or around code
/// that can panic halfway through a change, so a poisoned lock still guards
/// consistent data and is simply taken over.
fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryBus {
    /// An empty bus.
    pub fn new() -> MemoryBus {
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        MemoryBus {
            inner: Arc::new(Mutex::new(Inner {
                history: Vec::new(),
                live,
            })),
        }
    }

    /// The highest position published so far (0 when none).
    pub fn last_position(&self) -> i64 {
        lock(&self.inner).last_position()
    }
}

/// A subscription's state between two items.
struct Subscription {
    inner: Arc<Mutex<Inner>>,
    /// Events to yield before listening to the live channel again.
    pending: VecDeque<RecordedEvent>,
    live: broadcast::Receiver<RecordedEvent>,
    /// The last position yielded (or the subscription's starting point).
    last: i64,
}

impl Subscription {
    async fn next(&mut self) -> Option<RecordedEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.position > self.last {
                    self.last = event.position;
                    return Some(event);
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) => {
                    if event.position > self.last {
                        self.last = event.position;
                        return Some(event);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        last = self.last,
                        "memory bus subscriber lagged; re-reading history"
                    );
                    self.pending = lock(&self.inner).after(self.last);
                }
                // The sender lives in `inner`, which this subscription keeps
                // alive, so the channel cannot close; end the stream if it does.
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    /// Appends the event to the history and hands it to live subscribers.
    /// An event whose position is not above the last published one is a
    /// republish and is ignored.
    async fn publish(&self, event: &RecordedEvent) -> Result<()> {
        let mut inner = lock(&self.inner);
        if event.position <= inner.last_position() {
            return Ok(());
        }
        inner.history.push(event.clone());
        // An error only means nobody is listening right now.
        let _ = inner.live.send(event.clone());
        Ok(())
    }

    /// Replays the history after `after`, then follows live events. Never
    /// yields an error.
    async fn subscribe(&self, after: i64) -> Result<EventStream> {
        let subscription = {
            let inner = lock(&self.inner);
            Subscription {
                inner: Arc::clone(&self.inner),
                pending: inner.after(after),
                live: inner.live.subscribe(),
                last: after,
            }
        };
        let stream = futures::stream::unfold(subscription, |mut sub| async move {
            let event = sub.next().await?;
            Some((Ok(event), sub))
        });
        Ok(stream.boxed())
    }

    /// Always reachable.
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
