//! Runs every scenario for a fraction of a second against an embedded
//! `inkan`, and a few against `inkan serve` on the real backends and
//! against the four roles as separate processes (two token replicas), checking
//! correctness only (requests completed, none failed, CPU was measured, the
//! backends' namespace is gone afterwards), never timing. The inkan binary
//! belongs to another package, so it is taken from the same target
//! directory (`<target>/debug/inkan`, next to `deps/`, where this test runs
//! from); the tests are skipped when it has not been built (`cargo build -p inkan`).

use std::time::Duration;

use inkan_bench::backends::BackendUrls;
use inkan_bench::report;
use inkan_bench::{run, Config, Deployment, Shape, StartOptions, ALL_SCENARIOS};

fn inkan_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // <target>/debug/deps/smoke-<hash> -> <target>/debug/inkan
    let bin = exe.parent()?.parent()?.join("inkan");
    bin.exists().then_some(bin)
}

fn config(scenarios: &[&str]) -> Config {
    Config {
        duration: Duration::from_millis(300),
        connections: 2,
        scenarios: scenarios.iter().map(|s| s.to_string()).collect(),
        tokens: 20,
        flow_alg: "ES256".into(),
    }
}

async fn run_and_check(shape: Shape, token_replicas: usize, scenarios: &[&str]) -> Deployment {
    let bin = inkan_binary().expect("checked by the caller");
    let deployment = Deployment::start(&StartOptions {
        shape,
        bin,
        token_replicas,
        backends: BackendUrls::default(),
    })
    .await
    .expect("start inkan");
    let results = run(
        &config(scenarios),
        &deployment.routes,
        &deployment.admin_id,
        &deployment.admin_secret,
        &deployment.pids(),
    )
    .await
    .expect("run the scenarios");
    println!(
        "{}",
        report::table(&report::judge(&results, None, &[], "ES256"))
    );
    assert_eq!(results.len(), scenarios.len());
    for r in &results {
        assert!(r.requests > 0, "{}: no requests completed", r.scenario);
        assert_eq!(r.errors, 0, "{}: {:?}", r.scenario, r.first_error);
        assert!(
            r.server_cpu_seconds.is_some(),
            "{}: no CPU figure",
            r.scenario
        );
    }
    for m in deployment.memory(&results) {
        assert!(m.idle_rss_kib.is_some() && m.peak_kib.is_some(), "{m:?}");
    }
    deployment
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_without_errors_on_embedded_inkan() {
    if inkan_binary().is_none() {
        println!("SKIPPED: no inkan binary next to the test's target dir; run `cargo build -p inkan` first");
        return;
    }
    let deployment = run_and_check(Shape::Embedded, 1, ALL_SCENARIOS).await;
    deployment.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backends_shape_runs_and_leaves_nothing_behind() {
    if inkan_binary().is_none() {
        println!("SKIPPED: no inkan binary next to the test's target dir; run `cargo build -p inkan` first");
        return;
    }
    let deployment = run_and_check(
        Shape::Backends,
        1,
        &[
            "client_credentials_es256",
            "introspection",
            "authorization_code_sso",
            "refresh",
            "userinfo",
        ],
    )
    .await;
    let namespace = deployment.namespace().expect("a backend namespace").clone();
    assert!(
        !namespace.leftovers().await.unwrap().is_empty(),
        "the run used the namespace"
    );
    deployment.stop().await.expect("stop and clean up");
    assert_eq!(namespace.leftovers().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_microservices_shape_with_two_token_replicas_runs_every_role() {
    if inkan_binary().is_none() {
        println!("SKIPPED: no inkan binary next to the test's target dir; run `cargo build -p inkan` first");
        return;
    }
    let deployment = run_and_check(
        Shape::Microservices,
        2,
        &[
            "client_credentials_es256",
            "authorization_code_sso",
            "authorization_code_passkey",
            "userinfo",
        ],
    )
    .await;
    let names: Vec<String> = deployment.measured().into_iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        ["admin", "authorize", "token-1", "token-2", "userinfo"]
    );
    let namespace = deployment.namespace().expect("a backend namespace").clone();
    deployment.stop().await.expect("stop and clean up");
    assert_eq!(namespace.leftovers().await.unwrap(), Vec::<String>::new());
}
