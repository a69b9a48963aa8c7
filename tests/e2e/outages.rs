//! Backends failing under a running provider. Each backend is reached
//! through a TCP proxy owned by the test, which can cut every connection and
//! refuse new ones, or freeze them (open, but no byte crosses), then let
//! traffic through again — an outage without touching the shared servers
//! other tests use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use inkan_bus::{EventBus, NatsBus, NatsBusConfig};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Inkan, Options};
use crate::provider::*;
use crate::storage::RealBackends;

/// A TCP proxy to `upstream` that an outage can be switched on and off in:
/// a refusing one ([`Cuttable::fail`]) or a hung one ([`Cuttable::freeze`]).
pub struct Cuttable {
    pub port: u16,
    down: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    frozen: watch::Sender<bool>,
}

impl Cuttable {
    pub async fn to(upstream: &str) -> Cuttable {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = watch::channel(0u64);
        let (frozen, _) = watch::channel(false);
        let (flag, cuts, gate, upstream) = (
            down.clone(),
            cut.clone(),
            frozen.clone(),
            upstream.to_string(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                if flag.load(Ordering::SeqCst) {
                    drop(inbound); // refused, as by a dead server
                    continue;
                }
                let mut cut_rx = cuts.subscribe();
                let (gate, upstream) = (gate.clone(), upstream.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::select! {
                        _ = pump(in_read, out_write, gate.subscribe()) => {}
                        _ = pump(out_read, in_write, gate.subscribe()) => {}
                        _ = cut_rx.changed() => {} // the outage drops live connections
                    }
                });
            }
        });
        Cuttable {
            port,
            down,
            cut,
            frozen,
        }
    }

    pub fn fail(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn recover(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Connections stay open (new ones are accepted too) but no byte
    /// crosses in either direction, as with a host that stopped answering.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

/// Copies `from` to `to`, holding every chunk while the gate says frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if gate.wait_for(|frozen| !frozen).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn host_port(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!(
        "{}:{}",
        u.host_str().unwrap(),
        u.port_or_known_default().unwrap()
    )
}

fn with_port(url: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_port(Some(port)).unwrap();
    u.to_string()
}

async fn readyz(base: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// Signs a user in through the provider at `base` (its issuer) and returns the tokens.
async fn tokens_for(p: &Provider) -> (Rp, Value) {
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let r = Agent::new()
        .sign_in(
            p,
            &code_params(&rp, &ch, "openid offline_access"),
            "ada@example.com",
        )
        .await;
    let (status, tokens) = exchange(p, &rp, &r.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    (rp, tokens)
}

async fn refresh(p: &Provider, rp: &Rp, token: &str) -> (u16, Option<String>, Value) {
    let resp = reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

/// A provider on the real backends with one of them behind a proxy.
async fn provider_with(proxied: &str) -> (Provider, Cuttable) {
    let real = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options: Options = real.options(&inkan_testkit::nats_url(), dir.path());
    let upstream = options
        .env
        .iter()
        .find(|(k, _)| k == proxied)
        .unwrap()
        .1
        .clone();
    let proxy = Cuttable::to(&host_port(&upstream)).await;
    options
        .env
        .push((proxied.to_string(), with_port(&upstream, proxy.port)));
    let (inkan, issuer) = Inkan::start_on_free_port(&options);
    (Provider::from_parts(inkan, issuer, dir, Some(real)), proxy)
}

// Multi-threaded: the proxies keep forwarding while a test thread waits for a process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_temporarily_unavailable_and_revokes_nothing() {
    let (p, redis) = provider_with("REDIS_URL").await;
    let (rp, tokens) = tokens_for(&p).await;
    let rt = tokens["refresh_token"].as_str().unwrap();

    redis.fail();
    let (status, retry, body) = refresh(&p, &rp, rt).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["error"], "temporarily_unavailable",
        "never invalid_grant"
    );
    assert!(
        retry.is_some(),
        "Retry-After tells the client when to come back"
    );
    // Discovery and JWKS keep answering; readiness says what is wrong.
    assert_eq!(
        reqwest::get(p.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(reqwest::get(p.url("/jwks")).await.unwrap().status(), 200);
    let (status, ready) = readyz(&p.issuer).await;
    assert_eq!(status, 503);
    assert_eq!(ready["checks"]["key_value_store"], false);
    // No code is issued without its stored state.
    let ch = challenge();
    let r = redirect(
        Agent::new()
            .authorize(&p, &code_params(&rp, &ch, "openid"))
            .await,
    );
    assert_eq!(
        r.params.get("error").map(String::as_str),
        Some("temporarily_unavailable"),
        "{r:?}"
    );
    assert!(!r.params.contains_key("code"));

    redis.recover();
    let back = inkan_testkit::wait_for(Duration::from_secs(15), || async {
        (readyz(&p.issuer).await.0 == 200).then_some(())
    })
    .await;
    assert!(back.is_some(), "ready again once Redis is back");
    let (status, _, body) = refresh(&p, &rp, rt).await;
    assert_eq!(status, 200, "the outage revoked nothing: {body}");
    p.stop().await;
}

// Multi-threaded: the proxies keep forwarding while a test thread waits for a process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_fails_admin_writes_clearly_while_reads_and_logins_keep_working() {
    let (p, postgres) = provider_with("DATABASE_URL").await;
    let (rp, tokens) = tokens_for(&p).await;
    let admin = p.inkan.admin();

    postgres.fail();
    let (status, body) = admin
        .send(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "grace@example.com"})),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    let (status, list) = admin.get("/admin/v1/projects").await;
    assert_eq!(status, 200, "reads come from the read models");
    assert!(list["total"].as_u64().unwrap() >= 2);
    let (status, _, body) = refresh(&p, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        status, 200,
        "the token path never touches the database: {body}"
    );

    postgres.recover();
    let written = inkan_testkit::wait_for(Duration::from_secs(20), || async {
        let (status, _) = admin
            .send(
                reqwest::Method::POST,
                "/admin/v1/identities",
                Some(json!({"email": "grace@example.com"})),
            )
            .await;
        (status == 201).then_some(())
    })
    .await;
    assert!(
        written.is_some(),
        "writes work again once PostgreSQL is back"
    );
    p.stop().await;
}

// Multi-threaded: the proxies keep forwarding while a test thread waits for a process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_outage_keeps_writes_and_publication_resumes_without_loss_or_duplicates() {
    let real = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    let nats = Cuttable::to(&host_port(&inkan_testkit::nats_url())).await;
    let nats_url = format!("nats://127.0.0.1:{}", nats.port);
    let mut admin_options = real.options(&nats_url, dir.path());
    admin_options.args = vec!["--role".into(), "admin".into()];
    let admin = Inkan::start(&admin_options);
    let mut token_options = real.options(&nats_url, dir.path());
    token_options.args = vec!["--role".into(), "token".into()];
    token_options.env.push((
        "INKAN_ADMIN_GRPC_URL".into(),
        format!("http://{}", admin.grpc.clone().unwrap()),
    ));
    let token = Inkan::start(&token_options);
    let connected = inkan_testkit::wait_for(Duration::from_secs(10), || async {
        (readyz(&token.base).await.1["checks"]["cache"]["event_bus"] == "connected").then_some(())
    })
    .await;
    assert!(connected.is_some());

    nats.fail();
    let degraded = inkan_testkit::wait_for(Duration::from_secs(15), || async {
        let (_, ready) = readyz(&token.base).await;
        (ready["checks"]["cache"]["event_bus"] == "disconnected").then_some(ready)
    })
    .await
    .expect("the cache notices the bus is gone");
    assert_eq!(
        degraded["checks"]["cache"]["ttl_seconds"], 5,
        "shorter lifetimes while disconnected"
    );
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        admin.admin().create_identity(email).await; // writes keep committing
    }

    nats.recover();
    let (_, events) = admin
        .admin()
        .get("/admin/v1/events?after=0&limit=1000")
        .await;
    let committed: Vec<i64> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    let subscriber = NatsBus::connect(NatsBusConfig {
        url: inkan_testkit::nats_url(),
        stream: real_stream(&admin_options),
        subject_prefix: real_subjects(&admin_options),
    })
    .await
    .unwrap();
    let mut stream = subscriber
        .subscribe(0)
        .await
        .expect("stream exists: events were published before the outage");
    let mut seen = Vec::new();
    while seen.len() < committed.len() {
        let e = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("publication resumes after the outage")
            .unwrap()
            .unwrap();
        seen.push(e.position);
    }
    assert_eq!(seen, committed, "every committed event, once, in order");
    let reconnected = inkan_testkit::wait_for(Duration::from_secs(15), || async {
        (readyz(&token.base).await.1["checks"]["cache"]["event_bus"] == "connected").then_some(())
    })
    .await;
    assert!(reconnected.is_some());
    token.stop();
    admin.stop();
    real.cleanup().await;
}

fn env_of(options: &Options, key: &str) -> String {
    options
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .unwrap()
        .1
        .clone()
}

fn real_stream(options: &Options) -> String {
    env_of(options, "INKAN_NATS_STREAM")
}

fn real_subjects(options: &Options) -> String {
    env_of(options, "INKAN_NATS_SUBJECT_PREFIX")
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_before_exiting() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let p = Provider::start(Backend::Embedded).await;
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

    // A request is in flight: the server has read its headers and asked for
    // its body (`Expect: 100-continue`, RFC 9110 §10.1.1, answered when the
    // handler starts reading it), so the request is certainly being served
    // and not merely sitting unread in the socket.
    let body = "grant_type=client_credentials&scope=reports";
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut interim))
        .await
        .expect("100 Continue within 10 s")
        .unwrap();
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&interim)
    );

    // SIGTERM, then wait until the server has stopped accepting new connections.
    let Provider { inkan, .. } = p;
    inkan.terminate();
    let closed = inkan_testkit::wait_for(Duration::from_secs(10), || async {
        TcpStream::connect(&addr).await.is_err().then_some(())
    })
    .await;
    assert!(closed.is_some(), "the listener closes on SIGTERM");

    // The in-flight request still completes in full.
    conn.write_all(body.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut response))
        .await
        .expect("answered within 10 s")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"));
    tokio::task::spawn_blocking(move || inkan.wait_exit())
        .await
        .unwrap();
}
