//! `inkan-bench`: load-tests Inkan, one scenario after another, in one
//! deployment shape, optionally beside node-oidc-provider. See docs/benchmarks.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use inkan_bench::backends::BackendUrls;
use inkan_bench::procfs::clock_ticks;
use inkan_bench::{
    peer, reference, report, run, Config, Deployment, Shape, StartOptions, ALL_SCENARIOS,
};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(name = "inkan-bench", about = "A load generator for Inkan")]
struct Cli {
    /// Base URL of a running server (its admin credentials from
    /// --admin-client-id/--admin-client-secret; --pid to measure its CPU).
    #[arg(long, conflicts_with = "start")]
    target: Option<String>,

    /// Start Inkan: `embedded` (one `inkan serve`, embedded stores),
    /// `backends` (one `inkan serve` on PostgreSQL/Redis/NATS), or
    /// `microservices` (admin, authorize, token, userinfo as separate processes
    /// on PostgreSQL/Redis/NATS).
    #[arg(long, value_parser = ["embedded", "backends", "microservices"])]
    start: Option<String>,

    /// Token processes in the microservices shape; token-endpoint requests
    /// go round robin across them.
    #[arg(long, default_value_t = 1)]
    token_replicas: usize,

    /// The inkan binary for --start [default: the inkan next to this binary,
    /// else target/release/inkan under CARGO_TARGET_DIR if set].
    #[arg(long)]
    inkan_bin: Option<PathBuf>,

    /// PID(s) of the --target server's processes, to measure their CPU (repeatable).
    #[arg(long)]
    pid: Vec<u32>,

    #[arg(long, env = "INKAN_BOOTSTRAP_ADMIN_CLIENT_ID")]
    admin_client_id: Option<String>,

    #[arg(
        long,
        env = "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
        hide_env_values = true
    )]
    admin_client_secret: Option<String>,

    /// Seconds per scenario (measured; a short warm-up comes before).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,

    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,

    /// Comma-separated scenarios [default: all].
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,

    /// Distinct tokens the introspection and userinfo scenarios cycle through.
    #[arg(long, alias = "introspection-tokens", default_value_t = 1000)]
    tokens: usize,

    /// Signing algorithm of the web project the code-flow, refresh and userinfo scenarios use.
    #[arg(long, default_value = "ES256", value_parser = ["RS256", "ES256", "EdDSA"])]
    flow_alg: String,

    /// Seconds per bare-cost reference (signatures, argon2id) measured in
    /// the bench process before the load; 0 skips them.
    #[arg(long, default_value_t = 1.0)]
    reference_seconds: f64,

    /// Also run node-oidc-provider side by side (client_credentials per
    /// algorithm, introspection, discovery, JWKS); skipped with a message
    /// when node/npm is missing or `npm ci` fails.
    #[arg(long)]
    peer: bool,

    /// The peer's setup to copy (server.mjs, package-lock.json).
    #[arg(long, default_value = peer::DEFAULT_DIR)]
    peer_dir: PathBuf,

    /// PostgreSQL for --start backends/microservices (a fresh schema is created and dropped).
    #[arg(
        long,
        env = "INKAN_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,

    /// Redis for --start backends/microservices (a fresh key prefix, deleted after).
    #[arg(
        long,
        env = "INKAN_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,

    /// NATS JetStream for --start backends/microservices (a fresh stream, deleted after).
    #[arg(
        long,
        env = "INKAN_BENCH_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats_url: String,

    /// Also write everything as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn default_inkan_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let next_to_us = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("inkan")));
    // Prefer the inkan built next to this binary (same target dir, same profile).
    match next_to_us {
        Some(p) if p.exists() => p,
        _ => target.join("release").join("inkan"),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if !(cli.duration > 0.0 && cli.duration <= 3600.0) {
        bail!("--duration must be in (0, 3600] seconds");
    }
    if !(0.0..=60.0).contains(&cli.reference_seconds) {
        bail!("--reference-seconds must be in [0, 60]");
    }
    let scenarios = cli
        .scenarios
        .clone()
        .unwrap_or_else(|| ALL_SCENARIOS.iter().map(|s| s.to_string()).collect());
    for s in &scenarios {
        if !ALL_SCENARIOS.contains(&s.as_str()) {
            bail!(
                "unknown scenario {s:?} (known: {})",
                ALL_SCENARIOS.join(", ")
            );
        }
    }
    let shape = cli.start.as_deref().map(Shape::parse).transpose()?;
    if cli.token_replicas == 0 || (cli.token_replicas > 1 && shape != Some(Shape::Microservices)) {
        bail!("--token-replicas N (N >= 1) needs --start microservices for N > 1");
    }
    let (ticks, assumed) = clock_ticks();

    // Bare costs first, while the machine is not loaded by the bench itself.
    let refs = if cli.reference_seconds > 0.0 {
        Some(reference::measure(Duration::from_secs_f64(cli.reference_seconds)).await?)
    } else {
        None
    };

    let bin = cli.inkan_bin.clone().unwrap_or_else(default_inkan_bin);
    let deployment = match (&cli.target, shape) {
        (Some(target), None) => {
            let (Some(id), Some(secret)) = (&cli.admin_client_id, &cli.admin_client_secret) else {
                bail!("--target needs --admin-client-id and --admin-client-secret (or INKAN_BOOTSTRAP_ADMIN_CLIENT_ID/SECRET)");
            };
            Deployment::external(target, &cli.pid, id, secret)
        }
        (None, Some(shape)) => {
            Deployment::start(&StartOptions {
                shape,
                bin: bin.clone(),
                token_replicas: cli.token_replicas,
                backends: BackendUrls {
                    postgres: cli.database_url.clone(),
                    redis: cli.redis_url.clone(),
                    nats: cli.nats_url.clone(),
                },
            })
            .await?
        }
        _ => bail!("give exactly one of --target URL or --start SHAPE"),
    };
    let cfg = Config {
        duration: Duration::from_secs_f64(cli.duration),
        connections: cli.connections.max(1),
        scenarios,
        tokens: cli.tokens,
        flow_alg: cli.flow_alg.clone(),
    };
    let what = match (shape, &cli.target) {
        (Some(s), _) => format!(
            "--start {}{} ({})",
            s.as_str(),
            if cli.token_replicas > 1 {
                format!(" --token-replicas {}", cli.token_replicas)
            } else {
                String::new()
            },
            bin.display()
        ),
        (None, Some(t)) => format!("--target {t}"),
        _ => String::new(),
    };
    eprintln!(
        "inkan-bench: {what}, {} connections, {} s per scenario, CLK_TCK {}{}",
        cfg.connections,
        cli.duration,
        ticks,
        if assumed { " (assumed)" } else { "" }
    );

    let measured = deployment.measured();
    let results = run(
        &cfg,
        &deployment.routes,
        &deployment.admin_id,
        &deployment.admin_secret,
        &deployment.pids(),
    )
    .await?;
    let memory = deployment.memory(&results);
    let deployment_shape = deployment.shape;
    let namespace = deployment.namespace().map(|n| n.schema.clone());
    deployment
        .stop()
        .await
        .context("stop the servers and clean up")?;

    let mut peer_results = Vec::new();
    let mut peer_note = None;
    if cli.peer {
        match peer::unavailable_reason(&cli.peer_dir) {
            Some(reason) => peer_note = Some(format!("peer skipped: {reason}")),
            None => match peer::Peer::install(&cli.peer_dir) {
                Err(e) => peer_note = Some(format!("peer skipped: {e:#}")),
                Ok(p) => {
                    eprintln!(
                        "inkan-bench: peer node-oidc-provider {} installed",
                        p.version
                    );
                    match p.run(cfg.connections, cfg.duration, cfg.tokens).await {
                        Ok(r) => {
                            peer_results = r;
                            peer_note = Some(format!(
                                "peer: node-oidc-provider {} (node server.mjs, WORKERS=1; AT_FORMAT=jwt, one process per SIGN_ALG; introspection on AT_FORMAT=opaque, since the peer cannot introspect JWTs)",
                                p.version
                            ));
                        }
                        Err(e) => peer_note = Some(format!("peer failed: {e:#}")),
                    }
                }
            },
        }
    }

    let judged = report::judge(&results, refs.as_ref(), &peer_results, &cfg.flow_alg);
    print!("{}", report::processes(&measured));
    if let Some(r) = &refs {
        print!("{}", report::references(r));
    }
    print!("{}", report::table(&judged));
    println!();
    let by_process = report::cpu_by_process(&results, &measured);
    if !by_process.is_empty() {
        print!("{by_process}");
        println!();
    }
    print!("{}", report::memory(&memory, deployment_shape));
    if results.iter().any(|r| !r.peaks_reset) {
        println!("note: /proc/<pid>/clear_refs refused a peak reset: peaks are since the process started");
    }
    let rows = report::peer_rows(&results, &peer_results);
    if let Some(note) = &peer_note {
        println!();
        println!("{note}");
    }
    if !peer_results.is_empty() {
        print!("{}", report::peer_table(&rows, &peer_results));
    }
    for r in &results {
        if let Some(e) = &r.first_error {
            eprintln!("{}: {} errors; first: {e}", r.scenario, r.errors);
        }
    }
    if let Some(path) = &cli.json {
        let doc = json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "shape": deployment_shape,
            "target": cli.target,
            "inkan_bin": shape.map(|_| bin.display().to_string()),
            "token_replicas": cli.token_replicas,
            "backend_schema": namespace,
            "connections": cfg.connections,
            "duration_seconds": cli.duration,
            "clock_ticks_per_second": ticks,
            "clock_ticks_assumed": assumed,
            "measured_processes": measured,
            "references": refs,
            "results": judged,
            "memory": memory,
            "peer": {
                "note": peer_note,
                "results": peer_results,
                "comparison": rows,
            },
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}
