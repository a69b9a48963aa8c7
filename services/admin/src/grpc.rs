//! The internal gRPC API (`inkan.admin.v1.AdminInternal`) served from the
//! admin's read models to the authorize, token and userinfo services.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inkan_domain::identity::{Identity, IdentityCommand, LogoutReason, Passkey, Totp};
use inkan_domain::project::Project;
use inkan_proto::admin::v1 as pb;
use inkan_proto::admin::v1::admin_internal_server::{AdminInternal, AdminInternalServer};
use tonic::{Request, Response, Status};

use crate::projections::Entry;
use crate::state::AdminState;

pub struct AdminGrpc {
    state: AdminState,
    /// Whether the last catch-up with the log failed or ran past the bound.
    freshness: Arc<Freshness>,
    /// Whether reads first catch up with the log (see [`AdminGrpc::fresh`]).
    catch_up_on_read: bool,
}

/// How reads learn that the event store is slow or down, shared with the
/// catch-ups running in the background.
#[derive(Default)]
struct Freshness {
    /// Set when a catch-up failed or outlived the read bound; cleared by
    /// the next one that succeeds. While set, reads do not wait at all.
    degraded: AtomicBool,
    /// The background catch-up that finds the store again (one at a time).
    probe: std::sync::Mutex<Probe>,
}

#[derive(Default)]
struct Probe {
    running: bool,
    /// When the last one started, so a refused store is not hammered.
    started: Option<Instant>,
}

impl Freshness {
    fn probe(&self) -> std::sync::MutexGuard<'_, Probe> {
        self.probe.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// While degraded, at most one probe of the store per this interval.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

impl AdminGrpc {
    /// The service as remote replicas call it: every read first catches up with the log.
    pub fn new(state: AdminState) -> AdminGrpc {
        AdminGrpc {
            state,
            freshness: Arc::default(),
            catch_up_on_read: true,
        }
    }

    /// The service called in-process (monolithic mode). Reads answer from the
    /// read models as they are: local writes are in them before the write
    /// returns, and other replicas' writes arrive through the follower. The
    /// catch-up exists for remote callers whose caches a bus event has just
    /// invalidated; an in-process caller has no cache, and skipping it keeps
    /// the event store off the token path.
    pub fn in_process(state: AdminState) -> AdminGrpc {
        AdminGrpc {
            catch_up_on_read: false,
            ..AdminGrpc::new(state)
        }
    }

    /// Re-hashes a just-verified password whose stored hash was made with
    /// weaker argon2id parameters than the current ones (or another
    /// algorithm), so raising the parameters upgrades every account at its
    /// next login (NIST SP 800-63B-4 §3.1.1.2; OWASP Password Storage Cheat
    /// Sheet, "Upgrading the work factor"). Best effort: a failure is logged
    /// and the login still succeeds with the old hash in place.
    async fn rehash_if_outdated(&self, entry: &Entry<Identity>, password: String) {
        let Some(phc) = entry.state.password_hash.as_deref() else {
            return;
        };
        if !self.state.passwords.needs_rehash(phc) {
            return;
        }
        let id = entry.state.id;
        let result = match self.state.hash_password(password).await {
            Ok(password_hash) => crate::commands::execute::<Identity>(
                &self.state,
                "system",
                id,
                IdentityCommand::SetPassword { password_hash },
            )
            .await
            .map(drop),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => tracing::info!(identity = %id, "password re-hashed with current parameters"),
            Err(e) => {
                tracing::warn!(identity = %id, error = ?e, "could not re-hash an outdated password hash")
            }
        }
    }

    /// Brings the read models up to the log before answering, so a caller
    /// that saw an event on the bus never gets an answer older than it from a
    /// lagging admin replica.
    ///
    /// Never waits on the store longer than `state.store_read_timeout`
    /// (well under the callers' gRPC deadline): a catch-up that fails or
    /// outlives it marks the store degraded, and while it is, reads answer
    /// from the read models at once — no request waits on a store that just
    /// failed — while one background catch-up at a time (a probe, at most one
    /// per [`PROBE_INTERVAL`]) finds out when the store answers again. A hung
    /// connection (packets unanswered, nothing refused) is the case this is
    /// for: without the bound every read would wait for the pool's timeout.
    async fn fresh(&self) {
        if !self.catch_up_on_read {
            return;
        }
        if self.freshness.degraded.load(Ordering::Acquire) {
            self.probe();
            return;
        }
        let run = tokio::spawn(catch_up(
            self.state.projections.clone(),
            self.freshness.clone(),
        ));
        match tokio::time::timeout(self.state.store_read_timeout, run).await {
            Ok(_) => {}
            Err(_) => {
                // The catch-up goes on in the background and clears the
                // mark when it succeeds.
                self.freshness.degraded.store(true, Ordering::Release);
                tracing::warn!(
                    bound_ms = self.state.store_read_timeout.as_millis() as u64,
                    "event store slower than the read bound; answering from read models that may lag"
                );
            }
        }
    }

    /// Starts a background catch-up unless one is running or one started
    /// less than [`PROBE_INTERVAL`] ago.
    fn probe(&self) {
        {
            let mut probe = self.freshness.probe();
            let recent = probe
                .started
                .is_some_and(|at| at.elapsed() < PROBE_INTERVAL);
            if probe.running || recent {
                return;
            }
            *probe = Probe {
                running: true,
                started: Some(Instant::now()),
            };
        }
        let (projections, freshness) = (self.state.projections.clone(), self.freshness.clone());
        tokio::spawn(async move {
            catch_up(projections, freshness.clone()).await;
            freshness.probe().running = false;
        });
    }

    /// An identity read from the read models, bounded like the catch-up: a
    /// store that does not answer in time is `unavailable`, not a hang.
    async fn bounded<T>(
        &self,
        read: impl std::future::Future<Output = Result<T, inkan_eventstore::StoreError>>,
    ) -> Result<T, Status> {
        match tokio::time::timeout(self.state.store_read_timeout, read).await {
            Ok(result) => result.map_err(|e| Status::from(crate::error::ApiError::from(e))),
            Err(_) => {
                tracing::warn!("identity read timed out: event store slower than the read bound");
                Err(Status::unavailable("event store unavailable"))
            }
        }
    }
}

/// The longest one background catch-up may run: a query on a connection
/// whose peer went silent would otherwise wait for TCP to give up (hours),
/// holding the catch-up lock and the probe slot all that time.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10);

/// One catch-up with the log; records in `freshness` whether the store answered.
async fn catch_up(projections: Arc<crate::projections::Projections>, freshness: Arc<Freshness>) {
    let result = tokio::time::timeout(CATCH_UP_LIMIT, projections.catch_up())
        .await
        .unwrap_or_else(|_| {
            Err(inkan_eventstore::StoreError::Unavailable(format!(
                "catching up took longer than {} s",
                CATCH_UP_LIMIT.as_secs()
            )))
        });
    match result {
        Ok(_) => {
            if freshness.degraded.swap(false, Ordering::AcqRel) {
                tracing::info!("event store answers again; reads catch up with the log");
            }
        }
        Err(e) => {
            if !freshness.degraded.swap(true, Ordering::AcqRel) {
                tracing::warn!(error = %e, "answering from read models that may lag: event store unavailable");
            }
        }
    }
}

pub fn service(state: AdminState) -> AdminInternalServer<AdminGrpc> {
    AdminInternalServer::new(AdminGrpc::new(state))
}

pub fn project_message(entry: &Entry<Project>) -> Option<pb::Project> {
    let s = entry.state.settings.as_ref()?;
    Some(pb::Project {
        id: entry.state.id.to_string(),
        client_id: entry.state.client_id.clone(),
        name: s.name.clone(),
        app_type: serde_plain(&s.app_type),
        redirect_uris: s.redirect_uris.clone(),
        post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
        scopes: s.scopes.clone(),
        grant_types: s
            .grant_types
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        token_endpoint_auth_method: s.token_endpoint_auth_method.as_str().to_string(),
        access_token_ttl_seconds: s.access_token_ttl_seconds,
        refresh_token_ttl_seconds: s.refresh_token_ttl_seconds,
        id_token_ttl_seconds: s.id_token_ttl_seconds,
        refresh_token_retry_seconds: s.refresh_token_retry_seconds,
        id_token_signed_response_alg: s.id_token_signed_response_alg.clone(),
        compat_claims: s.compat_claims,
        custom_claims: s.custom_claims,
        reject_unknown_scopes: s.reject_unknown_scopes,
        requires_pkce: s.requires_pkce(),
        login_methods: s.login_methods.iter().map(serde_plain).collect(),
        mfa: serde_plain(&s.mfa),
        default_acr_values: s
            .default_acr_values
            .iter()
            .map(|a| a.as_str().to_string())
            .collect(),
        allow_signup: s.allow_signup,
        require_verified_email: s.require_verified_email,
        logo_uri: s.logo_uri.clone().unwrap_or_default(),
        primary_color: s.primary_color.clone().unwrap_or_default(),
        backchannel_logout_uri: s.backchannel_logout_uri.clone().unwrap_or_default(),
        backchannel_logout_session_required: s.backchannel_logout_session_required,
        jwks_json: s.jwks.as_ref().map(|k| k.to_string()).unwrap_or_default(),
        jwks_uri: s.jwks_uri.clone().unwrap_or_default(),
        require_pushed_authorization_requests: s.require_pushed_authorization_requests,
        dpop_bound_access_tokens: s.dpop_bound_access_tokens,
        profile: serde_plain(&s.profile),
    })
}

/// The identity as the login services see it; `None` for one that cannot
/// sign in (deleted, or blocked by an admin): to them it does not exist.
pub fn identity_message(entry: &Entry<Identity>) -> Option<pb::Identity> {
    if entry.state.blocked {
        return None;
    }
    let p = entry.state.profile.as_ref()?;
    Some(pb::Identity {
        id: entry.state.id.to_string(),
        email: p.email.clone(),
        email_verified: p.email_verified,
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        claims_json: serde_json::Value::Object(p.claims.clone()).to_string(),
        totp: entry.state.totp.is_some(),
        session_epoch: entry.state.session_epoch,
    })
}

fn link_purpose(raw: i32) -> Result<inkan_domain::identity::LinkPurpose, Status> {
    use inkan_domain::identity::LinkPurpose;
    match pb::LinkPurpose::try_from(raw) {
        Ok(pb::LinkPurpose::VerifyEmail) => Ok(LinkPurpose::VerifyEmail),
        Ok(pb::LinkPurpose::ResetPassword) => Ok(LinkPurpose::ResetPassword),
        Ok(pb::LinkPurpose::ChangeEmail) => Ok(LinkPurpose::ChangeEmail),
        _ => Err(Status::invalid_argument(
            "purpose: must be VERIFY_EMAIL or RESET_PASSWORD",
        )),
    }
}

/// An identity's passkeys as the wire carries them.
pub fn passkey_messages(identity: &Identity) -> Vec<pb::Passkey> {
    identity
        .passkeys
        .iter()
        .map(|p| pb::Passkey {
            credential_id: p.credential_id.clone(),
            name: p.name.clone(),
            credential_json: p.credential.to_string(),
            backup_eligible: p.backup_eligible,
            registered_at: p.registered_at.unix_timestamp(),
        })
        .collect()
}

fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[tonic::async_trait]
impl AdminInternal for AdminGrpc {
    async fn resolve_project(
        &self,
        request: Request<pb::ResolveProjectRequest>,
    ) -> Result<Response<pb::ProjectReply>, Status> {
        self.fresh().await;
        let req = request.into_inner();
        let projections = &self.state.projections;
        let project = projections
            .project_by_client_id(&req.client_id)
            .and_then(|e| project_message(&e))
            .ok_or_else(|| Status::not_found("unknown client_id"))?;
        Ok(Response::new(pb::ProjectReply {
            position: projections.position(),
            project: Some(project),
        }))
    }

    async fn authenticate_client(
        &self,
        request: Request<pb::AuthenticateClientRequest>,
    ) -> Result<Response<pb::ProjectReply>, Status> {
        self.fresh().await;
        let req = request.into_inner();
        let projections = &self.state.projections;
        let entry = projections.project_by_client_id(&req.client_id);
        let ok = entry
            .as_ref()
            .and_then(|e| e.state.secret_hash.as_deref())
            .is_some_and(|stored| self.state.secrets.verify(&req.client_secret, stored));
        let project = entry
            .filter(|_| ok)
            .and_then(|e| project_message(&e))
            .ok_or_else(|| Status::unauthenticated("client authentication failed"))?;
        Ok(Response::new(pb::ProjectReply {
            position: projections.position(),
            project: Some(project),
        }))
    }

    async fn verify_password(
        &self,
        request: Request<pb::VerifyPasswordRequest>,
    ) -> Result<Response<pb::IdentityReply>, Status> {
        self.fresh().await;
        let req = request.into_inner();
        let projections = &self.state.projections;
        let entry = self
            .bounded(projections.identity_by_email(&req.email))
            .await?;
        let stored = entry.as_ref().and_then(|e| e.state.password_hash.clone());
        // argon2id is CPU-bound: run it on the blocking pool, within the
        // concurrency cap. An unknown email (or one without a password) is
        // checked against a dummy hash so it costs the same time as a wrong password.
        let password = req.password;
        let presented = password.clone();
        let ok = self
            .state
            .with_password_slot(move |hasher| match stored {
                Some(phc) => hasher.verify(&presented, &phc),
                None => {
                    hasher.verify_dummy(&presented);
                    false
                }
            })
            .await?;
        if ok {
            if let Some(entry) = &entry {
                self.rehash_if_outdated(entry, password).await;
            }
        }
        let identity = entry
            .filter(|_| ok)
            .and_then(|e| identity_message(&e))
            .ok_or_else(|| Status::unauthenticated("invalid credentials"))?;
        Ok(Response::new(pb::IdentityReply {
            position: projections.position(),
            identity: Some(identity),
        }))
    }

    async fn get_identity(
        &self,
        request: Request<pb::GetIdentityRequest>,
    ) -> Result<Response<pb::IdentityReply>, Status> {
        self.fresh().await;
        let req = request.into_inner();
        let projections = &self.state.projections;
        let entry = match uuid::Uuid::parse_str(&req.id) {
            Ok(id) => self.bounded(projections.identity(id)).await?,
            Err(_) => None,
        };
        let identity = entry
            .and_then(|e| identity_message(&e))
            .ok_or_else(|| Status::not_found("unknown identity"))?;
        Ok(Response::new(pb::IdentityReply {
            position: projections.position(),
            identity: Some(identity),
        }))
    }

    async fn list_passkeys(
        &self,
        request: Request<pb::ListPasskeysRequest>,
    ) -> Result<Response<pb::PasskeysReply>, Status> {
        self.fresh().await;
        let req = request.into_inner();
        let projections = &self.state.projections;
        let entry = match uuid::Uuid::parse_str(&req.identity_id) {
            Ok(id) => self.bounded(projections.identity(id)).await?,
            Err(_) => None,
        };
        let entry = entry
            .filter(|e| e.state.profile.is_some() && !e.state.deleted && !e.state.blocked)
            .ok_or_else(|| Status::not_found("unknown identity"))?;
        Ok(Response::new(pb::PasskeysReply {
            position: projections.position(),
            passkeys: passkey_messages(&entry.state),
        }))
    }

    async fn register_passkey(
        &self,
        request: Request<pb::RegisterPasskeyRequest>,
    ) -> Result<Response<pb::PasskeysReply>, Status> {
        let req = request.into_inner();
        let id = uuid::Uuid::parse_str(&req.identity_id)
            .map_err(|_| Status::not_found("unknown identity"))?;
        let credential = serde_json::from_str(&req.credential_json)
            .map_err(|_| Status::invalid_argument("credential_json is not JSON"))?;
        let passkey = Passkey {
            credential_id: req.credential_id,
            name: req.name,
            credential,
            backup_eligible: req.backup_eligible,
            registered_at: self.state.clock.now_utc(),
        };
        // The authorize service is the actor: it ran the ceremony the user completed.
        crate::commands::execute::<Identity>(
            &self.state,
            "authorize",
            id,
            IdentityCommand::RegisterPasskey { passkey },
        )
        .await
        .map_err(Status::from)?;
        let projections = &self.state.projections;
        let entry = self
            .bounded(projections.identity(id))
            .await?
            .ok_or_else(|| Status::not_found("unknown identity"))?;
        Ok(Response::new(pb::PasskeysReply {
            position: projections.position(),
            passkeys: passkey_messages(&entry.state),
        }))
    }

    async fn enrol_totp(
        &self,
        request: Request<pb::EnrolTotpRequest>,
    ) -> Result<Response<pb::EnrolTotpReply>, Status> {
        let req = request.into_inner();
        let id = uuid::Uuid::parse_str(&req.identity_id)
            .map_err(|_| Status::not_found("unknown identity"))?;
        let secret = inkan_otp::Secret::from_bytes(&req.secret)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let codes = inkan_otp::recovery_codes();
        let totp = Totp {
            sealed_secret: crate::totp::seal(&self.state.kek, id, &secret),
            recovery_codes: codes
                .iter()
                .map(|c| crate::totp::recovery_hash(&self.state.secrets, id, c))
                .collect(),
            enrolled_at: self.state.clock.now_utc(),
        };
        crate::commands::execute::<Identity>(
            &self.state,
            "authorize",
            id,
            IdentityCommand::EnrolTotp { totp },
        )
        .await
        .map_err(Status::from)?;
        Ok(Response::new(pb::EnrolTotpReply {
            recovery_codes: codes,
        }))
    }

    async fn verify_second_factor(
        &self,
        request: Request<pb::VerifySecondFactorRequest>,
    ) -> Result<Response<pb::VerifySecondFactorReply>, Status> {
        use pb::verify_second_factor_reply::Outcome;
        self.fresh().await;
        let req = request.into_inner();
        let reply = |outcome: Outcome, step: u64, left: usize| {
            Ok(Response::new(pb::VerifySecondFactorReply {
                outcome: outcome as i32,
                step: i64::try_from(step).unwrap_or(0),
                recovery_codes_left: u32::try_from(left).unwrap_or(0),
            }))
        };
        let Ok(id) = uuid::Uuid::parse_str(&req.identity_id) else {
            return reply(Outcome::NotEnrolled, 0, 0);
        };
        let entry = self.bounded(self.state.projections.identity(id)).await?;
        let Some(totp) = entry.and_then(|e| e.state.totp.clone()) else {
            return reply(Outcome::NotEnrolled, 0, 0);
        };
        if inkan_otp::looks_like_code(&req.code) {
            let secret =
                crate::totp::open(&self.state.kek, id, &totp.sealed_secret).ok_or_else(|| {
                    tracing::error!("a one-time-code secret does not open under this KEK");
                    Status::internal("a stored second factor cannot be read")
                })?;
            let now = u64::try_from(self.state.clock.now_utc().unix_timestamp()).unwrap_or(0);
            return match secret.check(&req.code, now) {
                Some(step) => reply(Outcome::Totp, step, 0),
                None => reply(Outcome::Rejected, 0, 0),
            };
        }
        let Some(code) = inkan_otp::normalize_recovery_code(&req.code) else {
            return reply(Outcome::Rejected, 0, 0);
        };
        let code_hash = crate::totp::recovery_hash(&self.state.secrets, id, &code);
        // Spending the code is an event: of two racing uses, the append of
        // one wins, the other's version conflicts, and its retry finds the
        // code gone (NotFound). Three tries bound it.
        let mut spent = Err(crate::error::ApiError::Conflict("not tried".into()));
        for _ in 0..3 {
            spent = crate::commands::execute::<Identity>(
                &self.state,
                "authorize",
                id,
                IdentityCommand::UseRecoveryCode {
                    code_hash: code_hash.clone(),
                },
            )
            .await;
            if !matches!(spent, Err(crate::error::ApiError::Conflict(_))) {
                break;
            }
        }
        match spent {
            Ok(_) => {
                let left = self
                    .bounded(self.state.projections.identity(id))
                    .await?
                    .and_then(|e| e.state.totp)
                    .map_or(0, |t| t.recovery_codes.len());
                reply(Outcome::RecoveryCode, 0, left)
            }
            Err(crate::error::ApiError::NotFound) => reply(Outcome::Rejected, 0, 0),
            Err(e) => Err(Status::from(e)),
        }
    }

    async fn request_link(
        &self,
        request: Request<pb::RequestLinkRequest>,
    ) -> Result<Response<pb::RequestLinkReply>, Status> {
        use crate::links::Whose;
        let req = request.into_inner();
        let purpose = link_purpose(req.purpose)?;
        let whose = match purpose {
            inkan_domain::identity::LinkPurpose::VerifyEmail => {
                let Ok(id) = uuid::Uuid::parse_str(&req.identity_id) else {
                    return Err(Status::not_found("unknown identity"));
                };
                Whose::Identity(id)
            }
            inkan_domain::identity::LinkPurpose::ResetPassword => Whose::Email(&req.email),
            inkan_domain::identity::LinkPurpose::ChangeEmail => {
                let Ok(id) = uuid::Uuid::parse_str(&req.identity_id) else {
                    return Err(Status::not_found("unknown identity"));
                };
                Whose::Move {
                    identity: id,
                    to: &req.email,
                }
            }
        };
        let request = crate::links::request(
            &self.state,
            "authorize",
            purpose,
            whose,
            &req.locale,
            req.client_id,
        );
        // A write: not bounded by the read timeout, but by the store's own.
        request.await.map_err(Status::from)?;
        Ok(Response::new(pb::RequestLinkReply {}))
    }

    async fn redeem_link(
        &self,
        request: Request<pb::RedeemLinkRequest>,
    ) -> Result<Response<pb::RedeemLinkReply>, Status> {
        use crate::links::Redeemed;
        use pb::redeem_link_reply::Outcome;
        let req = request.into_inner();
        let purpose = link_purpose(req.purpose)?;
        let password = zeroize::Zeroizing::new(req.new_password);
        let redeemed =
            crate::links::redeem(&self.state, purpose, &req.token, password, &req.locale)
                .await
                .map_err(Status::from)?;
        let (outcome, problem, identity_id) = match redeemed {
            Redeemed::Done(id) => (Outcome::Done, String::new(), id.to_string()),
            Redeemed::InvalidLink => (Outcome::InvalidLink, String::new(), String::new()),
            Redeemed::RejectedPassword(problem) => {
                (Outcome::RejectedPassword, problem, String::new())
            }
            Redeemed::AddressTaken => (Outcome::AddressTaken, String::new(), String::new()),
        };
        Ok(Response::new(pb::RedeemLinkReply {
            outcome: outcome as i32,
            problem,
            identity_id,
        }))
    }

    async fn sign_up(
        &self,
        request: Request<pb::SignUpRequest>,
    ) -> Result<Response<pb::SignUpReply>, Status> {
        use crate::signup::SignedUp;
        use pb::sign_up_reply::Outcome;
        let req = request.into_inner();
        let signed_up = crate::signup::sign_up(
            &self.state,
            crate::signup::SignUp {
                client_id: req.client_id,
                email: req.email,
                password: zeroize::Zeroizing::new(req.password),
                first_name: req.first_name,
                last_name: req.last_name,
                locale: req.locale,
            },
        )
        .await
        .map_err(Status::from)?;
        let (outcome, field, problem) = match signed_up {
            SignedUp::Accepted => (Outcome::Accepted, String::new(), String::new()),
            SignedUp::NotAllowed => (Outcome::NotAllowed, String::new(), String::new()),
            SignedUp::Invalid(fields) => {
                let first = fields.into_iter().next();
                let (field, problem) = first.map_or_else(
                    || ("body".to_string(), "is invalid".to_string()),
                    |f| (f.field, f.message),
                );
                (Outcome::Invalid, field, problem)
            }
        };
        Ok(Response::new(pb::SignUpReply {
            outcome: outcome as i32,
            field,
            problem,
        }))
    }

    async fn update_names(
        &self,
        request: Request<pb::UpdateNamesRequest>,
    ) -> Result<Response<pb::IdentityReply>, Status> {
        let req = request.into_inner();
        let id = uuid::Uuid::parse_str(&req.identity_id)
            .map_err(|_| Status::not_found("unknown identity"))?;
        let input = inkan_domain::identity::ProfileInput {
            first_name: Some(req.first_name),
            last_name: Some(req.last_name),
            ..Default::default()
        };
        let position = crate::commands::execute::<Identity>(
            &self.state,
            "account",
            id,
            IdentityCommand::UpdateProfile { input },
        )
        .await
        .map_err(Status::from)?;
        let entry = self.bounded(self.state.projections.identity(id)).await?;
        let identity = entry.as_ref().and_then(identity_message);
        Ok(Response::new(pb::IdentityReply { position, identity }))
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordReply>, Status> {
        use pb::change_password_reply::Outcome;
        let req = request.into_inner();
        let reply = |outcome: Outcome, problem: String| {
            Ok(Response::new(pb::ChangePasswordReply {
                outcome: outcome as i32,
                problem,
            }))
        };
        let Ok(id) = uuid::Uuid::parse_str(&req.identity_id) else {
            return reply(Outcome::WrongPassword, String::new());
        };
        let entry = self.bounded(self.state.projections.identity(id)).await?;
        let Some(entry) =
            entry.filter(|e| e.state.profile.is_some() && !e.state.deleted && !e.state.blocked)
        else {
            return reply(Outcome::WrongPassword, String::new());
        };
        let stored = entry.state.password_hash.clone();
        let current = zeroize::Zeroizing::new(req.current_password);
        let presented = current.to_string();
        let ok = self
            .state
            .with_password_slot(move |hasher| match stored {
                Some(phc) => hasher.verify(&presented, &phc),
                None => {
                    hasher.verify_dummy(&presented);
                    false
                }
            })
            .await
            .map_err(Status::from)?;
        if !ok {
            return reply(Outcome::WrongPassword, String::new());
        }
        let email = entry.state.profile.as_ref().map(|p| p.email.as_str());
        let new_password = zeroize::Zeroizing::new(req.new_password);
        if let Err(problem) = inkan_domain::validation::check_password_for_email(
            &new_password,
            self.state.password_min_length,
            email,
        ) {
            return reply(Outcome::Rejected, problem.to_string());
        }
        let password_hash = self
            .state
            .hash_password(new_password.to_string())
            .await
            .map_err(Status::from)?;
        crate::commands::execute::<Identity>(
            &self.state,
            "account",
            id,
            IdentityCommand::SetPassword { password_hash },
        )
        .await
        .map_err(Status::from)?;
        reply(Outcome::Changed, String::new())
    }

    async fn remove_credential(
        &self,
        request: Request<pb::RemoveCredentialRequest>,
    ) -> Result<Response<pb::RemoveCredentialReply>, Status> {
        let req = request.into_inner();
        let id = uuid::Uuid::parse_str(&req.identity_id)
            .map_err(|_| Status::not_found("unknown identity"))?;
        let command = if req.credential_id.is_empty() {
            IdentityCommand::RemoveTotp
        } else {
            IdentityCommand::RemovePasskey {
                credential_id: req.credential_id,
            }
        };
        crate::commands::execute::<Identity>(&self.state, "account", id, command)
            .await
            .map_err(Status::from)?;
        Ok(Response::new(pb::RemoveCredentialReply {}))
    }

    async fn sign_out(
        &self,
        request: Request<pb::SignOutRequest>,
    ) -> Result<Response<pb::SignOutReply>, Status> {
        let req = request.into_inner();
        let id = uuid::Uuid::parse_str(&req.identity_id)
            .map_err(|_| Status::not_found("unknown identity"))?;
        // The login services end sessions for their users only; an
        // admin's revocation goes through the REST API.
        let reason = match LogoutReason::parse(&req.reason) {
            Some(r @ (LogoutReason::Logout | LogoutReason::SignedOut)) => r,
            _ => return Err(Status::invalid_argument("reason: logout or signed_out")),
        };
        let signed_out = crate::sessions::sign_out(
            &self.state,
            "authorize",
            id,
            crate::sessions::Which::Handles(&req.session_handles),
            reason,
        )
        .await
        .map_err(Status::from)?;
        Ok(Response::new(pb::SignOutReply {
            ended: u32::try_from(signed_out.ended).unwrap_or(u32::MAX),
            notices: signed_out
                .notices
                .into_iter()
                .map(|n| pb::SignOutNotice {
                    sid: n.sid,
                    client_id: n.client_id,
                })
                .collect(),
        }))
    }

    async fn get_signing_keys(
        &self,
        _request: Request<pb::GetSigningKeysRequest>,
    ) -> Result<Response<pb::SigningKeysReply>, Status> {
        self.fresh().await;
        use base64::Engine;
        let projections = &self.state.projections;
        let now = self.state.clock.now_utc();
        let keys = projections
            .signing_keys()
            .into_iter()
            .filter(|k| k.state.is_published(now))
            .filter_map(|k| {
                let generated = k.state.key?;
                let sealed = base64::engine::general_purpose::STANDARD
                    .decode(&generated.sealed_private_key)
                    .ok()?;
                Some(pb::SigningKey {
                    kid: generated.kid,
                    alg: generated.alg,
                    status: serde_plain(&k.state.status?),
                    sealed_private_key: sealed,
                    public_jwk_json: generated.public_jwk.to_string(),
                })
            })
            .collect();
        Ok(Response::new(pb::SigningKeysReply {
            position: projections.position(),
            keys,
        }))
    }
}
