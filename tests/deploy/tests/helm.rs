//! The Helm chart in deploy/helm/inkan, rendered without Helm (its templates use Go
//! text/template built-ins and the few Helm functions `support::HELM_FUNCS` provides)
//! with values.yaml, with ci/production-values.yaml laid on top, and with every
//! option switched on, as a first install and as an upgrade, then checked against the
//! facts in `inkan_deploy_tests`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use inkan_deploy_tests::{
    read_repo_file, required_env, ADMIN_API_PATH, ADMIN_ONLY_ENV, GRPC_PORT, HTTP_PORT,
    INTERNAL_PATHS, LIVENESS_PATH, METRICS_PATH, METRICS_PORT, MIGRATE_ENV, PUBLIC_ROUTES,
    READINESS_PATH, ROLES, SERVE_ROLES,
};
use serde_json::{json, Value};
use support::{
    array_at, b64decode, b64encode, map_at, render_chart, render_chart_with, scalar, str_at,
    try_render_chart, Cluster, Manifest, Rendered, NAMESPACE, RELEASE,
};

const PRODUCTION: &str = "ci/production-values.yaml";
const ALL_OPTIONS: &str = "every option on";

/// Values switching on what values.yaml leaves off, with selectors of other shapes.
fn all_options() -> Value {
    json!({
        "ingress": {"exposeAdminApi": true},
        "mail": {"enabled": true, "port": 465},
        "secret": {"smtpUrl": "smtps://inkan:relay-password@mail.example.com:465"},
        "metrics": {
            "serviceMonitor": {"enabled": true, "labels": {"release": "kube-prometheus-stack"}},
        },
        "networkPolicy": {
            "prometheus": {
                "namespaceLabels": {"kubernetes.io/metadata.name": "observability"},
                "podLabels": {"app.kubernetes.io/name": "prometheus", "prometheus": "k8s"},
            },
            "adminApiClients": {
                "namespaceLabels": {},
                "podLabels": {"inkan.example.com/admin-client": "true"},
            },
        },
    })
}

/// The chart rendered with values.yaml, with the production override, and with every option.
fn renderings() -> Vec<(&'static str, Rendered)> {
    vec![
        ("values.yaml", render_chart(&[])),
        (PRODUCTION, render_chart(&[PRODUCTION])),
        (
            ALL_OPTIONS,
            render_chart_with(&[], &all_options(), &Cluster::default()),
        ),
    ]
}

fn name_of(role: &str) -> String {
    format!("{RELEASE}-{role}")
}

fn container(m: &Manifest) -> &Value {
    let containers = array_at(&m.doc, "/spec/template/spec/containers");
    assert_eq!(containers.len(), 1, "{}: one container expected", m.name);
    &containers[0]
}

/// Where a container's variable comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Literal(String),
    Secret { name: String, key: String },
    ConfigMap { name: String, value: String },
}

/// Every variable a container gets, from `env` and from the ConfigMaps in `envFrom`.
fn environment(r: &Rendered, c: &Value) -> BTreeMap<String, Source> {
    let mut env = BTreeMap::new();
    for from in array_at(c, "/envFrom") {
        let cm = str_at(from, "/configMapRef/name");
        assert!(
            !cm.is_empty(),
            "envFrom supports ConfigMaps only here (secrets go by key): {from}"
        );
        let data = map_at(&r.get("ConfigMap", cm).doc, "/data");
        for (k, v) in data {
            env.insert(
                k,
                Source::ConfigMap {
                    name: cm.to_string(),
                    value: scalar(&v),
                },
            );
        }
    }
    for var in array_at(c, "/env") {
        let name = str_at(var, "/name").to_string();
        let source = if let Some(v) = var.get("value") {
            Source::Literal(scalar(v))
        } else {
            let name = str_at(var, "/valueFrom/secretKeyRef/name");
            let key = str_at(var, "/valueFrom/secretKeyRef/key");
            assert!(!name.is_empty() && !key.is_empty(), "unexpected env: {var}");
            Source::Secret {
                name: name.into(),
                key: key.into(),
            }
        };
        env.insert(name, source);
    }
    env
}

/// The container port a probe or Service names (by name or number).
fn resolve_port(c: &Value, port: &Value) -> u64 {
    if let Some(n) = port.as_u64() {
        return n;
    }
    let name = port.as_str().expect("a port name or number");
    array_at(c, "/ports")
        .iter()
        .find(|p| str_at(p, "/name") == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port named {name}"))
}

fn pod_labels(m: &Manifest) -> serde_json::Map<String, Value> {
    map_at(&m.doc, "/spec/template/metadata/labels")
}

/// True when `selector` (a matchLabels map) selects pods with `labels`.
fn selects(
    selector: &serde_json::Map<String, Value>,
    labels: &serde_json::Map<String, Value>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn every_template_renders_with_values_yaml_and_with_the_production_override() {
    for (values, r) in renderings() {
        assert!(!r.manifests.is_empty(), "{values}: nothing rendered");
        let mut seen = BTreeSet::new();
        for m in &r.manifests {
            assert!(
                seen.insert((m.kind.clone(), m.name.clone())),
                "{values}: two {} named {}",
                m.kind,
                m.name
            );
        }
        assert!(r.outputs.iter().any(|(file, _)| file == "NOTES.txt"));
    }
}

#[test]
fn every_role_has_a_deployment_a_service_an_autoscaler_and_a_disruption_budget() {
    let r = render_chart(&[]);
    let roles: BTreeSet<&str> = r
        .of_kind("Deployment")
        .iter()
        .map(|m| m.name.strip_prefix(&format!("{RELEASE}-")).unwrap())
        .collect();
    assert_eq!(
        roles,
        ROLES.into_iter().collect(),
        "one Deployment per role"
    );
    for role in ROLES {
        let name = name_of(role);
        let deployment = r.get("Deployment", &name);
        let labels = pod_labels(deployment);
        assert!(selects(
            &map_at(&deployment.doc, "/spec/selector/matchLabels"),
            &labels
        ));

        let service = r.get("Service", &name);
        assert!(
            selects(&map_at(&service.doc, "/spec/selector"), &labels),
            "Service {name} selects the {role} pods"
        );
        let port = &array_at(&service.doc, "/spec/ports")[0];
        assert_eq!(port["port"], HTTP_PORT);
        assert_eq!(
            resolve_port(container(deployment), &port["targetPort"]),
            HTTP_PORT as u64
        );

        let hpa = r.get("HorizontalPodAutoscaler", &name);
        assert_eq!(str_at(&hpa.doc, "/apiVersion"), "autoscaling/v2");
        assert_eq!(str_at(&hpa.doc, "/spec/scaleTargetRef/kind"), "Deployment");
        assert_eq!(str_at(&hpa.doc, "/spec/scaleTargetRef/name"), name);
        assert!(hpa.doc["spec"]["maxReplicas"].as_u64() >= hpa.doc["spec"]["minReplicas"].as_u64());

        let pdb = r.get("PodDisruptionBudget", &name);
        assert_eq!(str_at(&pdb.doc, "/apiVersion"), "policy/v1");
        assert!(selects(
            &map_at(&pdb.doc, "/spec/selector/matchLabels"),
            &labels
        ));
    }
}

#[test]
fn replicas_come_from_values_as_the_deployment_size_or_the_autoscaler_minimum() {
    for (values, r) in renderings() {
        for role in ROLES {
            let svc = &r.values["services"][role];
            let deployment = r.get("Deployment", &name_of(role));
            let hpa = r.find("HorizontalPodAutoscaler", &name_of(role));
            if svc["autoscaling"]["enabled"] == true {
                let hpa = hpa.unwrap_or_else(|| panic!("{values}: {role} has no autoscaler"));
                assert_eq!(
                    hpa.doc["spec"]["minReplicas"], svc["replicas"],
                    "{values}: {role}"
                );
                assert_eq!(
                    hpa.doc["spec"]["maxReplicas"],
                    svc["autoscaling"]["maxReplicas"]
                );
                assert!(
                    deployment.doc["spec"].get("replicas").is_none(),
                    "{values}: {role}: the autoscaler owns the size"
                );
            } else {
                assert!(
                    hpa.is_none(),
                    "{values}: {role} has an autoscaler it disabled"
                );
                assert_eq!(
                    deployment.doc["spec"]["replicas"], svc["replicas"],
                    "{values}: {role}"
                );
            }
        }
    }
    // The override changes them.
    let r = render_chart(&[PRODUCTION]);
    assert_eq!(
        r.get("Deployment", &name_of("token")).doc["spec"]["replicas"],
        6
    );
    assert_eq!(
        r.get("HorizontalPodAutoscaler", &name_of("admin")).doc["spec"]["minReplicas"],
        3
    );
    // Admin keeps at least two replicas for availability.
    let r = render_chart(&[]);
    assert!(r.values["services"]["admin"]["replicas"].as_u64() >= Some(2));
}

#[test]
fn every_deployment_runs_its_role_from_the_one_image_as_a_non_root_user() {
    for (values, r) in renderings() {
        let mut images = BTreeSet::new();
        for role in ROLES {
            let d = r.get("Deployment", &name_of(role));
            let c = container(d);
            let args: Vec<&str> = array_at(c, "/args")
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(args, ["serve", "--role", role], "{values}: {role}");
            assert!(SERVE_ROLES.contains(&args[2]));
            images.insert(str_at(c, "/image").to_string());
            let pod = &d.doc["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
            assert_ne!(pod["securityContext"]["runAsUser"], 0);
            assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
            for field in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        !str_at(c, &format!("/resources/{field}/{resource}")).is_empty(),
                        "{values}: {role} has no {field}.{resource}"
                    );
                }
            }
        }
        let job = r.get("Job", &name_of("migrate"));
        images.insert(str_at(container(job), "/image").to_string());
        assert_eq!(
            images.len(),
            1,
            "{values}: one image for every role: {images:?}"
        );
    }
}

#[test]
fn probes_hit_healthz_and_readyz_on_the_http_port() {
    let r = render_chart(&[]);
    for role in ROLES {
        let c = container(r.get("Deployment", &name_of(role)));
        for (probe, path) in [
            ("livenessProbe", LIVENESS_PATH),
            ("readinessProbe", READINESS_PATH),
            ("startupProbe", LIVENESS_PATH),
        ] {
            let get = &c[probe]["httpGet"];
            assert_eq!(get["path"], path, "{role}: {probe}");
            assert_eq!(
                resolve_port(c, &get["port"]),
                HTTP_PORT as u64,
                "{role}: {probe}"
            );
        }
        let ports: BTreeSet<u64> = array_at(c, "/ports")
            .iter()
            .map(|p| p["containerPort"].as_u64().unwrap())
            .collect();
        let expected: BTreeSet<u64> = if role == "admin" {
            [HTTP_PORT as u64, GRPC_PORT as u64, METRICS_PORT as u64].into()
        } else {
            [HTTP_PORT as u64, METRICS_PORT as u64].into()
        };
        assert_eq!(ports, expected, "{role}: container ports");
    }
}

#[test]
fn the_admin_grpc_service_is_headless_and_is_where_the_other_roles_look_for_admin() {
    let r = render_chart(&[]);
    let name = format!("{RELEASE}-admin-grpc");
    let svc = r.get("Service", &name);
    assert_eq!(str_at(&svc.doc, "/spec/clusterIP"), "None");
    let admin = r.get("Deployment", &name_of("admin"));
    assert!(selects(
        &map_at(&svc.doc, "/spec/selector"),
        &pod_labels(admin)
    ));
    let ports = array_at(&svc.doc, "/spec/ports");
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["port"], GRPC_PORT);
    assert_eq!(
        resolve_port(container(admin), &ports[0]["targetPort"]),
        GRPC_PORT as u64
    );

    let grpc_url = format!("http://{name}:{GRPC_PORT}");
    for role in ["authorize", "token", "userinfo"] {
        let env = environment(&r, container(r.get("Deployment", &name_of(role))));
        match &env["INKAN_ADMIN_GRPC_URL"] {
            Source::ConfigMap { value, .. } | Source::Literal(value) => {
                assert_eq!(value, &grpc_url, "{role}")
            }
            other => panic!("{role}: INKAN_ADMIN_GRPC_URL from {other:?}"),
        }
    }
    let env = environment(&r, container(admin));
    assert_eq!(
        env["INKAN_GRPC_ADDR"],
        Source::ConfigMap {
            name: format!("{RELEASE}-config"),
            value: format!("0.0.0.0:{GRPC_PORT}")
        }
    );
}

#[test]
fn the_ingress_routes_every_public_path_to_the_service_that_serves_it_and_nothing_else() {
    for (values, r) in renderings() {
        let ingresses = r.of_kind("Ingress");
        assert_eq!(ingresses.len(), 1, "{values}: one Ingress");
        let ing = &ingresses[0].doc;
        let rules = array_at(ing, "/spec/rules");
        assert_eq!(rules.len(), 1, "{values}: one host");
        let issuer = r.values["issuer"].as_str().unwrap();
        let host = str_at(&rules[0], "/host");
        assert_eq!(
            issuer.trim_end_matches('/'),
            format!("https://{host}"),
            "{values}: the Ingress host is the issuer's"
        );
        if let Some(tls) = array_at(ing, "/spec/tls").first() {
            assert_eq!(array_at(tls, "/hosts")[0], host);
        }

        // Services by name → the role they serve.
        let service_role: BTreeMap<String, &str> =
            ROLES.iter().map(|role| (name_of(role), *role)).collect();
        let mut routed = BTreeSet::new();
        for p in array_at(&rules[0], "/http/paths") {
            let path = str_at(p, "/path");
            let route = PUBLIC_ROUTES
                .iter()
                .find(|route| route.path == path)
                .unwrap_or_else(|| {
                    panic!("{values}: the Ingress routes {path}, not a public path")
                });
            let expected_type = if route.prefix { "Prefix" } else { "Exact" };
            assert_eq!(str_at(p, "/pathType"), expected_type, "{values}: {path}");
            let backend = str_at(p, "/backend/service/name");
            let role = service_role
                .get(backend)
                .unwrap_or_else(|| panic!("{values}: {path} goes to unknown Service {backend}"));
            assert!(
                route.server.accepts(role),
                "{values}: {path} goes to {role}, served by {:?}",
                route.server
            );
            assert!(r.find("Service", backend).is_some());
            assert_eq!(str_at(p, "/backend/service/port/name"), "http");
            assert!(routed.insert(path), "{values}: {path} routed twice");
        }
        let expose_admin = r.values["ingress"]["exposeAdminApi"] == true;
        for route in PUBLIC_ROUTES {
            let expected = route.path != ADMIN_API_PATH || expose_admin;
            assert_eq!(
                routed.contains(route.path),
                expected,
                "{values}: {} routed (ingress.exposeAdminApi: {expose_admin})",
                route.path
            );
        }
        for path in INTERNAL_PATHS {
            assert!(
                !routed.iter().any(|p| path.starts_with(p)),
                "{path} is public"
            );
        }
    }
}

#[test]
fn every_deployment_has_the_environment_its_role_needs() {
    for (values, r) in renderings() {
        let secret_name = match r.values["secret"]["existingSecret"].as_str() {
            Some(existing) if !existing.is_empty() => existing.to_string(),
            _ => format!("{RELEASE}-secrets"),
        };
        let mut issuers = BTreeSet::new();
        for role in ROLES {
            let env = environment(&r, container(r.get("Deployment", &name_of(role))));
            for var in required_env(role) {
                assert!(env.contains_key(var), "{values}: {role} lacks {var}");
            }
            for (var, source) in &env {
                if let Source::Secret { name, key } = source {
                    assert_eq!(name, &secret_name, "{values}: {role}: {var}");
                    assert_eq!(key, var, "{values}: {role}: {var}");
                    if let Some(keys) = r.data_keys("Secret", name) {
                        assert!(keys.contains(key), "{values}: Secret {name} has no {key}");
                    }
                }
            }
            // Secrets never sit in the ConfigMap or the pod spec.
            for var in [
                "INKAN_KEY_ENCRYPTION_KEY",
                "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
                "DATABASE_URL",
            ] {
                if let Some(source) = env.get(var) {
                    assert!(
                        matches!(source, Source::Secret { .. }),
                        "{values}: {role}: {var}"
                    );
                }
            }
            let text = |var: &str| match &env[var] {
                Source::ConfigMap { value, .. } | Source::Literal(value) => value.clone(),
                other => panic!("{role}: {var} from {other:?}"),
            };
            assert_eq!(text("INKAN_LOG_FORMAT"), "json");
            assert_eq!(text("INKAN_HTTP_ADDR"), format!("0.0.0.0:{HTTP_PORT}"));
            assert_eq!(
                text("INKAN_METRICS_ADDR"),
                format!("0.0.0.0:{METRICS_PORT}"),
                "{values}: {role}: metrics on a listener of their own"
            );
            assert!(text("OTEL_EXPORTER_OTLP_ENDPOINT").starts_with("http"));
            issuers.insert(text("INKAN_ISSUER"));
        }
        assert_eq!(issuers.len(), 1, "{values}: one issuer for every role");
    }
}

#[test]
fn with_mail_enabled_admin_and_authorize_get_the_smtp_url_from_the_secret_and_admin_may_reach_the_relay(
) {
    for (values, r) in renderings() {
        let on = values == ALL_OPTIONS;
        for role in ROLES {
            let env = environment(&r, container(r.get("Deployment", &name_of(role))));
            let expected = on && matches!(role, "admin" | "authorize");
            assert_eq!(
                env.get("INKAN_SMTP_URL"),
                expected
                    .then(|| Source::Secret {
                        name: secrets_name(),
                        key: "INKAN_SMTP_URL".into(),
                    })
                    .as_ref(),
                "{values}: {role}"
            );
            assert_eq!(env.contains_key("INKAN_MAIL_FROM"), on, "{values}: {role}");
        }
        if on {
            assert_eq!(
                secret(&r, "INKAN_SMTP_URL"),
                "smtps://inkan:relay-password@mail.example.com:465"
            );
            let policy = r.get("NetworkPolicy", &name_of("admin"));
            assert!(
                policy.doc.to_string().contains("465"),
                "admin's egress lets the mailer reach the relay: {}",
                policy.doc
            );
        }
    }
}

#[test]
fn only_admin_reaches_relying_parties_for_back_channel_logout_and_only_on_public_addresses() {
    for (values, r) in renderings() {
        for component in ["admin", "authorize", "token", "userinfo", "migrate"] {
            let policy = policy_for(&r, component);
            let to_public: Vec<&Value> = array_at(&policy.doc, "/spec/egress")
                .iter()
                .filter(|rule| rule_ports(rule, None).contains(&443))
                .collect();
            if component != "admin" {
                assert!(to_public.is_empty(), "{values}: {component}");
                continue;
            }
            assert_eq!(to_public.len(), 1, "{values}: {}", policy.doc);
            let peers = array_at(to_public[0], "/to");
            assert_eq!(peers.len(), 1, "{values}");
            assert_eq!(str_at(&peers[0], "/ipBlock/cidr"), "0.0.0.0/0");
            let except: BTreeSet<&str> = array_at(&peers[0], "/ipBlock/except")
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            for private in [
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "169.254.0.0/16",
                "127.0.0.0/8",
            ] {
                assert!(except.contains(private), "{values}: {private} is excepted");
            }
        }
    }
    // Closed on request.
    let r = render_chart_with(
        &[],
        &json!({"backchannelLogout": {"egressPorts": []}}),
        &Cluster::default(),
    );
    let policy = policy_for(&r, "admin");
    assert!(
        !policy.doc.to_string().contains("ipBlock"),
        "{}",
        policy.doc
    );
}

#[test]
fn only_the_admin_deployment_and_the_migration_job_get_the_database_url() {
    for (values, r) in renderings() {
        for role in ROLES {
            let env = environment(&r, container(r.get("Deployment", &name_of(role))));
            for var in ADMIN_ONLY_ENV {
                assert_eq!(
                    env.contains_key(*var),
                    role == "admin",
                    "{values}: {role} and {var}"
                );
            }
        }
        let job = r.get("Job", &name_of("migrate"));
        let env = environment(&r, container(job));
        for var in MIGRATE_ENV {
            assert!(
                env.contains_key(*var),
                "{values}: the migration lacks {var}"
            );
        }
        assert!(!env.contains_key("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"));
        // Nothing else that runs a container sees it.
        for m in &r.manifests {
            if !matches!(m.kind.as_str(), "Deployment" | "Job")
                || m.name == name_of("admin")
                || m.name == name_of("migrate")
            {
                continue;
            }
            let env = environment(&r, container(m));
            assert!(
                !env.contains_key("DATABASE_URL"),
                "{values}: {} {}",
                m.kind,
                m.name
            );
        }
    }
}

#[test]
fn the_migration_job_is_a_pre_install_and_pre_upgrade_hook_running_inkan_migrate() {
    for (values, r) in renderings() {
        let job = r.get("Job", &name_of("migrate"));
        assert_eq!(array_at(container(job), "/args"), ["migrate"]);
        let annotations = map_at(&job.doc, "/metadata/annotations");
        assert_eq!(annotations["helm.sh/hook"], "pre-install,pre-upgrade");
        assert_eq!(
            str_at(&job.doc, "/spec/template/spec/restartPolicy"),
            "Never"
        );

        // Its database URL exists before it runs: an existing Secret, or a hook Secret
        // created earlier (lower weight) in the same hook phase.
        let env = environment(&r, container(job));
        let Source::Secret { name, .. } = &env["DATABASE_URL"] else {
            panic!("{values}: the migration's DATABASE_URL is not from a Secret")
        };
        match r.find("Secret", name) {
            Some(secret) => {
                let a = map_at(&secret.doc, "/metadata/annotations");
                assert_eq!(a["helm.sh/hook"], annotations["helm.sh/hook"], "{values}");
                let weight = |a: &serde_json::Map<String, Value>| {
                    a["helm.sh/hook-weight"]
                        .as_str()
                        .unwrap()
                        .parse::<i64>()
                        .unwrap()
                };
                assert!(
                    weight(&a) < weight(&annotations),
                    "{values}: Secret before Job"
                );
            }
            None => assert_eq!(
                r.values["secret"]["existingSecret"],
                name.as_str(),
                "{values}: the migration reads a Secret the chart does not render"
            ),
        }
    }
}

fn secrets_name() -> String {
    format!("{RELEASE}-secrets")
}

/// The value of `key` in the chart's own Secret.
fn secret(r: &Rendered, key: &str) -> String {
    r.secret_value(&secrets_name(), key)
        .unwrap_or_else(|| panic!("the Secret {} has no {key}", secrets_name()))
}

/// Panics unless `kek` is what inkan accepts: 32 bytes, standard base64.
fn assert_is_a_key_encryption_key(kek: &str) {
    let bytes =
        b64decode(kek).unwrap_or_else(|| panic!("the key-encryption key {kek:?} is not base64"));
    assert_eq!(
        bytes.len(),
        32,
        "the key-encryption key is 32 bytes, base64"
    );
}

/// The Secret a release installed earlier left in the cluster, as the API server
/// returns it (values base64-encoded under `data`).
fn live_secret(namespace: &str, kek: &str, bootstrap_secret: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secrets_name(), "namespace": namespace},
        "type": "Opaque",
        "data": {
            "INKAN_KEY_ENCRYPTION_KEY": b64encode(kek.as_bytes()),
            "INKAN_BOOTSTRAP_ADMIN_CLIENT_ID": b64encode(b"inkan-admin"),
            "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET": b64encode(bootstrap_secret.as_bytes()),
            "REDIS_URL": b64encode(b"redis://redis.old:6379"),
        },
    })
}

/// The key-encryption keys inkan refuses outside a loopback issuer (its
/// `PUBLISHED_KEKS`, in services/inkan/src/safety.rs).
fn published_keks() -> Vec<String> {
    let source = read_repo_file("services/inkan/src/safety.rs");
    let start = source
        .find("const PUBLISHED_KEKS")
        .expect("inkan's list of published key-encryption keys, PUBLISHED_KEKS, in services/inkan/src/safety.rs");
    let list = &source[start..];
    let list = &list[list.find('=').expect("PUBLISHED_KEKS = [...]")..];
    let list = &list[..list.find("];").expect("PUBLISHED_KEKS ends with `];`")];
    let keys: Vec<String> = list
        .split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    assert!(!keys.is_empty(), "PUBLISHED_KEKS lists no key: {list}");
    for kek in &keys {
        assert_is_a_key_encryption_key(kek);
    }
    keys
}

#[test]
fn the_secret_holds_the_key_encryption_key_and_the_bootstrap_admin_client() {
    let r = render_chart(&[]);
    let secret_manifest = r.get("Secret", &secrets_name());
    assert_is_a_key_encryption_key(&secret(&r, "INKAN_KEY_ENCRYPTION_KEY"));
    assert_eq!(
        secret(&r, "INKAN_BOOTSTRAP_ADMIN_CLIENT_ID"),
        r.values["secret"]["bootstrapAdminClientId"]
            .as_str()
            .unwrap()
    );
    assert!(
        secret(&r, "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET").len() >= 32,
        "inkan refuses a bootstrap secret shorter than 32 characters"
    );
    for (var, value) in [
        ("DATABASE_URL", "/database/url"),
        ("REDIS_URL", "/redis/url"),
        ("NATS_URL", "/nats/url"),
    ] {
        assert_eq!(secret(&r, var), str_at(&r.values, value), "{var}");
    }
    // The event store outlives the release, so the key that opens its signing keys does too.
    assert_eq!(
        map_at(&secret_manifest.doc, "/metadata/annotations")["helm.sh/resource-policy"],
        "keep"
    );
    // With an external secret manager, the chart renders no secret at all.
    let r = render_chart(&[PRODUCTION]);
    assert!(
        r.of_kind("Secret").is_empty(),
        "existingSecret set, yet a Secret is rendered"
    );
}

#[test]
fn values_yaml_ships_no_key_encryption_key_and_no_bootstrap_secret() {
    let text = read_repo_file("deploy/helm/inkan/values.yaml");
    let values = support::yaml(&text, "values.yaml");
    assert_eq!(values["secret"]["keyEncryptionKey"], "");
    assert_eq!(values["secret"]["bootstrapAdminClientSecret"], "");
    let published = published_keks();
    for kek in &published {
        assert!(
            !text.contains(kek.as_str()),
            "values.yaml holds the published key {kek}"
        );
    }
    // Nor does anything the chart renders by default, as text or as Secret data.
    let r = render_chart(&[]);
    for (file, out) in &r.outputs {
        for kek in &published {
            let encoded = b64encode(kek.as_bytes());
            assert!(
                !out.contains(kek.as_str()) && !out.contains(&encoded),
                "{file} renders the published key {kek}"
            );
        }
    }
    assert!(!published.contains(&secret(&r, "INKAN_KEY_ENCRYPTION_KEY")));
}

#[test]
fn a_first_install_generates_a_new_key_encryption_key_and_bootstrap_secret_each_time() {
    let first = render_chart(&[]);
    let second = render_chart(&[]);
    for r in [&first, &second] {
        assert_is_a_key_encryption_key(&secret(r, "INKAN_KEY_ENCRYPTION_KEY"));
        let bootstrap = secret(r, "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET");
        assert!(bootstrap.len() >= 32, "{bootstrap:?}");
        // Letters and digits: safe in `curl -u id:secret` and in form encoding.
        assert!(
            bootstrap.chars().all(|c| c.is_ascii_alphanumeric()),
            "{bootstrap:?}"
        );
    }
    for key in [
        "INKAN_KEY_ENCRYPTION_KEY",
        "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
    ] {
        assert_ne!(
            secret(&first, key),
            secret(&second, key),
            "two installs share {key}"
        );
    }
}

#[test]
fn an_upgrade_keeps_the_key_encryption_key_and_bootstrap_secret_the_live_secret_holds() {
    // Made at run time: a key written in the repository would be a published one.
    let kek = b64encode(&[7u8; 32]);
    let bootstrap = "the-bootstrap-secret-of-the-installed-release";
    let cluster = Cluster::upgrade(vec![live_secret(NAMESPACE, &kek, bootstrap)]);
    for _ in 0..2 {
        let r = render_chart_with(&[], &Value::Null, &cluster);
        assert_eq!(secret(&r, "INKAN_KEY_ENCRYPTION_KEY"), kek);
        assert_eq!(secret(&r, "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"), bootstrap);
        // What values set still comes from values.
        assert_eq!(secret(&r, "REDIS_URL"), str_at(&r.values, "/redis/url"));
    }

    // Only this release's Secret, in its namespace, is kept.
    let elsewhere = Cluster::upgrade(vec![live_secret("elsewhere", &kek, bootstrap)]);
    let r = render_chart_with(&[], &Value::Null, &elsewhere);
    assert_ne!(secret(&r, "INKAN_KEY_ENCRYPTION_KEY"), kek);
    assert_is_a_key_encryption_key(&secret(&r, "INKAN_KEY_ENCRYPTION_KEY"));

    // A value set explicitly wins over the live one.
    let chosen = b64encode(&[9u8; 32]);
    let set = json!({"secret": {"keyEncryptionKey": chosen, "bootstrapAdminClientSecret": "a-bootstrap-secret-chosen-in-values-files"}});
    let r = render_chart_with(&[], &set, &cluster);
    assert_eq!(secret(&r, "INKAN_KEY_ENCRYPTION_KEY"), chosen);
    assert_eq!(
        secret(&r, "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"),
        "a-bootstrap-secret-chosen-in-values-files"
    );
}

#[test]
fn the_chart_refuses_the_key_encryption_keys_inkan_refuses() {
    for kek in published_keks() {
        let set = json!({"secret": {"keyEncryptionKey": kek}});
        let err = try_render_chart(&[], &set, &Cluster::default())
            .err()
            .unwrap_or_else(|| panic!("the chart installs with the published key {kek}"));
        assert!(
            err.contains("published") && err.contains("secret.keyEncryptionKey"),
            "{err}"
        );
        // Also when an earlier release stored it (the old default of values.yaml).
        let cluster = Cluster::upgrade(vec![live_secret(NAMESPACE, &kek, "x".repeat(40).as_str())]);
        let err = try_render_chart(&[], &Value::Null, &cluster)
            .err()
            .unwrap_or_else(|| panic!("the chart upgrades keeping the published key {kek}"));
        assert!(err.contains("published"), "{err}");
    }
    // The error names the problem, never the key.
    let kek = &published_keks()[0];
    let err = try_render_chart(
        &[],
        &json!({"secret": {"keyEncryptionKey": kek}}),
        &Cluster::default(),
    )
    .err()
    .expect("refused");
    assert!(!err.contains(kek.as_str()), "{err}");
}

/// The NetworkPolicy selecting the pods of `component`.
fn policy_for<'a>(r: &'a Rendered, component: &str) -> &'a Manifest {
    let pods = |m: &Manifest| pod_labels(m);
    let labels = match component {
        "migrate" => pods(r.get("Job", &name_of("migrate"))),
        role => pods(r.get("Deployment", &name_of(role))),
    };
    let matching: Vec<&Manifest> = r
        .of_kind("NetworkPolicy")
        .into_iter()
        .filter(|p| selects(&map_at(&p.doc, "/spec/podSelector/matchLabels"), &labels))
        .collect();
    assert_eq!(matching.len(), 1, "one NetworkPolicy for {component}");
    matching[0]
}

/// The ports a policy rule opens (numbers; named ports resolved on `c`).
fn rule_ports(rule: &Value, c: Option<&Value>) -> BTreeSet<u64> {
    array_at(rule, "/ports")
        .iter()
        .map(|p| match c {
            Some(c) => resolve_port(c, &p["port"]),
            None => p["port"].as_u64().expect("a numbered port"),
        })
        .collect()
}

/// The peer (`from` entry) a NetworkPolicy rule should hold for a selector in values
/// (`namespaceLabels`, `podLabels`); None when both are empty (no rule at all).
fn expected_peer(selector: &Value) -> Option<Value> {
    let namespaces = map_at(selector, "/namespaceLabels");
    let pods = map_at(selector, "/podLabels");
    if namespaces.is_empty() && pods.is_empty() {
        return None;
    }
    let mut peer = serde_json::Map::new();
    if !namespaces.is_empty() {
        peer.insert(
            "namespaceSelector".into(),
            json!({ "matchLabels": namespaces }),
        );
    }
    peer.insert(
        "podSelector".into(),
        if pods.is_empty() {
            json!({})
        } else {
            json!({ "matchLabels": pods })
        },
    );
    Some(Value::Object(peer))
}

/// Port → every peer an ingress rule of the policy admits on it.
fn admitted(r: &Rendered, role: &str, values: &str) -> BTreeMap<u64, Vec<Value>> {
    let c = container(r.get("Deployment", &name_of(role)));
    let policy = policy_for(r, role);
    let types = array_at(&policy.doc, "/spec/policyTypes");
    assert!(types.contains(&"Ingress".into()) && types.contains(&"Egress".into()));
    let mut open: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for rule in array_at(&policy.doc, "/spec/ingress") {
        let from = array_at(rule, "/from");
        assert!(
            !from.is_empty(),
            "{values}: {role}: an ingress rule open to everyone"
        );
        for port in rule_ports(rule, Some(c)) {
            open.entry(port).or_default().extend(from.iter().cloned());
        }
    }
    open
}

#[test]
fn each_port_of_each_pod_admits_only_the_peers_that_need_it() {
    for (values, r) in renderings() {
        let np = &r.values["networkPolicy"];
        let expose_admin = r.values["ingress"]["exposeAdminApi"] == true;
        let controller = expected_peer(&np["ingressController"]).expect("an ingress controller");
        for role in ROLES {
            let open = admitted(&r, role, values);
            // HTTP: the ingress controller where the Ingress routes to; admin's API
            // also from its configured in-cluster clients.
            let mut http = Vec::new();
            if role != "admin" || expose_admin {
                http.push(controller.clone());
            }
            if role == "admin" {
                http.extend(expected_peer(&np["adminApiClients"]));
            }
            assert_eq!(
                open.get(&(HTTP_PORT as u64)).cloned().unwrap_or_default(),
                http,
                "{values}: {role}: who reaches the HTTP port"
            );
            // Metrics: Prometheus only.
            assert_eq!(
                open.get(&(METRICS_PORT as u64))
                    .cloned()
                    .unwrap_or_default(),
                Vec::from_iter(expected_peer(&np["prometheus"])),
                "{values}: {role}: who reaches the metrics port"
            );
            // gRPC: admin only, from this release's other Inkan pods.
            if role == "admin" {
                let grpc = &open[&(GRPC_PORT as u64)];
                assert!(!grpc.is_empty());
                for peer in grpc {
                    assert!(
                        peer.get("namespaceSelector").is_none() && peer.get("ipBlock").is_none()
                    );
                    assert_eq!(
                        str_at(peer, "/podSelector/matchLabels/app.kubernetes.io~1instance"),
                        RELEASE
                    );
                    let components: BTreeSet<&str> =
                        array_at(peer, "/podSelector/matchExpressions")
                            .iter()
                            .filter(|e| str_at(e, "/key") == "app.kubernetes.io/component")
                            .flat_map(|e| {
                                array_at(e, "/values").iter().map(|v| v.as_str().unwrap())
                            })
                            .collect();
                    assert_eq!(components, ["authorize", "token", "userinfo"].into());
                }
            }
            let ports: BTreeSet<u64> = open.keys().copied().collect();
            let mut expected: BTreeSet<u64> = [METRICS_PORT as u64].into();
            if !http.is_empty() {
                expected.insert(HTTP_PORT as u64);
            }
            if role == "admin" {
                expected.insert(GRPC_PORT as u64);
            }
            assert_eq!(ports, expected, "{values}: {role}: the ports open at all");
        }
        // The migration accepts nothing.
        let migrate = policy_for(&r, "migrate");
        assert!(array_at(&migrate.doc, "/spec/ingress").is_empty());
        assert!(array_at(&migrate.doc, "/spec/policyTypes").contains(&"Ingress".into()));
    }
}

#[test]
fn prometheus_reaches_the_metrics_port_as_its_selector_in_values_says() {
    // Its own namespace's pods with a label: a pod selector alone (`null` deletes a
    // default, as in Helm).
    let set = json!({"networkPolicy": {"prometheus": {
        "namespaceLabels": null,
        "podLabels": {"app.kubernetes.io/name": null, "app": "prometheus"},
    }}});
    let r = render_chart_with(&[], &set, &Cluster::default());
    for role in ROLES {
        let open = admitted(&r, role, "pod selector only");
        assert_eq!(
            open[&(METRICS_PORT as u64)],
            [json!({"podSelector": {"matchLabels": {"app": "prometheus"}}})]
        );
    }
    // Every pod of a namespace.
    let set = json!({"networkPolicy": {"prometheus": {
        "namespaceLabels": {"kubernetes.io/metadata.name": "monitoring"},
        "podLabels": null,
    }}});
    let r = render_chart_with(&[], &set, &Cluster::default());
    for role in ROLES {
        let open = admitted(&r, role, "namespace selector only");
        assert_eq!(
            open[&(METRICS_PORT as u64)],
            [json!({
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                "podSelector": {},
            })]
        );
    }
    // No selector: no one, rather than everyone.
    let set =
        json!({"networkPolicy": {"prometheus": {"namespaceLabels": null, "podLabels": null}}});
    let r = render_chart_with(&[], &set, &Cluster::default());
    for role in ROLES {
        let open = admitted(&r, role, "no selector");
        assert!(!open.contains_key(&(METRICS_PORT as u64)), "{role}");
    }
}

#[test]
fn only_admin_and_the_migration_job_may_reach_postgres() {
    for (values, r) in renderings() {
        let postgres = r.values["database"]["port"].as_u64().unwrap();
        let redis = r.values["redis"]["port"].as_u64().unwrap();
        let nats = r.values["nats"]["port"].as_u64().unwrap();
        for component in ["admin", "authorize", "token", "userinfo", "migrate"] {
            let policy = policy_for(&r, component);
            assert!(array_at(&policy.doc, "/spec/policyTypes").contains(&"Egress".into()));
            let egress: BTreeSet<u64> = array_at(&policy.doc, "/spec/egress")
                .iter()
                .flat_map(|rule| rule_ports(rule, None))
                .collect();
            let may_reach_postgres = matches!(component, "admin" | "migrate");
            assert_eq!(
                egress.contains(&postgres),
                may_reach_postgres,
                "{values}: {component}"
            );
            assert!(egress.contains(&53), "{values}: {component} resolves names");
            if component != "migrate" {
                assert!(
                    egress.contains(&redis) && egress.contains(&nats),
                    "{values}: {component}"
                );
            }
            // The non-admin roles reach admin's gRPC port, and only on admin's pods.
            if !matches!(component, "admin" | "migrate") {
                let to_admin = array_at(&policy.doc, "/spec/egress")
                    .iter()
                    .find(|rule| rule_ports(rule, None).contains(&(GRPC_PORT as u64)))
                    .unwrap_or_else(|| panic!("{values}: {component} cannot reach admin"));
                let admin = pod_labels(r.get("Deployment", &name_of("admin")));
                for peer in array_at(to_admin, "/to") {
                    assert!(selects(&map_at(peer, "/podSelector/matchLabels"), &admin));
                }
                assert!(!array_at(to_admin, "/to").is_empty());
            }
        }
    }
}

#[test]
fn every_pod_serves_metrics_on_a_port_of_its_own_and_tells_prometheus_where() {
    for (values, r) in renderings() {
        for role in ROLES {
            let d = r.get("Deployment", &name_of(role));
            let c = container(d);
            assert_eq!(
                resolve_port(c, &"metrics".into()),
                METRICS_PORT as u64,
                "{values}: {role}: the metrics container port"
            );
            let env = environment(&r, c);
            assert!(
                matches!(&env["INKAN_METRICS_ADDR"], Source::ConfigMap { value, .. } if *value == format!("0.0.0.0:{METRICS_PORT}")),
                "{values}: {role}: {:?}",
                env["INKAN_METRICS_ADDR"]
            );
            let annotations = map_at(&d.doc, "/spec/template/metadata/annotations");
            if r.values["metrics"]["podAnnotations"] == true {
                assert_eq!(
                    annotations["prometheus.io/scrape"], "true",
                    "{values}: {role}"
                );
                assert_eq!(
                    annotations["prometheus.io/port"],
                    METRICS_PORT.to_string(),
                    "{values}: {role}"
                );
                assert_eq!(annotations["prometheus.io/path"], METRICS_PATH);
            } else {
                assert!(!annotations.keys().any(|k| k.starts_with("prometheus.io/")));
            }
            // The role's Service offers the metrics port too (for a ServiceMonitor),
            // after the HTTP port the Ingress uses.
            let service = r.get("Service", &name_of(role));
            let ports = array_at(&service.doc, "/spec/ports");
            assert_eq!(str_at(&ports[0], "/name"), "http");
            let metrics = ports
                .iter()
                .find(|p| str_at(p, "/name") == "metrics")
                .unwrap_or_else(|| {
                    panic!("{values}: Service {} has no metrics port", service.name)
                });
            assert_eq!(metrics["port"], METRICS_PORT);
            assert_eq!(resolve_port(c, &metrics["targetPort"]), METRICS_PORT as u64);
        }
    }
    let r = render_chart_with(
        &[],
        &json!({"metrics": {"podAnnotations": false}}),
        &Cluster::default(),
    );
    for role in ROLES {
        let d = r.get("Deployment", &name_of(role));
        let annotations = map_at(&d.doc, "/spec/template/metadata/annotations");
        assert!(
            !annotations.keys().any(|k| k.starts_with("prometheus.io/")),
            "{role}: {annotations:?}"
        );
    }
}

#[test]
fn a_service_monitor_scrapes_the_metrics_port_of_the_four_services_only_when_enabled() {
    assert!(render_chart(&[]).of_kind("ServiceMonitor").is_empty());
    assert!(render_chart(&[PRODUCTION])
        .of_kind("ServiceMonitor")
        .is_empty());

    let r = render_chart_with(&[], &all_options(), &Cluster::default());
    let monitors = r.of_kind("ServiceMonitor");
    assert_eq!(monitors.len(), 1);
    let m = &monitors[0].doc;
    assert_eq!(str_at(m, "/apiVersion"), "monitoring.coreos.com/v1");
    // The labels the operator's Prometheus selects monitors by.
    assert_eq!(
        str_at(m, "/metadata/labels/release"),
        "kube-prometheus-stack"
    );
    assert_eq!(
        array_at(m, "/spec/namespaceSelector/matchNames"),
        [NAMESPACE]
    );
    let endpoints = array_at(m, "/spec/endpoints");
    assert_eq!(endpoints.len(), 1);
    assert_eq!(str_at(&endpoints[0], "/port"), "metrics");
    assert_eq!(str_at(&endpoints[0], "/path"), METRICS_PATH);
    let selector = map_at(m, "/spec/selector/matchLabels");
    for role in ROLES {
        let service = r.get("Service", &name_of(role));
        assert!(
            selects(&selector, &map_at(&service.doc, "/metadata/labels")),
            "the ServiceMonitor selects Service {}",
            service.name
        );
    }
    // Whatever else it selects has no metrics port, so adds no target.
    for service in r.of_kind("Service") {
        if selects(&selector, &map_at(&service.doc, "/metadata/labels"))
            && !ROLES.iter().any(|role| name_of(role) == service.name)
        {
            assert!(
                array_at(&service.doc, "/spec/ports")
                    .iter()
                    .all(|p| str_at(p, "/name") != "metrics"),
                "{}",
                service.name
            );
        }
    }
}

#[test]
fn the_public_ingress_routes_the_admin_api_only_when_asked() {
    let admin_paths = |r: &Rendered| -> Vec<(String, String)> {
        let ing = &r.of_kind("Ingress")[0].doc;
        array_at(ing, "/spec/rules")
            .iter()
            .flat_map(|rule| array_at(rule, "/http/paths"))
            .filter(|p| {
                str_at(p, "/path").starts_with("/admin")
                    || str_at(p, "/backend/service/name") == name_of("admin")
            })
            .map(|p| {
                (
                    str_at(p, "/path").to_string(),
                    str_at(p, "/pathType").to_string(),
                )
            })
            .collect()
    };
    for overrides in [&[][..], &[PRODUCTION][..]] {
        let r = render_chart(overrides);
        assert_eq!(r.values["ingress"]["exposeAdminApi"], false);
        assert_eq!(
            admin_paths(&r),
            [],
            "{overrides:?}: the admin API is public"
        );
        let notes = &r.outputs.iter().find(|(f, _)| f == "NOTES.txt").unwrap().1;
        assert!(notes.contains("port-forward"), "{notes}");
    }
    let r = render_chart_with(
        &[],
        &json!({"ingress": {"exposeAdminApi": true}}),
        &Cluster::default(),
    );
    assert_eq!(
        admin_paths(&r),
        [(ADMIN_API_PATH.to_string(), "Prefix".to_string())]
    );
    // And the ingress controller may then reach admin's HTTP port.
    let open = admitted(&r, "admin", "exposeAdminApi");
    assert_eq!(
        open[&(HTTP_PORT as u64)],
        Vec::from_iter(expected_peer(
            &r.values["networkPolicy"]["ingressController"]
        ))
    );
}
