//! The process's life: what it binds at start-up (and before what), what it
//! prints, where `/metrics` is served, how its logs look in a file, and how
//! kept-alive connections learn that it is draining.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Inkan, Options};
use crate::provider::*;

/// One HTTP/1.1 response read off a raw connection: status line, lowercase
/// header names, and the body (by `Content-Length`).
struct RawResponse {
    status: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads exactly one response (bounded by 10 s) and leaves the connection open.
async fn read_response(conn: &mut TcpStream) -> RawResponse {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = conn.read(&mut chunk).await.expect("read the response");
            assert!(n > 0, "the connection closed before a response arrived");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).expect("an ASCII head");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.parse().expect("a numeric Content-Length"))
            .expect("the response has a Content-Length");
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = conn.read(&mut chunk).await.expect("read the body");
            assert!(n > 0, "the connection closed inside the body");
            body.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(body.len(), length, "nothing beyond the announced body");
        RawResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    })
    .await
    .expect("a response within 10 s")
}

/// Reads until the server closes `conn` (bounded by 10 s) and returns what
/// came after the last response; a reset is an error.
async fn read_until_closed(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection within 10 s")?;
    Ok(rest)
}

#[tokio::test]
async fn after_sigterm_kept_alive_connections_are_answered_with_connection_close_then_closed() {
    // A drain window long enough for a loaded machine; it ends early once both connections close.
    let p = Provider::start_with(Backend::Embedded, &[("INKAN_SHUTDOWN_DRAIN_SECONDS", "8")]).await;
    let metrics = p.inkan.metrics.clone();
    let (_, svc) = p
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Batch", "app_type": "service", "scopes": ["reports"]})),
        )
        .await;
    let basic = inkan_oauth::client_auth::basic_header(
        svc["client_id"].as_str().unwrap(),
        svc["client_secret"].as_str().unwrap(),
    );
    let addr = p.issuer.trim_start_matches("http://").to_string();
    let health = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");

    // Two kept-alive connections: the first answer on each leaves it open for more.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let mut busy = TcpStream::connect(&addr).await.unwrap();
    for conn in [&mut idle, &mut busy] {
        conn.write_all(health.as_bytes()).await.unwrap();
        let first = read_response(conn).await;
        assert!(first.status.starts_with("HTTP/1.1 200"), "{}", first.status);
        assert_ne!(first.header("connection"), Some("close"));
    }
    // The next request on `busy` is in flight: its headers and half its body have arrived.
    let body = "grant_type=client_credentials&scope=reports";
    let (head, tail) = body.split_at(10);
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{head}",
        body.len()
    );
    busy.write_all(request.as_bytes()).await.unwrap();

    // SIGTERM; draining has begun once the listener refuses new connections.
    let Provider { inkan, .. } = p;
    inkan.terminate();
    let closed = inkan_testkit::wait_for(Duration::from_secs(10), || async {
        TcpStream::connect(&addr).await.is_err().then_some(())
    })
    .await;
    assert!(closed.is_some(), "the listener closes on SIGTERM");

    // The idle connection is not cut: reused, it is answered, told to close
    // (RFC 9112 §9.6), and closed cleanly after that answer.
    idle.write_all(health.as_bytes()).await.unwrap();
    let reused = read_response(&mut idle).await;
    assert!(
        reused.status.starts_with("HTTP/1.1 200"),
        "{}",
        reused.status
    );
    assert_eq!(reused.header("connection"), Some("close"));
    let rest = read_until_closed(&mut idle).await;
    assert!(
        matches!(&rest, Ok(r) if r.is_empty()),
        "a clean close: {rest:?}"
    );

    // Probes on the operations listener see the drain.
    let resp = reqwest::get(format!("{metrics}/readyz")).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "draining");

    // The in-flight request completes in full, says close, and its connection closes.
    busy.write_all(tail.as_bytes()).await.unwrap();
    let answer = read_response(&mut busy).await;
    assert!(
        answer.status.starts_with("HTTP/1.1 200"),
        "{}",
        answer.status
    );
    assert!(answer.body.contains("access_token"), "{}", answer.body);
    assert_eq!(answer.header("connection"), Some("close"));
    let rest = read_until_closed(&mut busy).await;
    assert!(
        matches!(&rest, Ok(r) if r.is_empty()),
        "a clean close: {rest:?}"
    );
    tokio::task::spawn_blocking(move || inkan.wait_exit())
        .await
        .unwrap();
}

/// `inkan serve` as [`Inkan::command`] builds it, without the test's fixed
/// admin secret (so it generates and prints one) and, unless `keep_grpc`,
/// with gRPC left at its default.
fn serve_command(data: &std::path::Path, keep_grpc: bool) -> Command {
    let mut cmd = Inkan::command(&Options {
        data_dir: Some(data.to_path_buf()),
        ..Options::default()
    });
    cmd.env_remove("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET")
        .env_remove("INKAN_BOOTSTRAP_ADMIN_CLIENT_ID");
    if !keep_grpc {
        cmd.env_remove("INKAN_GRPC_ADDR");
    }
    cmd
}

/// Runs `cmd` to its exit (killed after 60 s: a regression must fail, not hang).
fn run_to_exit(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run inkan");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

async fn discovery(base: &str) -> Value {
    reqwest::get(format!("{base}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_embedded_instances_with_default_grpc_settings_both_start() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Inkan::try_start_command(serve_command(a_dir.path(), false)).unwrap();
    let b = Inkan::try_start_command(serve_command(b_dir.path(), false))
        .expect("a second instance on another HTTP port starts");
    for inkan in [&a, &b] {
        assert_eq!(inkan.grpc, None, "one process serves no gRPC unless asked");
        assert_eq!(
            discovery(&inkan.base).await["issuer"],
            "http://127.0.0.1:8080"
        );
    }
    assert_ne!(a.base, b.base);
    tokio::task::spawn_blocking(move || {
        a.stop();
        b.stop();
    })
    .await
    .unwrap();
}

#[test]
fn a_taken_port_fails_the_start_before_the_admin_client_exists_and_a_retry_prints_it() {
    for setting in ["INKAN_HTTP_ADDR", "INKAN_METRICS_ADDR", "INKAN_GRPC_ADDR"] {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_addr = taken.local_addr().unwrap().to_string();
        let data = tempfile::tempdir().unwrap();

        let mut cmd = serve_command(data.path(), true);
        cmd.env(setting, &taken_addr);
        let out = run_to_exit(cmd);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{setting}: started on a taken port");
        assert!(
            stderr.contains(setting),
            "{setting}: stderr names it: {stderr}"
        );
        assert!(
            !stdout.contains("client_secret"),
            "{setting}: no credentials printed by a start that fails"
        );
        let created: Vec<_> = std::fs::read_dir(data.path()).unwrap().collect();
        assert!(
            created.is_empty(),
            "{setting}: nothing written to the data folder: {created:?}"
        );

        // Once the port is free (the OS's choice), the retry creates the client and says so.
        let retry = Inkan::try_start_command(serve_command(data.path(), true)).unwrap();
        assert!(
            retry
                .startup
                .iter()
                .any(|l| l.starts_with("inkan:   client_secret = ")),
            "{setting}: the retry prints the generated credentials"
        );
        retry.stop();
    }
}

#[tokio::test]
async fn the_start_up_line_names_the_issuer_exactly_as_discovery_does() {
    let p = Provider::start(Backend::Embedded).await;
    let line = p
        .inkan
        .startup
        .iter()
        .find(|l| l.starts_with("inkan: http listening on "))
        .unwrap()
        .clone();
    let issuer = discovery(&p.issuer).await["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(issuer, p.issuer);
    assert!(
        line.ends_with(&format!("(issuer {issuer})")),
        "{line:?} names {issuer:?}"
    );
    p.stop().await;
}

#[tokio::test]
async fn metrics_are_served_on_the_operations_listener_and_not_on_the_public_port() {
    let p = Provider::start(Backend::Embedded).await;
    let public = reqwest::get(p.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), 404, "no /metrics on the public port");
    for path in ["/healthz", "/readyz"] {
        let resp = reqwest::get(p.url(path)).await.unwrap();
        assert_eq!(resp.status(), 200, "public {path}");
    }

    let ops = &p.inkan.metrics;
    let resp = reqwest::get(format!("{ops}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
    for path in ["/healthz", "/readyz"] {
        let resp = reqwest::get(format!("{ops}{path}")).await.unwrap();
        assert_eq!(resp.status(), 200, "operations {path}");
    }
    // Only operations: no protocol endpoint answers there.
    for path in [
        "/.well-known/openid-configuration",
        "/token",
        "/admin/v1/projects",
    ] {
        let resp = reqwest::get(format!("{ops}{path}")).await.unwrap();
        assert_eq!(resp.status(), 404, "operations {path}");
    }
    p.stop().await;
}

#[tokio::test]
async fn pretty_logs_written_to_a_pipe_carry_no_colour_codes() {
    let p = Provider::start_with(
        Backend::Embedded,
        &[("INKAN_LOG", "info"), ("INKAN_LOG_FORMAT", "pretty")],
    )
    .await;
    let mut output = p.inkan.startup.clone();
    let Provider { inkan, .. } = p;
    output.extend(
        tokio::task::spawn_blocking(move || inkan.stop_collecting_output())
            .await
            .unwrap(),
    );
    assert!(
        output
            .iter()
            .any(|l| l.contains("INFO") && l.contains("inkan started")),
        "the info lines were written: {output:?}"
    );
    let coloured: Vec<&String> = output.iter().filter(|l| l.contains("\x1b[")).collect();
    assert!(
        coloured.is_empty(),
        "ANSI escape codes in piped logs: {coloured:?}"
    );
}
