//! Starting and stopping `inkan` processes, and an admin API client.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

pub const ADMIN_ID: &str = "e2e-admin";
pub const ADMIN_SECRET: &str = "e2e-admin-secret-that-is-long-enough-0123456789";

/// How to start one `inkan` process.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub data_dir: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// The issuer's host name (`127.0.0.1` if unset). Passkey tests use
    /// `localhost`: WebAuthn refuses IP addresses as relying-party ids.
    pub issuer_host: Option<String>,
}

/// A running `inkan serve` process; killed when dropped.
pub struct Inkan {
    child: Child,
    pub base: String,
    /// The internal gRPC address (admin role only).
    pub grpc: Option<String>,
    /// The operations listener (`/metrics`, `/healthz`, `/readyz`), as `http://host:port`.
    pub metrics: String,
    /// What the process printed up to and including its `http listening` line.
    pub startup: Vec<String>,
    /// What the process printed after it started listening (its logs).
    lines: mpsc::Receiver<String>,
}

impl Inkan {
    /// Starts `inkan serve` with ports chosen by the OS and waits until it listens.
    pub fn start(options: &Options) -> Inkan {
        Inkan::try_start(options).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `inkan serve` on a fixed HTTP port reserved just before, so the
    /// issuer can name it; retries with another port if that one was taken
    /// in between (bounded).
    pub fn start_on_free_port(options: &Options) -> (Inkan, String) {
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let host = options.issuer_host.as_deref().unwrap_or("127.0.0.1");
            let issuer = format!("http://{host}:{port}");
            let mut attempt = options.clone();
            attempt
                .env
                .push(("INKAN_HTTP_ADDR".into(), format!("127.0.0.1:{port}")));
            attempt.env.push(("INKAN_ISSUER".into(), issuer.clone()));
            match Inkan::try_start(&attempt) {
                Ok(inkan) => return (inkan, issuer),
                Err(e) => last = e,
            }
        }
        panic!("inkan did not start on a free port after 5 attempts: {last}");
    }

    pub fn try_start(options: &Options) -> Result<Inkan, String> {
        Inkan::try_start_command(Inkan::command(options))
    }

    /// The `inkan serve` command [`Inkan::try_start`] runs: every listener on
    /// a port chosen by the OS, the test admin client, quiet logs.
    pub fn command(options: &Options) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_inkan"));
        cmd.arg("serve")
            .args(&options.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("INKAN_HTTP_ADDR", "127.0.0.1:0")
            .env("INKAN_GRPC_ADDR", "127.0.0.1:0")
            .env("INKAN_METRICS_ADDR", "127.0.0.1:0")
            .env("INKAN_LOG", "warn")
            .env("INKAN_BOOTSTRAP_ADMIN_CLIENT_ID", ADMIN_ID)
            .env("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET", ADMIN_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(dir) = &options.data_dir {
            cmd.env("INKAN_DATA_DIR", dir);
        }
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts `cmd` (an `inkan serve` with piped stdout) and waits until it listens.
    pub fn try_start_command(mut cmd: Command) -> Result<Inkan, String> {
        let mut child = cmd.spawn().expect("start the inkan binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut grpc = None;
        let mut metrics = None;
        let mut startup = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    startup.push(line.clone());
                    if let Some(rest) = line.strip_prefix("inkan: grpc listening on ") {
                        grpc = Some(rest.trim().to_string());
                    }
                    if let Some(rest) = line.strip_prefix("inkan: metrics listening on ") {
                        metrics = Some(rest.trim().to_string());
                    }
                    if let Some(rest) = line.strip_prefix("inkan: http listening on ") {
                        let base = rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let Some(metrics) = metrics else {
                            let _ = child.kill();
                            let _ = child.wait();
                            return Err("inkan printed no metrics address".to_string());
                        };
                        return Ok(Inkan {
                            child,
                            base,
                            grpc,
                            metrics,
                            startup,
                            lines: rx,
                        });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    return Err(format!("inkan did not start listening (exit: {status:?})"));
                }
            }
        }
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (bounded) for a graceful exit.
    pub fn stop(self) {
        self.terminate();
        self.wait_exit();
    }

    /// Sends SIGTERM and returns at once.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// Waits (bounded) for the process to exit successfully.
    pub fn wait_exit(mut self) {
        self.await_exit();
    }

    /// SIGTERM, a graceful exit, and everything the process printed after it started listening.
    pub fn stop_collecting_output(mut self) -> Vec<String> {
        self.terminate();
        self.await_exit();
        // The reader thread ends at end-of-file, which the exit guarantees.
        self.lines.iter().collect()
    }

    fn await_exit(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "inkan exited with {status} after SIGTERM");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("inkan did not exit within 20 s of SIGTERM");
    }

    pub fn admin(&self) -> Admin {
        Admin {
            base: self.base.clone(),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for Inkan {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of the admin API authenticated as the bootstrap admin.
pub struct Admin {
    pub base: String,
    pub http: reqwest::Client,
}

impl Admin {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .basic_auth(ADMIN_ID, Some(ADMIN_SECRET));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn create_project(&self) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/admin/v1/projects",
                Some(json!({
                    "name": "Shop",
                    "app_type": "web",
                    "redirect_uris": ["https://shop.example.com/callback"],
                    "post_logout_redirect_uris": ["https://shop.example.com/"],
                    "scopes": ["openid", "profile", "email"],
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn create_identity(&self, email: &str) -> Value {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/admin/v1/identities",
                Some(json!({
                    "email": email,
                    "password": "correct horse battery staple",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "claims": { "tenant": "acme" },
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
}
