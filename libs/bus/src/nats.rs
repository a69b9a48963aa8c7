//! The real event bus: NATS JetStream.
//!
//! Every event goes to one JetStream stream (file storage, kept forever) on
//! the subject `<prefix>.<stream_type>.<event_type>` (dots in the event type
//! become `_`), with the whole [`RecordedEvent`] as JSON in the body and two
//! headers:
//!
//! - `Nats-Msg-Id: <event id>` lets JetStream drop a republished event inside
//!   its duplicate window (2 minutes);
//! - `Inkan-Position: <position>` lets a subscriber skip events it has
//!   already delivered without parsing their body;
//! - `traceparent` (and `tracestate`), W3C Trace Context, when the publish
//!   ran inside a recorded span: the publish's `nats.publish` producer span,
//!   so a consumer can continue the trace ([`trace_context`]).
//!
//! A subscription is an ordered (ephemeral, flow-controlled, self-healing)
//! pull consumer that reads the whole stream from the start and yields only
//! events whose position is greater than the last one it yielded: that both
//! skips everything up to `after` and drops duplicates JetStream did not catch.
//!
//! The process boots even when NATS is down: [`NatsBus::connect`] returns at
//! once and the client keeps reconnecting in the background. The stream is
//! created lazily by the first call that needs it and creation is retried by
//! the next call if it failed. Every call that talks to NATS is bounded by a
//! timeout and reports [`BusError::Unavailable`] instead of hanging.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy, stream};
use async_nats::HeaderMap;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use inkan_domain::envelope::RecordedEvent;
use inkan_telemetry::propagation::{self, Context, Extractor, Injector};
use tracing::Instrument;

use crate::durable::{Deliveries, Delivery, DurableConfig, DurableSource, Settle, Settlement};
use crate::{BusError, EventBus, EventStream, Result};

/// Header carrying the event's log position (decimal).
pub const POSITION_HEADER: &str = "Inkan-Position";

/// Upper bound for one publish (stream creation, send and ACK together).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for creating a subscription (stream and consumer creation).
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for a readiness roundtrip.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long JetStream remembers message ids to drop republished events.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Where the bus lives and how it names things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsBusConfig {
    /// NATS server URL, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// JetStream stream name (default `INKAN_EVENTS`).
    pub stream: String,
    /// Subject prefix; the stream captures `<prefix>.>` (default `inkan.events`).
    pub subject_prefix: String,
}

impl Default for NatsBusConfig {
    fn default() -> Self {
        NatsBusConfig {
            url: "nats://127.0.0.1:4222".to_string(),
            stream: "INKAN_EVENTS".to_string(),
            subject_prefix: "inkan.events".to_string(),
        }
    }
}

/// The event bus backed by a NATS JetStream stream. Cloning shares the
/// connection.
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    config: Arc<NatsBusConfig>,
    /// Set once the stream is known to exist; cleared when a publish finds
    /// it missing so the next call creates it again.
    stream_ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus")
            .field("config", &self.config)
            .field("state", &self.client.connection_state())
            .finish()
    }
}

impl NatsBus {
    /// Connects to NATS without waiting for the server: when it is down the
    /// client keeps retrying in the background and calls report
    /// [`BusError::Unavailable`] until it is back. Fails only for a config
    /// the client rejects outright (e.g. an unparsable URL).
    pub async fn connect(config: NatsBusConfig) -> Result<NatsBus> {
        let client = async_nats::ConnectOptions::new()
            .name("inkan")
            .retry_on_initial_connect()
            .connect(config.url.as_str())
            .await
            .map_err(|e| BusError::Unavailable(format!("connect to {}: {e}", config.url)))?;
        let js = jetstream::new(client.clone());
        Ok(NatsBus {
            client,
            js,
            config: Arc::new(config),
            stream_ready: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The configuration this bus was connected with.
    pub fn config(&self) -> &NatsBusConfig {
        &self.config
    }

    /// The subject an event is published on:
    /// `<prefix>.<stream_type>.<event_type with '.' as '_'>`.
    pub fn subject_for(&self, event: &RecordedEvent) -> String {
        format!(
            "{}.{}.{}",
            self.config.subject_prefix,
            subject_token(&event.stream_type),
            subject_token(&event.event_type)
        )
    }

    /// Creates the stream unless an earlier call already made sure it exists.
    async fn ensure_stream(&self) -> Result<()> {
        if self.stream_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let config = stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![format!("{}.>", self.config.subject_prefix)],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            description: Some("Inkan committed events, in log order".to_string()),
            ..Default::default()
        };
        self.js.get_or_create_stream(config).await.map_err(|e| {
            BusError::Unavailable(format!("ensure stream {}: {e}", self.config.stream))
        })?;
        self.stream_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn publish_inner(&self, event: &RecordedEvent) -> Result<()> {
        self.ensure_stream().await?;
        let body = serde_json::to_vec(event)
            .map_err(|e| BusError::Malformed(format!("encode event {}: {e}", event.id)))?;
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, event.id.to_string().as_str());
        headers.insert(POSITION_HEADER, event.position.to_string().as_str());
        propagation::inject_current(&mut HeaderInjector(&mut headers));
        let subject = self.subject_for(event);
        let ack = self
            .js
            .publish_with_headers(subject, headers, Bytes::from(body))
            .await
            .map_err(|e| self.publish_error(e))?;
        let ack = ack.await.map_err(|e| self.publish_error(e))?;
        if ack.duplicate {
            tracing::debug!(position = event.position, id = %event.id, "bus dropped duplicate publish");
        }
        Ok(())
    }

    fn publish_error(&self, e: jetstream::context::PublishError) -> BusError {
        if e.kind() == jetstream::context::PublishErrorKind::StreamNotFound {
            // Someone deleted the stream: create it again on the next call.
            self.stream_ready.store(false, Ordering::Release);
        }
        BusError::Unavailable(format!("publish: {e}"))
    }

    async fn open_messages(&self) -> Result<pull::Ordered> {
        self.ensure_stream().await?;
        let stream = self.js.get_stream(&self.config.stream).await.map_err(|e| {
            // The stream may have been deleted since we last made sure.
            self.stream_ready.store(false, Ordering::Release);
            BusError::Unavailable(format!("open stream {}: {e}", self.config.stream))
        })?;
        let name = format!("inkan_{}", uuid::Uuid::new_v4().simple());
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                name: Some(name),
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::Unavailable(format!("create consumer: {e}")))?;
        consumer
            .messages()
            .await
            .map_err(|e| BusError::Unavailable(format!("consume: {e}")))
    }
}

/// Makes `raw` a single subject token: `.`, whitespace and wildcards become
/// `_`, and an empty token becomes `_`.
fn subject_token(raw: &str) -> String {
    if raw.is_empty() {
        return "_".to_string();
    }
    raw.chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect()
}

/// The trace context a message was published in (from its `traceparent`
/// header), for a consumer that reads messages itself and wants its span to
/// continue the publisher's trace:
/// `propagation::set_parent(&span, trace_context(&headers))`. Empty when the
/// message carries none.
pub fn trace_context(headers: &HeaderMap) -> Context {
    propagation::extract_context(&HeaderExtractor(headers))
}

/// Writes trace context into NATS message headers.
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // An empty `tracestate` says nothing: leave it out.
        if !value.is_empty() {
            self.0.insert(key, value);
        }
    }
}

/// Reads trace context from NATS message headers.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

/// The position from the message's `Inkan-Position` header, if present and valid.
fn header_position(message: &async_nats::Message) -> Option<i64> {
    message
        .headers
        .as_ref()?
        .get(POSITION_HEADER)?
        .as_str()
        .parse()
        .ok()
}

/// What the subscription does with one delivered message.
enum Decoded {
    /// Already delivered (or at most `after`): skip.
    Skip,
    Event(RecordedEvent),
    Malformed(BusError),
}

fn decode(message: &async_nats::Message, last: i64) -> Decoded {
    if let Some(position) = header_position(message) {
        if position <= last {
            return Decoded::Skip;
        }
    }
    match serde_json::from_slice::<RecordedEvent>(&message.payload) {
        Ok(event) if event.position <= last => Decoded::Skip,
        Ok(event) => Decoded::Event(event),
        Err(e) => Decoded::Malformed(BusError::Malformed(format!(
            "message on {}: {e}",
            message.subject
        ))),
    }
}

#[async_trait]
impl EventBus for NatsBus {
    /// Publishes and waits (at most 5 s) for JetStream's ACK; only an acked
    /// publish returns `Ok`. Republishing an event is harmless. Runs in a
    /// `nats.publish` producer span whose trace context the message carries.
    async fn publish(&self, event: &RecordedEvent) -> Result<()> {
        let span = tracing::info_span!(
            "nats.publish",
            otel.name = %format_args!("{} publish", self.config.stream),
            otel.kind = "producer",
            messaging.system = "nats",
            messaging.destination.name = %self.config.stream,
            inkan.position = event.position,
        );
        let publish = self.publish_inner(event).instrument(span);
        match tokio::time::timeout(PUBLISH_TIMEOUT, publish).await {
            Ok(result) => result,
            Err(_) => Err(BusError::Unavailable(format!(
                "publish of position {} timed out after {:?}",
                event.position, PUBLISH_TIMEOUT
            ))),
        }
    }

    /// Reads the stream from its start and yields events with a position
    /// greater than `after`, each once, in order. Fails with
    /// [`BusError::Unavailable`] when NATS cannot be reached now (callers
    /// retry); once open, the subscription survives reconnects by itself.
    /// Items that are `Err` never end the stream: [`BusError::Malformed`] for
    /// a message that is not an event, [`BusError::Unavailable`] for a
    /// transient consumer failure.
    async fn subscribe(&self, after: i64) -> Result<EventStream> {
        let messages = tokio::time::timeout(SUBSCRIBE_TIMEOUT, self.open_messages())
            .await
            .map_err(|_| {
                BusError::Unavailable(format!("subscribe timed out after {SUBSCRIBE_TIMEOUT:?}"))
            })??;
        let stream =
            futures::stream::unfold((messages, after), |(mut messages, mut last)| async move {
                loop {
                    let item = match messages.next().await? {
                        Ok(message) => match decode(&message, last) {
                            Decoded::Skip => continue,
                            Decoded::Event(event) => {
                                last = event.position;
                                Ok(event)
                            }
                            Decoded::Malformed(e) => Err(e),
                        },
                        Err(e) => Err(BusError::Unavailable(format!("consumer: {e}"))),
                    };
                    return Some((item, (messages, last)));
                }
            });
        Ok(stream.boxed())
    }

    /// Fails unless JetStream answers a request within 2 s (at once when the
    /// client knows it is disconnected). Right after [`NatsBus::connect`]
    /// the first connection is still pending and the roundtrip waits for it.
    async fn ping(&self) -> Result<()> {
        let state = self.client.connection_state();
        if state == async_nats::connection::State::Disconnected {
            return Err(BusError::Unavailable("nats is disconnected".to_string()));
        }
        // The account info request proves both the connection and JetStream
        // answer; only its `error` field matters here.
        let info = self.client.request("$JS.API.INFO", Bytes::new());
        match tokio::time::timeout(PING_TIMEOUT, info).await {
            Ok(Ok(reply)) => match serde_json::from_slice::<serde_json::Value>(&reply.payload) {
                Ok(body) => match body.get("error") {
                    None => Ok(()),
                    Some(error) => Err(BusError::Unavailable(format!("jetstream: {error}"))),
                },
                Err(e) => Err(BusError::Unavailable(format!("jetstream info: {e}"))),
            },
            Ok(Err(e)) => Err(BusError::Unavailable(format!("jetstream: {e}"))),
            Err(_) => Err(BusError::Unavailable(format!(
                "ping timed out after {PING_TIMEOUT:?}"
            ))),
        }
    }
}

/// A durable pull consumer named `<stream>_<config.name>` on
/// `<prefix>.<stream_type>.>` with explicit acks: JetStream hands each
/// message to one puller at a time, redelivers it after `ack_wait` when its
/// puller went silent, and stops after `max_attempts` deliveries. Events of
/// the stream the consumer does not want are acked as they pass.
#[async_trait]
impl DurableSource for NatsBus {
    async fn consume(&self, config: &DurableConfig) -> Result<Deliveries> {
        let open = async {
            self.ensure_stream().await?;
            let stream = self.js.get_stream(&self.config.stream).await.map_err(|e| {
                self.stream_ready.store(false, Ordering::Release);
                BusError::Unavailable(format!("open stream {}: {e}", self.config.stream))
            })?;
            let name = subject_token(&config.name).replace(['_', '.'], "-");
            let consumer = stream
                .get_or_create_consumer(
                    &name,
                    pull::Config {
                        durable_name: Some(name.clone()),
                        deliver_policy: DeliverPolicy::All,
                        ack_policy: jetstream::consumer::AckPolicy::Explicit,
                        ack_wait: config.ack_wait,
                        max_deliver: i64::from(config.max_attempts.max(1)),
                        filter_subject: format!(
                            "{}.{}.>",
                            self.config.subject_prefix,
                            subject_token(&config.stream_type)
                        ),
                        description: Some(format!("Inkan durable consumer {}", config.name)),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| BusError::Unavailable(format!("create consumer {name}: {e}")))?;
            consumer
                .messages()
                .await
                .map_err(|e| BusError::Unavailable(format!("consume {name}: {e}")))
        };
        let messages = tokio::time::timeout(SUBSCRIBE_TIMEOUT, open)
            .await
            .map_err(|_| {
                BusError::Unavailable(format!("consume timed out after {SUBSCRIBE_TIMEOUT:?}"))
            })??;
        let config = config.clone();
        let stream = futures::stream::unfold(messages, move |mut messages| {
            let config = config.clone();
            async move {
                loop {
                    let message = match messages.next().await? {
                        Ok(message) => message,
                        Err(e) => {
                            let e = BusError::Unavailable(format!("consumer: {e}"));
                            return Some((Err(e), messages));
                        }
                    };
                    let attempt = message
                        .info()
                        .map(|i| u32::try_from(i.delivered).unwrap_or(u32::MAX))
                        .unwrap_or(1);
                    let event = match serde_json::from_slice::<RecordedEvent>(&message.payload) {
                        Ok(event) => event,
                        Err(e) => {
                            // Retrying cannot make it readable.
                            let _ = message.ack_with(jetstream::AckKind::Term).await;
                            let e = BusError::Malformed(format!("durable consumer: {e}"));
                            return Some((Err(e), messages));
                        }
                    };
                    if !config.wants(&event) {
                        let _ = message.ack().await;
                        continue;
                    }
                    let delivery = Delivery::new(
                        event,
                        attempt,
                        config.max_attempts,
                        Box::new(JetStreamSettle(message)),
                    );
                    return Some((Ok(delivery), messages));
                }
            }
        });
        Ok(stream.boxed())
    }
}

struct JetStreamSettle(jetstream::Message);

#[async_trait]
impl Settle for JetStreamSettle {
    async fn settle(self: Box<Self>, how: Settlement) -> Result<()> {
        let result = match how {
            // Waits for the server to confirm: a confirmed ack is never redelivered.
            Settlement::Done => self.0.double_ack().await,
            Settlement::RetryAfter(delay) => {
                self.0.ack_with(jetstream::AckKind::Nak(Some(delay))).await
            }
            Settlement::GiveUp => self.0.ack_with(jetstream::AckKind::Term).await,
        };
        result.map_err(|e| BusError::Unavailable(format!("settle: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_headers_carry_the_current_trace_there_and_back() {
        let _recorder = inkan_telemetry::testing::SpanRecorder::install();
        let span = tracing::info_span!("relay");
        let _entered = span.enter();
        let trace_id = inkan_telemetry::testing::trace_id(&span);

        let mut headers = HeaderMap::new();
        propagation::inject_current(&mut HeaderInjector(&mut headers));

        let traceparent = headers.get("traceparent").expect("a traceparent header");
        assert!(traceparent.as_str().starts_with(&format!("00-{trace_id}-")));
        assert_eq!(
            propagation::context_trace_id(&trace_context(&headers)),
            Some(trace_id)
        );
    }

    #[test]
    fn subject_tokens_have_no_separators_or_wildcards() {
        assert_eq!(
            subject_token("project.registered.v1"),
            "project_registered_v1"
        );
        assert_eq!(subject_token("a b*>"), "a_b__");
        assert_eq!(subject_token(""), "_");
    }
}
