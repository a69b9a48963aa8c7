//! The servers a run measures: `inkan serve` processes started by the bench
//! in one of three deployment shapes, or a server someone else started.
//!
//! - `embedded`: one `inkan serve` on its embedded stores (SQLite in a temp
//!   dir, in-process key-value store and bus).
//! - `backends`: one `inkan serve` on PostgreSQL, Redis and NATS, in a fresh
//!   [`Namespace`] removed afterwards.
//! - `microservices`: `inkan serve --role admin|authorize|token|userinfo` as
//!   separate processes on the same backends (N token replicas with
//!   `token_replicas`), wired like `tests/e2e/cluster.rs` wires them; the
//!   bench routes each path to its role itself ([`Routes`]).
//!
//! Every process started here gets the same fixed bootstrap admin, rate
//! limits off (all load comes from one address and one client) and
//! `INKAN_LOG=warn`, and is killed when the [`Deployment`] is dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::backends::{BackendUrls, Namespace};
use crate::procfs::{self, Memory};
use crate::routes::Routes;
use crate::run::ScenarioResult;

/// Bootstrap admin credentials of the servers the bench starts.
pub const ADMIN_ID: &str = "bench-admin";
pub const ADMIN_SECRET: &str = "bench-admin-secret-that-is-long-enough-0123456789";

/// How long a process may take to print that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A deployment shape the bench can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Embedded,
    Backends,
    Microservices,
}

impl Shape {
    pub fn parse(s: &str) -> Result<Shape> {
        Ok(match s {
            "embedded" => Shape::Embedded,
            "backends" => Shape::Backends,
            "microservices" => Shape::Microservices,
            other => bail!("unknown shape {other:?} (embedded, backends, microservices)"),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Embedded => "embedded",
            Shape::Backends => "backends",
            Shape::Microservices => "microservices",
        }
    }
}

/// What to start.
#[derive(Clone, Debug)]
pub struct StartOptions {
    pub shape: Shape,
    /// The `inkan` binary.
    pub bin: PathBuf,
    /// Token processes (microservices only; at least 1).
    pub token_replicas: usize,
    pub backends: BackendUrls,
}

/// One process started by the bench.
pub struct Process {
    /// `inkan` for a monolith, else the role (`token-2` for the second token replica).
    pub name: String,
    pub base: String,
    pub grpc: Option<String>,
    child: Child,
}

impl Process {
    /// Starts `bin serve <args>` and waits (bounded) until it prints its HTTP address.
    pub fn start(
        bin: &Path,
        name: &str,
        args: &[&str],
        env: &[(String, String)],
    ) -> Result<Process> {
        if !bin.exists() {
            bail!(
                "{} does not exist (build it: cargo build --release -p inkan)",
                bin.display()
            );
        }
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("INKAN_HTTP_ADDR", "127.0.0.1:0")
            .env("INKAN_GRPC_ADDR", "127.0.0.1:0")
            .env("INKAN_METRICS_ADDR", "127.0.0.1:0")
            .env("INKAN_LOG", "warn")
            .env("INKAN_RATE_LIMIT_PER_MINUTE", "0")
            .env("INKAN_CLIENT_RATE_LIMIT_PER_MINUTE", "0")
            .env("INKAN_BOOTSTRAP_ADMIN_CLIENT_ID", ADMIN_ID)
            .env("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET", ADMIN_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            bail!("no stdout pipe");
        };
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout for the life of the process, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut grpc = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("inkan: grpc listening on ") {
                        grpc = Some(rest.trim().to_string());
                    }
                    if let Some(rest) = line.strip_prefix("inkan: http listening on ") {
                        let base = rest.split_whitespace().next().unwrap_or_default();
                        return Ok(Process {
                            name: name.to_string(),
                            base: base.trim_end_matches('/').to_string(),
                            grpc,
                            child,
                        });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    bail!("{name} did not start listening (exit: {status:?})");
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process whose CPU and memory are measured.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub name: String,
    pub pid: u32,
}

/// Memory of one measured process.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessMemory {
    pub name: String,
    pub pid: u32,
    /// `VmRSS` right after start, before any load.
    pub idle_rss_kib: Option<u64>,
    /// The highest peak during a client_credentials scenario (the "token load").
    pub token_load_peak_kib: Option<u64>,
    /// The highest peak during any scenario, and that scenario.
    pub peak_kib: Option<u64>,
    pub peak_scenario: Option<String>,
}

/// The servers of one run; dropping it kills the processes, then removes the namespace.
pub struct Deployment {
    pub shape: Option<Shape>,
    pub routes: Routes,
    pub admin_id: String,
    pub admin_secret: String,
    /// Started by us, in start order.
    processes: Vec<Process>,
    /// Given with `--pid` (a server someone else started).
    external: Vec<Measured>,
    idle: Vec<(u32, Memory)>,
    namespace: Option<Namespace>,
    _dir: Option<tempfile::TempDir>,
}

impl Deployment {
    /// A server someone else started; `pids` are the processes to measure.
    pub fn external(base: &str, pids: &[u32], admin_id: &str, admin_secret: &str) -> Deployment {
        let external: Vec<Measured> = pids
            .iter()
            .map(|&pid| Measured {
                name: format!("pid {pid}"),
                pid,
            })
            .collect();
        let idle = external
            .iter()
            .filter_map(|m| procfs::memory(m.pid).ok().map(|mem| (m.pid, mem)))
            .collect();
        Deployment {
            shape: None,
            routes: Routes::single(base),
            admin_id: admin_id.into(),
            admin_secret: admin_secret.into(),
            processes: vec![],
            external,
            idle,
            namespace: None,
            _dir: None,
        }
    }

    /// Starts a shape and records each process's idle memory.
    pub async fn start(opts: &StartOptions) -> Result<Deployment> {
        let dir = tempfile::tempdir().context("temp data dir")?;
        let data_dir = dir.path().display().to_string();
        let namespace = match opts.shape {
            Shape::Embedded => None,
            Shape::Backends | Shape::Microservices => {
                Some(Namespace::create(&opts.backends).await?)
            }
        };
        let mut deployment = Deployment {
            shape: Some(opts.shape),
            routes: Routes::single("http://127.0.0.1"),
            admin_id: ADMIN_ID.into(),
            admin_secret: ADMIN_SECRET.into(),
            processes: vec![],
            external: vec![],
            idle: vec![],
            namespace,
            _dir: None,
        };
        let mut env = vec![("INKAN_DATA_DIR".to_string(), data_dir)];
        if let Some(ns) = &deployment.namespace {
            env.extend(ns.env());
        }
        match opts.shape {
            Shape::Embedded | Shape::Backends => {
                let (p, _) = start_on_reserved_port(&opts.bin, "inkan", &[], &env)?;
                deployment.routes = Routes::single(&p.base);
                deployment.processes.push(p);
            }
            Shape::Microservices => deployment.start_roles(opts, env)?,
        }
        deployment._dir = Some(dir);
        deployment.idle = deployment
            .measured()
            .iter()
            .filter_map(|m| procfs::memory(m.pid).ok().map(|mem| (m.pid, mem)))
            .collect();
        Ok(deployment)
    }

    /// Admin first (it owns the store and creates the first keys), then the
    /// others pointed at its gRPC address. Every process has the same issuer:
    /// authorize's address, reserved before it starts (retried if taken).
    fn start_roles(&mut self, opts: &StartOptions, mut env: Vec<(String, String)>) -> Result<()> {
        let (admin, with_issuer) =
            start_on_reserved_port(&opts.bin, "admin", &["--role", "admin"], &env)
                .context("start admin")?;
        env = with_issuer;
        self.processes.push(admin);
        // Only admin listens on the reserved port; the issuer stays its URL.
        env.retain(|(k, _)| k != "INKAN_HTTP_ADDR");
        let Some(grpc) = self.processes[0].grpc.clone() else {
            bail!("admin did not print its gRPC address");
        };
        env.push(("INKAN_ADMIN_GRPC_URL".into(), format!("http://{grpc}")));
        let authorize = Process::start(&opts.bin, "authorize", &["--role", "authorize"], &env)?;
        self.processes.push(authorize);
        for i in 1..=opts.token_replicas.max(1) {
            let name = if opts.token_replicas > 1 {
                format!("token-{i}")
            } else {
                "token".to_string()
            };
            let token = Process::start(&opts.bin, &name, &["--role", "token"], &env)?;
            self.processes.push(token);
        }
        let userinfo = Process::start(&opts.bin, "userinfo", &["--role", "userinfo"], &env)?;
        self.processes.push(userinfo);
        let base = |prefix: &str| -> Vec<String> {
            self.processes
                .iter()
                .filter(|p| p.name == prefix || p.name.starts_with(&format!("{prefix}-")))
                .map(|p| p.base.clone())
                .collect()
        };
        self.routes = Routes::split(
            &base("authorize")[0],
            &base("token"),
            &base("userinfo")[0],
            &base("admin")[0],
        );
        Ok(())
    }

    /// Every process whose CPU counts, in start order.
    pub fn measured(&self) -> Vec<Measured> {
        let mut out: Vec<Measured> = self
            .processes
            .iter()
            .map(|p| Measured {
                name: p.name.clone(),
                pid: p.pid(),
            })
            .collect();
        out.extend(self.external.iter().cloned());
        out
    }

    pub fn pids(&self) -> Vec<u32> {
        self.measured().iter().map(|m| m.pid).collect()
    }

    /// Idle memory (recorded at start) and the peaks the scenarios of `results` reached, per process.
    pub fn memory(&self, results: &[ScenarioResult]) -> Vec<ProcessMemory> {
        self.measured()
            .into_iter()
            .map(|m| {
                let peak_of = |r: &ScenarioResult| {
                    r.peak_rss_kib_by_pid
                        .iter()
                        .find(|(pid, _)| *pid == m.pid)
                        .map(|(_, k)| *k)
                };
                let token_load_peak_kib = results
                    .iter()
                    .filter(|r| r.scenario.starts_with("client_credentials"))
                    .filter_map(peak_of)
                    .max();
                let top = results
                    .iter()
                    .filter_map(|r| peak_of(r).map(|k| (k, r.scenario.clone())))
                    .max_by_key(|(k, _)| *k);
                ProcessMemory {
                    idle_rss_kib: self
                        .idle
                        .iter()
                        .find(|(pid, _)| *pid == m.pid)
                        .map(|(_, mem)| mem.rss_kib),
                    token_load_peak_kib,
                    peak_kib: top.as_ref().map(|(k, _)| *k),
                    peak_scenario: top.map(|(_, s)| s),
                    name: m.name,
                    pid: m.pid,
                }
            })
            .collect()
    }

    /// The backend namespace, when the shape uses one.
    pub fn namespace(&self) -> Option<&Namespace> {
        self.namespace.as_ref()
    }

    /// Stops every process, then removes the namespace, reporting failures.
    pub async fn stop(mut self) -> Result<()> {
        for p in self.processes.iter_mut().rev() {
            p.kill();
        }
        self.processes.clear();
        match self.namespace.take() {
            Some(ns) => ns.remove().await,
            None => Ok(()),
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for p in self.processes.iter_mut().rev() {
            p.kill();
        }
        if let Some(ns) = self.namespace.take() {
            if let Err(e) = ns.remove_blocking() {
                eprintln!("inkan-bench: cleanup of {}: {e:#}", ns.schema);
            }
        }
    }
}

/// Starts `name` listening on a port reserved here, with the issuer
/// `http://localhost:PORT` (a host name, so passkeys work: WebAuthn refuses
/// IP addresses as relying-party ids). Retried if another process takes
/// the port first. Returns the process and `env` with the issuer set.
fn start_on_reserved_port(
    bin: &Path,
    name: &str,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(Process, Vec<(String, String)>)> {
    let mut last = None;
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut with_issuer = env.to_vec();
        with_issuer.push(("INKAN_ISSUER".into(), format!("http://localhost:{port}")));
        with_issuer.push(("INKAN_HTTP_ADDR".into(), format!("127.0.0.1:{port}")));
        match Process::start(bin, name, args, &with_issuer) {
            Ok(p) => return Ok((p, with_issuer)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no port for {name}")))
}
