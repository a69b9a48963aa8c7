//! The provider composed and run inside the test process, the way
//! `inkan serve` runs it (`serve::App::bind`, then `App::run` with a
//! shutdown token): ports come from the bound listeners, not from scraping a
//! child's output, and shutdown is a token the test cancels.

use std::time::Duration;

use clap::Parser;
use inkan::serve::App;
use inkan_config::{Role, Settings};
use tokio_util::sync::CancellationToken;

use crate::helpers::{ADMIN_ID, ADMIN_SECRET};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
}

fn settings(data: &std::path::Path) -> Settings {
    let data = data.to_str().unwrap();
    Cli::try_parse_from([
        "inkan",
        "--http-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "127.0.0.1:0",
        "--data-dir",
        data,
        "--bootstrap-admin-client-id",
        ADMIN_ID,
        "--bootstrap-admin-client-secret",
        ADMIN_SECRET,
        "--log",
        "warn",
    ])
    .unwrap()
    .settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_runs_in_process_on_os_ports_and_stops_when_its_token_is_cancelled() {
    let data = tempfile::tempdir().unwrap();
    let app = App::bind(Role::All, settings(data.path())).await.unwrap();
    let http = app.http_addr().unwrap();
    let metrics = app.metrics_addr().unwrap();
    assert_ne!(http.port(), 0, "the OS chose a port");
    assert_eq!(
        app.grpc_addr().unwrap(),
        None,
        "one process serves no gRPC unless asked"
    );
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run(shutdown.clone()));

    let base = format!("http://{http}");
    let ready = inkan_testkit::wait_for(Duration::from_secs(30), || async {
        let status = reqwest::get(format!("{base}/readyz")).await.ok()?.status();
        (status == 200).then_some(())
    })
    .await;
    assert!(ready.is_some(), "the provider became ready");
    let discovery = reqwest::get(format!("{base}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
    let projects = reqwest::Client::new()
        .get(format!("{base}/admin/v1/projects"))
        .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(projects.status(), 200, "the bootstrap admin client exists");
    let scraped = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);

    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the provider stopped within the shutdown grace")
        .unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "nothing listens after shutdown"
    );
}
