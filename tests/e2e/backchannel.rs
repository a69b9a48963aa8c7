//! OpenID Back-Channel Logout 1.0 from the outside: relying-party stubs on
//! loopback receive the logout tokens the real `inkan` binary posts when a
//! session of theirs ends — after an RP-initiated logout in another app,
//! an admin's revocation, a deletion — and the tokens verify against
//! `/jwks`. The faults: an RP that answers 500 before it answers 200 (each
//! attempt a new `jti`), an RP that never answers (another RP is told
//! meanwhile), a deliverer SIGKILLed while it retries (the notice arrives
//! after the restart), an RP that never accepts (the failure shows in the
//! admin API), and two admin replicas sharing the work (one delivery).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::cluster::{self, Cluster};
use crate::helpers::{Inkan, Options};
use crate::provider::*;

/// What a stub answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 500 to the first `n` requests, then 200.
    FailFirst(usize),
    /// Never answers (the deliverer's timeout ends each attempt).
    Never,
}

#[derive(Default)]
struct Seen {
    /// Every `logout_token` posted, oldest first.
    tokens: Mutex<Vec<String>>,
    /// Requests that arrived and were not answered yet.
    in_flight: AtomicUsize,
    /// While set, every request is answered 500 whatever the plan says.
    failing: std::sync::atomic::AtomicBool,
}

/// A relying party's back-channel logout endpoint on a loopback port.
struct RpStub {
    url: String,
    seen: Arc<Seen>,
}

async fn receive(State((seen, answer)): State<(Arc<Seen>, Answer)>, body: String) -> StatusCode {
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let n = {
        let mut tokens = seen.tokens.lock().unwrap();
        tokens.push(token);
        tokens.len()
    };
    match answer {
        Answer::Never => {
            seen.in_flight.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
            StatusCode::OK
        }
        Answer::FailFirst(_) if seen.failing.load(Ordering::SeqCst) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        Answer::FailFirst(k) if n <= k => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::FailFirst(_) => StatusCode::OK,
    }
}

impl RpStub {
    async fn start(answer: Answer) -> RpStub {
        RpStub::start_on(
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            answer,
        )
    }

    fn start_on(listener: tokio::net::TcpListener, answer: Answer) -> RpStub {
        let seen = Arc::new(Seen::default());
        let url = format!(
            "http://127.0.0.1:{}/backchannel-logout",
            listener.local_addr().unwrap().port()
        );
        let app = axum::Router::new()
            .route("/backchannel-logout", axum::routing::post(receive))
            .with_state((seen.clone(), answer));
        tokio::spawn(async move { axum::serve(listener, app).await });
        RpStub { url, seen }
    }

    fn tokens(&self) -> Vec<String> {
        self.seen.tokens.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` tokens arrived; returns them.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..600 {
            let tokens = self.tokens();
            if tokens.len() >= n {
                return tokens;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} logout tokens expected at {}, got {}",
            n,
            self.url,
            self.tokens().len()
        );
    }
}

/// A web app whose back-channel logout URI is the stub's.
async fn app_with_logout(p: &Provider, stub: &RpStub) -> Rp {
    p.web_rp(json!({ "backchannel_logout_uri": stub.url }))
        .await
}

/// Signs in to `rp` (a login, or SSO when the agent has a session) and
/// redeems the code; returns the token response.
async fn sign_in(p: &Provider, agent: &Agent, rp: &Rp) -> Value {
    let challenge = challenge();
    let params = code_params(rp, &challenge, "openid email");
    let redirect = agent.sign_in(p, &params, "ada@example.com").await;
    let code = redirect.params.get("code").expect("a code").clone();
    let (status, tokens) = exchange(p, rp, &code).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// Checks a logout token as an RP must (Back-Channel Logout §2.6): the
/// signature against `/jwks`, `iss`, `aud`, `iat`, the event, `sid`, `sub`,
/// no `nonce`, explicit typing; returns its claims.
async fn check_logout_token(issuer: &str, token: &str, rp: &Rp, sid: &str, sub: &str) -> Value {
    let (header, claims) = verify_at(issuer, token, &rp.client_id).await;
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"), "{claims}");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], rp.client_id.as_str());
    assert!(claims["iat"].is_i64(), "{claims}");
    assert!(claims["jti"].is_string(), "{claims}");
    assert_eq!(
        claims["events"],
        json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], sub);
    assert!(claims.get("nonce").is_none(), "{claims}");
    claims
}

fn id_claims(tokens: &Value) -> Value {
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn refresh(p: &Provider, rp: &Rp, refresh_token: &str) -> u16 {
    reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// RP-initiated logout with the app's ID token, back to its registered
/// logout URI.
async fn log_out_at(p: &Provider, agent: &Agent, tokens: &Value) {
    let resp = agent
        .http
        .get(p.url("/end_session"))
        .query(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

const FAST_RETRIES: &[(&str, &str)] = &[("INKAN_BACKCHANNEL_RETRY_BASE_MS", "100")];

async fn logout_reaches_every_app(backend: Backend) {
    let p = Provider::start_with(backend, FAST_RETRIES).await;
    let flaky = RpStub::start(Answer::FailFirst(2)).await;
    let steady = RpStub::start(Answer::FailFirst(0)).await;
    let shop = app_with_logout(&p, &flaky).await;
    let blog = app_with_logout(&p, &steady).await;
    let ada = p.user("ada@example.com").await;

    // One browser signs in to the shop, then to the blog by SSO.
    let agent = Agent::new();
    let shop_tokens = sign_in(&p, &agent, &shop).await;
    let blog_tokens = sign_in(&p, &agent, &blog).await;
    let sid = id_claims(&shop_tokens)["sid"].as_str().unwrap().to_string();
    assert_eq!(
        id_claims(&blog_tokens)["sid"],
        sid.as_str(),
        "one session, one sid"
    );
    let discovery: Value = reqwest::get(p.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);

    // The user logs out at the blog (RP-initiated logout).
    log_out_at(&p, &agent, &blog_tokens).await;

    // Both apps are told; the shop after two 500s, each attempt a fresh token.
    let blog_got = steady.wait_for(1).await;
    check_logout_token(&p.issuer, &blog_got[0], &blog, &sid, &ada).await;
    let shop_got = flaky.wait_for(3).await;
    let mut jtis = Vec::new();
    for token in &shop_got {
        let claims = check_logout_token(&p.issuer, token, &shop, &sid, &ada).await;
        jtis.push(claims["jti"].as_str().unwrap().to_string());
    }
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 3, "every attempt carries a new jti");

    // The session's refresh tokens ended with it; the browser signs in anew.
    assert_eq!(
        refresh(&p, &shop, shop_tokens["refresh_token"].as_str().unwrap()).await,
        400
    );
    let resp = agent
        .authorize(&p, &code_params(&shop, &challenge(), "openid"))
        .await;
    assert_eq!(resp.status(), 200, "the login form again");

    let metrics = reqwest::get(format!("{}/metrics", p.inkan.metrics))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("inkan_backchannel_logouts_total{outcome=\"delivered\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("inkan_backchannel_logouts_total{outcome=\"retried\"} 2"),
        "{metrics}"
    );
    p.stop().await;
}

#[tokio::test]
async fn logging_out_of_one_app_tells_every_app_of_the_session_by_back_channel_on_the_embedded_stores(
) {
    logout_reaches_every_app(Backend::Embedded).await;
}

#[tokio::test]
async fn logging_out_of_one_app_tells_every_app_of_the_session_by_back_channel_on_postgres_redis_and_nats(
) {
    logout_reaches_every_app(Backend::Real).await;
}

#[tokio::test]
async fn a_relying_party_that_never_answers_does_not_keep_another_from_being_told() {
    // Each attempt at the silent app may hang for 30 s.
    let p = Provider::start_with(
        Backend::Embedded,
        &[("INKAN_BACKCHANNEL_TIMEOUT_MS", "30000")],
    )
    .await;
    let silent = RpStub::start(Answer::Never).await;
    let steady = RpStub::start(Answer::FailFirst(0)).await;
    // The silent app's notice is committed first.
    let first = app_with_logout(&p, &silent).await;
    let second = app_with_logout(&p, &steady).await;
    p.user("ada@example.com").await;
    let agent = Agent::new();
    let tokens = sign_in(&p, &agent, &first).await;
    sign_in(&p, &agent, &second).await;
    let resp = agent
        .http
        .get(p.url("/end_session"))
        .query(&[("id_token_hint", tokens["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    silent.wait_for(1).await;
    steady.wait_for(1).await;
    // The other app was told while the silent one still held its request.
    assert_eq!(silent.seen.in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(silent.tokens().len(), 1);
    p.stop().await;
}

/// Kills the provider while its deliverer retries against an app that
/// answers 500; the notice arrives after the restart.
async fn survives_a_killed_deliverer(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let real = match backend {
        Backend::Embedded => None,
        Backend::Real => Some(crate::storage::RealBackends::new().await),
    };
    let options = || {
        let mut options = match &real {
            Some(real) => real.options(&inkan_testkit::nats_url(), dir.path()),
            None => Options {
                data_dir: Some(dir.path().to_path_buf()),
                ..Default::default()
            },
        };
        options
            .env
            .push(("INKAN_BACKCHANNEL_RETRY_BASE_MS".into(), "200".into()));
        options
    };
    let stub = RpStub::start(Answer::FailFirst(0)).await;
    stub.seen.failing.store(true, Ordering::SeqCst);
    let (inkan, issuer) = Inkan::start_on_free_port(&options());
    let p = Provider::from_parts(inkan, issuer, tempfile::tempdir().unwrap(), None);
    let rp = app_with_logout(&p, &stub).await;
    let ada = p.user("ada@example.com").await;
    let agent = Agent::new();
    let tokens = sign_in(&p, &agent, &rp).await;
    let sid = id_claims(&tokens)["sid"].as_str().unwrap().to_string();
    agent.get(&p.url("/end_session")).await;
    // The deliverer is retrying: two attempts failed.
    stub.wait_for(2).await;
    p.inkan.kill();

    stub.seen.failing.store(false, Ordering::SeqCst);
    let before = stub.tokens().len();
    let (inkan, issuer) = Inkan::start_on_free_port(&options());
    let got = stub.wait_for(before + 1).await;
    check_logout_token(&issuer, got.last().unwrap(), &rp, &sid, &ada).await;
    inkan.stop();
    if let Some(real) = real {
        real.cleanup().await;
    }
}

#[tokio::test]
async fn a_logout_notice_survives_a_sigkill_of_its_deliverer_on_the_embedded_stores() {
    survives_a_killed_deliverer(Backend::Embedded).await;
}

#[tokio::test]
async fn a_logout_notice_survives_a_sigkill_of_its_deliverer_on_postgres_redis_and_nats() {
    survives_a_killed_deliverer(Backend::Real).await;
}

#[tokio::test]
async fn admins_list_and_revoke_sessions_and_see_notices_that_ran_out_of_attempts() {
    let p = Provider::start_with(
        Backend::Embedded,
        &[
            ("INKAN_BACKCHANNEL_RETRY_BASE_MS", "50"),
            ("INKAN_BACKCHANNEL_MAX_ATTEMPTS", "2"),
        ],
    )
    .await;
    let steady = RpStub::start(Answer::FailFirst(0)).await;
    let broken = RpStub::start(Answer::FailFirst(usize::MAX)).await;
    let good = app_with_logout(&p, &steady).await;
    let bad = app_with_logout(&p, &broken).await;
    let ada = p.user("ada@example.com").await;
    let admin = p.inkan.admin();

    // Two browsers: the first at the good app, the second at both.
    let one = Agent::new();
    let one_tokens = sign_in(&p, &one, &good).await;
    let two = Agent::new();
    sign_in(&p, &two, &good).await;
    let two_tokens = sign_in(&p, &two, &bad).await;
    let (status, list) = admin
        .get(&format!("/admin/v1/identities/{ada}/sessions"))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 2, "{list}");
    let two_sid = id_claims(&two_tokens)["sid"].as_str().unwrap().to_string();
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sid"] == two_sid.as_str())
        .expect("the second browser's session is listed by its sid")
        .clone();
    let mut clients = vec![good.client_id.clone(), bad.client_id.clone()];
    clients.sort();
    assert_eq!(listed["backchannel_clients"], json!(clients));
    assert!(listed.get("handle").is_none());

    // Revoking the second session tells both its apps; the first lives on.
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/identities/{ada}/sessions/{two_sid}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let got = steady.wait_for(1).await;
    check_logout_token(&p.issuer, &got[0], &good, &two_sid, &ada).await;
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/identities/{ada}/sessions/{two_sid}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "a session ends once");
    let (_, list) = admin
        .get(&format!("/admin/v1/identities/{ada}/sessions"))
        .await;
    assert_eq!(list["total"], 1, "{list}");

    // The broken app refused both attempts: the admin API shows it.
    broken.wait_for(2).await;
    let mut failures = Value::Null;
    for _ in 0..200 {
        let (_, identity) = admin.get(&format!("/admin/v1/identities/{ada}")).await;
        failures = identity["backchannel_logout_failures"].clone();
        if failures.as_array().is_some_and(|f| !f.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        failures[0]["client_id"],
        bad.client_id.as_str(),
        "{failures}"
    );
    assert_eq!(failures[0]["sid"], two_sid.as_str(), "{failures}");
    assert_eq!(failures[0]["attempts"], 2, "{failures}");

    // Deleting the identity tells the apps of its remaining session.
    let one_sid = id_claims(&one_tokens)["sid"].as_str().unwrap().to_string();
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/identities/{ada}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let got = steady.wait_for(2).await;
    check_logout_token(&p.issuer, &got[1], &good, &one_sid, &ada).await;
    p.stop().await;
}

#[tokio::test]
async fn back_channel_uris_into_private_networks_are_refused_at_registration() {
    let p = Provider::start(Backend::Embedded).await;
    for (uri, field) in [
        ("https://10.0.0.7/logout", "backchannel_logout_uri"),
        ("https://169.254.169.254/latest", "backchannel_logout_uri"),
        ("http://rp.example.com/logout", "backchannel_logout_uri"),
        (
            "https://rp.example.com/logout#frag",
            "backchannel_logout_uri",
        ),
    ] {
        let (status, body) = p
            .inkan
            .admin()
            .send(
                reqwest::Method::POST,
                "/admin/v1/projects",
                Some(json!({
                    "name": "App",
                    "app_type": "web",
                    "redirect_uris": [CALLBACK],
                    "scopes": ["openid"],
                    "backchannel_logout_uri": uri,
                })),
            )
            .await;
        assert_eq!(status, 400, "{uri}: {body}");
        assert!(body.to_string().contains(field), "{uri}: {body}");
    }
    let rp = p
        .web_rp(json!({"backchannel_logout_uri": "https://rp.example.com/bc?x=1", "backchannel_logout_session_required": true}))
        .await;
    let (_, projects) = p.inkan.admin().get("/admin/v1/projects").await;
    let shown = projects["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["client_id"] == rp.client_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        shown["backchannel_logout_uri"],
        "https://rp.example.com/bc?x=1"
    );
    assert_eq!(shown["backchannel_logout_session_required"], true);
    p.stop().await;
}

#[tokio::test]
async fn in_the_microservices_shape_two_admins_deliver_each_notice_once() {
    let stub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let flaky = RpStub::start_on(stub_listener, Answer::FailFirst(1));
    let steady = RpStub::start(Answer::FailFirst(0)).await;
    let c = Cluster::start_replicas_with(
        &[
            "admin-a",
            "admin-b",
            "authorize-a",
            "authorize-b",
            "token-a",
        ],
        None,
        "127.0.0.1",
        FAST_RETRIES,
    )
    .await;
    let shop = c
        .register(
            json!({"name": "Shop", "app_type": "web", "redirect_uris": [CALLBACK],
            "scopes": ["openid"], "backchannel_logout_uri": flaky.url}),
        )
        .await;
    let blog = c
        .register(
            json!({"name": "Blog", "app_type": "web", "redirect_uris": [CALLBACK],
            "scopes": ["openid"], "backchannel_logout_uri": steady.url}),
        )
        .await;
    let (status, _) = c
        .admin(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    let front = cluster::as_provider(&c);
    let agent = Agent::new();
    let challenge = challenge();
    let first = cluster::login(&agent, &front, &code_params(&shop, &challenge, "openid")).await;
    let (status, shop_tokens) = cluster::redeem(&front, &shop, &first.params["code"]).await;
    assert_eq!(status, 200, "{shop_tokens}");
    // SSO at the blog, through the other authorize replica.
    let resp = agent
        .http
        .get(format!("{}/authorize", c.issuer))
        .query(&code_params(&blog, &challenge, "openid"))
        .send()
        .await
        .unwrap();
    let second = redirect(resp);
    let (status, _) = cluster::redeem(&front, &blog, &second.params["code"]).await;
    assert_eq!(status, 200);
    let resp = agent
        .http
        .get(format!("{}/end_session", c.issuer))
        .query(&[("id_token_hint", shop_tokens["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sid = id_claims(&shop_tokens)["sid"].as_str().unwrap().to_string();
    let got = steady.wait_for(1).await;
    let (_, claims) = verify_at(&c.issuer, &got[0], &blog.client_id).await;
    assert_eq!(claims["sid"], sid.as_str());
    // The shop answered 500 once, then took the retry.
    flaky.wait_for(2).await;
    // Both admins stop (after finishing what they hold): nothing more came.
    c.stop().await;
    assert_eq!(steady.tokens().len(), 1, "delivered once across two admins");
    assert_eq!(flaky.tokens().len(), 2, "one failure, one delivery");
}

#[tokio::test]
async fn blocking_an_identity_tells_its_apps_refuses_its_logins_and_unblocking_needs_a_new_login() {
    let p = Provider::start(Backend::Embedded).await;
    let steady = RpStub::start(Answer::FailFirst(0)).await;
    let rp = app_with_logout(&p, &steady).await;
    let ada = p.user("ada@example.com").await;
    let admin = p.inkan.admin();
    let agent = Agent::new();
    let tokens = sign_in(&p, &agent, &rp).await;
    let sid = id_claims(&tokens)["sid"].as_str().unwrap().to_string();

    let (status, _) = admin
        .send(
            reqwest::Method::POST,
            &format!("/admin/v1/identities/{ada}/block"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let got = steady.wait_for(1).await;
    check_logout_token(&p.issuer, &got[0], &rp, &sid, &ada).await;
    let (_, identity) = admin.get(&format!("/admin/v1/identities/{ada}")).await;
    assert_eq!(identity["blocked"], true, "{identity}");
    // Its refresh token (offline access included) and its password are refused.
    assert_eq!(
        refresh(&p, &rp, tokens["refresh_token"].as_str().unwrap()).await,
        400
    );
    let pkce = challenge();
    let params = code_params(&rp, &pkce, "openid");
    let page = agent.authorize(&p, &params).await;
    assert_eq!(page.status(), 200, "the session is gone: the login form");
    let page = page.text().await.unwrap();
    let resp = agent.login(&p, &page, "ada@example.com", PASSWORD).await;
    assert_ne!(resp.status(), 303, "a blocked identity cannot sign in");

    let (status, _) = admin
        .send(
            reqwest::Method::POST,
            &format!("/admin/v1/identities/{ada}/unblock"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    // The old refresh token stays dead; a new login works.
    assert_eq!(
        refresh(&p, &rp, tokens["refresh_token"].as_str().unwrap()).await,
        400
    );
    let fresh = Agent::new();
    sign_in(&p, &fresh, &rp).await;
    p.stop().await;
}

#[tokio::test]
async fn end_session_can_wait_for_the_other_apps_to_be_told_before_it_redirects() {
    let p = Provider::start_with(
        Backend::Embedded,
        &[
            ("INKAN_BACKCHANNEL_RETRY_BASE_MS", "100"),
            ("INKAN_END_SESSION_WAIT_MS", "10000"),
        ],
    )
    .await;
    let flaky = RpStub::start(Answer::FailFirst(1)).await;
    let steady = RpStub::start(Answer::FailFirst(0)).await;
    let shop = app_with_logout(&p, &flaky).await;
    let blog = app_with_logout(&p, &steady).await;
    p.user("ada@example.com").await;
    let agent = Agent::new();
    sign_in(&p, &agent, &shop).await;
    let blog_tokens = sign_in(&p, &agent, &blog).await;
    log_out_at(&p, &agent, &blog_tokens).await;
    // Both apps were told by the time the browser is sent back, the shop
    // after its retry: nothing is awaited here.
    assert_eq!(steady.tokens().len(), 1);
    assert_eq!(flaky.tokens().len(), 2);
    p.stop().await;
}
