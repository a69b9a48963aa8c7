//! The Helm chart in deploy/helm/inkan, rendered without Helm (its templates use Go
//! text/template built-ins only) with values.yaml, and with ci/production-values.yaml
//! laid on top, then checked against the facts in `inkan_deploy_tests`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use inkan_deploy_tests::{
    required_env, ADMIN_ONLY_ENV, GRPC_PORT, HTTP_PORT, INTERNAL_PATHS, LIVENESS_PATH, MIGRATE_ENV,
    PUBLIC_ROUTES, READINESS_PATH, ROLES, SERVE_ROLES,
};
use serde_json::Value;
use support::{array_at, map_at, render_chart, scalar, str_at, Manifest, Rendered, RELEASE};

const PRODUCTION: &str = "ci/production-values.yaml";

/// The chart rendered with values.yaml, then with the production override.
fn renderings() -> Vec<(&'static str, Rendered)> {
    vec![
        ("values.yaml", render_chart(&[])),
        (PRODUCTION, render_chart(&[PRODUCTION])),
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
            [HTTP_PORT as u64, GRPC_PORT as u64].into()
        } else {
            [HTTP_PORT as u64].into()
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
        for route in PUBLIC_ROUTES {
            assert!(
                routed.contains(route.path),
                "{values}: {} is not routed",
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
            assert!(text("OTEL_EXPORTER_OTLP_ENDPOINT").starts_with("http"));
            issuers.insert(text("INKAN_ISSUER"));
        }
        assert_eq!(issuers.len(), 1, "{values}: one issuer for every role");
    }
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

#[test]
fn the_secret_holds_the_key_encryption_key_and_the_bootstrap_admin_client() {
    let r = render_chart(&[]);
    let secret = r.get("Secret", &format!("{RELEASE}-secrets"));
    let data = map_at(&secret.doc, "/stringData");
    let kek = data["INKAN_KEY_ENCRYPTION_KEY"].as_str().unwrap();
    // 32 bytes in base64: 44 characters ending in one '='.
    assert_eq!(kek.len(), 44, "the key-encryption key is 32 bytes, base64");
    assert!(kek.ends_with('=') && !kek.ends_with("=="));
    assert!(!data["INKAN_BOOTSTRAP_ADMIN_CLIENT_ID"]
        .as_str()
        .unwrap()
        .is_empty());
    assert!(
        data["INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"]
            .as_str()
            .unwrap()
            .len()
            >= 32,
        "inkan refuses a bootstrap secret shorter than 32 characters"
    );
    for var in ["DATABASE_URL", "REDIS_URL", "NATS_URL"] {
        assert!(data.contains_key(var), "the Secret lacks {var}");
    }
    // With an external secret manager, the chart renders no secret at all.
    let r = render_chart(&[PRODUCTION]);
    assert!(
        r.of_kind("Secret").is_empty(),
        "existingSecret set, yet a Secret is rendered"
    );
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

#[test]
fn only_the_ingress_controller_reaches_the_public_services_and_only_inkan_reaches_admins_grpc() {
    for (values, r) in renderings() {
        let controller = &r.values["networkPolicy"]["ingressController"];
        for role in ROLES {
            let c = container(r.get("Deployment", &name_of(role)));
            let policy = policy_for(&r, role);
            let types = array_at(&policy.doc, "/spec/policyTypes");
            assert!(types.contains(&"Ingress".into()) && types.contains(&"Egress".into()));
            let mut open = BTreeMap::new();
            for rule in array_at(&policy.doc, "/spec/ingress") {
                let from = array_at(rule, "/from");
                assert!(
                    !from.is_empty(),
                    "{values}: {role}: an ingress rule open to everyone"
                );
                for port in rule_ports(rule, Some(c)) {
                    open.insert(port, from.to_vec());
                }
            }
            // HTTP from the ingress controller only.
            let http = &open[&(HTTP_PORT as u64)];
            assert_eq!(http.len(), 1);
            assert_eq!(
                Value::Object(map_at(&http[0], "/namespaceSelector/matchLabels")),
                controller["namespaceLabels"],
                "{values}: {role}"
            );
            assert_eq!(
                Value::Object(map_at(&http[0], "/podSelector/matchLabels")),
                controller["podLabels"]
            );
            // gRPC: admin only, from this release's other Inkan pods.
            if role == "admin" {
                let grpc = &open[&(GRPC_PORT as u64)];
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
                assert_eq!(open.len(), 2, "{values}: admin opens HTTP and gRPC only");
            } else {
                assert_eq!(open.len(), 1, "{values}: {role} opens HTTP only");
            }
        }
        // The migration accepts nothing.
        let migrate = policy_for(&r, "migrate");
        assert!(array_at(&migrate.doc, "/spec/ingress").is_empty());
        assert!(array_at(&migrate.doc, "/spec/policyTypes").contains(&"Ingress".into()));
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
