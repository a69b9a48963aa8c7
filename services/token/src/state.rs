//! What the token service's handlers share.

use inkan_web::ServiceCore;

#[derive(Clone)]
pub struct TokenState {
    /// Issuer, directory, keys, key-value store, clock.
    pub core: ServiceCore,
    /// Requests per minute per authenticated client (0: unlimited).
    pub client_rate_limit_per_minute: u32,
}

impl std::ops::Deref for TokenState {
    type Target = ServiceCore;

    fn deref(&self) -> &ServiceCore {
        &self.core
    }
}
