//! deploy/Dockerfile and .dockerignore: a multi-stage release build of `inkan`
//! that runs as a non-root user, and a build context with every workspace member.

mod support;

use inkan_deploy_tests::{read_repo_file, GRPC_PORT, HTTP_PORT, METRICS_PORT};

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions() -> Vec<(String, String)> {
    let text = read_repo_file("deploy/Dockerfile");
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                pending.push_str(part);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                let joined = std::mem::take(&mut pending);
                let (op, args) = joined
                    .split_once(char::is_whitespace)
                    .unwrap_or((&joined, ""));
                out.push((op.to_uppercase(), args.trim().to_string()));
            }
        }
    }
    out
}

/// The instructions of the last stage (the image that runs).
fn final_stage(all: &[(String, String)]) -> &[(String, String)] {
    let start = all
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .expect("a FROM");
    &all[start..]
}

#[test]
fn the_image_is_built_in_stages_with_a_release_build_of_inkan() {
    let all = instructions();
    let froms: Vec<&String> = all
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert!(
        froms.len() >= 2,
        "multi-stage: a build stage and a runtime stage"
    );
    assert!(
        froms[0].ends_with("AS build"),
        "the first stage is named build: {}",
        froms[0]
    );
    let build = all
        .iter()
        .find(|(op, args)| op == "RUN" && args.contains("cargo build"))
        .expect("a cargo build");
    assert!(
        build.1.contains("--release") && build.1.contains("-p inkan"),
        "{}",
        build.1
    );
    assert!(
        build.1.contains("--locked"),
        "the build uses Cargo.lock as committed"
    );
    let runtime = final_stage(&all);
    assert!(
        runtime
            .iter()
            .any(|(op, args)| op == "COPY" && args.starts_with("--from=build")),
        "the runtime stage takes the binary from the build stage"
    );
    assert!(runtime.iter().all(|(_, args)| !args.contains("cargo ")));
    assert!(runtime
        .iter()
        .any(|(op, args)| op == "ENTRYPOINT" && args == r#"["inkan"]"#));
}

#[test]
fn the_image_runs_as_a_numeric_non_root_user_and_exposes_http_grpc_and_metrics() {
    let all = instructions();
    let runtime = final_stage(&all);
    let user = runtime
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .map(|(_, args)| args.clone())
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap();
    let uid: u32 = uid
        .parse()
        .expect("a numeric USER (Kubernetes verifies runAsNonRoot with it)");
    assert_ne!(uid, 0, "not root");
    // The chart runs pods as the same user.
    let values = support::yaml(
        &read_repo_file("deploy/helm/inkan/values.yaml"),
        "values.yaml",
    );
    assert_eq!(values["podSecurityContext"]["runAsUser"], uid);

    let exposed: Vec<u16> = runtime
        .iter()
        .filter(|(op, _)| op == "EXPOSE")
        .flat_map(|(_, args)| {
            args.split_whitespace()
                .map(|p| p.parse::<u16>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        exposed.contains(&HTTP_PORT)
            && exposed.contains(&GRPC_PORT)
            && exposed.contains(&METRICS_PORT),
        "EXPOSE {exposed:?}"
    );
    let env = runtime
        .iter()
        .filter(|(op, _)| op == "ENV")
        .map(|(_, args)| args.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        env.contains(&format!("INKAN_HTTP_ADDR=0.0.0.0:{HTTP_PORT}")),
        "{env}"
    );
    assert!(
        env.contains(&format!("INKAN_GRPC_ADDR=0.0.0.0:{GRPC_PORT}")),
        "{env}"
    );
    // inkan's default metrics address is loopback: unreachable from outside a container.
    assert!(
        env.contains(&format!("INKAN_METRICS_ADDR=0.0.0.0:{METRICS_PORT}")),
        "{env}"
    );
}

/// The workspace members listed in the root Cargo.toml.
fn workspace_members() -> Vec<String> {
    let text = read_repo_file("Cargo.toml");
    let start = text.find("members = [").expect("a members list");
    let end = start + text[start..].find(']').expect("the members list ends");
    text[start..end]
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.trim()
                .trim_end_matches(',')
                .strip_prefix('"')?
                .strip_suffix('"')
                .map(String::from)
        })
        .collect()
}

#[test]
fn the_docker_build_context_keeps_every_workspace_member_and_leaves_build_output_out() {
    let patterns: Vec<String> = read_repo_file(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_matches('/').to_string())
        .collect();
    assert!(
        patterns.iter().any(|p| p == "target"),
        "target/ stays out of the context"
    );
    let excluded = |path: &str| {
        patterns
            .iter()
            .any(|p| path == p || path.starts_with(&format!("{p}/")) || p.contains('*'))
    };
    let members = workspace_members();
    assert!(members.iter().any(|m| m == "services/inkan"), "{members:?}");
    for path in members.iter().map(String::as_str).chain([
        "Cargo.toml",
        "Cargo.lock",
        "proto",
        "libs",
        "services",
        "tests",
    ]) {
        assert!(
            !excluded(path),
            ".dockerignore leaves {path} out of the build"
        );
    }
}
