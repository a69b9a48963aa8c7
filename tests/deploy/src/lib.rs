//! The facts about Inkan's processes that its deployment files must agree
//! with: which service serves which public path, which paths are internal,
//! the ports, the roles `inkan serve --role` accepts, and the environment
//! each role needs. The tests in `tests/` check `docker-compose.yml`, the
//! proxy config in `deploy/compose/` and the Helm chart in `deploy/helm/`
//! against these tables (and `tests/routes.rs` checks the routing table
//! against the routes the services declare in their source).
//!
//! # Layout
//! - [`PUBLIC_ROUTES`], [`INTERNAL_PATHS`], [`ADMIN_API_PATH`]: the routing table.
//! - [`ROLES`], [`SERVE_ROLES`], [`HTTP_PORT`], [`GRPC_PORT`], [`METRICS_PORT`]:
//!   processes and ports.
//! - [`required_env`], [`ADMIN_ONLY_ENV`]: the environment of each role.

use std::path::PathBuf;

/// Who serves a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// One role (its name as `inkan serve --role` spells it).
    Role(&'static str),
    /// Every process answers it (discovery and JWKS): route it to any role.
    Any,
}

impl Server {
    /// True when a request routed to `role` is answered.
    pub fn accepts(self, role: &str) -> bool {
        match self {
            Server::Role(r) => r == role,
            Server::Any => ROLES.contains(&role),
        }
    }
}

/// One public path and who serves it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The path, or for a prefix route the path every served path starts with.
    pub path: &'static str,
    /// `/admin/v1` serves `/admin/v1/...`: a prefix, not one path.
    pub prefix: bool,
    pub methods: &'static [&'static str],
    pub server: Server,
}

impl Route {
    /// True when `path` (a concrete request path) belongs to this route.
    pub fn matches(&self, path: &str) -> bool {
        if self.prefix {
            path == self.path || path.starts_with(&format!("{}/", self.path))
        } else {
            path == self.path
        }
    }

    /// A concrete request path of this route (for a prefix, one under it).
    pub fn example(&self) -> String {
        if self.prefix {
            format!("{}/projects", self.path)
        } else {
            self.path.to_string()
        }
    }
}

/// Every path the public (the issuer URL) must reach, and the service behind it.
pub const PUBLIC_ROUTES: &[Route] = &[
    Route {
        path: "/.well-known/openid-configuration",
        prefix: false,
        methods: &["GET"],
        server: Server::Any,
    },
    Route {
        path: "/jwks",
        prefix: false,
        methods: &["GET"],
        server: Server::Any,
    },
    Route {
        path: "/authorize",
        prefix: false,
        methods: &["GET", "POST"],
        server: Server::Role("authorize"),
    },
    // The login form's target and the steps after it (`/login/passkey`,
    // `/login/passkey/options`, `/login/continue`).
    Route {
        path: "/login",
        prefix: true,
        methods: &["POST"],
        server: Server::Role("authorize"),
    },
    // Creating a passkey after a password login (`/passkeys`, `/passkeys/options`).
    Route {
        path: "/passkeys",
        prefix: true,
        methods: &["POST"],
        server: Server::Role("authorize"),
    },
    // Forgotten passwords (`/password/forgot`, `/password/reset`).
    Route {
        path: "/password",
        prefix: true,
        methods: &["GET", "POST"],
        server: Server::Role("authorize"),
    },
    // Mailed address links (`/email/verify`, `/email/change`, `/email/resend`).
    Route {
        path: "/email",
        prefix: true,
        methods: &["GET", "POST"],
        server: Server::Role("authorize"),
    },
    // Self-registration (`/signup`, `/signup/start`).
    Route {
        path: "/signup",
        prefix: true,
        methods: &["POST"],
        server: Server::Role("authorize"),
    },
    // The account page and its forms.
    Route {
        path: "/account",
        prefix: true,
        methods: &["GET", "POST"],
        server: Server::Role("authorize"),
    },
    // The login pages' script (`/static/passkey.js`).
    Route {
        path: "/static",
        prefix: true,
        methods: &["GET"],
        server: Server::Role("authorize"),
    },
    Route {
        path: "/end_session",
        prefix: false,
        methods: &["GET", "POST"],
        server: Server::Role("authorize"),
    },
    Route {
        path: "/token",
        prefix: false,
        methods: &["POST"],
        server: Server::Role("token"),
    },
    Route {
        path: "/par",
        prefix: false,
        methods: &["POST"],
        server: Server::Role("token"),
    },
    Route {
        path: "/introspect",
        prefix: false,
        methods: &["POST"],
        server: Server::Role("token"),
    },
    Route {
        path: "/revoke",
        prefix: false,
        methods: &["POST"],
        server: Server::Role("token"),
    },
    Route {
        path: "/userinfo",
        prefix: false,
        methods: &["GET", "POST"],
        server: Server::Role("userinfo"),
    },
    Route {
        path: "/admin/v1",
        prefix: true,
        methods: &["GET", "POST", "PUT", "PATCH", "DELETE"],
        server: Server::Role("admin"),
    },
];

/// The admin API's prefix: public in the compose stack (a loopback issuer), and on
/// the Helm chart's Ingress only when `ingress.exposeAdminApi` asks for it.
pub const ADMIN_API_PATH: &str = "/admin/v1";

/// Paths a process may serve that must not be public: the probes, and Prometheus
/// metrics (`libs/telemetry`'s router), which every process serves on its metrics
/// listener only ([`METRICS_PORT`]).
pub const INTERNAL_PATHS: &[&str] = &[LIVENESS_PATH, READINESS_PATH, METRICS_PATH];
/// Liveness: 200 while the process runs.
pub const LIVENESS_PATH: &str = "/healthz";
/// Readiness: 200 when the backends the role uses answer, else 503.
pub const READINESS_PATH: &str = "/readyz";
/// Prometheus metrics: for the cluster's scraper, not for the public.
pub const METRICS_PATH: &str = "/metrics";

/// The route serving `path`, if it is public.
pub fn public_route(path: &str) -> Option<&'static Route> {
    PUBLIC_ROUTES.iter().find(|r| r.matches(path))
}

/// The four services, one per process in microservices mode.
pub const ROLES: [&str; 4] = ["admin", "authorize", "token", "userinfo"];
/// What `inkan serve --role` accepts (`inkan_config::Role`).
pub const SERVE_ROLES: [&str; 5] = ["all", "admin", "authorize", "token", "userinfo"];

/// Every process's HTTP port (`INKAN_HTTP_ADDR=0.0.0.0:8080` in containers).
pub const HTTP_PORT: u16 = 8080;
/// Admin's internal gRPC port (`INKAN_GRPC_ADDR=0.0.0.0:8081`).
pub const GRPC_PORT: u16 = 8081;
/// Every process's metrics listener: `/metrics`, `/healthz`, `/readyz`
/// (`INKAN_METRICS_ADDR=0.0.0.0:9464` in containers; Prometheus's exporter port).
pub const METRICS_PORT: u16 = 9464;

/// Variables every role needs.
const COMMON_ENV: &[&str] = &[
    "INKAN_ISSUER",
    "INKAN_HTTP_ADDR",
    "INKAN_METRICS_ADDR",
    "INKAN_KEY_ENCRYPTION_KEY",
    "REDIS_URL",
    "NATS_URL",
    "INKAN_LOG_FORMAT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
/// What admin needs on top: the event store, its gRPC listener, the first admin client.
const ADMIN_ENV: &[&str] = &[
    "DATABASE_URL",
    "INKAN_DATABASE_SCHEMA",
    "INKAN_GRPC_ADDR",
    "INKAN_BOOTSTRAP_ADMIN_CLIENT_ID",
    "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
];
/// What the other roles need on top: where admin's gRPC API is.
const CLIENT_ENV: &[&str] = &["INKAN_ADMIN_GRPC_URL"];

/// Variables only admin (and the migration) may see: the database and the admin credentials.
pub const ADMIN_ONLY_ENV: &[&str] = &["DATABASE_URL", "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"];
/// What `inkan migrate` needs.
pub const MIGRATE_ENV: &[&str] = &["DATABASE_URL", "INKAN_DATABASE_SCHEMA"];

/// Every variable `role` needs to run in microservices mode.
pub fn required_env(role: &str) -> Vec<&'static str> {
    assert!(ROLES.contains(&role), "unknown role {role}");
    let extra = if role == "admin" {
        ADMIN_ENV
    } else {
        CLIENT_ENV
    };
    COMMON_ENV.iter().chain(extra).copied().collect()
}

/// The workspace root (two levels above this package).
pub fn repo_root() -> PathBuf {
    // Read at run time, not with `env!`: a test binary may be reused from a
    // checkout at another path that shares the target directory.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// A file of the workspace, read as text (panics with its path when missing).
pub fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_path_has_exactly_one_route() {
        for route in PUBLIC_ROUTES {
            let n = PUBLIC_ROUTES
                .iter()
                .filter(|r| r.matches(&route.example()))
                .count();
            assert_eq!(n, 1, "{} is matched by {n} routes", route.path);
        }
        for path in INTERNAL_PATHS {
            assert!(public_route(path).is_none(), "{path} must stay internal");
        }
        let admin = public_route(&format!("{ADMIN_API_PATH}/projects")).expect("the admin API");
        assert_eq!(admin.path, ADMIN_API_PATH);
        assert_eq!(admin.server, Server::Role("admin"));
    }

    #[test]
    fn admin_needs_the_database_and_the_others_need_admins_grpc_url() {
        assert!(required_env("admin").contains(&"DATABASE_URL"));
        for role in ["authorize", "token", "userinfo"] {
            let env = required_env(role);
            assert!(env.contains(&"INKAN_ADMIN_GRPC_URL"));
            assert!(ADMIN_ONLY_ENV.iter().all(|v| !env.contains(v)));
        }
    }
}
