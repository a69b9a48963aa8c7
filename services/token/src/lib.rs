//! The token service: the token (RFC 6749 §3.2), pushed authorization
//! request (RFC 9126), introspection (RFC 7662) and revocation (RFC 7009)
//! endpoints. It holds no durable state: projects and keys come from
//! the directory, one-time values live in the key-value store.
//!
//! # Layout
//! - [`router`]: the HTTP routes; `routes/`: one file per endpoint.
//! - [`client`]: client authentication (RFC 6749 §2.3, RFC 7523).
//! - [`client_keys`]: the public keys of `private_key_jwt` clients.
//! - [`dpop`]: DPoP proofs at the token and PAR endpoints (RFC 9449).
//! - `grants/`: one file per grant type.
//! - [`mint`]: access and ID token construction and signing.
//! - [`error`]: errors mapped to RFC 6749 §5.2 responses in one place.

pub mod client;
pub mod client_keys;
pub mod dpop;
pub mod error;
pub mod grants;
pub mod mint;
pub mod routes;
pub mod state;

use axum::routing::post;
use axum::Router;

pub use state::TokenState;

pub fn router(state: TokenState) -> Router {
    Router::new()
        .route("/token", post(routes::token::token))
        .route("/par", post(routes::par::par))
        .route("/introspect", post(routes::introspect::introspect))
        .route("/revoke", post(routes::revoke::revoke))
        .with_state(state)
}
