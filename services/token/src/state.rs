//! What the token service's handlers share.

use std::sync::Arc;

use inkan_web::ServiceCore;

use crate::client_keys::KeySets;

#[derive(Clone)]
pub struct TokenState {
    /// Issuer, directory, keys, key-value store, clock, DPoP policy.
    pub core: ServiceCore,
    /// Requests per minute per authenticated client (0: unlimited).
    pub client_rate_limit_per_minute: u32,
    /// The public keys of `private_key_jwt` clients.
    pub client_keys: Arc<KeySets>,
}

impl std::ops::Deref for TokenState {
    type Target = ServiceCore;

    fn deref(&self) -> &ServiceCore {
        &self.core
    }
}
