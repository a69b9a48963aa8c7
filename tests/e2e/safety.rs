//! Startup refuses settings that are only safe on a developer's machine
//! (`services/inkan/src/safety.rs`): the binary exits non-zero before
//! serving anything, naming the setting on stderr.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `inkan serve` with `env`; kills it if it is still running after
/// 60 s (a regression must fail the test, not hang it).
fn serve_with(env: &[(&str, &str)]) -> Output {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inkan"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INKAN_DATA_DIR", data.path())
        .env("INKAN_HTTP_ADDR", "127.0.0.1:0")
        .env("INKAN_GRPC_ADDR", "127.0.0.1:0")
        .env("INKAN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run inkan");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_plain_http_issuer_on_a_public_host_is_refused_at_startup() {
    let out = serve_with(&[("INKAN_ISSUER", "http://id.example.com")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "inkan started: {stderr}");
    assert!(stderr.contains("INKAN_ISSUER"), "stderr: {stderr}");
}

#[test]
fn the_compose_development_secret_is_refused_on_a_public_issuer() {
    let out = serve_with(&[
        ("INKAN_ISSUER", "https://id.example.com"),
        (
            "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
            "change-me-change-me-change-me-change-me",
        ),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "inkan started: {stderr}");
    assert!(
        stderr.contains("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"),
        "stderr: {stderr}"
    );
}

#[test]
fn the_repositorys_example_key_encryption_key_is_refused_on_a_public_issuer() {
    // The value docker-compose.yml ships for the loopback-issuer local stack.
    let compose_kek = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let out = serve_with(&[
        ("INKAN_ISSUER", "https://id.example.com"),
        ("INKAN_KEY_ENCRYPTION_KEY", compose_kek),
        (
            "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
            "r4nd0m-0p3r4t0r-s3cr3t-0f-32-ch4rs-at-least",
        ),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "inkan started: {stderr}");
    assert!(
        stderr.contains("INKAN_KEY_ENCRYPTION_KEY"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("published"), "stderr: {stderr}");
}
