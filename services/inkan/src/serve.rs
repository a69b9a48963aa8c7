//! Runs the services of one role until SIGTERM or Ctrl-C, then shuts down
//! gracefully: stop accepting, tell kept-alive clients to close, finish
//! in-flight requests, exit.
//!
//! Start-up is two steps, so a port that is taken fails the start before
//! anything is written: [`App::bind`] checks the settings and binds every
//! listener the role needs (public HTTP, operations, gRPC when served);
//! [`App::run`] then opens the stores, migrates, creates the bootstrap admin
//! client and serves until its shutdown token is cancelled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::serve::ListenerExt;
use axum::Router;
use inkan_admin::{AdminState, KeyPolicy};
use inkan_config::{Role, Settings};
use inkan_directory::cache::{CacheLifetimes, CachedDirectory};
use inkan_directory::{Directory, Grpc, InProcess, KeyRing};
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::{generate_secret, SecretHasher};
use inkan_relay::Relay;
use inkan_web::clock::SystemClock;
use inkan_web::rate_limit::{RateLimitGroup, RateLimiter};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::backends;
use crate::health::{self, Health};
use crate::listener::DrainingListener;

/// The client id of the bootstrap admin client when none is configured.
const DEFAULT_ADMIN_CLIENT_ID: &str = "inkan-admin";

/// `inkan migrate`: create or upgrade the event store's schema.
pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let store = backends::event_store(&settings).await?;
    store.migrate().await.context("migrating the event store")?;
    println!("inkan: event store schema is up to date");
    Ok(())
}

/// `inkan projections rebuild`: migrate, then rebuild the read-model tables
/// from the whole log and report the throughput.
pub async fn rebuild_projections(settings: Settings) -> anyhow::Result<()> {
    let store = backends::event_store(&settings).await?;
    store.migrate().await.context("migrating the event store")?;
    let head = store.head().await.context("reading the log's head")?;
    println!("inkan: rebuilding the read models from {head} events");
    let report = inkan_admin::projections::rebuild(store)
        .await
        .context("rebuilding the read models")?;
    println!(
        "inkan: rebuilt the read models from {} events in {:.2} s ({:.0} events/s): \
         {} projects, {} identities, {} signing keys",
        report.events,
        report.elapsed.as_secs_f64(),
        report.events_per_second(),
        report.projects,
        report.identities,
        report.signing_keys,
    );
    Ok(())
}

/// `inkan serve`: binds, then runs until SIGTERM or Ctrl-C.
pub async fn run(role: Role, settings: Settings) -> anyhow::Result<()> {
    let app = App::bind(role, settings).await?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        stop.cancel();
    });
    app.run(shutdown).await
}

/// One process of one role, its listeners bound, nothing else created yet.
pub struct App {
    role: Role,
    settings: Settings,
    http: TcpListener,
    /// `/metrics`, `/healthz`, `/readyz`: for operators, not the public.
    metrics: TcpListener,
    /// The internal gRPC API, when this role serves it
    /// ([`Settings::grpc_listen_addr`]).
    grpc: Option<TcpListener>,
}

impl App {
    /// Refuses unsafe settings, then binds every listener the role needs —
    /// before any store is opened, any key generated or the bootstrap admin
    /// client created, so a start that cannot serve leaves nothing behind
    /// (no secret printed and stored for a process that then exits).
    pub async fn bind(role: Role, settings: Settings) -> anyhow::Result<App> {
        crate::safety::refuse_unsafe_settings(&settings)?;
        let http = bind("HTTP", "INKAN_HTTP_ADDR", settings.http_addr).await?;
        let metrics = bind("metrics", "INKAN_METRICS_ADDR", settings.metrics_addr).await?;
        let grpc = match settings.grpc_listen_addr(role) {
            Some(addr) => Some(bind("gRPC", "INKAN_GRPC_ADDR", addr).await?),
            None => None,
        };
        Ok(App {
            role,
            settings,
            http,
            metrics,
            grpc,
        })
    }

    /// Where the public HTTP listener was bound (the OS's port when asked for port 0).
    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http.local_addr()
    }

    /// Where the operations listener (`/metrics`, health) was bound.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics.local_addr()
    }

    /// Where the internal gRPC API was bound, if this role serves it.
    pub fn grpc_addr(&self) -> std::io::Result<Option<SocketAddr>> {
        self.grpc.as_ref().map(TcpListener::local_addr).transpose()
    }

    /// Creates everything and serves until `shutdown` is cancelled, then
    /// drains (bounded by [`SHUTDOWN_GRACE`]).
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (http_addr, metrics_addr, grpc_addr) =
            (self.http_addr()?, self.metrics_addr()?, self.grpc_addr()?);
        let App {
            role,
            settings,
            http: listener,
            metrics: metrics_listener,
            grpc: grpc_listener,
        } = self;
        // Discovery's `issuer`, exactly (no trailing slash).
        let issuer = settings.issuer.as_str().trim_end_matches('/').to_string();
        let backends = backends::connect(&settings, role.runs(Role::Admin)).await?;
        let kek = backends::key_encryption_key(&settings)?;
        if let Some(store) = &backends.store {
            store.migrate().await.context("migrating the event store")?;
        }
        let mut tasks = tokio::task::JoinSet::new();
        let mut app = Router::new();
        let directory: Arc<dyn Directory>;
        let mut cache: Option<Arc<CachedDirectory>> = None;
        let keys_changed = Arc::new(tokio::sync::Notify::new());
        let mut admin_for_deliverer: Option<AdminState> = None;

        // The pages' and mails' languages: built in, plus the operator's folder.
        let catalogues = Arc::new(
            inkan_i18n::Catalogues::load(settings.locales_dir.as_deref())
                .context("loading INKAN_LOCALES_DIR")?,
        );

        if role.runs(Role::Admin) {
            let store = backends
                .store
                .clone()
                .context("the admin role needs an event store")?;
            let mut admin = admin_state(&settings, &issuer, store.clone(), kek.clone())?;
            // Sessions live in the login services' key-value store: the
            // admin ends them there (sessions API, deletions, resets).
            admin.kv = backends.kv.clone();
            admin
                .projections
                .catch_up()
                .await
                .context("loading projections")?;
            bootstrap(&settings, &admin).await?;
            inkan_admin::keys::ensure_initial_keys(&admin)
                .await
                .map_err(|e| anyhow::anyhow!("creating the first signing keys: {e}"))?;

            // Relay: committed events → bus, resuming from its stored cursor.
            let relay = Relay::new(store, backends.bus.clone());
            tasks.spawn(relay.run(admin.appended.clone(), shutdown.clone()));

            // Mailer: the mails identity events ask for, from a durable consumer.
            if let Some(mailer) = mailer(&settings, &issuer, &admin, catalogues.clone())? {
                let source = backends
                    .durable
                    .clone()
                    .context("the mailer needs a durable consumer source")?;
                tasks.spawn(mailer.run(source, shutdown.clone()));
            }

            // Follow appends made by other admin replicas.
            let follower = admin.projections.clone();
            let log = admin.store.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {
                            // How far the read models were behind the log, before catching up.
                            if let Ok(head) = log.head().await {
                                inkan_telemetry::metrics::event_lag(head - follower.position());
                            }
                            if let Err(e) = follower.catch_up().await {
                                tracing::warn!(error = %e, "projection catch-up failed");
                            }
                        }
                    }
                }
            });

            // Signing-key schedule: activate published keys when due, rotate old ones.
            let scheduler = admin.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {
                            let now = scheduler.clock.now_utc();
                            if let Err(e) = inkan_admin::keys::run_schedule(&scheduler, now).await {
                                tracing::warn!(error = %e, "signing-key schedule failed; retrying");
                            }
                        }
                    }
                }
            });

            // Internal gRPC API, when this role serves it (bound in `App::bind`).
            if let Some(grpc_listener) = grpc_listener {
                // The standard gRPC health service (grpc.health.v1) beside the admin API.
                let (health, health_service) = tonic_health::server::health_reporter();
                health
                .set_serving::<inkan_proto::admin::v1::admin_internal_server::AdminInternalServer<
                    inkan_admin::grpc::AdminGrpc,
                >>()
                .await;
                let grpc = tonic::service::Routes::new(inkan_admin::grpc::service(admin.clone()))
                    .add_service(health_service);
                let stop = shutdown.clone();
                tasks.spawn(async move {
                    let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener);
                    if let Err(e) = tonic::transport::Server::builder()
                        .layer(inkan_telemetry::trace_layer())
                        .add_routes(grpc)
                        .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                        .await
                    {
                        tracing::error!(error = %e, "gRPC server failed");
                    }
                });
            }

            admin_for_deliverer = Some(admin.clone());
            directory = Arc::new(InProcess(Arc::new(
                inkan_admin::grpc::AdminGrpc::in_process(admin.clone()),
            )));
            app = app.merge(inkan_admin::router(admin));
        } else {
            // Microservices mode: admin over gRPC, cached, kept fresh by the bus.
            let remote: Arc<dyn Directory> =
                Arc::new(Grpc::connect_lazy(&settings.admin_grpc_url)?);
            let cached = Arc::new(CachedDirectory::new(remote, CacheLifetimes::default()));
            tasks.spawn(
                cached
                    .clone()
                    .follow(backends.bus.clone(), shutdown.clone()),
            );
            directory = cached.clone();
            cache = Some(cached);
        }

        // Signing keys, parsed once per change, refreshed from the directory.
        let dpop_nonce_key = kek.derive("dpop-nonce");
        let keyring = Arc::new(KeyRing::new(directory.clone(), kek));
        if let Err(e) = keyring.refresh().await {
            tracing::warn!(error = %e, "signing keys not loaded yet; retrying in the background");
        }

        // Back-channel logout: the notices identity events ask for, from a
        // durable consumer, signed with the key ring (admin role only).
        if let Some(admin) = &admin_for_deliverer {
            let source = backends
                .durable
                .clone()
                .context("the back-channel logout deliverer needs a durable consumer source")?;
            let deliverer = inkan_backchannel::Deliverer::new(
                &issuer,
                directory.clone(),
                keyring.clone(),
                Arc::new(inkan_admin::sessions::FailureLog(admin.clone())),
                backends.kv.clone(),
                backchannel_settings(&settings),
            )
            .context("building the back-channel logout HTTP client")?;
            tasks.spawn(deliverer.run(source, shutdown.clone()));
        }
        tasks.spawn(
            keyring.clone().run(
                Duration::from_secs(2),
                cache
                    .as_ref()
                    .map(|c| c.keys_changed.clone())
                    .unwrap_or(keys_changed),
                shutdown.clone(),
            ),
        );

        let trusted_proxy_header = settings
            .trusted_proxy_header
            .as_deref()
            .map(axum::http::HeaderName::try_from)
            .transpose()
            .context("INKAN_TRUSTED_PROXY_HEADER is not a valid header name")?;
        // Per-address rate limits (429 + Retry-After): each public service's
        // router declares its group; discovery, JWKS, admin and health have none.
        let limiter = RateLimiter {
            kv: backends.kv.clone(),
            per_minute: settings.rate_limit_per_minute,
            trusted_proxy_header: trusted_proxy_header.clone(),
        };

        // What every public service's state starts with, built once.
        let core = inkan_web::ServiceCore {
            issuer: issuer.clone().into(),
            directory: directory.clone(),
            keyring: keyring.clone(),
            kv: backends.kv.clone(),
            clock: Arc::new(SystemClock),
            dpop: dpop_policy(&settings, &dpop_nonce_key),
        };
        if role.runs(Role::Token) {
            let token = inkan_token::router(inkan_token::TokenState {
                core: core.clone(),
                client_rate_limit_per_minute: settings.client_rate_limit_per_minute,
                client_keys: Arc::new(
                    inkan_token::client_keys::KeySets::new(jwks_policy(&settings))
                        .context("building the client key set fetcher")?,
                ),
            });
            app = app.merge(limiter.apply(RateLimitGroup::Token, token));
        }
        if role.runs(Role::Authorize) {
            let passkeys = match inkan_authorize::webauthn::relying_party(&issuer, "Inkan") {
                Ok(rp) => Some(Arc::new(rp)),
                Err(e) => {
                    tracing::warn!(error = %e, "passkeys are off");
                    None
                }
            };
            let authorize = inkan_authorize::router(inkan_authorize::AuthorizeState {
                core: core.clone(),
                sessions: inkan_flows::session::Lifetimes::default(),
                // `__Host-` cookies need Secure, which browsers only send over https;
                // a plain-http issuer is only allowed on loopback for development.
                secure_cookies: settings.issuer.scheme() == "https",
                trusted_proxy_header,
                webauthn: passkeys.clone(),
                mail: settings.smtp_url.is_some(),
                catalogues: catalogues.clone(),
                end_session_wait: Duration::from_millis(settings.end_session_wait_ms),
            });
            app = app.merge(limiter.apply(RateLimitGroup::Browser, authorize));
        }
        if role.runs(Role::Userinfo) {
            let userinfo = inkan_userinfo::router(core.clone());
            app = app.merge(limiter.apply(RateLimitGroup::Userinfo, userinfo));
        }
        // Discovery and JWKS: any service answers them.
        app = app.merge(inkan_web::wellknown::router(&issuer, keyring.clone()));

        let health = health::router(Arc::new(Health {
            backends,
            cache,
            draining: shutdown.clone(),
        }));
        app = app.merge(health.clone());
        // After every route is merged, so both layers see the matched route template.
        let app = app
            .layer(inkan_telemetry::metrics_layer())
            .layer(inkan_telemetry::trace_layer());
        // Outermost, so every answer (429s and 404s included) says it once draining began.
        let draining = shutdown.clone();
        let app = inkan_web::drain::close_when(app, move || draining.is_cancelled());

        // The operations listener: metrics and health, never on the public
        // port. It outlives the public server's drain, so probes see `/readyz`
        // answer 503 while it lasts.
        let operations = health.merge(inkan_telemetry::metrics_router());
        let operations_stop = CancellationToken::new();
        let stop = operations_stop.clone();
        tasks.spawn(async move {
            if let Err(e) = axum::serve(metrics_listener, operations)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
            {
                tracing::error!(error = %e, "metrics server failed");
            }
        });

        // Tests and operators read these lines to learn the ports (each address
        // may use port 0); the `http` line comes last: everything is serving then.
        if let Some(addr) = grpc_addr {
            println!("inkan: grpc listening on {addr}");
        }
        println!("inkan: metrics listening on http://{metrics_addr}");
        println!("inkan: http listening on http://{http_addr} (issuer {issuer})");
        tracing::info!(%http_addr, %metrics_addr, ?role, embedded = settings.is_embedded(), "inkan started");

        // On SIGTERM: stop accepting, let kept-alive connections be told to
        // close (see `listener`), then close what is left and finish in-flight requests.
        let window = Duration::from_secs(settings.shutdown_drain_seconds);
        let listener = DrainingListener::new(listener, shutdown.clone(), window)?;
        let drained = listener.drained();
        // ConnectInfo: the peer address, which rate limits and login throttling
        // key on (a no-op `tap_io` gives a custom listener axum's `ConnectInfo<SocketAddr>`).
        let server = axum::serve(
            listener.tap_io(|_| {}),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(drained);
        // In-flight requests get a bounded grace period: a client that keeps an
        // idle connection open (a gRPC channel, a keep-alive pool) must not hold
        // the process past it.
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            served = server => served.context("HTTP server")?,
            _ = grace => tracing::warn!("in-flight HTTP requests outlived the shutdown grace period"),
        }
        operations_stop.cancel();
        shutdown.cancel();
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("background tasks outlived the shutdown grace period");
        }
        Ok(())
    }
}

/// Binds `addr`; the error names the listener and its setting.
async fn bind(what: &str, setting: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} listener on {addr} ({setting})"))
}

/// How long shutdown waits for in-flight work (below Kubernetes' default 30 s grace).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn admin_state(
    settings: &Settings,
    issuer: &str,
    store: Arc<dyn inkan_eventstore::EventStore>,
    kek: inkan_keys::kek::Kek,
) -> anyhow::Result<AdminState> {
    let secrets = SecretHasher::new(kek.derive("client-secret-hmac"));
    let passwords = PasswordHasher::new(PasswordParams::default());
    let key_policy = KeyPolicy {
        activation_delay: Duration::from_secs(settings.key_activation_delay_seconds),
        rotation_interval: (settings.key_rotation_days > 0)
            .then(|| Duration::from_secs(settings.key_rotation_days * 86_400)),
        ..KeyPolicy::default()
    };
    let mut state = AdminState::new(
        issuer.to_string(),
        store,
        kek,
        key_policy,
        secrets,
        passwords,
        settings.password_min_length,
    );
    state.store_read_timeout = Duration::from_millis(settings.admin_store_read_timeout_ms);
    state.mail = settings.smtp_url.is_some();
    state.backchannel_policy = backchannel_policy(settings);
    state.jwks_policy = jwks_policy(settings);
    Ok(state)
}

/// DPoP proof checks (RFC 9449 §8): nonces when `INKAN_DPOP_NONCE_SECONDS`
/// asks for them, from a key every replica derives from the KEK.
fn dpop_policy(settings: &Settings, nonce_key: &[u8; 32]) -> inkan_flows::dpop::DpopPolicy {
    match settings.dpop_nonce_seconds {
        0 => inkan_flows::dpop::DpopPolicy::default(),
        period => inkan_flows::dpop::DpopPolicy::with_nonces(*nonce_key, i64::from(period)),
    }
}

/// Where back-channel logout URIs may point: one policy for the admin's
/// registration check and the deliverer.
fn backchannel_policy(settings: &Settings) -> inkan_egress::Policy {
    inkan_egress::Policy::for_issuer(
        &settings.issuer,
        settings.backchannel_allow_private_networks,
    )
}

/// Where client key sets (`jwks_uri`) may be fetched from: one policy for
/// the admin's registration check and the token service's fetcher.
fn jwks_policy(settings: &Settings) -> inkan_egress::Policy {
    inkan_egress::Policy::for_issuer(&settings.issuer, settings.jwks_allow_private_networks)
}

/// The deliverer's patience and reach from the settings.
fn backchannel_settings(settings: &Settings) -> inkan_backchannel::Settings {
    inkan_backchannel::Settings {
        max_attempts: settings.backchannel_max_attempts,
        retry_base: Duration::from_millis(settings.backchannel_retry_base_ms),
        timeout: Duration::from_millis(settings.backchannel_timeout_ms),
        policy: backchannel_policy(settings),
        ..inkan_backchannel::Settings::default()
    }
}

/// The mailer, when an SMTP relay is configured. Neither the URL (it may
/// hold a password) nor any part of it is printed.
fn mailer(
    settings: &Settings,
    issuer: &str,
    admin: &AdminState,
    catalogues: Arc<inkan_i18n::Catalogues>,
) -> anyhow::Result<Option<inkan_mailer::Mailer>> {
    let Some(url) = &settings.smtp_url else {
        tracing::info!("no INKAN_SMTP_URL: password reset and email verification are off");
        return Ok(None);
    };
    let smtp = inkan_mailer::Smtp::from_url(url)?;
    let from = settings
        .mail_from
        .parse()
        .map_err(|e| anyhow::anyhow!("INKAN_MAIL_FROM is not a mailbox (`Name <address>`): {e}"))?;
    let letterhead = inkan_mailer::Letterhead {
        from,
        issuer: issuer.to_string(),
        product: "Inkan".to_string(),
        catalogues,
    };
    let opener = Arc::new(inkan_admin::links::Opener(admin.kek.clone()));
    Ok(Some(inkan_mailer::Mailer::new(letterhead, smtp, opener)))
}

/// On first start with an empty store, creates the admin client. In embedded
/// mode without a configured secret, generates one and prints it once.
async fn bootstrap(settings: &Settings, admin: &AdminState) -> anyhow::Result<()> {
    if admin.store.head().await? > 0 {
        return Ok(());
    }
    let client_id = settings
        .bootstrap_admin_client_id
        .clone()
        .unwrap_or_else(|| DEFAULT_ADMIN_CLIENT_ID.to_string());
    let (secret, generated) = match &settings.bootstrap_admin_client_secret {
        Some(secret) if secret.len() >= 32 => (secret.clone(), false),
        Some(_) => bail!("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET must be at least 32 characters"),
        None if settings.database_url.is_none() => (generate_secret(), true),
        None => bail!(
            "the event store is empty: set INKAN_BOOTSTRAP_ADMIN_CLIENT_ID and INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET to create the first admin client"
        ),
    };
    let created = inkan_admin::bootstrap::ensure_admin_client(admin, &client_id, &secret)
        .await
        .map_err(|e| anyhow::anyhow!("creating the bootstrap admin client: {e}"))?;
    if created && generated {
        // Printed to the terminal once, never logged.
        println!("inkan: created the bootstrap admin client (shown once, keep it safe):");
        println!("inkan:   client_id     = {client_id}");
        println!("inkan:   client_secret = {secret}");
    } else if created {
        tracing::info!(client_id = %client_id, "created the bootstrap admin client");
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
