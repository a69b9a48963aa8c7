//! `inkan-bench`: load-tests an Inkan server, one scenario after another.
//! See docs/benchmarks.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use inkan_bench::{
    clock_ticks, run, table, Config, Embedded, ALL_SCENARIOS, EMBEDDED_ADMIN_ID,
    EMBEDDED_ADMIN_SECRET,
};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(name = "inkan-bench", about = "A load generator for Inkan")]
struct Cli {
    /// Base URL of a running server (its bootstrap admin credentials come
    /// from --admin-client-id/--admin-client-secret).
    #[arg(long, conflicts_with = "start")]
    target: Option<String>,

    /// `embedded`: start target/release/inkan (see --inkan-bin) with a temp
    /// data dir, rate limits off, and measure its CPU.
    #[arg(long, value_parser = ["embedded"])]
    start: Option<String>,

    /// The inkan binary for --start embedded [default: target/release/inkan,
    /// under CARGO_TARGET_DIR if set].
    #[arg(long)]
    inkan_bin: Option<PathBuf>,

    /// PID of the --target server, to measure its CPU per request.
    #[arg(long)]
    pid: Option<u32>,

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

    /// Distinct access tokens the introspection scenario cycles through.
    #[arg(long, default_value_t = 1000)]
    introspection_tokens: usize,

    /// Also write the results as JSON to this file.
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

    let mut _embedded = None;
    let (base, pid, admin_id, admin_secret, bin) = match (&cli.target, &cli.start) {
        (Some(target), None) => {
            let (Some(id), Some(secret)) = (&cli.admin_client_id, &cli.admin_client_secret) else {
                bail!("--target needs --admin-client-id and --admin-client-secret (or INKAN_BOOTSTRAP_ADMIN_CLIENT_ID/SECRET)");
            };
            (
                target.trim_end_matches('/').to_string(),
                cli.pid,
                id.clone(),
                secret.clone(),
                None,
            )
        }
        (None, Some(_)) => {
            let bin = cli.inkan_bin.clone().unwrap_or_else(default_inkan_bin);
            let e = Embedded::start(&bin)?;
            let out = (
                e.base.clone(),
                Some(e.pid()),
                EMBEDDED_ADMIN_ID.to_string(),
                EMBEDDED_ADMIN_SECRET.to_string(),
                Some(bin),
            );
            _embedded = Some(e);
            out
        }
        _ => bail!("give exactly one of --target URL or --start embedded"),
    };

    let cfg = Config {
        base: base.clone(),
        admin_id,
        admin_secret,
        duration: Duration::from_secs_f64(cli.duration),
        connections: cli.connections.max(1),
        scenarios,
        server_pid: pid,
        introspection_tokens: cli.introspection_tokens,
    };
    let (ticks, assumed) = clock_ticks();
    eprintln!(
        "inkan-bench: {} ({}), {} connections, {} s per scenario, pid {}, CLK_TCK {}{}",
        base,
        bin.as_ref()
            .map(|b| format!("embedded {}", b.display()))
            .unwrap_or_else(|| "external".into()),
        cfg.connections,
        cli.duration,
        pid.map(|p| p.to_string())
            .unwrap_or_else(|| "unknown: no CPU figures".into()),
        ticks,
        if assumed { " (assumed)" } else { "" }
    );

    let results = run(&cfg).await?;
    print!("{}", table(&results));
    for r in &results {
        if let Some(e) = &r.first_error {
            eprintln!("{}: {} errors; first: {e}", r.scenario, r.errors);
        }
    }
    if let Some(path) = &cli.json {
        let doc = json!({
            "target": base,
            "embedded": bin.map(|b| b.display().to_string()),
            "connections": cfg.connections,
            "duration_seconds": cli.duration,
            "clock_ticks_per_second": ticks,
            "clock_ticks_assumed": assumed,
            "server_pid": pid,
            "results": results,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}
