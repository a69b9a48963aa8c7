//! A load generator for Inkan: for each scenario, N keep-alive connections
//! send requests back to back for a fixed time; we record requests/s, the
//! server's CPU time per request (from `/proc/<pid>/stat`) and latency
//! percentiles.
//!
//! The binary (`src/main.rs`) is a thin CLI over [`run`]; the smoke test
//! drives the same code for a fraction of a second.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

/// Bootstrap admin credentials of an embedded server.
pub const EMBEDDED_ADMIN_ID: &str = "bench-admin";
pub const EMBEDDED_ADMIN_SECRET: &str = "bench-admin-secret-that-is-long-enough-0123456789";

/// Every scenario, in the order they run.
pub const ALL_SCENARIOS: &[&str] = &[
    "client_credentials_rs256",
    "client_credentials_es256",
    "client_credentials_eddsa",
    "introspection",
    "discovery",
    "jwks",
];

/// The scope the benchmark projects register and request.
const SCOPE: &str = "bench:read";

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// An embedded server
// ---------------------------------------------------------------------------

/// `inkan serve` started by us: temp data dir, fixed bootstrap admin, ports
/// chosen by the OS, rate limits (per address and per client) off. Killed when dropped.
pub struct Embedded {
    child: Child,
    pub base: String,
    _data_dir: tempfile::TempDir,
}

impl Embedded {
    pub fn start(bin: &Path) -> Result<Embedded> {
        if !bin.exists() {
            bail!(
                "{} does not exist (build it: cargo build --release -p inkan)",
                bin.display()
            );
        }
        let data_dir = tempfile::tempdir().context("temp data dir")?;
        let mut child = Command::new(bin)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("INKAN_HTTP_ADDR", "127.0.0.1:0")
            .env("INKAN_GRPC_ADDR", "127.0.0.1:0")
            .env("INKAN_LOG", "warn")
            .env("INKAN_RATE_LIMIT_PER_MINUTE", "0")
            .env("INKAN_CLIENT_RATE_LIMIT_PER_MINUTE", "0")
            .env("INKAN_DATA_DIR", data_dir.path())
            .env("INKAN_BOOTSTRAP_ADMIN_CLIENT_ID", EMBEDDED_ADMIN_ID)
            .env("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET", EMBEDDED_ADMIN_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout for the life of the process, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("inkan: http listening on ") {
                        let base = rest.split_whitespace().next().unwrap_or_default();
                        return Ok(Embedded {
                            child,
                            base: base.trim_end_matches('/').to_string(),
                            _data_dir: data_dir,
                        });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    bail!("inkan did not start listening (exit: {status:?})");
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// CPU accounting
// ---------------------------------------------------------------------------

/// Clock ticks per second for `/proc/<pid>/stat`, from `getconf CLK_TCK`;
/// 100 (the Linux value on every common architecture) if that fails.
pub fn clock_ticks() -> (u64, bool) {
    let measured = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0);
    match measured {
        Some(t) => (t, false),
        None => (100, true),
    }
}

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: count fields after its ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("malformed /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let utime: u64 = fields.get(11).ok_or_else(|| anyhow!("no utime"))?.parse()?;
    let stime: u64 = fields.get(12).ok_or_else(|| anyhow!("no stime"))?.parse()?;
    Ok(utime + stime)
}

// ---------------------------------------------------------------------------
// Configuration and results
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL, without a trailing slash.
    pub base: String,
    pub admin_id: String,
    pub admin_secret: String,
    pub duration: Duration,
    pub connections: usize,
    pub scenarios: Vec<String>,
    /// The server process to measure CPU of (None: no CPU figure).
    pub server_pid: Option<u32>,
    /// How many distinct tokens the introspection scenario cycles through.
    pub introspection_tokens: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    /// Server CPU (user + system) per completed request, milliseconds.
    pub server_cpu_ms_per_request: Option<f64>,
    pub server_cpu_seconds: Option<f64>,
    pub latency_ms: Latency,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From latencies in microseconds (sorted in place).
    fn from_micros(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i] as f64 / 1000.0
        };
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: samples[samples.len() - 1] as f64 / 1000.0,
        }
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// One request a scenario sends, prepared once.
#[derive(Clone)]
enum Shape {
    Get {
        url: String,
    },
    /// A form POST with HTTP Basic client authentication; `bodies` cycle.
    Post {
        url: String,
        authorization: String,
        bodies: Arc<Vec<String>>,
        /// The response body must contain this (e.g. `"active":true`).
        expect: Option<&'static str>,
    },
}

fn basic(id: &str, secret: &str) -> String {
    // RFC 6749 §2.3.1: form-urlencode both, then base64.
    let raw = format!("{}:{}", form_encode(id), form_encode(secret));
    format!("Basic {}", base64(raw.as_bytes()))
}

fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Sends one request; Err carries a short description of what went wrong.
async fn send(http: &reqwest::Client, shape: &Shape, i: usize) -> Result<(), String> {
    let (resp, expect) = match shape {
        Shape::Get { url } => (http.get(url).send().await, None),
        Shape::Post {
            url,
            authorization,
            bodies,
            expect,
        } => (
            http.post(url)
                .header("authorization", authorization)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(bodies[i % bodies.len()].clone())
                .send()
                .await,
            *expect,
        ),
    };
    let resp = resp.map_err(|e| format!("request: {e}"))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    if let Some(needle) = expect {
        if !body.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            return Err(format!(
                "response lacks {needle}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------

/// A `service` project whose tokens are signed with `alg`; returns (client_id, client_secret).
async fn service_project(
    http: &reqwest::Client,
    cfg: &Config,
    alg: &str,
) -> Result<(String, String)> {
    let resp = http
        .post(format!("{}/admin/v1/projects", cfg.base))
        .basic_auth(&cfg.admin_id, Some(&cfg.admin_secret))
        .json(&json!({
            "name": format!("bench-{}", alg.to_ascii_lowercase()),
            "app_type": "service",
            "scopes": [SCOPE],
            "id_token_signed_response_alg": alg,
        }))
        .send()
        .await
        .context("admin API: create project")?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.as_u16() != 201 {
        bail!("admin API: create {alg} project: HTTP {status}: {body}");
    }
    let id = body["client_id"]
        .as_str()
        .ok_or_else(|| anyhow!("no client_id: {body}"))?;
    let secret = body["client_secret"]
        .as_str()
        .ok_or_else(|| anyhow!("no client_secret: {body}"))?;
    Ok((id.to_string(), secret.to_string()))
}

fn cc_shape(cfg: &Config, id: &str, secret: &str) -> Shape {
    Shape::Post {
        url: format!("{}/token", cfg.base),
        authorization: basic(id, secret),
        bodies: Arc::new(vec![format!(
            "grant_type=client_credentials&scope={}",
            form_encode(SCOPE)
        )]),
        expect: Some("\"access_token\""),
    }
}

/// Mints `n` distinct access tokens (bounded concurrency) and returns an
/// introspection shape that cycles through them.
async fn introspection_shape(http: &reqwest::Client, cfg: &Config) -> Result<Shape> {
    let (id, secret) = service_project(http, cfg, "RS256").await?;
    let Shape::Post {
        url,
        authorization,
        bodies,
        ..
    } = cc_shape(cfg, &id, &secret)
    else {
        unreachable!()
    };
    let n = cfg.introspection_tokens.max(1);
    let workers = cfg.connections.clamp(1, 16);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (http, url, authorization, body) = (
            http.clone(),
            url.clone(),
            authorization.clone(),
            bodies[0].clone(),
        );
        let count = n / workers + usize::from(w < n % workers);
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::with_capacity(count);
            for _ in 0..count {
                let resp = http
                    .post(&url)
                    .header("authorization", &authorization)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = resp.status();
                let v: Value = resp.json().await?;
                let token = v["access_token"]
                    .as_str()
                    .ok_or_else(|| anyhow!("mint a token: HTTP {status}: {v}"))?;
                tokens.push(format!(
                    "token={}&token_type_hint=access_token",
                    form_encode(token)
                ));
            }
            anyhow::Ok(tokens)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(Shape::Post {
        url: format!("{}/introspect", cfg.base),
        authorization,
        bodies: Arc::new(all),
        expect: Some("\"active\":true"),
    })
}

async fn prepare(http: &reqwest::Client, cfg: &Config, scenario: &str) -> Result<Shape> {
    Ok(match scenario {
        "client_credentials_rs256" | "client_credentials_es256" | "client_credentials_eddsa" => {
            let alg = match scenario {
                "client_credentials_rs256" => "RS256",
                "client_credentials_es256" => "ES256",
                _ => "EdDSA",
            };
            let (id, secret) = service_project(http, cfg, alg).await?;
            cc_shape(cfg, &id, &secret)
        }
        "introspection" => introspection_shape(http, cfg).await?,
        "discovery" => Shape::Get {
            url: format!("{}/.well-known/openid-configuration", cfg.base),
        },
        "jwks" => Shape::Get {
            url: format!("{}/jwks", cfg.base),
        },
        other => bail!(
            "unknown scenario {other:?} (known: {})",
            ALL_SCENARIOS.join(", ")
        ),
    })
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

struct Worker {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// N connections, each sending back to back until `until`. A request still
/// in flight at `until` is awaited (bounded by the request timeout) and counted.
async fn drive(
    http: &reqwest::Client,
    shape: &Shape,
    connections: usize,
    until: Instant,
) -> Vec<Worker> {
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (http, shape) = (http.clone(), shape.clone());
        tasks.push(tokio::spawn(async move {
            let mut w = Worker {
                latencies_us: Vec::new(),
                errors: 0,
                first_error: None,
            };
            // Connections start at different offsets of the body list.
            let mut i = c * 7919;
            while Instant::now() < until {
                let t0 = Instant::now();
                let outcome = send(&http, &shape, i).await;
                let us = t0.elapsed().as_micros() as u64;
                i += 1;
                match outcome {
                    Ok(()) => w.latencies_us.push(us),
                    Err(e) => {
                        w.errors += 1;
                        if w.first_error.is_none() {
                            w.first_error = Some(e);
                        }
                    }
                }
            }
            w
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(w) = t.await {
            out.push(w);
        }
    }
    out
}

/// Runs one scenario: provisioning, a short unrecorded warm-up, then the measured run.
pub async fn run_scenario(cfg: &Config, scenario: &str) -> Result<ScenarioResult> {
    let connections = cfg.connections.max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let shape = prepare(&http, cfg, scenario)
        .await
        .with_context(|| format!("prepare {scenario}"))?;

    // Warm-up: opens the connections and warms caches; a tenth of the run, at most 1 s.
    let warm = (cfg.duration / 10).min(Duration::from_secs(1));
    drive(&http, &shape, connections, Instant::now() + warm).await;

    let (ticks_per_s, _) = clock_ticks();
    let cpu0 = cfg.server_pid.map(cpu_ticks).transpose()?;
    let start = Instant::now();
    let workers = drive(&http, &shape, connections, start + cfg.duration).await;
    let seconds = start.elapsed().as_secs_f64();
    let cpu1 = cfg.server_pid.map(cpu_ticks).transpose()?;

    let mut latencies: Vec<u64> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for w in workers {
        latencies.extend(w.latencies_us);
        errors += w.errors;
        if first_error.is_none() {
            first_error = w.first_error;
        }
    }
    let requests = latencies.len() as u64;
    let server_cpu_seconds = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / ticks_per_s as f64),
        _ => None,
    };
    let server_cpu_ms_per_request = server_cpu_seconds
        .filter(|_| requests + errors > 0)
        .map(|s| s * 1000.0 / (requests + errors) as f64);
    Ok(ScenarioResult {
        scenario: scenario.to_string(),
        requests,
        errors,
        seconds,
        requests_per_second: requests as f64 / seconds,
        server_cpu_ms_per_request,
        server_cpu_seconds,
        latency_ms: Latency::from_micros(&mut latencies),
        first_error,
    })
}

/// Runs every scenario of `cfg`, in order.
pub async fn run(cfg: &Config) -> Result<Vec<ScenarioResult>> {
    let mut out = Vec::new();
    for s in &cfg.scenarios {
        out.push(run_scenario(cfg, s).await?);
    }
    Ok(out)
}

/// The results as a fixed-width text table.
pub fn table(results: &[ScenarioResult]) -> String {
    let mut out = format!(
        "{:<26} {:>9} {:>12} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7}\n",
        "scenario",
        "req/s",
        "cpu ms/req",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "requests",
        "errors"
    );
    for r in results {
        let cpu = r
            .server_cpu_ms_per_request
            .map(|c| format!("{c:.3}"))
            .unwrap_or_else(|| "n/a".into());
        out.push_str(&format!(
            "{:<26} {:>9.0} {:>12} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>7}\n",
            r.scenario,
            r.requests_per_second,
            cpu,
            r.latency_ms.p50,
            r.latency_ms.p90,
            r.latency_ms.p99,
            r.latency_ms.max,
            r.requests,
            r.errors
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_basic() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(
            basic("a b", "c:d"),
            format!("Basic {}", base64(b"a+b:c%3Ad"))
        );
    }

    #[test]
    fn percentiles() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let l = Latency::from_micros(&mut v);
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
    }

    #[test]
    fn own_cpu_ticks_are_readable() {
        cpu_ticks(std::process::id()).unwrap();
        assert!(clock_ticks().0 > 0);
    }
}
