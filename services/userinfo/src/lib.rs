//! The userinfo service: `GET`/`POST /userinfo` (OIDC Core §5.3), the
//! claims about the user an access token was issued for, by its scopes.
//!
//! # Layout
//! - [`router`]; `routes/userinfo.rs`: the endpoint.
//! - [`state`]: what the handler needs (keys, directory, key-value store).
//! - [`error`]: [`UserinfoError`], mapped to RFC 6750 §3 answers in one place.
#![forbid(unsafe_code)]

pub mod error;
pub mod routes;
pub mod state;

use axum::routing::get;
use axum::Router;

pub use error::UserinfoError;
pub use state::UserinfoState;

pub fn router(state: UserinfoState) -> Router {
    Router::new()
        .route(
            "/userinfo",
            get(routes::userinfo::userinfo).post(routes::userinfo::userinfo),
        )
        .with_state(state)
}
