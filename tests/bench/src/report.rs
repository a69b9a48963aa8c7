//! The printed report: the results table with each scenario's target and
//! verdict, the processes measured, memory, the bare-cost references and,
//! when the peer ran, the side-by-side comparison. Also the JSON document.

use std::fmt::Write as _;

use serde::Serialize;

use crate::reference::References;
use crate::run::{Mode, ScenarioResult};
use crate::server::{Measured, ProcessMemory, Shape};
use crate::targets::{self, Metric, Target};

/// A scenario's result with its target, for printing and JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Judged {
    #[serde(flatten)]
    pub result: ScenarioResult,
    pub target: Option<Target>,
    pub verdict: Option<String>,
}

/// Attaches each scenario's target (issue #6) and verdict.
pub fn judge(
    results: &[ScenarioResult],
    refs: Option<&References>,
    peer: &[ScenarioResult],
    flow_alg: &str,
) -> Vec<Judged> {
    results
        .iter()
        .map(|r| {
            let peer_cpu = peer
                .iter()
                .find(|p| p.scenario == r.scenario)
                .and_then(|p| p.server_cpu_ms_per_request);
            let target = targets::target(&r.scenario, refs, peer_cpu, flow_alg);
            let value = target.as_ref().and_then(|t| match t.metric {
                Metric::CpuMsPerRequest => r.server_cpu_ms_per_request,
                Metric::P99Ms => Some(r.latency_ms.p99),
            });
            let verdict = match (&target, value) {
                (Some(t), Some(v)) if r.errors == 0 => Some(targets::verdict(v, t.limit)),
                (Some(_), Some(_)) => Some("n/a (errors)".into()),
                _ => None,
            };
            Judged {
                result: r.clone(),
                target,
                verdict,
            }
        })
        .collect()
}

fn target_cell(t: &Option<Target>) -> String {
    match t {
        Some(Target {
            metric: Metric::CpuMsPerRequest,
            limit,
            ..
        }) => format!("cpu<={limit:.3}"),
        Some(Target {
            metric: Metric::P99Ms,
            limit,
            ..
        }) => format!("p99<{limit:.1}"),
        None => "-".into(),
    }
}

/// The results as a fixed-width table, then one line per target basis.
pub fn table(results: &[Judged]) -> String {
    let mut out = format!(
        "{:<36} {:>8} {:>10} {:>7} {:>7} {:>7} {:>8} {:>8} {:>6}  {:<11} {}\n",
        "scenario",
        "req/s",
        "cpu ms/req",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "requests",
        "errors",
        "target",
        "verdict"
    );
    for j in results {
        let r = &j.result;
        let cpu = r
            .server_cpu_ms_per_request
            .map(|c| format!("{c:.3}"))
            .unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            out,
            "{:<36} {:>8.0} {:>10} {:>7.2} {:>7.2} {:>7.2} {:>8.2} {:>8} {:>6}  {:<11} {}",
            r.scenario,
            r.requests_per_second,
            cpu,
            r.latency_ms.p50,
            r.latency_ms.p90,
            r.latency_ms.p99,
            r.latency_ms.max,
            r.requests,
            r.errors,
            target_cell(&j.target),
            j.verdict.as_deref().unwrap_or("-"),
        );
    }
    let mut notes = String::new();
    for j in results {
        if let Mode::OpenLoop { rate } = j.result.mode {
            let _ = writeln!(
                notes,
                "  {}: open loop at {rate:.0} req/s (half of client_credentials_es256's max); start lag p99 {:.2} ms",
                j.result.scenario,
                j.result.start_lag_p99_ms.unwrap_or_default()
            );
        }
        if let Some(t) = &j.target {
            let _ = writeln!(notes, "  {}: target {}", j.result.scenario, t.basis);
        }
    }
    if !notes.is_empty() {
        out.push_str("notes:\n");
        out.push_str(&notes);
    }
    out
}

/// The processes whose CPU was summed.
pub fn processes(measured: &[Measured]) -> String {
    let list: Vec<String> = measured
        .iter()
        .map(|m| format!("{} (pid {})", m.name, m.pid))
        .collect();
    if list.is_empty() {
        "server CPU measured over: nothing (no --pid): no CPU figures\n".into()
    } else {
        format!("server CPU measured over (summed): {}\n", list.join(", "))
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1}", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

/// Idle and peak resident memory per process; targets for embedded.
pub fn memory(mem: &[ProcessMemory], shape: Option<Shape>) -> String {
    let mut out = format!(
        "{:<12} {:>8} {:>9} {:>14} {:>9}  {:<28}  {}\n",
        "process",
        "pid",
        "idle MiB",
        "cc-load peak",
        "peak MiB",
        "peak during",
        "targets (issue #6, embedded monolith)"
    );
    for m in mem {
        let verdicts = if shape == Some(Shape::Embedded) {
            let idle = m
                .idle_rss_kib
                .map(|k| targets::verdict(k as f64, targets::EMBEDDED_IDLE_KIB as f64))
                .unwrap_or_else(|| "n/a".into());
            let load = m
                .token_load_peak_kib
                .map(|k| targets::verdict(k as f64, targets::EMBEDDED_LOAD_KIB as f64))
                .unwrap_or_else(|| "n/a".into());
            format!("idle < 30 MiB: {idle}; token load < 100 MiB: {load}")
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<12} {:>8} {:>9} {:>14} {:>9}  {:<28}  {}",
            m.name,
            m.pid,
            mib(m.idle_rss_kib),
            mib(m.token_load_peak_kib),
            mib(m.peak_kib),
            m.peak_scenario.as_deref().unwrap_or("-"),
            verdicts
        );
    }
    out
}

/// One line of bare costs.
pub fn references(r: &References) -> String {
    format!(
        "bare costs (bench process, one thread, inkan-keys): RS256 sign {:.3} ms, ES256 sign {:.4} ms, EdDSA sign {:.4} ms, argon2id verify (m={} KiB, t={}, p={}) {:.1} ms\n",
        r.rs256_sign_ms,
        r.es256_sign_ms,
        r.eddsa_sign_ms,
        r.argon2id_params.memory_kib,
        r.argon2id_params.iterations,
        r.argon2id_params.parallelism,
        r.argon2id_verify_ms
    )
}

/// A row of the side-by-side comparison.
#[derive(Clone, Debug, Serialize)]
pub struct PeerRow {
    pub scenario: String,
    pub inkan_cpu_ms: Option<f64>,
    pub peer_cpu_ms: Option<f64>,
    pub inkan_rps: Option<f64>,
    pub peer_rps: Option<f64>,
    /// Inkan / peer, CPU per request.
    pub cpu_ratio: Option<f64>,
    /// Inkan / peer, requests per second.
    pub rps_ratio: Option<f64>,
    /// The bound on the CPU ratio (1 / "times cheaper").
    pub target_ratio: Option<f64>,
    pub verdict: Option<String>,
}

pub fn peer_rows(inkan: &[ScenarioResult], peer: &[ScenarioResult]) -> Vec<PeerRow> {
    peer.iter()
        .map(|p| {
            let i = inkan.iter().find(|r| r.scenario == p.scenario);
            let inkan_cpu = i.and_then(|r| r.server_cpu_ms_per_request);
            let cpu_ratio = match (inkan_cpu, p.server_cpu_ms_per_request) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
            let rps_ratio = i
                .filter(|_| p.requests_per_second > 0.0)
                .map(|r| r.requests_per_second / p.requests_per_second);
            let target_ratio = targets::peer_factor(&p.scenario).map(|f| 1.0 / f);
            let verdict = match (cpu_ratio, target_ratio) {
                (Some(r), Some(t)) => Some(targets::verdict(r, t)),
                _ => None,
            };
            PeerRow {
                scenario: p.scenario.clone(),
                inkan_cpu_ms: inkan_cpu,
                peer_cpu_ms: p.server_cpu_ms_per_request,
                inkan_rps: i.map(|r| r.requests_per_second),
                peer_rps: Some(p.requests_per_second),
                cpu_ratio,
                rps_ratio,
                target_ratio,
                verdict,
            }
        })
        .collect()
}

pub fn peer_table(rows: &[PeerRow], peer: &[ScenarioResult]) -> String {
    let f = |v: Option<f64>, p: usize| {
        v.map(|x| format!("{x:.p$}"))
            .unwrap_or_else(|| "n/a".into())
    };
    let mut out = format!(
        "{:<26} {:>10} {:>10} {:>11} {:>9} {:>9} {:>9} {:>11}  {}\n",
        "scenario",
        "inkan cpu",
        "peer cpu",
        "inkan/peer",
        "inkan r/s",
        "peer r/s",
        "r/s ratio",
        "target",
        "verdict"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<26} {:>10} {:>10} {:>11} {:>9} {:>9} {:>9} {:>11}  {}",
            r.scenario,
            f(r.inkan_cpu_ms, 3),
            f(r.peer_cpu_ms, 3),
            f(r.cpu_ratio, 3),
            f(r.inkan_rps, 0),
            f(r.peer_rps, 0),
            f(r.rps_ratio, 2),
            r.target_ratio
                .map(|t| format!("<= {t:.3}"))
                .unwrap_or_else(|| "-".into()),
            r.verdict.as_deref().unwrap_or("-"),
        );
    }
    for p in peer.iter().filter(|p| p.errors > 0) {
        let _ = writeln!(
            out,
            "  peer {}: {} errors; first: {}",
            p.scenario,
            p.errors,
            p.first_error.as_deref().unwrap_or("?")
        );
    }
    out
}

/// CPU ms per request of each process, per scenario (shapes with several processes).
pub fn cpu_by_process(results: &[ScenarioResult], measured: &[Measured]) -> String {
    if measured.len() < 2 {
        return String::new();
    }
    let mut out = format!("{:<36}", "cpu ms/req by process");
    for m in measured {
        let _ = write!(out, " {:>10}", m.name);
    }
    out.push('\n');
    for r in results {
        let _ = write!(out, "{:<36}", r.scenario);
        for m in measured {
            let v = r
                .server_cpu_ms_per_request_by_pid
                .iter()
                .find(|(pid, _)| *pid == m.pid)
                .map(|(_, ms)| format!("{ms:.3}"))
                .unwrap_or_else(|| "n/a".into());
            let _ = write!(out, " {v:>10}");
        }
        out.push('\n');
    }
    out
}
