//! docker-compose.yml and its proxy (deploy/compose/Caddyfile), checked against
//! the facts in `inkan_deploy_tests`. No Docker engine needed: the files are parsed.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use inkan_deploy_tests::{
    read_repo_file, required_env, ADMIN_ONLY_ENV, GRPC_PORT, HTTP_PORT, INTERNAL_PATHS,
    METRICS_PATH, METRICS_PORT, MIGRATE_ENV, PUBLIC_ROUTES, READINESS_PATH, ROLES, SERVE_ROLES,
};
use serde_json::{Map, Value};
use support::{array_at, scalar, str_at};

const IMAGE: &str = "inkan:local";
const ISSUER: &str = "http://127.0.0.1:8080";

fn compose() -> Value {
    support::yaml(&read_repo_file("docker-compose.yml"), "docker-compose.yml")
}

fn services(compose: &Value) -> &Map<String, Value> {
    compose["services"]
        .as_object()
        .expect("docker-compose.yml has services")
}

/// A service's environment as name → value (compose accepts a map or `NAME=value` items).
fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                let s = i.as_str().expect("NAME=value");
                let (k, v) = s.split_once('=').unwrap_or((s, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        Value::Null => BTreeMap::new(),
        other => panic!("unexpected environment: {other}"),
    }
}

/// What `${NAME:-default}` gives when NAME is unset (the value itself otherwise).
fn unset_default(value: &str) -> &str {
    value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .and_then(|v| v.split_once(":-"))
        .map(|(_, default)| default)
        .unwrap_or(value)
}

fn command(service: &Value) -> Vec<String> {
    array_at(service, "/command")
        .iter()
        .map(|c| c.as_str().expect("command items are strings").to_string())
        .collect()
}

/// The compose services running the Inkan image, by name.
fn inkan_services(compose: &Value) -> BTreeMap<String, Value> {
    services(compose)
        .iter()
        .filter(|(_, s)| str_at(s, "/image") == IMAGE)
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect()
}

/// The role a compose service runs (`serve --role <role>`).
fn role_of(service: &Value) -> Option<String> {
    match command(service).as_slice() {
        [serve, flag, role] if serve == "serve" && flag == "--role" => Some(role.clone()),
        _ => None,
    }
}

#[test]
fn the_compose_file_has_the_backends_the_migration_the_four_roles_the_proxy_and_jaeger() {
    let c = compose();
    let names: BTreeSet<&str> = services(&c).keys().map(String::as_str).collect();
    for name in [
        "postgres",
        "redis",
        "nats",
        "migrate",
        "admin",
        "authorize",
        "token",
        "userinfo",
        "proxy",
        "jaeger",
    ] {
        assert!(
            names.contains(name),
            "docker-compose.yml has no {name} service"
        );
    }
    assert!(
        command(&services(&c)["nats"]).contains(&"-js".to_string()),
        "NATS needs JetStream"
    );
}

#[test]
fn the_four_roles_and_the_migration_run_one_image_built_from_deploy_dockerfile() {
    let c = compose();
    let inkan = inkan_services(&c);
    let names: BTreeSet<&str> = inkan.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["admin", "authorize", "migrate", "token", "userinfo"].into(),
        "every Inkan service uses image {IMAGE}"
    );
    let builders: Vec<(&String, &Value)> = inkan
        .iter()
        .filter(|(_, s)| s.get("build").is_some())
        .collect();
    assert_eq!(builders.len(), 1, "exactly one service builds {IMAGE}");
    let build = &builders[0].1["build"];
    assert_eq!(str_at(build, "/context"), ".");
    assert_eq!(str_at(build, "/dockerfile"), "deploy/Dockerfile");
    for (name, service) in &inkan {
        if service.get("build").is_none() {
            assert_eq!(
                str_at(service, "/pull_policy"),
                "never",
                "{name} reuses the built image: it must not try to pull {IMAGE}"
            );
        }
    }
    // Nothing else builds.
    for (name, service) in services(&c) {
        if !inkan.contains_key(name) {
            assert!(service.get("build").is_none(), "{name} builds an image");
        }
    }
}

#[test]
fn every_role_runs_inkan_serve_with_a_role_that_inkan_accepts() {
    let c = compose();
    let s = services(&c);
    for role in ROLES {
        let r = role_of(&s[role]).unwrap_or_else(|| panic!("{role} does not run `serve --role`"));
        assert!(
            SERVE_ROLES.contains(&r.as_str()),
            "{role}: unknown role {r}"
        );
        assert_eq!(r, role, "the {role} service runs role {r}");
    }
    assert_eq!(command(&s["migrate"]), ["migrate"]);
}

#[test]
fn every_inkan_service_has_the_environment_its_role_needs() {
    let c = compose();
    let s = services(&c);
    let mut shared: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for role in ROLES {
        let env = environment(&s[role]);
        for var in required_env(role) {
            assert!(env.contains_key(var), "{role} lacks {var}");
        }
        assert_eq!(env["INKAN_LOG_FORMAT"], "json", "{role}");
        assert_eq!(
            env["INKAN_HTTP_ADDR"],
            format!("0.0.0.0:{HTTP_PORT}"),
            "{role}"
        );
        assert_eq!(env["INKAN_ISSUER"], ISSUER, "{role}");
        assert_eq!(
            env["INKAN_METRICS_ADDR"],
            format!("0.0.0.0:{METRICS_PORT}"),
            "{role}: metrics on a listener of their own"
        );
        if role == "admin" {
            assert_eq!(env["INKAN_GRPC_ADDR"], format!("0.0.0.0:{GRPC_PORT}"));
            assert!(unset_default(&env["INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"]).len() >= 32);
        } else {
            assert_eq!(
                env["INKAN_ADMIN_GRPC_URL"],
                format!("http://admin:{GRPC_PORT}"),
                "{role}"
            );
        }
        for var in [
            "INKAN_KEY_ENCRYPTION_KEY",
            "REDIS_URL",
            "NATS_URL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ] {
            shared.entry(var).or_default().insert(env[var].clone());
        }
    }
    for (var, values) in shared {
        assert_eq!(
            values.len(),
            1,
            "every role must share one {var}: {values:?}"
        );
    }
    let kek = environment(&s["admin"])["INKAN_KEY_ENCRYPTION_KEY"].clone();
    assert_eq!(
        unset_default(&kek).len(),
        44,
        "the default key-encryption key is 32 bytes, base64"
    );
}

#[test]
fn the_published_default_key_encryption_key_is_said_to_be_for_the_loopback_issuer_only() {
    let text = read_repo_file("docker-compose.yml");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("INKAN_KEY_ENCRYPTION_KEY:"))
        .expect("docker-compose.yml sets INKAN_KEY_ENCRYPTION_KEY");
    // The comment right above the setting.
    let comment: String = lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| l.trim_start().trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join(" ");
    for word in ["published", "loopback", "refuses"] {
        assert!(
            comment.contains(word),
            "the comment lacks {word:?}: {comment}"
        );
    }
    // And the issuer it is good for is loopback.
    let c = compose();
    for role in ROLES {
        let issuer = &environment(&services(&c)[role])["INKAN_ISSUER"];
        assert!(issuer.starts_with("http://127.0.0.1:"), "{role}: {issuer}");
    }
}

#[test]
fn only_admin_and_the_migration_get_the_database_url() {
    let c = compose();
    for (name, service) in inkan_services(&c) {
        let env = environment(&service);
        for var in ADMIN_ONLY_ENV {
            let allowed = name == "admin" || (name == "migrate" && MIGRATE_ENV.contains(var));
            assert_eq!(env.contains_key(*var), allowed, "{name} and {var}");
        }
        if name == "migrate" {
            for var in MIGRATE_ENV {
                assert!(env.contains_key(*var), "migrate lacks {var}");
            }
            assert!(env["DATABASE_URL"].contains("@postgres:"));
        }
    }
}

#[test]
fn traces_go_to_jaeger_over_otlp() {
    let c = compose();
    let s = services(&c);
    assert!(str_at(&s["jaeger"], "/image").starts_with("jaegertracing/all-in-one:"));
    for role in ROLES {
        let env = environment(&s[role]);
        // OTLP over HTTP/protobuf, what Inkan's exporter speaks.
        assert_eq!(
            env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://jaeger:4318",
            "{role}"
        );
    }
}

#[test]
fn services_start_in_order_once_what_they_need_is_healthy() {
    let c = compose();
    let s = services(&c);
    let condition = |from: &str, to: &str| -> String {
        str_at(&s[from], &format!("/depends_on/{to}/condition")).to_string()
    };
    assert_eq!(condition("migrate", "postgres"), "service_healthy");
    assert_eq!(
        condition("admin", "migrate"),
        "service_completed_successfully"
    );
    for role in ROLES {
        assert_eq!(condition(role, "redis"), "service_healthy", "{role}");
        assert_eq!(condition(role, "nats"), "service_healthy", "{role}");
        if role != "admin" {
            assert_eq!(
                condition(role, "admin"),
                "service_healthy",
                "{role} needs admin's gRPC"
            );
        }
        assert_eq!(condition("proxy", role), "service_healthy");
        let test: Vec<&str> = array_at(&s[role], "/healthcheck/test")
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(
            test.iter().any(|t| t.contains(READINESS_PATH)),
            "{role}'s healthcheck asks {READINESS_PATH}"
        );
    }
    // Every `service_healthy` dependency has a healthcheck.
    for (name, service) in s {
        if let Some(deps) = service["depends_on"].as_object() {
            for (dep, how) in deps {
                if how["condition"] == "service_healthy" {
                    assert!(
                        s[dep].get("healthcheck").is_some(),
                        "{name} waits for {dep} to be healthy, which has no healthcheck"
                    );
                }
            }
        }
    }
}

#[test]
fn the_backends_alone_still_start_for_a_laptop() {
    let text = read_repo_file("docker-compose.yml");
    assert!(text.starts_with('#'));
    assert!(text.contains("docker compose up -d postgres redis nats"));
    let c = compose();
    let s = services(&c);
    // The README's environment: trust auth, the default ports on loopback.
    assert_eq!(
        str_at(&s["postgres"], "/environment/POSTGRES_HOST_AUTH_METHOD"),
        "trust"
    );
    for (name, port) in [("postgres", 5432), ("redis", 6379), ("nats", 4222)] {
        let published = format!("127.0.0.1:{port}:{port}");
        assert!(
            array_at(&s[name], "/ports")
                .iter()
                .any(|p| p == &Value::from(published.clone())),
            "{name} publishes {published}"
        );
        assert!(
            s[name].get("depends_on").is_none(),
            "{name} starts on its own"
        );
    }
}

/// One `handle` block of the Caddyfile: the paths it matches (None: everything) and what it does.
#[derive(Debug)]
struct Handle {
    paths: Option<Vec<String>>,
    upstream: Option<String>,
    respond: Option<String>,
}

/// Reads the subset of the Caddyfile syntax the proxy config uses: a global options
/// block, one site block, `@name path ...` matchers and `handle [@name] { ... }` blocks
/// holding `reverse_proxy host:port` or `respond status`. Anything else fails the test.
fn parse_caddyfile(text: &str) -> (String, Vec<Handle>) {
    let mut matchers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut handles = Vec::new();
    let mut site = None;
    let mut depth = 0;
    let mut in_global = false;
    let mut current: Option<(Option<String>, Handle)> = None;
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap().trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match (depth, words.as_slice()) {
            (0, ["{"]) => {
                in_global = true;
                depth = 1;
            }
            (0, [address, "{"]) => {
                site = Some(address.to_string());
                depth = 1;
            }
            (1, ["}"]) => {
                in_global = false;
                depth = 0;
            }
            (1, _) if in_global => {}
            (1, [name, "path", paths @ ..]) if name.starts_with('@') => {
                matchers.insert(
                    name.to_string(),
                    paths.iter().map(|p| p.to_string()).collect(),
                );
            }
            (1, ["handle", "{"]) => {
                current = Some((
                    None,
                    Handle {
                        paths: None,
                        upstream: None,
                        respond: None,
                    },
                ));
                depth = 2;
            }
            (1, ["handle", matcher, "{"]) => {
                let m = Some(matcher.to_string());
                current = Some((
                    m,
                    Handle {
                        paths: None,
                        upstream: None,
                        respond: None,
                    },
                ));
                depth = 2;
            }
            (2, ["reverse_proxy", upstream]) => {
                current.as_mut().unwrap().1.upstream = Some(upstream.to_string());
            }
            (2, ["respond", status]) => {
                current.as_mut().unwrap().1.respond = Some(status.to_string());
            }
            (2, ["}"]) => {
                let (matcher, mut handle) = current.take().unwrap();
                if let Some(m) = matcher {
                    handle.paths = Some(
                        matchers
                            .get(&m)
                            .unwrap_or_else(|| {
                                panic!("Caddyfile: {m} is used before it is defined")
                            })
                            .clone(),
                    );
                }
                handles.push(handle);
                depth = 1;
            }
            _ => {
                panic!("Caddyfile: unexpected line (the test reads a subset of the syntax): {raw}")
            }
        }
    }
    assert_eq!(depth, 0, "Caddyfile: unbalanced braces");
    (site.expect("Caddyfile: no site block"), handles)
}

/// Caddy's `path` matcher: exact, or a prefix when the pattern ends in `*`.
fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

/// The handle a request path lands in: the one whose matcher matches (matchers must not
/// overlap, so the order of the blocks does not matter), else the catch-all.
fn route<'a>(handles: &'a [Handle], path: &str) -> &'a Handle {
    let matching: Vec<&Handle> = handles
        .iter()
        .filter(|h| h.paths.iter().flatten().any(|p| path_matches(p, path)))
        .collect();
    assert!(
        matching.len() <= 1,
        "{path} is matched by {} handle blocks",
        matching.len()
    );
    matching
        .first()
        .copied()
        .or_else(|| handles.iter().find(|h| h.paths.is_none()))
        .unwrap_or_else(|| panic!("nothing handles {path}"))
}

#[test]
fn the_proxy_routes_every_public_path_to_the_service_that_serves_it_and_nothing_else() {
    let c = compose();
    let s = services(&c);
    let proxy = &s["proxy"];
    let mount = array_at(proxy, "/volumes")
        .iter()
        .filter_map(Value::as_str)
        .find(|v| v.contains("Caddyfile"))
        .expect("the proxy mounts deploy/compose/Caddyfile");
    let source = mount.split(':').next().unwrap().trim_start_matches("./");
    assert_eq!(source, "deploy/compose/Caddyfile");
    let (site, handles) = parse_caddyfile(&read_repo_file(source));

    // The proxy is the issuer.
    let port = site.trim_start_matches(':');
    assert!(
        array_at(proxy, "/ports")
            .iter()
            .any(|p| p == &Value::from(format!("127.0.0.1:8080:{port}"))),
        "the proxy publishes {ISSUER}"
    );

    // Upstream host → the role its compose service runs.
    let role_at = |upstream: &str| -> String {
        let (host, port) = upstream.rsplit_once(':').expect("upstream host:port");
        // Never the metrics listener (METRICS_PORT), nor any port but HTTP.
        assert_eq!(port, HTTP_PORT.to_string(), "{upstream}: not the HTTP port");
        role_of(&s[host]).unwrap_or_else(|| panic!("{host} is not an Inkan role"))
    };
    for r in PUBLIC_ROUTES {
        let h = route(&handles, &r.example());
        let upstream = h
            .upstream
            .as_deref()
            .unwrap_or_else(|| panic!("{} is not proxied", r.path));
        let role = role_at(upstream);
        assert!(
            r.server.accepts(&role),
            "{} goes to {role}, served by {:?}",
            r.path,
            r.server
        );
    }
    assert!(INTERNAL_PATHS.contains(&METRICS_PATH));
    for path in INTERNAL_PATHS
        .iter()
        .copied()
        .chain(["/", "/unknown", "/admin"])
    {
        let h = route(&handles, path);
        assert!(h.upstream.is_none(), "{path} is proxied, yet not public");
        assert_eq!(h.respond.as_deref(), Some("404"), "{path}");
    }
    // Every matched path is public.
    for h in &handles {
        for pattern in h.paths.iter().flatten() {
            let example = pattern.replace('*', "projects");
            assert!(
                PUBLIC_ROUTES.iter().any(|r| r.matches(&example)),
                "the proxy routes {pattern}, not a public path"
            );
        }
    }
}
