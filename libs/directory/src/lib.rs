//! How the authorize, token and userinfo services read what the admin
//! service owns: projects, identities, signing keys.
//!
//! One trait, two transports: [`Grpc`] calls a remote admin over tonic
//! (microservices mode); [`InProcess`] calls the admin's gRPC service
//! implementation directly (monolithic mode), so no behaviour differs
//! between the two.
//!
//! # Layout
//! - [`Directory`]: the trait the services use.
//! - [`InProcess`], [`Grpc`]: its two implementations.
//! - [`keyring`]: the signing keys, unsealed and parsed once, with the JWKS bytes precomputed.

pub mod keyring;

use std::sync::Arc;

use async_trait::async_trait;
use inkan_proto::admin::v1 as pb;
use inkan_proto::admin::v1::admin_internal_client::AdminInternalClient;
use inkan_proto::admin::v1::admin_internal_server::AdminInternal;
use tonic::{Code, Request, Status};

pub use keyring::{KeyRing, KeySet};
pub use pb::{Identity, Project, SigningKey as StoredKey};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The admin service cannot be reached or failed; callers answer 503.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T, E = DirectoryError> = std::result::Result<T, E>;

#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// The project registered under `client_id`, if any.
    async fn resolve_project(&self, client_id: &str) -> Result<Option<Project>>;
    /// The project if `secret` is its client secret; `None` on any mismatch.
    async fn authenticate_client(&self, client_id: &str, secret: &str) -> Result<Option<Project>>;
    /// The identity if `password` is its password; `None` on any mismatch.
    async fn verify_password(&self, email: &str, password: &str) -> Result<Option<Identity>>;
    /// The identity with this id (the `sub`), if it exists.
    async fn get_identity(&self, id: &str) -> Result<Option<Identity>>;
    /// Every published signing key (private parts sealed).
    async fn signing_keys(&self) -> Result<Vec<StoredKey>>;
}

/// NOT_FOUND and UNAUTHENTICATED are answers ("no such thing"); anything else is an outage.
fn answer<T>(result: std::result::Result<T, Status>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(s) if matches!(s.code(), Code::NotFound | Code::Unauthenticated) => Ok(None),
        Err(s) => Err(DirectoryError::Unavailable(format!(
            "{}: {}",
            s.code(),
            s.message()
        ))),
    }
}

/// Calls an in-process implementation of the admin gRPC service.
pub struct InProcess<T>(pub Arc<T>);

#[async_trait]
impl<T: AdminInternal> Directory for InProcess<T> {
    async fn resolve_project(&self, client_id: &str) -> Result<Option<Project>> {
        let req = Request::new(pb::ResolveProjectRequest {
            client_id: client_id.into(),
        });
        Ok(answer(self.0.resolve_project(req).await)?.and_then(|r| r.into_inner().project))
    }

    async fn authenticate_client(&self, client_id: &str, secret: &str) -> Result<Option<Project>> {
        let req = Request::new(pb::AuthenticateClientRequest {
            client_id: client_id.into(),
            client_secret: secret.into(),
        });
        Ok(answer(self.0.authenticate_client(req).await)?.and_then(|r| r.into_inner().project))
    }

    async fn verify_password(&self, email: &str, password: &str) -> Result<Option<Identity>> {
        let req = Request::new(pb::VerifyPasswordRequest {
            email: email.into(),
            password: password.into(),
        });
        Ok(answer(self.0.verify_password(req).await)?.and_then(|r| r.into_inner().identity))
    }

    async fn get_identity(&self, id: &str) -> Result<Option<Identity>> {
        let req = Request::new(pb::GetIdentityRequest { id: id.into() });
        Ok(answer(self.0.get_identity(req).await)?.and_then(|r| r.into_inner().identity))
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let req = Request::new(pb::GetSigningKeysRequest {});
        Ok(answer(self.0.get_signing_keys(req).await)?
            .map(|r| r.into_inner().keys)
            .unwrap_or_default())
    }
}

/// Calls a remote admin service over gRPC.
#[derive(Clone)]
pub struct Grpc {
    client: AdminInternalClient<tonic::transport::Channel>,
}

impl Grpc {
    /// Connects lazily: the process starts even if admin is not up yet.
    pub fn connect_lazy(url: &str) -> Result<Grpc> {
        let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|e| DirectoryError::Unavailable(format!("invalid admin URL: {e}")))?
            .connect_timeout(std::time::Duration::from_secs(2))
            .timeout(std::time::Duration::from_secs(5));
        Ok(Grpc {
            client: AdminInternalClient::new(endpoint.connect_lazy()),
        })
    }
}

#[async_trait]
impl Directory for Grpc {
    async fn resolve_project(&self, client_id: &str) -> Result<Option<Project>> {
        let req = pb::ResolveProjectRequest {
            client_id: client_id.into(),
        };
        Ok(answer(self.client.clone().resolve_project(req).await)?
            .and_then(|r| r.into_inner().project))
    }

    async fn authenticate_client(&self, client_id: &str, secret: &str) -> Result<Option<Project>> {
        let req = pb::AuthenticateClientRequest {
            client_id: client_id.into(),
            client_secret: secret.into(),
        };
        Ok(answer(self.client.clone().authenticate_client(req).await)?
            .and_then(|r| r.into_inner().project))
    }

    async fn verify_password(&self, email: &str, password: &str) -> Result<Option<Identity>> {
        let req = pb::VerifyPasswordRequest {
            email: email.into(),
            password: password.into(),
        };
        Ok(answer(self.client.clone().verify_password(req).await)?
            .and_then(|r| r.into_inner().identity))
    }

    async fn get_identity(&self, id: &str) -> Result<Option<Identity>> {
        let req = pb::GetIdentityRequest { id: id.into() };
        Ok(answer(self.client.clone().get_identity(req).await)?
            .and_then(|r| r.into_inner().identity))
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        Ok(answer(
            self.client
                .clone()
                .get_signing_keys(pb::GetSigningKeysRequest {})
                .await,
        )?
        .map(|r| r.into_inner().keys)
        .unwrap_or_default())
    }
}
