//! What every admin handler and the gRPC service share.

use std::sync::Arc;

use inkan_eventstore::EventStore;
use inkan_keys::kek::Kek;
use inkan_keys::password::PasswordHasher;
use inkan_keys::secret::SecretHasher;
use tokio::sync::Notify;

use crate::projections::Projections;

#[derive(Clone)]
pub struct AdminState {
    /// The issuer identifier (no trailing slash); admin bearer tokens must carry it.
    pub issuer: String,
    pub store: Arc<dyn EventStore>,
    pub projections: Arc<Projections>,
    /// Keyed hash for client secrets (key derived from the key-encryption key).
    pub secrets: Arc<SecretHasher>,
    /// argon2id for identity passwords; always called on the blocking pool.
    pub passwords: Arc<PasswordHasher>,
    /// At most this many argon2id computations run at once (each holds ~19 MiB):
    /// a login burst queues instead of exhausting memory.
    pub password_slots: Arc<tokio::sync::Semaphore>,
    pub password_min_length: usize,
    /// Seals new signing keys; never leaves the process.
    pub kek: Arc<Kek>,
    pub key_policy: KeyPolicy,
    /// Notified after every append so the relay publishes without waiting for its poll.
    pub appended: Arc<Notify>,
    /// The longest an internal (gRPC) read waits on the event store — the
    /// catch-up before answering, an identity missing from the cache —
    /// before it answers from the read models or fails `unavailable`. Well
    /// under the callers' deadline (5 s), so a hung database never turns
    /// into timed-out logins (`INKAN_ADMIN_STORE_READ_TIMEOUT_MS`).
    pub store_read_timeout: std::time::Duration,
    /// What "now" is: event times, key schedules, token expiry. The system
    /// clock unless a test puts a manual one here.
    pub clock: Arc<dyn inkan_clock::Clock>,
    /// Whether a mailer sends what links ask for (SMTP is configured):
    /// without one, requesting a link is refused.
    pub mail: bool,
    /// The key-value store the login services keep sessions and
    /// refresh-token families in: the admin lists and ends sessions there
    /// (the sessions API, deletions, password resets).
    pub kv: Arc<dyn inkan_kv::KvStore>,
    /// Where back-channel logout URIs may point (checked at registration;
    /// the deliverer checks the same policy at every delivery).
    pub backchannel_policy: inkan_egress::Policy,
    /// Where client key sets (`jwks_uri`) may be fetched from (checked at
    /// registration; the token service checks it at every fetch).
    pub jwks_policy: inkan_egress::Policy,
}

/// The default of [`AdminState::store_read_timeout`].
pub const DEFAULT_STORE_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

impl AdminState {
    pub fn new(
        issuer: String,
        store: Arc<dyn EventStore>,
        kek: Kek,
        key_policy: KeyPolicy,
        secrets: SecretHasher,
        passwords: PasswordHasher,
        password_min_length: usize,
    ) -> AdminState {
        AdminState {
            issuer,
            projections: Arc::new(Projections::new(store.clone())),
            store,
            secrets: Arc::new(secrets),
            kek: Arc::new(kek),
            key_policy,
            passwords: Arc::new(passwords),
            password_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
            )),
            password_min_length,
            appended: Arc::new(Notify::new()),
            store_read_timeout: DEFAULT_STORE_READ_TIMEOUT,
            clock: Arc::new(inkan_clock::SystemClock),
            mail: false,
            kv: Arc::new(inkan_kv::MemoryKv::new()),
            backchannel_policy: inkan_egress::Policy::default(),
            jwks_policy: inkan_egress::Policy::default(),
        }
    }

    /// Runs an argon2id computation on the blocking pool, within the concurrency cap.
    pub async fn with_password_slot<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let _slot = self
            .password_slots
            .acquire()
            .await
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
        let hasher = self.passwords.clone();
        tokio::task::spawn_blocking(move || work(&hasher))
            .await
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))
    }

    /// Hashes a password with argon2id off the async runtime.
    pub async fn hash_password(&self, password: String) -> Result<String, crate::error::ApiError> {
        self.with_password_slot(move |hasher| hasher.hash(&password))
            .await?
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))
    }
}

/// When signing keys are activated, rotated and unpublished.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// A new key is published this long before it signs; longer than any
    /// JWKS cache lifetime, so relying parties know it before they see it.
    pub activation_delay: std::time::Duration,
    /// Rotate automatically when the active key is this old (`None`: only on request).
    pub rotation_interval: Option<std::time::Duration>,
    /// How long a retired key stays published: the longest token lifetime
    /// (access and ID tokens live at most one day) plus clock leeway.
    pub retired_publication: std::time::Duration,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            activation_delay: std::time::Duration::from_secs(600),
            rotation_interval: Some(std::time::Duration::from_secs(90 * 86_400)),
            retired_publication: std::time::Duration::from_secs(86_400 + 300),
        }
    }
}
