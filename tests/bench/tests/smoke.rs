//! Runs every scenario for a fraction of a second against an embedded
//! `inkan` and checks correctness only (requests were made, none failed),
//! never timing. The inkan binary belongs to another package, so it is taken
//! from the same target directory (`<target>/debug/inkan`, next to
//! `deps/`, where this test runs from); the test is skipped when it has not
//! been built (`cargo build -p inkan`).

use std::time::Duration;

use inkan_bench::{
    run, table, Config, Embedded, ALL_SCENARIOS, EMBEDDED_ADMIN_ID, EMBEDDED_ADMIN_SECRET,
};

fn inkan_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // <target>/debug/deps/smoke-<hash> -> <target>/debug/inkan
    let bin = exe.parent()?.parent()?.join("inkan");
    bin.exists().then_some(bin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_without_errors() {
    let Some(bin) = inkan_binary() else {
        println!("SKIPPED: no inkan binary next to the test's target dir; run `cargo build -p inkan` first");
        return;
    };
    let server = Embedded::start(&bin).expect("start inkan");
    let cfg = Config {
        base: server.base.clone(),
        admin_id: EMBEDDED_ADMIN_ID.into(),
        admin_secret: EMBEDDED_ADMIN_SECRET.into(),
        duration: Duration::from_millis(300),
        connections: 2,
        scenarios: ALL_SCENARIOS.iter().map(|s| s.to_string()).collect(),
        server_pid: Some(server.pid()),
        introspection_tokens: 20,
    };
    let results = run(&cfg).await.expect("run the scenarios");
    println!("{}", table(&results));
    assert_eq!(results.len(), ALL_SCENARIOS.len());
    for r in &results {
        assert!(r.requests > 0, "{}: no requests completed", r.scenario);
        assert_eq!(r.errors, 0, "{}: {:?}", r.scenario, r.first_error);
        assert!(
            r.server_cpu_seconds.is_some(),
            "{}: no CPU figure",
            r.scenario
        );
    }
}
