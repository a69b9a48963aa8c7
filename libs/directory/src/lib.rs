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
//! - [`InProcess`], [`Grpc`]: its two implementations; [`Grpc`] sends the
//!   caller's trace context (`traceparent`) with every call ([`PropagateTrace`]).
//! - [`typed`]: [`typed::Lookup`], the same lookups returning typed
//!   [`typed::Project`]s and [`typed::Identity`]s, converted once from the
//!   wire records (what the services call).
//! - [`keyring`]: the signing keys, unsealed and parsed once, with the JWKS bytes precomputed.
//! - [`cache`]: a caching [`Directory`] kept fresh by the event bus.

pub mod cache;
pub mod keyring;
pub mod typed;

use std::sync::Arc;

use async_trait::async_trait;
use inkan_proto::admin::v1 as pb;
use inkan_proto::admin::v1::admin_internal_client::AdminInternalClient;
use inkan_proto::admin::v1::admin_internal_server::AdminInternal;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tracing::Instrument;

pub use keyring::{KeyRing, KeySet};
/// The wire records; services read them through [`typed::Lookup`].
pub use pb::{Identity, Passkey as StoredPasskey, Project, SigningKey as StoredKey};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The admin service cannot be reached or failed; callers answer 503.
    #[error("directory unavailable: the admin service answered {}: {}", .0.code(), .0.message())]
    Unavailable(#[source] Status),
    /// Every configured admin replica was unreachable; callers answer 503.
    #[error("directory unavailable: no admin replica answered")]
    NoReplica,
    /// A configured admin URL is not one (not echoed: a URL may carry credentials).
    #[error("an admin URL is invalid: {0}")]
    InvalidUrl(#[source] tonic::transport::Error),
    /// No admin URL is configured.
    #[error("no admin URL configured")]
    NoUrl,
    /// The admin service sent a record this version cannot read (a value
    /// added by a newer release, say): an internal error, never a default.
    #[error(transparent)]
    Invalid(#[from] typed::InvalidRecord),
}

impl DirectoryError {
    /// Whether retrying later may help (an outage), as opposed to a record
    /// or a configuration that is wrong until someone fixes it.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            DirectoryError::Unavailable(_) | DirectoryError::NoReplica
        )
    }
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
    /// The passkeys of the identity with this id; `None` if it does not exist.
    async fn passkeys(&self, identity_id: &str) -> Result<Option<Vec<StoredPasskey>>>;
    /// Adds a verified passkey to an identity (the one write the login
    /// services make, through the admin, which owns the log).
    async fn register_passkey(&self, request: NewPasskey) -> Result<PasskeyRegistration>;
    /// Adds a one-time-code second factor (`secret`: the RFC 6238 secret
    /// whose first code the caller checked); a write, through the admin.
    async fn enrol_totp(&self, identity_id: &str, secret: Vec<u8>) -> Result<TotpEnrolment>;
    /// Checks a time-based code or a recovery code (spending it) of an identity.
    async fn verify_second_factor(&self, identity_id: &str, code: &str) -> Result<SecondFactor>;
    /// Issues a one-time link the mailer sends (a write, through the admin).
    async fn request_link(&self, request: LinkRequest) -> Result<LinkRequested>;
    /// Follows a mailed link (a write, through the admin).
    async fn redeem_link(&self, request: LinkRedemption) -> Result<LinkRedeemed>;
    /// Creates an account from a login page (a write, through the admin).
    async fn sign_up(&self, request: SignUpRequest) -> Result<SignedUp>;
    /// The account page: new names for an identity (empty removes one).
    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> Result<NamesUpdated>;
    /// The account page: a new password, given the current one.
    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> Result<PasswordChange>;
    /// The account page: removes a passkey (`Some(credential_id)`) or the
    /// one-time-code factor (`None`); `false` if there was no such thing.
    async fn remove_credential(&self, identity_id: &str, passkey: Option<&str>) -> Result<bool>;
    /// Ends sessions of an identity by their handles and records the
    /// back-channel logout notices they owe (a write, through the admin):
    /// how many ended, and the notices.
    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> Result<SignedOut>;
}

pub use pb::{SignOutNotice, SignOutReply as SignedOut};

fn signed_out(result: std::result::Result<pb::SignOutReply, Status>) -> Result<SignedOut> {
    match result {
        Ok(reply) => Ok(reply),
        Err(s) if s.code() == Code::NotFound => Ok(SignedOut::default()),
        Err(s) => Err(DirectoryError::Unavailable(s)),
    }
}

fn sign_out_request(identity_id: &str, handles: &[String], reason: &str) -> pb::SignOutRequest {
    pb::SignOutRequest {
        identity_id: identity_id.into(),
        session_handles: handles.to_vec(),
        reason: reason.into(),
    }
}

fn removed(result: std::result::Result<pb::RemoveCredentialReply, Status>) -> Result<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(s) if s.code() == Code::NotFound => Ok(false),
        Err(s) => Err(DirectoryError::Unavailable(s)),
    }
}

/// What became of a [`Directory::update_names`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamesUpdated {
    Updated,
    /// A name breaks a rule: `field: problem`.
    Invalid(String),
    NoIdentity,
}

/// What became of a [`Directory::change_password`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    WrongPassword,
    /// The new password breaks the policy, as the message says.
    Rejected(String),
}

fn names_updated(result: std::result::Result<pb::IdentityReply, Status>) -> Result<NamesUpdated> {
    match result {
        Ok(_) => Ok(NamesUpdated::Updated),
        Err(s) => match s.code() {
            Code::InvalidArgument => Ok(NamesUpdated::Invalid(s.message().to_owned())),
            Code::NotFound => Ok(NamesUpdated::NoIdentity),
            _ => Err(DirectoryError::Unavailable(s)),
        },
    }
}

fn password_change(
    result: std::result::Result<pb::ChangePasswordReply, Status>,
) -> Result<PasswordChange> {
    use pb::change_password_reply::Outcome;
    let reply = result.map_err(DirectoryError::Unavailable)?;
    Ok(match reply.outcome() {
        Outcome::Changed => PasswordChange::Changed,
        Outcome::Rejected => PasswordChange::Rejected(reply.problem),
        Outcome::WrongPassword | Outcome::Unspecified => PasswordChange::WrongPassword,
    })
}

/// An account to create: the wire request.
pub use pb::SignUpRequest;

/// What became of a [`Directory::sign_up`]; the same for a new address and
/// one that has an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    /// A mail is on its way.
    Accepted,
    /// `field` breaks a rule, as `problem` says.
    Invalid { field: String, problem: String },
    /// The project does not exist or does not allow sign-up.
    NotAllowed,
    /// No mail is configured on the admin.
    MailOff,
}

fn signed_up(result: std::result::Result<pb::SignUpReply, Status>) -> Result<SignedUp> {
    use pb::sign_up_reply::Outcome;
    match result {
        Ok(reply) => Ok(match reply.outcome() {
            Outcome::Accepted => SignedUp::Accepted,
            Outcome::Invalid => SignedUp::Invalid {
                field: reply.field,
                problem: reply.problem,
            },
            Outcome::NotAllowed | Outcome::Unspecified => SignedUp::NotAllowed,
        }),
        Err(s) if s.code() == Code::FailedPrecondition => Ok(SignedUp::MailOff),
        Err(s) => Err(DirectoryError::Unavailable(s)),
    }
}

/// A link to issue, and a link followed: the wire requests.
pub use pb::{LinkPurpose, RedeemLinkRequest as LinkRedemption, RequestLinkRequest as LinkRequest};

/// What became of a [`Directory::request_link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRequested {
    /// The request breaks a rule (an email change to an address that is
    /// not one): `field: problem`.
    Invalid(String),
    /// Committed for the mailer (or, for a reset of an unknown address,
    /// nothing to do: the same answer).
    Queued,
    /// No mail is configured on the admin.
    MailOff,
    /// A verification for an identity that does not exist.
    NoIdentity,
}

/// What became of a [`Directory::redeem_link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRedeemed {
    Done {
        identity_id: String,
    },
    /// Unknown, used, replaced, expired, or for an old address.
    InvalidLink,
    /// The new password breaks the policy; the message says how.
    RejectedPassword(String),
    /// An email change to an address another account has now.
    AddressTaken,
}

fn link_requested(
    result: std::result::Result<pb::RequestLinkReply, Status>,
) -> Result<LinkRequested> {
    match result {
        Ok(_) => Ok(LinkRequested::Queued),
        Err(s) => match s.code() {
            Code::FailedPrecondition => Ok(LinkRequested::MailOff),
            Code::NotFound => Ok(LinkRequested::NoIdentity),
            Code::InvalidArgument => Ok(LinkRequested::Invalid(s.message().to_owned())),
            _ => Err(DirectoryError::Unavailable(s)),
        },
    }
}

fn link_redeemed(result: std::result::Result<pb::RedeemLinkReply, Status>) -> Result<LinkRedeemed> {
    use pb::redeem_link_reply::Outcome;
    let reply = result.map_err(DirectoryError::Unavailable)?;
    Ok(match reply.outcome() {
        Outcome::Done => LinkRedeemed::Done {
            identity_id: reply.identity_id,
        },
        Outcome::RejectedPassword => LinkRedeemed::RejectedPassword(reply.problem),
        Outcome::AddressTaken => LinkRedeemed::AddressTaken,
        Outcome::InvalidLink | Outcome::Unspecified => LinkRedeemed::InvalidLink,
    })
}

/// What became of a [`Directory::enrol_totp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TotpEnrolment {
    /// Stored; the recovery codes to show the user, once.
    Enrolled { recovery_codes: Vec<String> },
    /// The identity has a second factor already.
    AlreadyEnrolled,
    /// The identity does not exist (any more).
    NoIdentity,
}

/// The admin's verdict on a second-factor code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// Neither a valid code nor an unused recovery code.
    Rejected,
    /// A valid time-based code for RFC 6238 time step `step`: the caller
    /// accepts it only if no code of that step or a later one was used.
    Totp { step: i64 },
    /// A recovery code, now spent; `left` remain.
    RecoveryCode { left: u32 },
    /// The identity has no second factor (or does not exist).
    NotEnrolled,
}

fn enrolment(result: std::result::Result<pb::EnrolTotpReply, Status>) -> Result<TotpEnrolment> {
    match result {
        Ok(reply) => Ok(TotpEnrolment::Enrolled {
            recovery_codes: reply.recovery_codes,
        }),
        Err(s) => match s.code() {
            Code::AlreadyExists => Ok(TotpEnrolment::AlreadyEnrolled),
            Code::NotFound => Ok(TotpEnrolment::NoIdentity),
            _ => Err(DirectoryError::Unavailable(s)),
        },
    }
}

fn second_factor(
    result: std::result::Result<pb::VerifySecondFactorReply, Status>,
) -> Result<SecondFactor> {
    use pb::verify_second_factor_reply::Outcome;
    let reply = result.map_err(DirectoryError::Unavailable)?;
    Ok(match reply.outcome() {
        Outcome::Totp => SecondFactor::Totp { step: reply.step },
        Outcome::RecoveryCode => SecondFactor::RecoveryCode {
            left: reply.recovery_codes_left,
        },
        Outcome::NotEnrolled => SecondFactor::NotEnrolled,
        Outcome::Rejected | Outcome::Unspecified => SecondFactor::Rejected,
    })
}

/// A passkey to add: the wire request.
pub use pb::RegisterPasskeyRequest as NewPasskey;

/// What became of a [`Directory::register_passkey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyRegistration {
    /// Stored; the identity's passkeys now.
    Registered(Vec<StoredPasskey>),
    /// An identity (this one or another) already holds the credential id.
    Taken,
    /// The identity does not exist (any more).
    NoIdentity,
    /// The admin refused the record (the identity holds the most passkeys
    /// it may, say); the message says why, for the user.
    Refused(String),
}

/// The admin's answer to a registration, mapped: refusals are answers, anything else an outage.
fn registration(
    result: std::result::Result<pb::PasskeysReply, Status>,
) -> Result<PasskeyRegistration> {
    match result {
        Ok(reply) => Ok(PasskeyRegistration::Registered(reply.passkeys)),
        Err(s) => match s.code() {
            Code::AlreadyExists => Ok(PasskeyRegistration::Taken),
            Code::NotFound => Ok(PasskeyRegistration::NoIdentity),
            Code::InvalidArgument => Ok(PasskeyRegistration::Refused(s.message().to_owned())),
            _ => Err(DirectoryError::Unavailable(s)),
        },
    }
}

/// NOT_FOUND and UNAUTHENTICATED are answers ("no such thing"); anything else is an outage.
fn answer<T>(result: std::result::Result<T, Status>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(s) if matches!(s.code(), Code::NotFound | Code::Unauthenticated) => Ok(None),
        Err(s) => Err(DirectoryError::Unavailable(s)),
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

    async fn passkeys(&self, identity_id: &str) -> Result<Option<Vec<StoredPasskey>>> {
        let req = Request::new(pb::ListPasskeysRequest {
            identity_id: identity_id.into(),
        });
        Ok(answer(self.0.list_passkeys(req).await)?.map(|r| r.into_inner().passkeys))
    }

    async fn register_passkey(&self, request: NewPasskey) -> Result<PasskeyRegistration> {
        registration(
            self.0
                .register_passkey(Request::new(request))
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn enrol_totp(&self, identity_id: &str, secret: Vec<u8>) -> Result<TotpEnrolment> {
        let req = Request::new(pb::EnrolTotpRequest {
            identity_id: identity_id.into(),
            secret,
        });
        enrolment(
            self.0
                .enrol_totp(req)
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn verify_second_factor(&self, identity_id: &str, code: &str) -> Result<SecondFactor> {
        let req = Request::new(pb::VerifySecondFactorRequest {
            identity_id: identity_id.into(),
            code: code.into(),
        });
        second_factor(
            self.0
                .verify_second_factor(req)
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn request_link(&self, request: LinkRequest) -> Result<LinkRequested> {
        link_requested(
            self.0
                .request_link(Request::new(request))
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn redeem_link(&self, request: LinkRedemption) -> Result<LinkRedeemed> {
        link_redeemed(
            self.0
                .redeem_link(Request::new(request))
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn sign_up(&self, request: SignUpRequest) -> Result<SignedUp> {
        signed_up(
            self.0
                .sign_up(Request::new(request))
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> Result<NamesUpdated> {
        let req = Request::new(pb::UpdateNamesRequest {
            identity_id: identity_id.into(),
            first_name: first.into(),
            last_name: last.into(),
        });
        names_updated(
            self.0
                .update_names(req)
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> Result<PasswordChange> {
        let req = Request::new(pb::ChangePasswordRequest {
            identity_id: identity_id.into(),
            current_password: current.into(),
            new_password: new.into(),
        });
        password_change(
            self.0
                .change_password(req)
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn remove_credential(&self, identity_id: &str, passkey: Option<&str>) -> Result<bool> {
        let req = Request::new(pb::RemoveCredentialRequest {
            identity_id: identity_id.into(),
            credential_id: passkey.unwrap_or_default().into(),
        });
        removed(
            self.0
                .remove_credential(req)
                .await
                .map(tonic::Response::into_inner),
        )
    }

    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> Result<SignedOut> {
        let req = Request::new(sign_out_request(identity_id, handles, reason));
        signed_out(self.0.sign_out(req).await.map(tonic::Response::into_inner))
    }
}

type AdminClient = AdminInternalClient<InterceptedService<Channel, PropagateTrace>>;

/// Calls the admin service over gRPC. With several admin URLs, each call
/// goes to the next one, and a replica that cannot be reached is skipped
/// for the next (reads are idempotent, so retrying elsewhere is safe).
#[derive(Clone)]
pub struct Grpc {
    clients: Arc<Vec<AdminClient>>,
    next: Arc<std::sync::atomic::AtomicUsize>,
}

impl Grpc {
    /// The next replica in turn, for a call that must not be retried elsewhere.
    fn one_replica(&self) -> AdminClient {
        let n = self.clients.len();
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.clients[start % n].clone()
    }

    /// Connects lazily to one or more admin replicas (`urls` comma-separated):
    /// the process starts even if no admin is up yet.
    pub fn connect_lazy(urls: &str) -> Result<Grpc> {
        let mut clients = Vec::new();
        for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
                .map_err(DirectoryError::InvalidUrl)?
                .connect_timeout(std::time::Duration::from_secs(2))
                .timeout(std::time::Duration::from_secs(5));
            clients.push(AdminInternalClient::with_interceptor(
                endpoint.connect_lazy(),
                PropagateTrace,
            ));
        }
        if clients.is_empty() {
            return Err(DirectoryError::NoUrl);
        }
        Ok(Grpc {
            clients: Arc::new(clients),
            next: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        })
    }

    async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> Result<Option<T>>
    where
        F: Fn(AdminClient) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let n = self.clients.len();
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for attempt in 0..n {
            let client = self.clients[(start + attempt) % n].clone();
            match call(client).instrument(client_span(method)).await {
                Err(s) if s.code() == Code::Unavailable && attempt + 1 < n => continue,
                result => return Ok(answer(result)?.map(tonic::Response::into_inner)),
            }
        }
        Err(DirectoryError::NoReplica)
    }
}

/// Writes the current span's W3C trace context (`traceparent`, `tracestate`)
/// into each outgoing request's metadata. The interceptor runs while the
/// caller's future is polled, so "current" is the caller's span.
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateTrace;

impl Interceptor for PropagateTrace {
    fn call(&mut self, mut request: Request<()>) -> std::result::Result<Request<()>, Status> {
        inkan_telemetry::propagation::inject_current_grpc(request.metadata_mut());
        Ok(request)
    }
}

/// The client span of one admin call; its arguments (client ids, secrets,
/// passwords, emails) are never recorded.
fn client_span(method: &'static str) -> tracing::Span {
    let service = pb::admin_internal_server::SERVICE_NAME;
    tracing::info_span!(
        "grpc.client",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
    )
}

#[async_trait]
impl Directory for Grpc {
    async fn resolve_project(&self, client_id: &str) -> Result<Option<Project>> {
        let req = pb::ResolveProjectRequest {
            client_id: client_id.into(),
        };
        let reply = self
            .call("ResolveProject", |mut c| {
                let req = req.clone();
                async move { c.resolve_project(req).await }
            })
            .await?;
        Ok(reply.and_then(|r| r.project))
    }

    async fn authenticate_client(&self, client_id: &str, secret: &str) -> Result<Option<Project>> {
        let req = pb::AuthenticateClientRequest {
            client_id: client_id.into(),
            client_secret: secret.into(),
        };
        let reply = self
            .call("AuthenticateClient", |mut c| {
                let req = req.clone();
                async move { c.authenticate_client(req).await }
            })
            .await?;
        Ok(reply.and_then(|r| r.project))
    }

    async fn verify_password(&self, email: &str, password: &str) -> Result<Option<Identity>> {
        let req = pb::VerifyPasswordRequest {
            email: email.into(),
            password: password.into(),
        };
        let reply = self
            .call("VerifyPassword", |mut c| {
                let req = req.clone();
                async move { c.verify_password(req).await }
            })
            .await?;
        Ok(reply.and_then(|r| r.identity))
    }

    async fn get_identity(&self, id: &str) -> Result<Option<Identity>> {
        let req = pb::GetIdentityRequest { id: id.into() };
        let reply = self
            .call("GetIdentity", |mut c| {
                let req = req.clone();
                async move { c.get_identity(req).await }
            })
            .await?;
        Ok(reply.and_then(|r| r.identity))
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let reply = self
            .call("GetSigningKeys", |mut c| async move {
                c.get_signing_keys(pb::GetSigningKeysRequest {}).await
            })
            .await?;
        Ok(reply.map(|r| r.keys).unwrap_or_default())
    }

    async fn passkeys(&self, identity_id: &str) -> Result<Option<Vec<StoredPasskey>>> {
        let req = pb::ListPasskeysRequest {
            identity_id: identity_id.into(),
        };
        let reply = self
            .call("ListPasskeys", |mut c| {
                let req = req.clone();
                async move { c.list_passkeys(req).await }
            })
            .await?;
        Ok(reply.map(|r| r.passkeys))
    }

    /// A write: sent to one replica, never retried elsewhere (a retry of a
    /// write that committed would answer "taken").
    async fn register_passkey(&self, request: NewPasskey) -> Result<PasskeyRegistration> {
        let result = self
            .one_replica()
            .register_passkey(request)
            .instrument(client_span("RegisterPasskey"))
            .await
            .map(tonic::Response::into_inner);
        registration(result)
    }

    /// A write: one replica, never retried (as [`Grpc::register_passkey`]).
    async fn enrol_totp(&self, identity_id: &str, secret: Vec<u8>) -> Result<TotpEnrolment> {
        let req = pb::EnrolTotpRequest {
            identity_id: identity_id.into(),
            secret,
        };
        let result = self
            .one_replica()
            .enrol_totp(req)
            .instrument(client_span("EnrolTotp"))
            .await
            .map(tonic::Response::into_inner);
        enrolment(result)
    }

    /// May spend a recovery code (a write): one replica, never retried.
    async fn verify_second_factor(&self, identity_id: &str, code: &str) -> Result<SecondFactor> {
        let req = pb::VerifySecondFactorRequest {
            identity_id: identity_id.into(),
            code: code.into(),
        };
        let result = self
            .one_replica()
            .verify_second_factor(req)
            .instrument(client_span("VerifySecondFactor"))
            .await
            .map(tonic::Response::into_inner);
        second_factor(result)
    }

    /// A write: one replica, never retried.
    async fn request_link(&self, request: LinkRequest) -> Result<LinkRequested> {
        let result = self
            .one_replica()
            .request_link(request)
            .instrument(client_span("RequestLink"))
            .await
            .map(tonic::Response::into_inner);
        link_requested(result)
    }

    /// A write: one replica, never retried.
    async fn redeem_link(&self, request: LinkRedemption) -> Result<LinkRedeemed> {
        let result = self
            .one_replica()
            .redeem_link(request)
            .instrument(client_span("RedeemLink"))
            .await
            .map(tonic::Response::into_inner);
        link_redeemed(result)
    }

    /// A write: one replica, never retried.
    async fn sign_up(&self, request: SignUpRequest) -> Result<SignedUp> {
        let result = self
            .one_replica()
            .sign_up(request)
            .instrument(client_span("SignUp"))
            .await
            .map(tonic::Response::into_inner);
        signed_up(result)
    }

    /// A write: one replica, never retried.
    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> Result<NamesUpdated> {
        let req = pb::UpdateNamesRequest {
            identity_id: identity_id.into(),
            first_name: first.into(),
            last_name: last.into(),
        };
        let result = self
            .one_replica()
            .update_names(req)
            .instrument(client_span("UpdateNames"))
            .await
            .map(tonic::Response::into_inner);
        names_updated(result)
    }

    /// A write: one replica, never retried.
    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> Result<PasswordChange> {
        let req = pb::ChangePasswordRequest {
            identity_id: identity_id.into(),
            current_password: current.into(),
            new_password: new.into(),
        };
        let result = self
            .one_replica()
            .change_password(req)
            .instrument(client_span("ChangePassword"))
            .await
            .map(tonic::Response::into_inner);
        password_change(result)
    }

    /// A write: one replica, never retried.
    async fn remove_credential(&self, identity_id: &str, passkey: Option<&str>) -> Result<bool> {
        let req = pb::RemoveCredentialRequest {
            identity_id: identity_id.into(),
            credential_id: passkey.unwrap_or_default().into(),
        };
        let result = self
            .one_replica()
            .remove_credential(req)
            .instrument(client_span("RemoveCredential"))
            .await
            .map(tonic::Response::into_inner);
        removed(result)
    }

    /// A write: one replica, never retried.
    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> Result<SignedOut> {
        let result = self
            .one_replica()
            .sign_out(sign_out_request(identity_id, handles, reason))
            .instrument(client_span("SignOut"))
            .await
            .map(tonic::Response::into_inner);
        signed_out(result)
    }
}
