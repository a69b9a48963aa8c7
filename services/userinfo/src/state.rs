//! What the userinfo handler shares.

use std::sync::Arc;

use inkan_directory::{Directory, KeyRing};
use inkan_kv::KvStore;

#[derive(Clone)]
pub struct UserinfoState {
    /// The issuer identifier, without trailing slash.
    pub issuer: Arc<str>,
    pub directory: Arc<dyn Directory>,
    pub keyring: Arc<KeyRing>,
    pub kv: Arc<dyn KvStore>,
}
