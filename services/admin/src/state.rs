//! What every admin handler and the gRPC service share.

use std::sync::Arc;

use inkan_eventstore::EventStore;
use inkan_keys::password::PasswordHasher;
use inkan_keys::secret::SecretHasher;
use tokio::sync::Notify;

use crate::projections::Projections;

#[derive(Clone)]
pub struct AdminState {
    pub store: Arc<dyn EventStore>,
    pub projections: Arc<Projections>,
    /// Keyed hash for client secrets (key derived from the key-encryption key).
    pub secrets: Arc<SecretHasher>,
    /// argon2id for identity passwords; always called on the blocking pool.
    pub passwords: Arc<PasswordHasher>,
    pub password_min_length: usize,
    /// Notified after every append so the relay publishes without waiting for its poll.
    pub appended: Arc<Notify>,
}

impl AdminState {
    pub fn new(
        store: Arc<dyn EventStore>,
        secrets: SecretHasher,
        passwords: PasswordHasher,
        password_min_length: usize,
    ) -> AdminState {
        AdminState {
            projections: Arc::new(Projections::new(store.clone())),
            store,
            secrets: Arc::new(secrets),
            passwords: Arc::new(passwords),
            password_min_length,
            appended: Arc::new(Notify::new()),
        }
    }

    /// Hashes a password with argon2id off the async runtime.
    pub async fn hash_password(&self, password: String) -> Result<String, crate::error::ApiError> {
        let hasher = self.passwords.clone();
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))
    }
}
