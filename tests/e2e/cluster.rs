//! Microservices mode: admin ×2, authorize ×2, token ×2 and userinfo ×2 as
//! separate `inkan serve --role …` processes on PostgreSQL, Redis and NATS,
//! behind a test-only front that sends each request to the next replica of
//! the service owning its path (skipping dead ones, like a load balancer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::json;

use crate::helpers::{Inkan, Options};
use crate::provider::*;
use crate::storage::RealBackends;

#[derive(Default)]
struct Pool {
    targets: Mutex<Vec<String>>,
    next: AtomicUsize,
}

#[derive(Default)]
struct Routes {
    pools: HashMap<&'static str, Pool>,
    /// (path, replica) of every request forwarded, in order.
    served: Mutex<Vec<(String, String)>>,
}

fn service_of(path: &str) -> &'static str {
    match path {
        p if p.starts_with("/authorize")
            || p.starts_with("/login")
            || p.starts_with("/passkeys")
            || p.starts_with("/password/")
            || p.starts_with("/email/")
            || p.starts_with("/signup")
            || p.starts_with("/account")
            || p.starts_with("/static/")
            || p.starts_with("/end_session") =>
        {
            "authorize"
        }
        p if p.starts_with("/token")
            || p.starts_with("/par")
            || p.starts_with("/introspect")
            || p.starts_with("/revoke") =>
        {
            "token"
        }
        p if p.starts_with("/userinfo") => "userinfo",
        p if p.starts_with("/admin/") => "admin",
        _ => "token",
    }
}

async fn forward(
    State(routes): State<Arc<Routes>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let pool = &routes.pools[service_of(&path)];
    let targets = pool.targets.lock().unwrap().clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..targets.len() {
        let target = &targets[pool.next.fetch_add(1, Ordering::SeqCst) % targets.len()];
        let url = format!(
            "{target}{}",
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let mut req = http.request(method.clone(), url).body(body.clone());
        for (name, value) in headers.iter() {
            if name != "host" && name != "content-length" {
                req = req.header(name, value);
            }
        }
        let Ok(resp) = req.send().await else {
            continue; // a dead replica: try the next one
        };
        routes
            .served
            .lock()
            .unwrap()
            .push((path.clone(), target.clone()));
        let mut out = Response::builder().status(resp.status().as_u16());
        for (name, value) in resp.headers() {
            out = out.header(name, value);
        }
        return out
            .body(Body::from(resp.bytes().await.unwrap_or_default()))
            .unwrap();
    }
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .body(Body::empty())
        .unwrap()
}

pub(crate) struct Cluster {
    pub(crate) issuer: String,
    routes: Arc<Routes>,
    replicas: HashMap<String, Inkan>,
    backends: RealBackends,
    dir: tempfile::TempDir,
    admin_grpc: Vec<String>,
    /// The port the admin replicas reach PostgreSQL on instead of its own
    /// (a test's proxy in front of it).
    database_port: Option<u16>,
    /// More environment for every replica (an SMTP relay, say).
    env: Vec<(String, String)>,
}

impl Cluster {
    async fn start() -> Cluster {
        Cluster::start_replicas(
            &[
                "admin-a",
                "admin-b",
                "authorize-a",
                "authorize-b",
                "token-a",
                "token-b",
                "userinfo-a",
                "userinfo-b",
            ],
            None,
        )
        .await
    }

    /// The replicas named `<role>-<x>`, admins first (a rolling start: the
    /// first creates the bootstrap client and keys), on fresh backends;
    /// with `database_port`, the admins reach PostgreSQL through that port.
    pub(crate) async fn start_replicas(names: &[&str], database_port: Option<u16>) -> Cluster {
        Cluster::start_replicas_on(names, database_port, "127.0.0.1").await
    }

    /// As [`Cluster::start_replicas`], with the issuer's host named `host`
    /// (`localhost` for passkeys: WebAuthn refuses IP addresses).
    pub(crate) async fn start_replicas_on(
        names: &[&str],
        database_port: Option<u16>,
        host: &str,
    ) -> Cluster {
        Cluster::start_replicas_with(names, database_port, host, &[]).await
    }

    /// As [`Cluster::start_replicas_on`], with `env` added to every replica.
    pub(crate) async fn start_replicas_with(
        names: &[&str],
        database_port: Option<u16>,
        host: &str,
        env: &[(&str, &str)],
    ) -> Cluster {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let issuer = format!("http://{host}:{port}");
        let mut routes = Routes::default();
        for s in ["authorize", "token", "userinfo", "admin"] {
            routes.pools.insert(s, Pool::default());
        }
        let routes = Arc::new(routes);
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(routes.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut cluster = Cluster {
            issuer,
            routes,
            replicas: HashMap::new(),
            backends: RealBackends::new().await,
            dir: tempfile::tempdir().unwrap(),
            admin_grpc: vec![],
            database_port,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let (admins, others): (Vec<&str>, Vec<&str>) =
            names.iter().partition(|n| n.starts_with("admin-"));
        for name in admins.into_iter().chain(others) {
            cluster.launch(name);
        }
        cluster
    }

    fn options(&self, name: &str) -> Options {
        let mut options = self
            .backends
            .options(&inkan_testkit::nats_url(), self.dir.path());
        let role = name.split('-').next().unwrap();
        options.args = vec!["--role".into(), role.into()];
        options
            .env
            .push(("INKAN_ISSUER".into(), self.issuer.clone()));
        options.env.extend(self.env.iter().cloned());
        if role == "admin" {
            if let Some(port) = self.database_port {
                for (key, value) in options.env.iter_mut() {
                    if key == "DATABASE_URL" {
                        let mut url = url::Url::parse(value).unwrap();
                        url.set_port(Some(port)).unwrap();
                        *value = url.to_string();
                    }
                }
            }
        } else {
            // Every replica knows both admins, starting with a different one.
            let mut admins: Vec<String> = self
                .admin_grpc
                .iter()
                .map(|a| format!("http://{a}"))
                .collect();
            if name.ends_with("-b") {
                admins.reverse();
            }
            options
                .env
                .push(("INKAN_ADMIN_GRPC_URL".into(), admins.join(",")));
        }
        options
    }

    /// Starts (or restarts) one replica and puts it in its pool.
    fn launch(&mut self, name: &str) {
        let inkan = Inkan::start(&self.options(name));
        if let Some(grpc) = &inkan.grpc {
            self.admin_grpc.push(grpc.clone());
        }
        let service = name.split('-').next().unwrap();
        self.routes.pools[service]
            .targets
            .lock()
            .unwrap()
            .push(inkan.base.clone());
        self.replicas.insert(name.to_string(), inkan);
    }

    /// SIGKILLs one replica; the front finds it dead and skips it.
    fn kill(&mut self, name: &str) -> String {
        let inkan = self.replicas.remove(name).unwrap();
        let base = inkan.base.clone();
        inkan.kill();
        base
    }

    fn forget(&self, service: &str, base: &str) {
        self.routes.pools[service]
            .targets
            .lock()
            .unwrap()
            .retain(|t| t != base);
    }

    pub(crate) fn served(&self) -> Vec<(String, String)> {
        self.routes.served.lock().unwrap().clone()
    }

    pub(crate) async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.issuer))
            .basic_auth(crate::helpers::ADMIN_ID, Some(crate::helpers::ADMIN_SECRET));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Registers the project `body` describes; returns it as a relying party.
    pub(crate) async fn register(&self, body: serde_json::Value) -> Rp {
        let (status, created) = self
            .admin(reqwest::Method::POST, "/admin/v1/projects", Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        Rp::from_created(&created)
    }

    /// Registers a web project with `scopes` and the user ada@example.com; returns the project.
    pub(crate) async fn shop(&self, scopes: &[&str]) -> (Rp, serde_json::Value) {
        let (status, created) = self
            .admin(
                reqwest::Method::POST,
                "/admin/v1/projects",
                Some(json!({"name": "Shop", "app_type": "web", "redirect_uris": [CALLBACK], "scopes": scopes})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let (status, _) = self
            .admin(
                reqwest::Method::POST,
                "/admin/v1/identities",
                Some(json!({"email": "ada@example.com", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 201);
        (Rp::from_created(&created), created)
    }

    pub(crate) async fn stop(mut self) {
        for (_, inkan) in self.replicas.drain() {
            inkan.stop();
        }
        self.backends.cleanup().await;
    }
}

/// The front as a [`Provider`]-like target for the flow helpers.
pub(crate) fn as_provider(c: &Cluster) -> FrontProvider {
    FrontProvider {
        issuer: c.issuer.clone(),
    }
}

pub(crate) struct FrontProvider {
    issuer: String,
}

impl FrontProvider {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

pub(crate) async fn login(agent: &Agent, p: &FrontProvider, params: &[(&str, &str)]) -> Redirect {
    let resp = agent
        .http
        .get(p.url("/authorize"))
        .query(params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let resp = agent
        .http
        .post(p.url("/login"))
        .form(&[
            ("authz", hidden(&page, "authz").unwrap().as_str()),
            ("csrf", hidden(&page, "csrf").unwrap().as_str()),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    redirect(resp)
}

pub(crate) async fn token(
    p: &FrontProvider,
    rp: &Rp,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Redeems a code (with the suite's PKCE verifier) through the front.
pub(crate) async fn redeem(p: &FrontProvider, rp: &Rp, code: &str) -> (u16, serde_json::Value) {
    token(
        p,
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn userinfo(p: &FrontProvider, at: &str) -> u16 {
    reqwest::Client::new()
        .get(p.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_login_crosses_replicas_at_every_step_and_admin_changes_reach_every_replica() {
    let cluster = Cluster::start().await;
    let p = as_provider(&cluster);
    let (rp, created) = cluster.shop(&["openid", "email", "offline_access"]).await;

    // The whole flow; the front alternates replicas, so each step lands on another one.
    let agent = Agent::new();
    let ch = challenge();
    let params = code_params(&rp, &ch, "openid email offline_access");
    let back = login(&agent, &p, &params).await;
    assert_eq!(back.status, 303, "{back:?}");
    let (status, tokens) = redeem(&p, &rp, &back.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        userinfo(&p, tokens["access_token"].as_str().unwrap()).await,
        200
    );
    let (status, refreshed) = token(
        &p,
        &rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        userinfo(&p, refreshed["access_token"].as_str().unwrap()).await,
        200
    );
    let served = cluster.served();
    let steps: Vec<&(String, String)> = served
        .iter()
        .filter(|(path, _)| !path.starts_with("/admin"))
        .collect();
    for pair in steps.windows(2) {
        if service_of(&pair[0].0) == service_of(&pair[1].0) {
            assert_ne!(
                pair[0].1, pair[1].1,
                "consecutive steps on one service use different replicas: {steps:?}"
            );
        }
    }

    // A redirect URI changed on one admin replica is refused by every authorize replica within a second.
    let id = created["id"].as_str().unwrap();
    let (status, _) = cluster
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/projects/{id}"),
            Some(json!({"redirect_uris": ["https://rp.example.com/new"]})),
        )
        .await;
    assert_eq!(status, 200);
    let started = std::time::Instant::now();
    let refused = inkan_testkit::wait_for(Duration::from_secs(1), || async {
        // Two requests in a row: both authorize replicas must refuse it.
        let a = agent
            .http
            .get(p.url("/authorize"))
            .query(&params)
            .send()
            .await
            .unwrap()
            .status();
        let b = agent
            .http
            .get(p.url("/authorize"))
            .query(&params)
            .send()
            .await
            .unwrap()
            .status();
        (a == 400 && b == 400).then_some(())
    })
    .await;
    assert!(
        refused.is_some(),
        "old redirect URI still accepted after {:?}",
        started.elapsed()
    );

    // Deleting the identity ends its refresh tokens and sessions on every replica.
    let (_, users) = cluster
        .admin(
            reqwest::Method::GET,
            "/admin/v1/identities?email=ada@example.com",
            None,
        )
        .await;
    let uid = users["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        cluster
            .admin(
                reqwest::Method::DELETE,
                &format!("/admin/v1/identities/{uid}"),
                None
            )
            .await
            .0,
        204
    );
    let rt = refreshed["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = token(
        &p,
        &rp,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The browser's session no longer signs anyone in, whichever authorize replica it reaches.
    let (_, rp2) = cluster
        .admin(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Blog", "app_type": "web", "redirect_uris": [CALLBACK], "scopes": ["openid"]})),
        )
        .await;
    let rp2 = Rp {
        client_id: rp2["client_id"].as_str().unwrap().into(),
        secret: rp2["client_secret"].as_str().map(str::to_string),
    };
    let mut none = code_params(&rp2, &ch, "openid");
    none.push(("prompt", "none"));
    for _ in 0..2 {
        let r = redirect(
            agent
                .http
                .get(p.url("/authorize"))
                .query(&none)
                .send()
                .await
                .unwrap(),
        );
        assert_eq!(r.params["error"], "login_required", "{r:?}");
    }
    cluster.stop().await;
}

#[tokio::test]
async fn killed_replicas_lose_no_login_state_and_rejoin_after_a_restart() {
    let mut cluster = Cluster::start().await;
    let p = as_provider(&cluster);
    let (rp, _) = cluster.shop(&["openid", "offline_access"]).await;

    // The login page comes from one authorize replica, which then dies; the
    // credentials go to the other, which finds the pending request in Redis.
    let agent = Agent::new();
    let ch = challenge();
    let params = code_params(&rp, &ch, "openid offline_access");
    let resp = agent
        .http
        .get(p.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let (_, page_replica) = cluster.served().last().unwrap().clone();
    let victim = if cluster.replicas["authorize-a"].base == page_replica {
        "authorize-a"
    } else {
        "authorize-b"
    };
    let dead = cluster.kill(victim);
    let back = redirect(
        agent
            .http
            .post(p.url("/login"))
            .form(&[
                ("authz", hidden(&page, "authz").unwrap().as_str()),
                ("csrf", hidden(&page, "csrf").unwrap().as_str()),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(back.status, 303, "{back:?}");
    assert_ne!(cluster.served().last().unwrap().1, dead);

    // A token replica dies; the code and refresh token are redeemed on the other.
    let dead_token = cluster.kill("token-a");
    let (status, tokens) = redeem(&p, &rp, &back.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");

    // An admin and a userinfo replica die too: the others carry on.
    let dead_admin = cluster.kill("admin-a");
    let dead_userinfo = cluster.kill("userinfo-a");
    for _ in 0..2 {
        let status = reqwest::Client::new()
            .get(p.url("/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    let (status, body) = cluster
        .admin(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "grace@example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The killed replicas restart, catch up, and serve correctly.
    cluster.forget("authorize", &dead);
    cluster.forget("token", &dead_token);
    cluster.forget("admin", &dead_admin);
    cluster.forget("userinfo", &dead_userinfo);
    cluster.launch(victim);
    cluster.launch("token-a");
    cluster.launch("admin-a");
    cluster.launch("userinfo-a");
    // The restarted admin rebuilt its read models from the log: it knows the identity created while it was down.
    for _ in 0..2 {
        let (status, found) = cluster
            .admin(
                reqwest::Method::GET,
                "/admin/v1/identities?email=grace@example.com",
                None,
            )
            .await;
        assert_eq!((status, found["total"].as_u64()), (200, Some(1)));
    }
    for _ in 0..2 {
        let (status, body) = token(&p, &rp, &[("grant_type", "client_credentials")]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{body}"
        );
    }
    let (status, refreshed) = token(
        &p,
        &rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    // The restarted authorize replica knows the session (it lives in Redis).
    let mut none = params.clone();
    none.push(("prompt", "none"));
    for _ in 0..2 {
        let r = redirect(
            agent
                .http
                .get(p.url("/authorize"))
                .query(&none)
                .send()
                .await
                .unwrap(),
        );
        assert!(r.params.contains_key("code"), "{r:?}");
    }
    cluster.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_replays_against_two_token_replicas_succeed_exactly_once() {
    let cluster = Cluster::start().await;
    let p = as_provider(&cluster);
    let (rp, _) = cluster.shop(&["openid", "offline_access"]).await;
    let replicas = [
        cluster.replicas["token-a"].base.clone(),
        cluster.replicas["token-b"].base.clone(),
    ];

    async fn race(replicas: &[String; 2], rp: &Rp, form: Vec<(&'static str, String)>) -> Vec<u16> {
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let url = format!("{}/token", replicas[i % 2]);
                let (id, secret, form) = (rp.client_id.clone(), rp.secret.clone(), form.clone());
                tokio::spawn(async move {
                    reqwest::Client::new()
                        .post(url)
                        .basic_auth(id, secret)
                        .form(&form)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        statuses
    }

    let agent = Agent::new();
    let ch = challenge();
    let back = login(&agent, &p, &code_params(&rp, &ch, "openid offline_access")).await;
    let code = back.params["code"].clone();
    let statuses = race(
        &replicas,
        &rp,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", CALLBACK.into()),
            ("code_verifier", VERIFIER.into()),
        ],
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );

    // A refresh token from a fresh login (a new browser), raced the same way.
    let back = login(
        &Agent::new(),
        &p,
        &code_params(&rp, &ch, "openid offline_access"),
    )
    .await;
    let (_, tokens) = redeem(&p, &rp, &back.params["code"]).await;
    let statuses = race(
        &replicas,
        &rp,
        vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().unwrap().to_string(),
            ),
        ],
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    cluster.stop().await;
}
