//! The admin service: the event store's only writer. It runs commands
//! against the Project and Identity aggregates, keeps the read models, and
//! serves them over REST (`/admin/v1`) to operators and over gRPC
//! (`inkan.admin.v1.AdminInternal`) to the other services.
//!
//! # Layout
//! - [`router`]: the `/admin/v1` HTTP routes; [`grpc::service`]: the gRPC service.
//! - `routes/`: one file per resource (`projects`, `identities`, `events`).
//! - [`commands`]: the write path (load → decide → append → wait for the read model).
//! - [`projections`]: the read models, checkpointed in tables beside the log
//!   (projects and keys in memory, identities read through a cache); [`projections::rebuild`].
//! - [`keys`]: signing keys — first keys, rotation, activation schedule, JWKS.
//! - [`totp`]: one-time-code secrets sealed, recovery codes hashed.
//! - [`auth`]: who may call the admin API; [`bootstrap`]: the first admin client.
//! - [`error`]: every admin error mapped to HTTP and gRPC in one place.
//! - [`sessions`]: ending IdP sessions and recording the back-channel
//!   logout notices they owe (the deliverer is `inkan-backchannel`).

pub mod auth;
pub mod bootstrap;
pub mod commands;
pub mod error;
pub mod grpc;
mod json;
pub mod keys;
pub mod links;
pub mod projections;
pub mod routes;
pub mod sessions;
pub mod signup;
pub mod state;
pub mod totp;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;

pub use state::{AdminState, KeyPolicy};

/// The admin REST API under `/admin/v1`.
pub fn router(state: AdminState) -> Router {
    use routes::{events, identities, keys, projects};
    Router::new()
        .route(
            "/admin/v1/projects",
            post(projects::create).get(projects::list),
        )
        .route(
            "/admin/v1/projects/{id}",
            get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/admin/v1/projects/{id}/secret",
            post(projects::rotate_secret),
        )
        .route(
            "/admin/v1/projects/{id}/client-configuration",
            get(projects::client_configuration),
        )
        .route(
            "/admin/v1/identities",
            post(identities::create).get(identities::list),
        )
        .route(
            "/admin/v1/identities/{id}",
            get(identities::get)
                .patch(identities::update)
                .delete(identities::delete),
        )
        .route(
            "/admin/v1/identities/{id}/password",
            put(identities::set_password),
        )
        .route(
            "/admin/v1/identities/{id}/passkeys",
            get(identities::list_passkeys),
        )
        .route(
            "/admin/v1/identities/{id}/passkeys/{credential_id}",
            patch(identities::rename_passkey).delete(identities::delete_passkey),
        )
        .route(
            "/admin/v1/identities/{id}/verification-email",
            post(identities::send_verification_email),
        )
        .route(
            "/admin/v1/identities/{id}/totp",
            delete(identities::delete_totp),
        )
        .route("/admin/v1/identities/{id}/block", post(identities::block))
        .route(
            "/admin/v1/identities/{id}/unblock",
            post(identities::unblock),
        )
        .route(
            "/admin/v1/identities/{id}/sessions",
            get(identities::list_sessions).delete(identities::end_sessions),
        )
        .route(
            "/admin/v1/identities/{id}/sessions/{sid}",
            delete(identities::end_session),
        )
        .route("/admin/v1/events", get(events::list))
        .route("/admin/v1/keys", get(keys::list))
        .route("/admin/v1/keys/rotate", post(keys::rotate))
        .with_state(state)
}
