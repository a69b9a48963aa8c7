//! The README, run: every ```sh block of `README.md` is executed, in order,
//! against a real `inkan serve` on a random port, so the walkthrough cannot
//! drift from the code again. And `inkan projects show`, which the README
//! uses, finding the server the way `serve` is configured.
//!
//! # How the README's shell blocks are run
//! - Each ```sh block runs in a fresh `bash` with `set -euo pipefail`, so a
//!   block must define what it uses and every command in it must succeed.
//!   `curl` runs with `--fail-with-body --max-time 30`: an HTTP error status
//!   (a 409 on a duplicate email, a 400 on a body the API refuses) fails it.
//! - A block is left out only when the line right before its fence is
//!   `<!-- readme-test: skip (why) -->` (an HTML comment: GitHub does not
//!   show it). Keep that for blocks that make no sense in a test: starting
//!   the server itself, docker, the real backends' environment.
//! - Placeholders are replaced by the real values before a block runs:
//!   `cargo run [--release] [-q] -p inkan --` by the built binary,
//!   `127.0.0.1:8080` by the test server's address, `<the printed secret>`
//!   by its bootstrap admin secret (the admin is `inkan-admin`, as in the
//!   README), `<client_id>` by the client_id of the last project an earlier
//!   block registered (read from that block's JSON output).
//! - The shell has the server's `INKAN_HTTP_ADDR`, `INKAN_ISSUER` and
//!   `INKAN_DATA_DIR`, as the shell that started it would.
//! - A ```text block right after a ```sh block (blank lines between) is its
//!   output: the lines must match one for one, after the same
//!   substitutions, where `...` stands for any text within a line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Inkan, Options, ADMIN_ID, ADMIN_SECRET};

const SKIP_MARKER: &str = "<!-- readme-test: skip";

/// One fenced block of the README.
#[derive(Debug)]
struct Fence {
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    body: String,
    /// The non-blank line before the opening fence.
    before: String,
    /// Only blank lines lie between the previous fence's end and this one.
    follows_previous: bool,
}

/// A shell block to run, with the output the README shows for it.
#[derive(Debug)]
struct ShellBlock {
    line: usize,
    script: String,
    skip: bool,
    expected: Option<String>,
}

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

/// A fence being read: the block so far, and the indentation of its opening line.
struct OpenFence<'a> {
    fence: Fence,
    indent: usize,
    lines: Vec<&'a str>,
}

fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<OpenFence> = None;
    let mut before = String::new();
    let mut blank_since_fence = true;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            Some(mut o) => {
                if trimmed.trim_end() == "```" {
                    o.fence.body = o.lines.join("\n");
                    out.push(o.fence);
                    blank_since_fence = true;
                    before.clear();
                } else {
                    o.lines.push(&line[indent.min(o.indent)..]);
                    open = Some(o);
                }
            }
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some(OpenFence {
                        fence: Fence {
                            line: i + 1,
                            lang: info.trim().to_string(),
                            body: String::new(),
                            before: before.clone(),
                            follows_previous: blank_since_fence && !out.is_empty(),
                        },
                        indent,
                        lines: Vec::new(),
                    });
                } else if !trimmed.is_empty() {
                    before = trimmed.to_string();
                    blank_since_fence = false;
                }
            }
        }
    }
    assert!(open.is_none(), "README.md: a code fence is never closed");
    out
}

fn shell_blocks(markdown: &str) -> Vec<ShellBlock> {
    let all = fences(markdown);
    let mut blocks = Vec::new();
    for (i, fence) in all.iter().enumerate() {
        let is_shell = matches!(fence.lang.as_str(), "sh" | "bash" | "shell" | "console");
        if fence.before.starts_with(SKIP_MARKER) {
            assert!(
                is_shell,
                "README.md line {}: a skip marker before a ```{} block",
                fence.line, fence.lang
            );
            assert!(
                fence.before.contains('(') && fence.before.ends_with(") -->"),
                "README.md line {}: say why a block is skipped: {SKIP_MARKER} (why) -->",
                fence.line
            );
        }
        if !is_shell {
            continue;
        }
        let expected = all
            .get(i + 1)
            .filter(|next| next.lang == "text" && next.follows_previous)
            .map(|next| next.body.clone());
        blocks.push(ShellBlock {
            line: fence.line,
            script: fence.body.clone(),
            skip: fence.before.starts_with(SKIP_MARKER),
            expected,
        });
    }
    blocks
}

/// Runs `cmd`, killing it if it has not finished within `limit`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a command");
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => output.expect("collect a command's output"),
        Err(_) => {
            // This process was started above; kill exactly it, by its id.
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("a command did not finish within {limit:?}: {cmd:?}");
        }
    }
}

/// `actual` matches `expected` where each `...` of `expected` stands for
/// any text (possibly none) within the line.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut tail) = actual.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        if i + 1 == rest.len() {
            return tail.ends_with(part);
        }
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.is_empty()
}

/// The client_id of the last project in a block's output: the admin API
/// answers with JSON objects (curl prints them back to back).
fn last_project_client_id(stdout: &str) -> Option<String> {
    let mut found = None;
    for value in serde_json::Deserializer::from_str(stdout).into_iter::<Value>() {
        let Ok(value) = value else { break };
        if let (Some(id), Some(_)) = (value["client_id"].as_str(), value.get("app_type")) {
            found = Some(id.to_string());
        }
    }
    found
}

fn substitute(text: &str, addr: &str, client_id: Option<&str>) -> String {
    let mut text = text
        .replace(
            "cargo run --release -q -p inkan --",
            env!("CARGO_BIN_EXE_inkan"),
        )
        .replace(
            "cargo run -q --release -p inkan --",
            env!("CARGO_BIN_EXE_inkan"),
        )
        .replace(
            "cargo run --release -p inkan --",
            env!("CARGO_BIN_EXE_inkan"),
        )
        .replace("cargo run -q -p inkan --", env!("CARGO_BIN_EXE_inkan"))
        .replace("cargo run -p inkan --", env!("CARGO_BIN_EXE_inkan"))
        .replace("127.0.0.1:8080", addr)
        .replace("<the printed secret>", ADMIN_SECRET);
    if let Some(client_id) = client_id {
        text = text.replace("<client_id>", client_id);
    }
    text
}

#[test]
fn every_shell_block_of_the_readme_runs_in_order_against_a_real_server() {
    let markdown = std::fs::read_to_string(readme_path()).expect("read README.md");
    let blocks = shell_blocks(&markdown);
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (inkan, issuer) = Inkan::start_on_free_port(&Options {
        data_dir: Some(data.path().to_path_buf()),
        env: vec![
            // The README's admin is the default bootstrap client.
            (
                "INKAN_BOOTSTRAP_ADMIN_CLIENT_ID".into(),
                "inkan-admin".into(),
            ),
            ("INKAN_METRICS_ADDR".into(), "127.0.0.1:0".into()),
        ],
        ..Options::default()
    });
    let addr = issuer.trim_start_matches("http://").to_string();
    let mut client_id: Option<String> = None;
    let mut ran = 0;
    for block in &blocks {
        if block.skip {
            continue;
        }
        let script = substitute(&block.script, &addr, client_id.as_deref());
        assert!(
            !script.contains("<client_id>"),
            "README.md line {}: uses <client_id> before any block registered a project",
            block.line
        );
        assert!(
            !script.contains("cargo "),
            "README.md line {}: runs cargo (write `cargo run -q -p inkan -- ...`, or skip the block):\n{script}",
            block.line
        );
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!(
                "set -euo pipefail\n\
                 curl() {{ command curl --fail-with-body --max-time 30 \"$@\"; }}\n\
                 {script}\n"
            ))
            .current_dir(home.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("INKAN_HTTP_ADDR", addr.as_str())
            .env("INKAN_ISSUER", issuer.as_str())
            .env("INKAN_DATA_DIR", data.path())
            .env("INKAN_LOG", "warn");
        let output = run_bounded(cmd, Duration::from_secs(120));
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "README.md line {}: the block failed ({}):\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            block.line,
            output.status
        );
        if let Some(expected) = &block.expected {
            let expected = substitute(expected, &addr, client_id.as_deref());
            let want: Vec<&str> = expected.lines().map(str::trim_end).collect();
            let got: Vec<&str> = stdout.lines().map(str::trim_end).collect();
            let same =
                want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| line_matches(w, g));
            assert!(
                same,
                "README.md line {}: the output differs from the README's\n--- README\n{}\n--- actual\n{}",
                block.line,
                want.join("\n"),
                got.join("\n")
            );
        }
        if let Some(id) = last_project_client_id(&stdout) {
            client_id = Some(id);
        }
        ran += 1;
    }
    assert!(
        ran >= 3,
        "only {ran} README blocks ran: is the ```sh fence detection broken?"
    );
    inkan.stop();
}

#[test]
fn readme_blocks_are_found_skipped_only_when_marked_and_paired_with_their_output() {
    let markdown = "\
# T

```sh
echo one
```

```text
one
```

<!-- readme-test: skip (starts the server) -->
```sh
inkan serve
```

Text between.

```sh
echo two
```
Not blank.
```text
not its output
```
";
    let blocks = shell_blocks(markdown);
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert_eq!(blocks[0].script, "echo one");
    assert_eq!(blocks[0].expected.as_deref(), Some("one"));
    assert!(!blocks[0].skip);
    assert!(blocks[1].skip);
    assert!(!blocks[2].skip);
    assert_eq!(blocks[2].expected, None);
    assert!(line_matches("project ...:", "project 0190abc:"));
    assert!(line_matches("a ... b ... c", "a x b y c"));
    assert!(!line_matches("project ...:", "project 0190abc"));
    assert!(!line_matches("exact", "exact plus"));
}

#[test]
#[should_panic(expected = "say why a block is skipped")]
fn a_skip_marker_without_a_reason_is_refused() {
    shell_blocks("<!-- readme-test: skip -->\n```sh\ntrue\n```\n");
}

/// `inkan projects show` as an operator runs it, with `env`, `args` and the
/// e2e admin's credentials in the environment.
fn projects_show(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inkan"));
    cmd.args(["projects", "show"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INKAN_ADMIN_CLIENT_ID", ADMIN_ID)
        .env("INKAN_ADMIN_CLIENT_SECRET", ADMIN_SECRET);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_bounded(cmd, Duration::from_secs(60))
}

/// Environment variables of one `projects show` run.
type Env<'a> = Vec<(&'a str, &'a str)>;

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn projects_show_finds_the_server_the_way_serve_is_configured_or_by_url() {
    let data = tempfile::tempdir().unwrap();
    let (inkan, issuer) = Inkan::start_on_free_port(&Options {
        data_dir: Some(data.path().to_path_buf()),
        env: vec![("INKAN_METRICS_ADDR".into(), "127.0.0.1:0".into())],
        ..Options::default()
    });
    let addr = issuer.trim_start_matches("http://").to_string();
    let port = addr.rsplit(':').next().unwrap().to_string();
    let project = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(inkan.admin().create_project());
    let client_id = project["client_id"].as_str().unwrap();
    let id = project["id"].as_str().unwrap();
    // Nothing listens there: where a setting that should lose would lead.
    let nowhere = format!("127.0.0.1:{}", closed_port());
    let nowhere_url = format!("http://{nowhere}");
    let any_addr = format!("0.0.0.0:{port}");

    let ways: [(&str, Env, Vec<&str>); 6] = [
        (
            "INKAN_HTTP_ADDR",
            vec![("INKAN_HTTP_ADDR", addr.as_str())],
            vec![],
        ),
        (
            "INKAN_ISSUER",
            vec![("INKAN_ISSUER", issuer.as_str())],
            vec![],
        ),
        ("--url", vec![], vec!["--url", issuer.as_str()]),
        (
            "--url over the listener",
            vec![("INKAN_HTTP_ADDR", nowhere.as_str())],
            vec!["--url", issuer.as_str()],
        ),
        (
            "the listener over the issuer",
            vec![
                ("INKAN_HTTP_ADDR", addr.as_str()),
                ("INKAN_ISSUER", nowhere_url.as_str()),
            ],
            vec![],
        ),
        (
            "an unspecified listener address as loopback",
            vec![("INKAN_HTTP_ADDR", any_addr.as_str())],
            vec![],
        ),
    ];
    for (way, env, args) in ways {
        for project in [client_id, id] {
            let mut argv = vec![project, "--json"];
            argv.extend(args.iter().copied());
            let out = projects_show(&env, &argv);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{way} ({project}): {stderr}");
            let config: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(config["client_id"], client_id, "{way}");
            assert_eq!(config["project_id"], id, "{way}");
            assert_eq!(config["token_endpoint"], format!("{issuer}/token"));
            assert_eq!(
                config["introspection_endpoint"],
                format!("{issuer}/introspect")
            );
        }
    }

    // The table: the header names the project, one field per line.
    let out = projects_show(&[("INKAN_HTTP_ADDR", addr.as_str())], &[client_id]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with(&format!("Relying-party configuration of project {id}:\n")),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "\n  revocation_endpoint                   {issuer}/revoke\n"
        )),
        "{table}"
    );

    // Failures are clear, non-zero, and never echo the secret.
    let failures: [(Env, Vec<&str>, &str); 3] = [
        (
            vec![],
            vec![client_id, "--url", nowhere_url.as_str()],
            "cannot reach the admin API at",
        ),
        (
            vec![("INKAN_HTTP_ADDR", addr.as_str())],
            vec!["no-such-project"],
            "no project has the id or client_id \"no-such-project\"",
        ),
        (
            vec![
                ("INKAN_HTTP_ADDR", addr.as_str()),
                (
                    "INKAN_ADMIN_CLIENT_SECRET",
                    "a-wrong-secret-that-is-long-enough",
                ),
            ],
            vec![client_id],
            "refused client",
        ),
    ];
    for (env, args, message) in failures {
        let out = projects_show(&env, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains(ADMIN_SECRET), "{stderr}");
        assert!(!stderr.contains("a-wrong-secret"), "{stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    inkan.stop();
}
