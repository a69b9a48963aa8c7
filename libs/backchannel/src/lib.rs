//! The back-channel logout deliverer: tells relying parties that a session
//! they took part in ended, by posting each a logout token (OpenID
//! Back-Channel Logout 1.0 §2.5).
//!
//! What to tell is an event on the identity,
//! `identity.backchannel_logout_requested.v1` — one per session and client,
//! committed by whatever ended the session (a logout, the account page, an
//! admin, a deletion, a password reset) before it answered. The deliverer
//! is a durable bus consumer (JetStream with real backends, a cursor in the
//! event store in embedded mode), so nothing acknowledged is lost: a
//! delivery is acked only after the relying party said 2xx; a crash before
//! that hands the event out again (to this or another replica, never to
//! two at once).
//!
//! Each attempt mints a fresh token (new `jti`, two-minute `exp`). A
//! transient failure (no connection, timeout, 5xx, 408, 429) is retried
//! with exponential backoff up to the configured number of attempts; a
//! refusal (another 4xx, a redirect, a target the SSRF policy forbids)
//! gives up at once. What gives up is recorded on the identity
//! (`identity.backchannel_logout_failed.v1`, shown by the admin API) and
//! counted (`inkan_backchannel_logouts_total{outcome="failed"}`).
//!
//! One relying party cannot hold up another: every request has a timeout,
//! several deliveries run at once, and a retry waits in the consumer, not
//! in a worker.
//!
//! # Layout
//! - [`token`]: the logout token's claims.
//! - [`target`]: where deliveries may go (the SSRF guard).
//! - [`Deliverer`]: the consumer loop and one delivery.

use inkan_egress as target;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inkan_bus::durable::{backoff, settled};
use inkan_bus::{Delivery, DurableConfig, DurableSource};
use inkan_directory::typed::Lookup;
use inkan_directory::{Directory, KeyRing};
use inkan_domain::identity::{IdentityEvent, LogoutFailure};
use inkan_domain::{Aggregate, DomainEvent};
use inkan_kv::KvStore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use inkan_egress::Policy;

/// The durable consumer's name (replicas share it).
pub const CONSUMER: &str = "backchannel-logout";

/// How patient the deliverer is (`INKAN_BACKCHANNEL_*`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Deliveries of one notice at most, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// The longest one POST may take, connecting included.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    pub policy: Policy,
}

impl Default for Settings {
    /// Ten attempts over about 8.5 minutes (1 s doubling to 5 min would
    /// reach the cap only later), 5 s per request, 16 at once.
    fn default() -> Self {
        Settings {
            max_attempts: 10,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
            concurrency: 16,
            policy: Policy::default(),
        }
    }
}

/// Where a notice that ran out of attempts is recorded (the admin appends
/// it to the identity's log).
#[async_trait]
pub trait FailureLog: Send + Sync {
    async fn record(&self, identity: Uuid, failure: LogoutFailure) -> Result<(), String>;
}

/// What the deliverer's consumer reads.
pub fn consumer_config(settings: &Settings) -> DurableConfig {
    DurableConfig {
        name: CONSUMER.into(),
        stream_type: <inkan_domain::identity::Identity as Aggregate>::STREAM_TYPE.into(),
        event_types: vec![inkan_domain::events::identity::BACKCHANNEL_LOGOUT_REQUESTED_V1.into()],
        max_attempts: settings.max_attempts.max(1),
        // Far longer than one request may take, so a live worker is never
        // presumed dead.
        ack_wait: (settings.timeout * 4).max(Duration::from_secs(30)),
    }
}

/// How one attempt went.
#[derive(Debug)]
enum Attempt {
    Delivered,
    /// Worth trying again later.
    Transient(String),
    /// Trying again cannot help.
    Refused(String),
}

/// The deliverer: the issuer it speaks for, the projects (for each
/// client's URI and signing algorithm), the signing keys, an HTTP client.
#[derive(Clone)]
pub struct Deliverer {
    issuer: Arc<str>,
    directory: Arc<dyn Directory>,
    keyring: Arc<KeyRing>,
    failures: Arc<dyn FailureLog>,
    /// Where settled notices are marked, for `/end_session`'s wait.
    kv: Arc<dyn KvStore>,
    http: reqwest::Client,
    settings: Settings,
}

impl Deliverer {
    pub fn new(
        issuer: &str,
        directory: Arc<dyn Directory>,
        keyring: Arc<KeyRing>,
        failures: Arc<dyn FailureLog>,
        kv: Arc<dyn KvStore>,
        settings: Settings,
    ) -> Result<Deliverer, reqwest::Error> {
        // §2.5: a plain POST; a redirect is not followed.
        let http = target::client(
            settings.policy,
            settings.timeout,
            "Inkan back-channel logout",
        )?;
        Ok(Deliverer {
            issuer: issuer.into(),
            directory,
            keyring,
            failures,
            kv,
            http,
            settings,
        })
    }

    /// Consumes until `shutdown`.
    pub async fn run(self, source: Arc<dyn DurableSource>, shutdown: CancellationToken) {
        inkan_bus::durable::run(
            "backchannel-logout",
            source,
            consumer_config(&self.settings),
            self.settings.concurrency.max(1),
            shutdown,
            |delivery| self.handle(delivery),
        )
        .await
    }

    /// Delivers one notice and settles it.
    async fn handle(&self, delivery: Delivery) {
        let position = delivery.event.position;
        let attempt = delivery.attempt;
        let identity = delivery.event.stream_id;
        let notice =
            match IdentityEvent::decode(&delivery.event.event_type, &delivery.event.payload) {
                Ok(IdentityEvent::BackchannelLogoutRequested(n)) => n,
                Ok(_) | Err(_) => {
                    tracing::error!(position, "back-channel logout: not a notice; dropped");
                    inkan_telemetry::metrics::backchannel_logout("failed");
                    settled(CONSUMER, delivery.give_up().await);
                    return;
                }
            };
        let client_id = notice.client_id.as_str();
        let outcome = match self.attempt(identity, &notice.sid, client_id).await {
            Ok(outcome) => outcome,
            Err(Skip(why)) => {
                tracing::info!(
                    position,
                    client_id,
                    why,
                    "back-channel logout: nothing to deliver"
                );
                inkan_telemetry::metrics::backchannel_logout("skipped");
                self.mark(&notice.sid, client_id).await;
                settled(CONSUMER, delivery.ack().await);
                return;
            }
        };
        match outcome {
            Attempt::Delivered => {
                tracing::info!(
                    position,
                    client_id,
                    attempt,
                    reason = notice.reason.as_str(),
                    "back-channel logout: delivered"
                );
                inkan_telemetry::metrics::backchannel_logout("delivered");
                self.mark(&notice.sid, client_id).await;
                settled(CONSUMER, delivery.ack().await);
            }
            Attempt::Transient(why) if !delivery.is_last_attempt() => {
                let after = backoff(attempt, self.settings.retry_base, self.settings.retry_max);
                tracing::warn!(
                    position,
                    client_id,
                    attempt,
                    why,
                    retry_in_ms = after.as_millis() as u64,
                    "back-channel logout: will retry"
                );
                inkan_telemetry::metrics::backchannel_logout("retried");
                settled(CONSUMER, delivery.retry(after).await);
            }
            Attempt::Transient(why) | Attempt::Refused(why) => {
                tracing::error!(
                    position,
                    client_id,
                    attempt,
                    why,
                    "back-channel logout: giving up"
                );
                inkan_telemetry::metrics::backchannel_logout("failed");
                let failure = LogoutFailure {
                    sid: notice.sid.clone(),
                    client_id: notice.client_id.clone(),
                    error: why,
                    attempts: attempt,
                    at: time::OffsetDateTime::now_utc(),
                };
                if let Err(e) = self.failures.record(identity, failure).await {
                    tracing::error!(position, client_id, error = %e, "back-channel logout: could not record the failure");
                }
                self.mark(&notice.sid, client_id).await;
                settled(CONSUMER, delivery.give_up().await);
            }
        }
    }

    /// Marks the notice settled for whoever waits on it; a store outage
    /// only cuts such a wait short.
    async fn mark(&self, sid: &str, client_id: &str) {
        if let Err(e) = inkan_flows::logout::mark_settled(&*self.kv, sid, client_id).await {
            tracing::warn!(client_id, error = %e, "back-channel logout: could not mark the notice settled");
        }
    }

    /// One attempt: the client's URI now, a fresh token, one POST.
    async fn attempt(&self, identity: Uuid, sid: &str, client_id: &str) -> Result<Attempt, Skip> {
        let project = match self.directory.project(client_id).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(Skip("the client no longer exists")),
            Err(e) if e.is_outage() => return Ok(Attempt::Transient(format!("directory: {e}"))),
            Err(e) => return Ok(Attempt::Refused(format!("directory: {e}"))),
        };
        let Some(uri) = project.backchannel_logout_uri.as_deref() else {
            return Err(Skip("the client no longer has a back-channel logout URI"));
        };
        let Ok(url) = url::Url::parse(uri) else {
            return Ok(Attempt::Refused(
                "the back-channel logout URI does not parse".into(),
            ));
        };
        if let Err(refused) = self.settings.policy.check_url(&url) {
            return Ok(Attempt::Refused(refused.0));
        }
        let alg = project.id_token_signed_response_alg;
        let keys = self.keyring.current();
        let Some(signer) = keys.signer(alg) else {
            return Ok(Attempt::Transient(format!("no active {alg} signing key")));
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let jti = Uuid::new_v4().to_string();
        let claims = token::claims(
            &self.issuer,
            &identity.to_string(),
            client_id,
            sid,
            now,
            &jti,
        );
        let logout_token = match signer.sign_jwt(token::TYP, &claims) {
            Ok(t) => t,
            Err(e) => return Ok(Attempt::Transient(format!("signing: {e}"))),
        };
        Ok(self.post(url, &logout_token).await)
    }

    /// §2.5: `application/x-www-form-urlencoded` with `logout_token`; §2.8:
    /// the RP answers 200 (or 204) when it logged the session out.
    async fn post(&self, url: url::Url, logout_token: &str) -> Attempt {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", logout_token)
            .finish();
        let sent = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Attempt::Delivered
                } else if status.is_server_error()
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                {
                    Attempt::Transient(format!("the relying party answered {status}"))
                } else {
                    Attempt::Refused(format!("the relying party answered {status}"))
                }
            }
            Err(e) if target::is_refusal(&e) => Attempt::Refused(e.without_url().to_string()),
            Err(e) => Attempt::Transient(describe(&e)),
        }
    }
}

/// Nothing to deliver, for this reason (acked).
struct Skip(&'static str);

/// An HTTP error's chain in one line, without the URL.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
