//! The routing table in `inkan_deploy_tests` against the routes the services
//! declare (`.route("<path>", ...)` in their sources): a path added to a service
//! must be added to the table, as public or internal, before it can be deployed.
//! Likewise the roles `inkan serve --role` accepts (`inkan_config::Role`), and the
//! settings the deployment files pass (`inkan_config::Settings`' variables).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use inkan_deploy_tests::{
    public_route, read_repo_file, repo_root, Server, INTERNAL_PATHS, LIVENESS_PATH, PUBLIC_ROUTES,
    READINESS_PATH, ROLES, SERVE_ROLES,
};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `source` up to its `#[cfg(test)] mod ...` (all of it when it has none).
fn without_test_module(source: &str) -> &str {
    let mut from = 0;
    while let Some(at) = source[from..].find("#[cfg(test)]") {
        let start = from + at;
        let after = source[start + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") {
            return &source[..start];
        }
        from = start + 1;
    }
    source
}

/// The paths given to axum's `.route(` in the sources under `dir`, leaving out unit
/// tests (a file's `#[cfg(test)]` module, at its end by convention: the routers they
/// build are never served).
fn declared_routes(dir: &str) -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&repo_root().join(dir), &mut files);
    let mut paths = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let text = without_test_module(&source);
        for (at, _) in text.match_indices(".route(") {
            let rest = text[at + ".route(".len()..].trim_start();
            let literal = rest
                .strip_prefix('"')
                .and_then(|r| r.split_once('"'))
                .map(|(path, _)| path)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: a route whose path is not a string literal; give the routing table its path",
                        file.display()
                    )
                });
            paths.insert(literal.to_string());
        }
    }
    paths
}

#[test]
fn the_routing_table_matches_the_routes_the_services_declare() {
    // Where each service's routes live, and who serves them.
    let sources = [
        ("services/authorize/src", Server::Role("authorize")),
        ("services/token/src", Server::Role("token")),
        ("services/userinfo/src", Server::Role("userinfo")),
        ("services/admin/src", Server::Role("admin")),
        ("libs/web/src", Server::Any),
    ];
    let mut declared: BTreeMap<String, Server> = BTreeMap::new();
    for (dir, server) in sources {
        for path in declared_routes(dir) {
            let route = public_route(&path).unwrap_or_else(|| {
                panic!("{dir} serves {path}, which the routing table does not know: add it (public or internal)")
            });
            assert_eq!(route.server, server, "{path} is served by {dir}");
            declared.insert(path, server);
        }
    }
    for route in PUBLIC_ROUTES {
        assert!(
            declared.keys().any(|p| route.matches(p)),
            "the routing table lists {}, which no service declares",
            route.path
        );
    }

    // What every process serves besides: the probes (and metrics) stay internal.
    let internal: BTreeSet<String> = declared_routes("services/inkan/src")
        .into_iter()
        .chain(declared_routes("libs/telemetry/src"))
        .collect();
    for path in &internal {
        assert!(
            INTERNAL_PATHS.contains(&path.as_str()),
            "every process serves {path}: add it to INTERNAL_PATHS (or make it public)"
        );
    }
    for probe in [LIVENESS_PATH, READINESS_PATH] {
        assert!(internal.contains(probe), "no process serves {probe}");
    }
}

#[test]
fn the_roles_the_deployments_use_are_the_ones_inkan_serve_accepts() {
    // clap's ValueEnum spells each variant of `Role` in kebab case.
    let source = read_repo_file("libs/config/src/lib.rs");
    let start = source.find("pub enum Role {").expect("inkan_config::Role");
    let body = &source[start..start + source[start..].find('}').unwrap()];
    let variants: BTreeSet<String> = body
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with('#') && !l.is_empty())
        .map(|l| l.trim_end_matches(',').to_lowercase())
        .collect();
    let expected: BTreeSet<String> = SERVE_ROLES.iter().map(|r| r.to_string()).collect();
    assert_eq!(variants, expected, "SERVE_ROLES is out of date");
    for role in ROLES {
        assert!(SERVE_ROLES.contains(&role));
    }
}

/// The environment variables `inkan_config` reads (`env = "NAME"` in its clap arguments).
fn settings_variables() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&repo_root().join("libs/config/src"), &mut files);
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("env = \"") {
            let rest = &text[at + "env = \"".len()..];
            names.insert(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    names
}

#[test]
fn every_variable_the_deployment_files_set_is_a_setting_inkan_reads() {
    let settings = settings_variables();
    assert!(
        settings.contains("INKAN_ISSUER"),
        "no settings found in libs/config/src"
    );
    // Where each variable is set.
    let mut set: BTreeMap<String, String> = BTreeMap::new();
    let compose = support::yaml(&read_repo_file("docker-compose.yml"), "docker-compose.yml");
    for (name, service) in compose["services"].as_object().unwrap() {
        if service["image"] != "inkan:local" {
            continue;
        }
        for var in service["environment"].as_object().unwrap().keys() {
            set.insert(var.clone(), format!("docker-compose.yml ({name})"));
        }
    }
    for line in read_repo_file("deploy/Dockerfile").lines() {
        let line = line
            .trim()
            .trim_start_matches("ENV ")
            .trim_end_matches('\\');
        if let Some((var, _)) = line.trim().split_once('=') {
            if var.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                set.insert(var.to_string(), "deploy/Dockerfile".into());
            }
        }
    }
    for overrides in [&[][..], &["ci/production-values.yaml"][..]] {
        let r = support::render_chart(overrides);
        for m in &r.manifests {
            let origin = format!("the chart's {} {} ({overrides:?})", m.kind, m.name);
            match m.kind.as_str() {
                "ConfigMap" => {
                    for var in support::map_at(&m.doc, "/data").keys() {
                        set.insert(var.clone(), origin.clone());
                    }
                }
                "Deployment" | "Job" => {
                    for c in support::array_at(&m.doc, "/spec/template/spec/containers") {
                        for var in support::array_at(c, "/env") {
                            set.insert(support::str_at(var, "/name").into(), origin.clone());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(set.contains_key("INKAN_METRICS_ADDR"));
    for (var, origin) in &set {
        // OpenTelemetry's own variables are read by its exporter.
        if var.starts_with("OTEL_") {
            continue;
        }
        assert!(
            settings.contains(var),
            "{origin} sets {var}, which inkan does not read (libs/config)"
        );
    }
}
