//! Backends that hang or vanish under a running provider, beyond the clean
//! outages of `outages.rs` (through the same proxy): a PostgreSQL that keeps
//! its connections open but answers nothing (a frozen proxy: the hard case,
//! since nothing is refused and every query waits), and a Redis that is gone
//! while machines ask for tokens (how the rate limiters behave then).

use std::time::Duration;

use serde_json::json;

use crate::cluster::{as_provider, login, redeem, token, Cluster};
use crate::helpers::{Inkan, Options};
use crate::outages::Cuttable;
use crate::provider::*;
use crate::storage::RealBackends;

/// Registers a service project; returns it as a relying party.
async fn machine(cluster: &Cluster, name: &str) -> Rp {
    cluster
        .register(json!({"name": name, "app_type": "service", "scopes": ["reports"]}))
        .await
}

/// Registers a web project (confidential, the suite's callback).
async fn app(cluster: &Cluster, name: &str) -> Rp {
    cluster
        .register(
            json!({"name": name, "app_type": "web", "redirect_uris": [CALLBACK],
                         "scopes": ["openid", "email"]}),
        )
        .await
}

/// How many uncached clients of each kind the frozen-database test uses, one
/// per round; the rounds are paced over more than two of the admin's old
/// 5-second retry windows, which is what the issue saw fail.
const ROUNDS: usize = 6;
const ROUND_PACE: Duration = Duration::from_millis(2500);

// Multi-threaded: the proxy keeps forwarding while a test thread waits for a process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_postgres_never_stalls_logins_or_clients_no_replica_has_cached() {
    let postgres = Cuttable::to("127.0.0.1:5432").await;
    let cluster =
        Cluster::start_replicas(&["admin-a", "authorize-a", "token-a"], Some(postgres.port)).await;
    let front = as_provider(&cluster);
    let (status, _) = cluster
        .admin(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    // Registered now, used only once the database hangs: neither the
    // authorize nor the token replica has seen them.
    let mut machines = vec![];
    let mut apps = vec![];
    for i in 0..ROUNDS {
        machines.push(machine(&cluster, &format!("Batch {i}")).await);
        apps.push(app(&cluster, &format!("Shop {i}")).await);
    }

    postgres.freeze();
    let mut pace = tokio::time::interval(ROUND_PACE);
    for (i, (machine, app)) in machines.iter().zip(&apps).enumerate() {
        pace.tick().await;
        let (status, body) = token(&front, machine, &[("grant_type", "client_credentials")]).await;
        assert_eq!(
            status, 200,
            "round {i}: client_credentials for an uncached client: {body}"
        );

        let agent = Agent::new();
        let ch = challenge();
        let r = login(&agent, &front, &code_params(app, &ch, "openid email")).await;
        assert_eq!(r.status, 303, "round {i}: login: {r:?}");
        let (status, body) = redeem(&front, app, &r.params["code"]).await;
        assert_eq!(
            status, 200,
            "round {i}: code redemption by an uncached client: {body}"
        );
    }

    // Writes need the database: they fail clearly, then work once it answers again.
    postgres.thaw();
    let written = inkan_testkit::wait_for(Duration::from_secs(30), || async {
        let (status, _) = cluster
            .admin(
                reqwest::Method::POST,
                "/admin/v1/identities",
                Some(json!({"email": "grace@example.com"})),
            )
            .await;
        (status == 201).then_some(())
    })
    .await;
    assert!(written.is_some(), "writes work again after the thaw");
    cluster.stop().await;
}

/// A provider on the real backends with Redis behind a proxy that can cut it.
async fn provider_with_cuttable_redis(env: &[(&str, &str)]) -> (Provider, Cuttable) {
    let real = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options: Options = real.options(&inkan_testkit::nats_url(), dir.path());
    let proxy = Cuttable::to("127.0.0.1:6379").await;
    options.env.push((
        "REDIS_URL".into(),
        format!("redis://127.0.0.1:{}", proxy.port),
    ));
    options
        .env
        .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (inkan, issuer) = Inkan::start_on_free_port(&options);
    (Provider::from_parts(inkan, issuer, dir, Some(real)), proxy)
}

// Multi-threaded: the proxy keeps forwarding while a test thread waits for a process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_both_rate_limiters_fail_open_and_client_credentials_keeps_working()
{
    // Both limiters on: the per-address one (middleware) and the per-client one (/token).
    let (p, redis) = provider_with_cuttable_redis(&[
        ("INKAN_RATE_LIMIT_PER_MINUTE", "1000"),
        ("INKAN_CLIENT_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    let machine = p.service_rp(&["reports"]).await;
    let grant = || client_credentials(&p, &machine, None);
    let (status, body) = grant().await;
    assert_eq!(status, 200, "{body}");

    redis.fail();
    for i in 0..3 {
        let (status, body) = grant().await;
        assert_eq!(status, 200, "attempt {i} with Redis down: {body}");
        assert!(body["access_token"].as_str().is_some());
    }
    redis.recover();
    let (status, _) = grant().await;
    assert_eq!(status, 200);
    p.stop().await;
}
