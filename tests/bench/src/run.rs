//! One run: for each scenario, preparation, an unrecorded warm-up, then the
//! measured load, with the CPU of every measured process summed over it.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::load::{self, Latency, Outcome};
use crate::procfs;
use crate::provision::Admin;
use crate::routes::Routes;
use crate::scenarios::{self, Ctx, Plan, HALF_RATE};

/// How long one request may take before it counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub duration: Duration,
    pub connections: usize,
    pub scenarios: Vec<String>,
    /// Distinct tokens the introspection and userinfo scenarios cycle through.
    pub tokens: usize,
    /// The signing algorithm of the code flows' web project.
    pub flow_alg: String,
}

/// How the load was sent.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Mode {
    ClosedLoop,
    /// Requests per second on a fixed schedule.
    OpenLoop {
        rate: f64,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub mode: Mode,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    /// Server CPU (user + system, every measured process) per request, ms.
    pub server_cpu_ms_per_request: Option<f64>,
    pub server_cpu_seconds: Option<f64>,
    /// The same per measured process: (pid, CPU ms per request).
    pub server_cpu_ms_per_request_by_pid: Vec<(u32, f64)>,
    /// Peak resident memory (`VmHWM`, KiB) of each measured process during
    /// this scenario (warm-up included); since the process started if the
    /// peak could not be reset (`peaks_reset` false).
    pub peak_rss_kib_by_pid: Vec<(u32, u64)>,
    pub peaks_reset: bool,
    pub latency_ms: Latency,
    /// Open loop: p99 of how late requests started after their slot, ms.
    pub start_lag_p99_ms: Option<f64>,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

/// An HTTP client for load: keep-alive pool sized to the connections, no redirects followed.
pub fn http_client(connections: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections.max(1))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

/// Runs `plan` once (warm-up, then measured) and reads the CPU of each of `pids` over the measured part.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    http: &reqwest::Client,
    routes: &Routes,
    plan: &Plan,
    pids: &[u32],
    name: &str,
    connections: usize,
    duration: Duration,
    mode: Mode,
) -> Result<ScenarioResult> {
    let connections = connections.max(1);
    // Warm-up: opens the connections and warms caches; a tenth of the run, at most 1 s.
    let warm = (duration / 10).min(Duration::from_secs(1));
    let go = |d: Duration| async move {
        match mode {
            Mode::ClosedLoop => {
                load::closed_loop(http, routes, plan, connections, Instant::now() + d).await
            }
            Mode::OpenLoop { rate } => {
                load::open_loop(http, routes, plan, connections, rate, d).await
            }
        }
    };
    // Peak memory per scenario: VmHWM restarts from the current size here.
    let peaks_reset = pids.iter().all(|&p| procfs::reset_peak(p));
    go(warm).await;

    let (ticks_per_s, _) = procfs::clock_ticks();
    let per_pid = || -> Result<Vec<u64>> { pids.iter().map(|&p| procfs::cpu_ticks(p)).collect() };
    let cpu0 = per_pid()?;
    let start = Instant::now();
    let Outcome {
        mut latencies_us,
        errors,
        first_error,
        mut start_lag_us,
    } = go(duration).await;
    let seconds = start.elapsed().as_secs_f64();
    let cpu1 = per_pid()?;
    let peak_rss_kib_by_pid = pids
        .iter()
        .filter_map(|&p| procfs::memory(p).ok().map(|m| (p, m.peak_kib)))
        .collect();

    let requests = latencies_us.len() as u64;
    let seconds_of = |ticks: u64| ticks as f64 / ticks_per_s as f64;
    let used: Vec<u64> = cpu0
        .iter()
        .zip(&cpu1)
        .map(|(a, b)| b.saturating_sub(*a))
        .collect();
    let server_cpu_seconds = (!pids.is_empty()).then(|| seconds_of(used.iter().sum()));
    let per_request = |s: f64| s * 1000.0 / (requests + errors).max(1) as f64;
    let server_cpu_ms_per_request = server_cpu_seconds
        .filter(|_| requests + errors > 0)
        .map(per_request);
    let server_cpu_ms_per_request_by_pid = pids
        .iter()
        .zip(&used)
        .map(|(&pid, &t)| (pid, per_request(seconds_of(t))))
        .collect();
    let start_lag_p99_ms = match mode {
        Mode::OpenLoop { .. } => Some(Latency::from_micros(&mut start_lag_us).p99),
        Mode::ClosedLoop => None,
    };
    Ok(ScenarioResult {
        scenario: name.to_string(),
        mode,
        requests,
        errors,
        seconds,
        requests_per_second: requests as f64 / seconds,
        server_cpu_ms_per_request,
        server_cpu_seconds,
        server_cpu_ms_per_request_by_pid,
        peak_rss_kib_by_pid,
        peaks_reset,
        latency_ms: Latency::from_micros(&mut latencies_us),
        start_lag_p99_ms,
        first_error,
    })
}

/// Runs every scenario of `cfg` in order against `routes`, measuring `pids`.
///
/// The half-rate scenario replays ES256 client_credentials open-loop at half
/// the throughput `client_credentials_es256` reached in this run (measured
/// first, and reported, if it was not among the scenarios before it).
pub async fn run(
    cfg: &Config,
    routes: &Routes,
    admin_id: &str,
    admin_secret: &str,
    pids: &[u32],
) -> Result<Vec<ScenarioResult>> {
    let http = http_client(cfg.connections)?;
    let ctx = Ctx {
        http: http.clone(),
        routes: routes.clone(),
        admin: Admin {
            http: http.clone(),
            base: routes.admin().to_string(),
            id: admin_id.to_string(),
            secret: admin_secret.to_string(),
        },
        connections: cfg.connections.max(1),
        tokens: cfg.tokens,
        flow_alg: cfg.flow_alg.clone(),
    };
    let mut out: Vec<ScenarioResult> = Vec::new();
    for scenario in &cfg.scenarios {
        let mode = if scenario == HALF_RATE {
            let max = match out
                .iter()
                .find(|r| r.scenario == "client_credentials_es256")
            {
                Some(r) => r.requests_per_second,
                None => {
                    let plan = scenarios::prepare(&ctx, "client_credentials_es256").await?;
                    let r = measure(
                        &http,
                        routes,
                        &plan,
                        pids,
                        "client_credentials_es256",
                        ctx.connections,
                        cfg.duration,
                        Mode::ClosedLoop,
                    )
                    .await?;
                    let rps = r.requests_per_second;
                    out.push(r);
                    rps
                }
            };
            Mode::OpenLoop { rate: max / 2.0 }
        } else {
            Mode::ClosedLoop
        };
        let plan = scenarios::prepare(&ctx, scenario).await?;
        out.push(
            measure(
                &http,
                routes,
                &plan,
                pids,
                scenario,
                ctx.connections,
                cfg.duration,
                mode,
            )
            .await?,
        );
    }
    Ok(out)
}
