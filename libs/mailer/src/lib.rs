//! The mailer: sends what identity events ask for (verification links,
//! reset links, the notice after a reset) through an SMTP relay.
//!
//! It is a durable bus consumer (JetStream with real backends, a cursor in
//! the event store in embedded mode), so the request that appended the
//! event has nothing left to lose: the event is committed, and the mail goes
//! out once the relay accepts it — after restarts, crashes and SMTP outages
//! alike. A delivery is acked only after the relay said yes; a transient
//! failure (4xx, timeout, no connection) is retried with exponential backoff
//! up to [`MAX_ATTEMPTS`]; a permanent one (5xx) gives up at once. Running
//! out of attempts or giving up is an error log line and the
//! `inkan_mails_total{outcome="failed"}` counter. A crash between the
//! relay's yes and the ack sends that mail again (at-least-once), never more
//! often than the attempt bound.
//!
//! Links carry a secret, so neither the link nor the mail body is ever
//! logged; log lines name the kind, the position and the attempt.
//!
//! # Layout
//! - [`compose`]: what each event mails, in words.
//! - [`smtp`]: the lettre transport.
//! - [`Mailer`]: the consumer loop.

pub mod compose;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use inkan_bus::durable::backoff;
use inkan_bus::{Delivery, DurableConfig, DurableSource};
use tokio_util::sync::CancellationToken;

pub use compose::{Letterhead, TokenOpener};
pub use smtp::{SendError, Smtp};

/// The durable consumer's name (replicas share it).
pub const CONSUMER: &str = "mailer";

/// Deliveries of one mail at most: with a 1 s base doubling to a 5 minute
/// cap, about 25 minutes of trying before giving up.
pub const MAX_ATTEMPTS: u32 = 12;

/// Mails sent at once: one slow relay answer does not hold back the rest.
const CONCURRENCY: usize = 8;

/// What the mailer's consumer reads.
pub fn consumer_config() -> DurableConfig {
    DurableConfig {
        name: CONSUMER.into(),
        stream_type: <inkan_domain::identity::Identity as inkan_domain::Aggregate>::STREAM_TYPE
            .into(),
        event_types: compose::EVENT_TYPES.iter().map(|t| t.to_string()).collect(),
        max_attempts: MAX_ATTEMPTS,
        // Longer than one send may take (20 s), so a live worker is never
        // presumed dead.
        ack_wait: Duration::from_secs(60),
    }
}

/// The mailer: a letterhead, a relay and the key to open tokens.
#[derive(Clone)]
pub struct Mailer {
    letterhead: Arc<Letterhead>,
    smtp: Smtp,
    opener: Arc<dyn TokenOpener>,
    retry_base: Duration,
    retry_max: Duration,
}

impl Mailer {
    pub fn new(letterhead: Letterhead, smtp: Smtp, opener: Arc<dyn TokenOpener>) -> Mailer {
        Mailer {
            letterhead: Arc::new(letterhead),
            smtp,
            opener,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
        }
    }

    /// Shorter waits between attempts (tests).
    pub fn with_retry_delays(mut self, base: Duration, max: Duration) -> Mailer {
        self.retry_base = base;
        self.retry_max = max;
        self
    }

    /// Consumes until `shutdown`; reopens the consumer (backing off up to
    /// 5 s) whenever it cannot be opened or its stream ends.
    pub async fn run(self, source: Arc<dyn DurableSource>, shutdown: CancellationToken) {
        inkan_bus::durable::run(
            "mailer",
            source,
            consumer_config(),
            CONCURRENCY,
            shutdown,
            |delivery| self.handle(delivery),
        )
        .await
    }

    /// Sends one delivery's mail and settles it.
    async fn handle(&self, delivery: Delivery) {
        let position = delivery.event.position;
        let attempt = delivery.attempt;
        let now = time::OffsetDateTime::now_utc();
        let mail = match compose::compose(&self.letterhead, &*self.opener, &delivery.event, now) {
            compose::Composed::Send(mail) => mail,
            compose::Composed::Skip { kind, why } => {
                tracing::info!(kind, position, why, "mailer: nothing to send");
                inkan_telemetry::metrics::mail(kind, "skipped");
                settle(delivery.ack().await);
                return;
            }
            compose::Composed::Broken { kind, why } => {
                tracing::error!(kind, position, why = %why, "mailer: this mail can never be sent");
                inkan_telemetry::metrics::mail(kind, "failed");
                settle(delivery.give_up().await);
                return;
            }
        };
        let kind = mail.kind;
        match self.smtp.send(mail.message).await {
            Ok(()) => {
                tracing::info!(kind, position, attempt, "mailer: sent");
                inkan_telemetry::metrics::mail(kind, "sent");
                settle(delivery.ack().await);
            }
            Err(e @ SendError::Transient(_)) if !delivery.is_last_attempt() => {
                let after = backoff(attempt, self.retry_base, self.retry_max);
                tracing::warn!(kind, position, attempt, error = %e, retry_in_ms = after.as_millis() as u64, "mailer: will retry");
                inkan_telemetry::metrics::mail(kind, "retried");
                settle(delivery.retry(after).await);
            }
            Err(e) => {
                tracing::error!(kind, position, attempt, error = %e, "mailer: giving up on this mail");
                inkan_telemetry::metrics::mail(kind, "failed");
                settle(delivery.give_up().await);
            }
        }
    }
}

fn settle(result: inkan_bus::Result<()>) {
    inkan_bus::durable::settled("mailer", result)
}
