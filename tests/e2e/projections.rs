//! `inkan projections rebuild` on the real binary, on both store
//! configurations: after rebuilding the read-model tables from the log, a
//! restarted provider answers every admin read exactly as before.

use std::process::Command;

use inkan_testkit::nats_url;
use serde_json::{json, Value};

use crate::helpers::{Admin, Inkan, Options};
use crate::storage::RealBackends;

/// Every admin read the seeded data shows up in.
async fn reads(admin: &Admin, ids: &[&str]) -> Vec<Value> {
    let mut all = Vec::new();
    for path in [
        "/admin/v1/projects",
        "/admin/v1/identities",
        "/admin/v1/keys",
    ] {
        let (status, body) = admin.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        all.push(body);
    }
    for id in ids {
        let (_, body) = admin.get(&format!("/admin/v1/identities/{id}")).await;
        all.push(body);
    }
    let (_, body) = admin
        .get("/admin/v1/identities?email=GRACE@example.com")
        .await;
    all.push(body);
    all
}

async fn rebuild_keeps_every_read(options: Options) {
    let first = Inkan::start(&options);
    let admin = first.admin();
    admin.create_project().await;
    let ada = admin.create_identity("ada@example.com").await;
    let grace = admin.create_identity("grace@example.com").await;
    let alan = admin.create_identity("alan@example.com").await;
    let (ada, grace, alan) = (
        ada["id"].as_str().unwrap().to_string(),
        grace["id"].as_str().unwrap().to_string(),
        alan["id"].as_str().unwrap().to_string(),
    );
    let (status, _) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/v1/identities/{ada}"),
            Some(json!({"first_name": "Augusta", "email": "augusta@example.com"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/identities/{alan}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let ids = [ada.as_str(), grace.as_str(), alan.as_str()];
    let before = reads(&admin, &ids).await;
    assert_eq!(before[1]["total"], 2, "{}", before[1]);
    first.stop();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inkan"));
    cmd.args(["projections", "rebuild"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INKAN_LOG", "warn");
    if let Some(dir) = &options.data_dir {
        cmd.env("INKAN_DATA_DIR", dir);
    }
    for (k, v) in &options.env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run inkan projections rebuild");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("events/s"), "{stdout}");
    assert!(stdout.contains("2 identities"), "{stdout}");

    let second = Inkan::start(&options);
    let after = reads(&second.admin(), &ids).await;
    assert_eq!(after, before);
    second.stop();
}

#[tokio::test]
async fn rebuilt_read_models_answer_like_the_projected_ones_on_embedded_stores() {
    let dir = tempfile::tempdir().unwrap();
    rebuild_keeps_every_read(Options {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
}

#[tokio::test]
async fn rebuilt_read_models_answer_like_the_projected_ones_on_postgres() {
    let backends = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    rebuild_keeps_every_read(backends.options(&nats_url(), dir.path())).await;
    backends.cleanup().await;
}
