//! The peer: node-oidc-provider as set up in
//! `/work/shared/peers/node-oidc-provider` (copied to a temp dir, `npm ci`,
//! `node server.mjs` with `WORKERS=1 AT_FORMAT=jwt SIGN_ALG=<alg>`, one
//! process per algorithm), driven with the same load code as Inkan:
//! client_credentials per algorithm, introspection (tokens minted by
//! `bench-client`, introspected by `bench-rs`), discovery and JWKS.
//!
//! node-oidc-provider refuses to introspect JWT access tokens
//! (`unsupported_token_type`: "Structured JWT Tokens cannot be introspected"),
//! so its introspection runs against a fourth process with
//! `AT_FORMAT=opaque`, as the peer's own `bench.sh` does.
//! Nothing of the peer is kept: the temp dir goes with [`Peer`].

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::provision::Client;
use crate::routes::Routes;
use crate::run::{http_client, measure, Mode, ScenarioResult};
use crate::scenarios::{client_credentials, introspection, mint, request::Request, Plan};

/// Where the peer's setup is shipped.
pub const DEFAULT_DIR: &str = "/work/shared/peers/node-oidc-provider";

/// The peer's clients (its README and server.mjs).
const CLIENT: (&str, &str) = ("bench-client", "bench-secret-0123456789abcdef");
const RESOURCE_SERVER: (&str, &str) = ("bench-rs", "bench-rs-secret-0123456789abcdef");
const SCOPE: &str = "api:read";

/// The peer processes: `SIGN_ALG`, `AT_FORMAT`.
const PROCESSES: &[(&str, &str)] = &[
    ("RS256", "jwt"),
    ("ES256", "jwt"),
    ("EdDSA", "jwt"),
    ("RS256", "opaque"),
];

/// The peer's scenarios, with the process (`SIGN_ALG`, `AT_FORMAT`) each runs against.
pub const SCENARIOS: &[(&str, (&str, &str))] = &[
    ("client_credentials_rs256", ("RS256", "jwt")),
    ("client_credentials_es256", ("ES256", "jwt")),
    ("client_credentials_eddsa", ("EdDSA", "jwt")),
    ("discovery", ("RS256", "jwt")),
    ("jwks", ("RS256", "jwt")),
    ("introspection", ("RS256", "opaque")),
];

/// The installed peer (a temp copy with its node_modules).
pub struct Peer {
    dir: tempfile::TempDir,
    pub version: String,
}

/// Why the peer could not run (printed, then the run goes on without it).
pub fn unavailable_reason(source: &Path) -> Option<String> {
    for tool in ["node", "npm"] {
        let ok = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    if !source.join("server.mjs").exists() {
        return Some(format!("{} has no server.mjs", source.display()));
    }
    None
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "node_modules" || name == "keys" || name == "results" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            // The shipped copy is read-only; the temp copy must be removable and writable.
            let mut perms = std::fs::metadata(&target)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms)?;
        }
    }
    Ok(())
}

impl Peer {
    /// Copies `source` to a temp dir and runs `npm ci` there (bounded to 5 minutes).
    pub fn install(source: &Path) -> Result<Peer> {
        let dir = tempfile::tempdir().context("temp dir for the peer")?;
        copy_dir(source, dir.path())
            .with_context(|| format!("copy {} to a temp dir", source.display()))?;
        let mut child = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("run npm ci")?;
        let deadline = Instant::now() + Duration::from_secs(300);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("npm ci took over 5 minutes");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            bail!("npm ci failed ({status}): {}", err.trim());
        }
        let version =
            std::fs::read_to_string(dir.path().join("node_modules/oidc-provider/package.json"))
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .and_then(|v| v["version"].as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".into());
        Ok(Peer { dir, version })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Runs every peer scenario (one node process per algorithm).
    pub async fn run(
        &self,
        connections: usize,
        duration: Duration,
        tokens: usize,
    ) -> Result<Vec<ScenarioResult>> {
        let mut out = Vec::new();
        for &(alg, format) in PROCESSES {
            let process = PeerProcess::start(&self.path(), alg, format)?;
            let http = http_client(connections)?;
            let routes = Routes::single(&process.base);
            let discovery: Value = http
                .get(format!("{}/.well-known/openid-configuration", process.base))
                .send()
                .await?
                .json()
                .await
                .context("the peer's discovery document")?;
            let path_of = |field: &str| -> Result<String> {
                let url = discovery[field]
                    .as_str()
                    .ok_or_else(|| anyhow!("the peer's discovery has no {field}"))?;
                Ok(url::Url::parse(url)?.path().to_string())
            };
            let token_path = path_of("token_endpoint")?;
            let client = Client {
                id: CLIENT.0.into(),
                secret: CLIENT.1.into(),
            };
            let cc = client_credentials(&client, SCOPE, &token_path);
            let pids = [process.pid()];
            for (scenario, on) in SCENARIOS {
                if *on != (alg, format) {
                    continue;
                }
                let plan = match *scenario {
                    "introspection" => {
                        let minted = mint(&http, &routes, &cc, tokens.max(1), connections).await?;
                        let rs = Client {
                            id: RESOURCE_SERVER.0.into(),
                            secret: RESOURCE_SERVER.1.into(),
                        };
                        Plan::Request(Arc::new(introspection(
                            &rs,
                            &minted,
                            &path_of("introspection_endpoint")?,
                        )))
                    }
                    "discovery" => {
                        Plan::Request(Arc::new(Request::get("/.well-known/openid-configuration")))
                    }
                    "jwks" => Plan::Request(Arc::new(Request::get(&path_of("jwks_uri")?))),
                    _ => Plan::Request(Arc::new(cc.clone())),
                };
                out.push(
                    measure(
                        &http,
                        &routes,
                        &plan,
                        &pids,
                        scenario,
                        connections,
                        duration,
                        Mode::ClosedLoop,
                    )
                    .await
                    .with_context(|| format!("peer {scenario}"))?,
                );
            }
        }
        Ok(out)
    }
}

/// One `node server.mjs`; killed when dropped.
struct PeerProcess {
    child: Child,
    base: String,
}

impl PeerProcess {
    fn start(dir: &Path, alg: &str, format: &str) -> Result<PeerProcess> {
        let mut last = None;
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            match PeerProcess::start_on(dir, alg, format, port) {
                Ok(p) => return Ok(p),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("the peer did not start")))
    }

    fn start_on(dir: &Path, alg: &str, format: &str, port: u16) -> Result<PeerProcess> {
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("WORKERS", "1")
            .env("AT_FORMAT", format)
            .env("SIGN_ALG", alg)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start node server.mjs")?;
        let Some(stdout) = child.stdout.take() else {
            bail!("no stdout pipe");
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("listening on") => {
                    return Ok(PeerProcess {
                        child,
                        base: format!("http://127.0.0.1:{port}"),
                    })
                }
                Ok(_) => continue,
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    bail!("the peer ({alg}, {format}) did not start listening (exit: {status:?})");
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
