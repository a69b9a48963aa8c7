//! `inkan-scale`: puts Inkan at the scale of issue #6 (a million identities,
//! ten thousand projects) and drives it, for the figures in
//! `docs/benchmarks.md` ("Projections at scale").
//!
//! - `inkan-scale seed`: appends real domain events (built with the domain
//!   crate's `decide` and `encode`, exactly as the admin API would) to a
//!   PostgreSQL event log, thousands of streams per transaction through
//!   `PgEventStore::append_new_streams`. Every identity gets the same
//!   precomputed argon2id hash (of [`PASSWORD`]): hashing a million
//!   passwords is not what is measured.
//! - `inkan-scale logins`: logs seeded identities in through the admin's
//!   gRPC API (`VerifyPassword`, then `GetIdentity`, as the authorize and
//!   userinfo services do) and prints latency percentiles.
//!
//! # Layout
//! - `main.rs`: the command line, the seeder and the login driver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use inkan_domain::envelope::{Metadata, NewEvent};
use inkan_domain::identity::{Identity, IdentityCommand, ProfileInput};
use inkan_domain::project::{Project, ProjectCommand, ProjectInput};
use inkan_domain::{Aggregate, DomainEvent};
use inkan_eventstore::{Append, EventStore, ExpectedVersion, PgEventStore, UniqueKey};
use inkan_keys::kek::Kek;
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::SecretHasher;
use inkan_proto::admin::v1 as pb;
use inkan_proto::admin::v1::admin_internal_client::AdminInternalClient;
use rand::Rng;
use time::OffsetDateTime;
use uuid::Uuid;

/// The password of every seeded identity.
pub const PASSWORD: &str = "scale test passphrase 2026";

/// Streams written per transaction.
const CHUNK: usize = 5_000;

#[derive(Debug, Parser)]
#[command(name = "inkan-scale", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Append N identities and M projects to a PostgreSQL event log.
    Seed {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, env = "INKAN_DATABASE_SCHEMA", default_value = "inkan")]
        database_schema: String,
        /// The deployment's key-encryption key: client secret hashes are keyed with it.
        #[arg(long, env = "INKAN_KEY_ENCRYPTION_KEY", hide_env_values = true)]
        key_encryption_key: String,
        #[arg(long, default_value_t = 1_000_000)]
        identities: usize,
        #[arg(long, default_value_t = 10_000)]
        projects: usize,
        /// Afterwards, move the relay's cursor to the log's head, as if every
        /// event had been published to the bus when it was appended (what a
        /// long-running deployment looks like at a restart).
        #[arg(long)]
        mark_published: bool,
    },
    /// Log seeded identities in over the admin's gRPC API.
    Logins {
        /// The admin's gRPC address, e.g. http://127.0.0.1:9090.
        #[arg(long)]
        grpc: String,
        /// How many identities were seeded (logins pick among them at random).
        #[arg(long, default_value_t = 1_000_000)]
        identities: usize,
        /// Logins to perform.
        #[arg(long, default_value_t = 200)]
        count: usize,
        /// Logins in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

fn email(n: usize) -> String {
    format!("user{n}@scale.example")
}

fn metadata() -> Metadata {
    Metadata {
        actor: "inkan-scale".into(),
        trace_id: None,
        occurred_at: OffsetDateTime::now_utc(),
    }
}

/// The append the admin API's write path would make for these events.
fn append<A: Aggregate>(id: Uuid, state: &A, events: Vec<A::Event>) -> Append {
    let changes = state.unique_changes(&events);
    Append {
        stream_id: id,
        stream_type: A::STREAM_TYPE.to_string(),
        expected: ExpectedVersion::NoStream,
        events: events
            .iter()
            .map(|e| {
                let (event_type, payload) = e.encode();
                NewEvent {
                    id: Uuid::now_v7(),
                    event_type,
                    payload,
                    metadata: metadata(),
                }
            })
            .collect(),
        claim: changes
            .claim
            .into_iter()
            .map(|u| UniqueKey::new(u.scope, u.value))
            .collect(),
        release: Vec::new(),
    }
}

fn identity_append(n: usize, password_hash: &str) -> anyhow::Result<Append> {
    let id = Uuid::now_v7();
    let state = Identity::with_id(id);
    let events = state.decide(IdentityCommand::Register {
        input: ProfileInput {
            email: Some(email(n)),
            email_verified: Some(true),
            first_name: Some(format!("User{n}")),
            last_name: Some("Scale".into()),
            claims: None,
        },
        password_hash: Some(password_hash.to_string()),
    })?;
    Ok(append(id, &state, events))
}

fn project_append(n: usize, secrets: &SecretHasher) -> anyhow::Result<Append> {
    let id = Uuid::now_v7();
    let state = Project::with_id(id);
    let input: ProjectInput = serde_json::from_value(serde_json::json!({
        "name": format!("Scale app {n}"),
        "app_type": "web",
        "redirect_uris": [format!("https://app{n}.scale.example/callback")],
        "post_logout_redirect_uris": [format!("https://app{n}.scale.example/")],
        "scopes": ["openid", "profile", "email", "offline_access"],
    }))?;
    let events = state.decide(ProjectCommand::Register {
        client_id: format!("scale-app-{n}"),
        input,
        secret_hash: Some(secrets.hash(&format!("scale-app-{n}-secret"))),
    })?;
    Ok(append(id, &state, events))
}

async fn seed(
    url: &str,
    schema: &str,
    kek: &str,
    identities: usize,
    projects: usize,
    mark_published: bool,
) -> anyhow::Result<()> {
    let store = Arc::new(
        PgEventStore::connect(url, schema, 2)
            .await
            .context("connecting to PostgreSQL")?,
    );
    store.migrate().await.context("migrating")?;
    let kek = Kek::from_base64(kek).context("INKAN_KEY_ENCRYPTION_KEY")?;
    let secrets = SecretHasher::new(kek.derive("client-secret-hmac"));
    // One hash with the production parameters, shared by every identity.
    let password_hash = PasswordHasher::new(PasswordParams::default())
        .hash(PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing the seed password: {e}"))?;

    let started = Instant::now();
    let mut written = 0usize;
    let mut position = 0;
    // Build the next chunk while the previous one is written.
    let mut pending: Option<tokio::task::JoinHandle<anyhow::Result<i64>>> = None;
    let total = projects + identities;
    let mut next = 0usize;
    while next < total {
        let end = (next + CHUNK).min(total);
        let chunk = (next..end)
            .map(|i| {
                if i < projects {
                    project_append(i, &secrets)
                } else {
                    identity_append(i - projects, &password_hash)
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(handle) = pending.take() {
            position = handle.await??;
        }
        written += chunk.len();
        let writer = store.clone();
        pending = Some(tokio::spawn(async move {
            writer
                .append_new_streams(&chunk)
                .await
                .context("appending a chunk")
        }));
        next = end;
        if written % 100_000 < CHUNK {
            eprintln!("inkan-scale: {written} streams built");
        }
    }
    if let Some(handle) = pending.take() {
        position = handle.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "inkan-scale: seeded {projects} projects and {identities} identities \
         ({written} events, log head {position}) in {elapsed:.1} s ({:.0} events/s)",
        written as f64 / elapsed
    );
    println!(
        "inkan-scale: every identity's password is {PASSWORD:?}; emails are user<N>@scale.example"
    );
    if mark_published {
        let head = store.head().await?;
        store.set_cursor(inkan_relay::CURSOR, head).await?;
        println!("inkan-scale: relay cursor set to the log head ({head})");
    }
    Ok(())
}

async fn logins(
    grpc: &str,
    identities: usize,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    if identities == 0 {
        bail!("--identities must be at least 1");
    }
    let client = AdminInternalClient::connect(grpc.to_string())
        .await
        .with_context(|| format!("connecting to {grpc}"))?;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    let per_worker = count.div_ceil(concurrency.max(1));
    for _ in 0..concurrency.max(1) {
        let mut client = client.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            for _ in 0..per_worker {
                let n = rand::rng().random_range(0..identities);
                let t = Instant::now();
                let verified = client
                    .verify_password(pb::VerifyPasswordRequest {
                        email: email(n),
                        password: PASSWORD.into(),
                    })
                    .await;
                let ok = match verified {
                    Ok(reply) => match reply.into_inner().identity {
                        Some(identity) => client
                            .get_identity(pb::GetIdentityRequest { id: identity.id })
                            .await
                            .is_ok(),
                        None => false,
                    },
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut failures = 0;
    while let Some(done) = workers.join_next().await {
        let (l, f) = done?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "inkan-scale: {} logins (VerifyPassword + GetIdentity) in {elapsed:.1} s ({:.1}/s), \
         {failures} failed; latency ms p50 {:.1} p90 {:.1} p99 {:.1}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.9),
        pct(0.99),
    );
    if failures > 0 {
        bail!("{failures} logins failed");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed {
            database_url,
            database_schema,
            key_encryption_key,
            identities,
            projects,
            mark_published,
        } => {
            seed(
                &database_url,
                &database_schema,
                &key_encryption_key,
                identities,
                projects,
                mark_published,
            )
            .await
        }
        Command::Logins {
            grpc,
            identities,
            count,
            concurrency,
        } => logins(&grpc, identities, count, concurrency).await,
    }
}
