//! What the token service's handlers share.

use std::sync::Arc;

use inkan_directory::{Directory, KeyRing};
use inkan_kv::KvStore;
use inkan_web::clock::Clock;

#[derive(Clone)]
pub struct TokenState {
    /// The issuer identifier, without trailing slash.
    pub issuer: Arc<str>,
    pub directory: Arc<dyn Directory>,
    pub keyring: Arc<KeyRing>,
    pub kv: Arc<dyn KvStore>,
    pub clock: Arc<dyn Clock>,
    /// Requests per minute per authenticated client (0: unlimited).
    pub client_rate_limit_per_minute: u32,
}
