//! A caching [`Directory`] for the authorize, token and userinfo services:
//! project and identity lookups are served from memory, and every change
//! committed in the admin service reaches every replica through the event
//! bus and drops the entries it touches.
//!
//! Password checks always go to the admin service. Client authentication
//! does too, except that a SUCCESSFUL one is remembered, keyed by the client
//! id and a SHA-256 of the presented secret (client secrets are generated,
//! high-entropy values): the token endpoints of a busy client then cost no
//! call to admin (issue #6: one signature and at most one key-value round
//! trip per token). A wrong secret is never answered from memory, and every
//! project change drops every remembered authentication, so a rotated
//! secret stops working as soon as the change arrives. While the bus is
//! unreachable, entries live much shorter (a replica may miss invalidations),
//! and a replica that (re)subscribes clears its cache before serving from it
//! again, then resumes from the last position it saw.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use inkan_bus::EventBus;
use inkan_domain::envelope::RecordedEvent;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    Directory, Identity, LinkRedeemed, LinkRedemption, LinkRequest, LinkRequested, NewPasskey,
    PasskeyRegistration, Project, Result, SecondFactor, StoredKey, StoredPasskey, TotpEnrolment,
};

/// Entry lifetimes with the bus up (invalidation is the freshness mechanism;
/// the TTL only bounds memory) and down (staleness is bounded by the TTL).
#[derive(Debug, Clone, Copy)]
pub struct CacheLifetimes {
    pub connected: Duration,
    pub disconnected: Duration,
}

impl Default for CacheLifetimes {
    fn default() -> Self {
        CacheLifetimes {
            connected: Duration::from_secs(300),
            disconnected: Duration::from_secs(5),
        }
    }
}

type Entries<T> = Mutex<HashMap<String, (Option<T>, Instant)>>;

pub struct CachedDirectory {
    inner: Arc<dyn Directory>,
    projects: Entries<Project>,
    /// Successful client authentications, by [`credential_key`].
    authenticated: Entries<Project>,
    identities: Entries<Identity>,
    lifetimes: CacheLifetimes,
    bus_connected: AtomicBool,
    position: AtomicI64,
    hits: AtomicI64,
    /// Bumped by every invalidation: a lookup that raced one does not store its (maybe stale) answer.
    epoch: AtomicI64,
    misses: AtomicI64,
    /// Notified when signing keys change, so the key ring reloads at once.
    pub keys_changed: Arc<Notify>,
}

impl CachedDirectory {
    pub fn new(inner: Arc<dyn Directory>, lifetimes: CacheLifetimes) -> CachedDirectory {
        CachedDirectory {
            inner,
            projects: Mutex::new(HashMap::new()),
            authenticated: Mutex::new(HashMap::new()),
            identities: Mutex::new(HashMap::new()),
            lifetimes,
            bus_connected: AtomicBool::new(false),
            position: AtomicI64::new(0),
            hits: AtomicI64::new(0),
            epoch: AtomicI64::new(0),
            misses: AtomicI64::new(0),
            keys_changed: Arc::new(Notify::new()),
        }
    }

    fn ttl(&self) -> Duration {
        if self.bus_connected.load(Ordering::SeqCst) {
            self.lifetimes.connected
        } else {
            self.lifetimes.disconnected
        }
    }

    /// What `/readyz` reports about the cache.
    pub fn health(&self) -> serde_json::Value {
        serde_json::json!({
            "event_bus": if self.bus_connected.load(Ordering::SeqCst) { "connected" } else { "disconnected" },
            "ttl_seconds": self.ttl().as_secs(),
            "position": self.position.load(Ordering::SeqCst),
            "hits": self.hits.load(Ordering::SeqCst),
            "misses": self.misses.load(Ordering::SeqCst),
        })
    }

    /// The last event-log position this cache has applied.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::SeqCst)
    }

    /// Drops everything a committed event may have changed.
    pub fn apply(&self, event: &RecordedEvent) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match event.stream_type.as_str() {
            // Project events don't all carry the client id; projects change rarely.
            "project" => {
                lock(&self.projects).clear();
                lock(&self.authenticated).clear();
            }
            "identity" => {
                lock(&self.identities).remove(&event.stream_id.to_string());
            }
            "signing_key" => self.keys_changed.notify_one(),
            _ => {}
        }
        self.position.fetch_max(event.position, Ordering::SeqCst);
    }

    fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        lock(&self.projects).clear();
        lock(&self.authenticated).clear();
        lock(&self.identities).clear();
    }

    /// Follows the bus until cancelled: applies each event, and after any
    /// interruption clears the cache and resumes from the last position.
    pub async fn follow(self: Arc<Self>, bus: Arc<dyn EventBus>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let subscription = tokio::select! {
                _ = shutdown.cancelled() => return,
                s = bus.subscribe(self.position()) => s,
            };
            match subscription {
                Ok(mut stream) => {
                    // Anything cached before this point may have missed an invalidation.
                    self.clear();
                    self.bus_connected.store(true, Ordering::SeqCst);
                    self.keys_changed.notify_one();
                    backoff = Duration::from_millis(100);
                    let mut ping = tokio::time::interval(Duration::from_secs(2));
                    loop {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            next = stream.next() => match next {
                                Some(Ok(event)) => self.apply(&event),
                                Some(Err(e)) => tracing::warn!(error = %e, "event bus message skipped"),
                                None => break,
                            },
                            _ = ping.tick() => {
                                let up = bus.ping().await.is_ok();
                                let was = self.bus_connected.swap(up, Ordering::SeqCst);
                                if was && !up {
                                    tracing::warn!("event bus unreachable: cache entries now live {}s", self.lifetimes.disconnected.as_secs());
                                }
                                if !was && up {
                                    // Back: events missed meanwhile arrive on the open subscription,
                                    // but entries cached while disconnected may be stale.
                                    self.clear();
                                }
                            }
                        }
                    }
                    self.bus_connected.store(false, Ordering::SeqCst);
                }
                Err(e) => {
                    self.bus_connected.store(false, Ordering::SeqCst);
                    tracing::warn!(error = %e, "cannot subscribe to the event bus; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn cached<T: Clone>(&self, name: &str, entries: &Entries<T>, key: &str) -> Option<Option<T>> {
        let hit = {
            let map = lock(entries);
            map.get(key)
                .filter(|(_, at)| at.elapsed() < self.ttl())
                .map(|(value, _)| value.clone())
        };
        let counter = if hit.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        inkan_telemetry::metrics::cache_lookup(name, hit.is_some());
        hit
    }

    fn store<T>(&self, entries: &Entries<T>, key: &str, value: Option<T>, epoch: i64) {
        let mut map = lock(entries);
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if map.len() >= 100_000 {
            map.clear();
        }
        map.insert(key.to_string(), (value, Instant::now()));
    }
}

/// The memory key of a successful client authentication: never the secret
/// itself. The length prefix keeps `("a", "bc")` and `("ab", "c")` apart.
fn credential_key(client_id: &str, secret: &str) -> String {
    inkan_keys::secret::sha256_b64(&format!("{}:{client_id}{secret}", client_id.len()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Entries are replaced whole; a panic elsewhere cannot leave one half-written.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl Directory for CachedDirectory {
    async fn resolve_project(&self, client_id: &str) -> Result<Option<Project>> {
        if let Some(hit) = self.cached("project", &self.projects, client_id) {
            return Ok(hit);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let value = self.inner.resolve_project(client_id).await?;
        self.store(&self.projects, client_id, value.clone(), epoch);
        Ok(value)
    }

    async fn authenticate_client(&self, client_id: &str, secret: &str) -> Result<Option<Project>> {
        let key = credential_key(client_id, secret);
        if let Some(Some(project)) = self.cached("client_auth", &self.authenticated, &key) {
            return Ok(Some(project));
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let value = self.inner.authenticate_client(client_id, secret).await?;
        if value.is_some() {
            self.store(&self.authenticated, &key, value.clone(), epoch);
        }
        Ok(value)
    }

    async fn verify_password(&self, email: &str, password: &str) -> Result<Option<Identity>> {
        self.inner.verify_password(email, password).await
    }

    async fn get_identity(&self, id: &str) -> Result<Option<Identity>> {
        if let Some(hit) = self.cached("identity", &self.identities, id) {
            return Ok(hit);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let value = self.inner.get_identity(id).await?;
        self.store(&self.identities, id, value.clone(), epoch);
        Ok(value)
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        self.inner.signing_keys().await
    }

    /// Not cached: read at each passkey login, which must see a passkey
    /// an admin removed a moment ago.
    async fn passkeys(&self, identity_id: &str) -> Result<Option<Vec<StoredPasskey>>> {
        self.inner.passkeys(identity_id).await
    }

    async fn register_passkey(&self, request: NewPasskey) -> Result<PasskeyRegistration> {
        self.inner.register_passkey(request).await
    }

    /// Also forgets the cached identity at once (its `totp` flag changed),
    /// rather than waiting for the event on the bus.
    async fn enrol_totp(&self, identity_id: &str, secret: Vec<u8>) -> Result<TotpEnrolment> {
        let outcome = self.inner.enrol_totp(identity_id, secret).await?;
        lock(&self.identities).remove(identity_id);
        Ok(outcome)
    }

    async fn verify_second_factor(&self, identity_id: &str, code: &str) -> Result<SecondFactor> {
        self.inner.verify_second_factor(identity_id, code).await
    }

    async fn request_link(&self, request: LinkRequest) -> Result<LinkRequested> {
        self.inner.request_link(request).await
    }

    async fn sign_up(&self, request: crate::SignUpRequest) -> Result<crate::SignedUp> {
        self.inner.sign_up(request).await
    }

    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> Result<crate::NamesUpdated> {
        let outcome = self.inner.update_names(identity_id, first, last).await?;
        lock(&self.identities).remove(identity_id);
        Ok(outcome)
    }

    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> Result<crate::PasswordChange> {
        self.inner.change_password(identity_id, current, new).await
    }

    async fn remove_credential(&self, identity_id: &str, passkey: Option<&str>) -> Result<bool> {
        let removed = self.inner.remove_credential(identity_id, passkey).await?;
        lock(&self.identities).remove(identity_id);
        Ok(removed)
    }

    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> Result<crate::SignedOut> {
        self.inner.sign_out(identity_id, handles, reason).await
    }

    /// A redeemed link changed the identity (verified, new password and
    /// session epoch): its cached copy goes at once, not when the bus says so.
    async fn redeem_link(&self, request: LinkRedemption) -> Result<LinkRedeemed> {
        let outcome = self.inner.redeem_link(request).await?;
        if let LinkRedeemed::Done { identity_id } = &outcome {
            lock(&self.identities).remove(identity_id.as_str());
        }
        Ok(outcome)
    }
}
