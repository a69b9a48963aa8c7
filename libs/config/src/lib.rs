//! Inkan's configuration: one struct, read from the command line, then the
//! environment, then an optional TOML file, then built-in defaults (in that
//! order of precedence). `inkan --help` documents every option.
//!
//! # Layout
//! - [`Settings`]: every option, with its environment variable and default.
//! - [`Role`]: which services a process runs.
//! - [`apply_config_file`]: lays a TOML file's values under the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

/// Which of the four services a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// All four services in one process (monolithic mode).
    All,
    /// The authorization endpoint and login pages.
    Authorize,
    /// The token, introspection and revocation endpoints.
    Token,
    /// The userinfo endpoint.
    Userinfo,
    /// The admin API, the event store's only writer, and the internal gRPC API.
    Admin,
}

impl Role {
    pub fn runs(self, other: Role) -> bool {
        self == Role::All || self == other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (development).
    Pretty,
    /// One JSON object per line (production).
    Json,
}

/// Every option of a running Inkan process.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// The issuer identifier: the public base URL relying parties are configured with.
    #[arg(long, env = "INKAN_ISSUER", default_value = "http://127.0.0.1:8080")]
    pub issuer: url::Url,

    /// Address the public HTTP server listens on (port 0 picks a free port).
    #[arg(long, env = "INKAN_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// Address the internal gRPC API (admin) listens on. `--role admin`:
    /// 127.0.0.1:8081 when unset. `--role all`: served only when set (the
    /// services of one process call each other in-process; set it when other
    /// processes must reach this admin).
    #[arg(long, env = "INKAN_GRPC_ADDR")]
    pub grpc_addr: Option<SocketAddr>,

    /// Seconds kept-alive connections may still send a request after SIGTERM
    /// (answered with `Connection: close`) before they are closed; new
    /// connections are refused at once. Ends early once all have closed.
    #[arg(
        long,
        env = "INKAN_SHUTDOWN_DRAIN_SECONDS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u64).range(0..=8)
    )]
    pub shutdown_drain_seconds: u64,

    /// Address of the operations listener: `/metrics` (Prometheus text),
    /// `/healthz` and `/readyz`. Keep it off the public network; the public
    /// listener serves `/healthz` and `/readyz` but never `/metrics`.
    #[arg(long, env = "INKAN_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,

    /// URL of the admin service's gRPC API, for processes that do not run the admin role.
    #[arg(
        long,
        env = "INKAN_ADMIN_GRPC_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub admin_grpc_url: String,

    /// Folder of the embedded stores (SQLite event log, generated keys); kept across restarts.
    #[arg(long, env = "INKAN_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL of the event store; unset = embedded SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// PostgreSQL schema holding Inkan's tables (created if missing).
    #[arg(long, env = "INKAN_DATABASE_SCHEMA", default_value = "inkan")]
    pub database_schema: String,

    /// Maximum PostgreSQL connections of this process.
    #[arg(long, env = "INKAN_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Redis URL of the short-lived state; unset = in-process store (single process only).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key Inkan writes.
    #[arg(long, env = "INKAN_REDIS_PREFIX", default_value = "inkan:")]
    pub redis_prefix: String,

    /// NATS URL of the event bus (JetStream); unset = in-process bus (single process only).
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,

    /// JetStream stream carrying Inkan's events.
    #[arg(long, env = "INKAN_NATS_STREAM", default_value = "INKAN_EVENTS")]
    pub nats_stream: String,

    /// Subject prefix of Inkan's events on NATS.
    #[arg(
        long,
        env = "INKAN_NATS_SUBJECT_PREFIX",
        default_value = "inkan.events"
    )]
    pub nats_subject_prefix: String,

    /// Key-encryption key: 32 bytes, base64. Encrypts signing keys at rest and keys
    /// the client-secret hash. Unset in embedded mode = generated once into the data folder.
    #[arg(long, env = "INKAN_KEY_ENCRYPTION_KEY", hide_env_values = true)]
    pub key_encryption_key: Option<String>,

    /// Milliseconds an internal (gRPC) read of the admin waits on the event
    /// store — catching up with the log, an identity missing from its cache —
    /// before answering from its read models (or failing `unavailable`).
    /// Keep it well under the callers' 5 s deadline.
    #[arg(
        long,
        env = "INKAN_ADMIN_STORE_READ_TIMEOUT_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(10..=4000)
    )]
    pub admin_store_read_timeout_ms: u64,

    /// client_id of the admin client created on first start with an empty store.
    #[arg(long, env = "INKAN_BOOTSTRAP_ADMIN_CLIENT_ID")]
    pub bootstrap_admin_client_id: Option<String>,

    /// client_secret of the bootstrap admin client (generated and printed once if unset in embedded mode).
    #[arg(
        long,
        env = "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub bootstrap_admin_client_secret: Option<String>,

    /// Seconds a new signing key is published in the JWKS before it signs
    /// (must exceed the JWKS cache lifetime, 300 s).
    #[arg(
        long,
        env = "INKAN_KEY_ACTIVATION_DELAY_SECONDS",
        default_value_t = 600
    )]
    pub key_activation_delay_seconds: u64,

    /// Rotate signing keys automatically after this many days (0 = only on request).
    #[arg(long, env = "INKAN_KEY_ROTATION_DAYS", default_value_t = 90)]
    pub key_rotation_days: u64,

    /// SMTP relay for the mails Inkan sends (email-verification and
    /// password-reset links, the notice after a reset):
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (implicit TLS), or `smtp://host:port`
    /// (no TLS: a relay on loopback only). Unset = no mail: password reset
    /// and email verification are off, and the pages do not offer them.
    #[arg(long, env = "INKAN_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// A folder of extra message catalogues for the pages and mails:
    /// `<language>/*.ftl` (Fluent). A new language folder adds that
    /// language; a message defined again replaces the built-in one.
    /// English and German are built in.
    #[arg(long, env = "INKAN_LOCALES_DIR")]
    pub locales_dir: Option<std::path::PathBuf>,

    /// The sender of Inkan's mails, `Name <address>`.
    #[arg(
        long,
        env = "INKAN_MAIL_FROM",
        default_value = "Inkan <no-reply@localhost>"
    )]
    pub mail_from: String,

    /// Back-channel logout (OpenID Back-Channel Logout 1.0): how many times
    /// one logout notice is posted to a relying party that does not answer
    /// 2xx before it is recorded as failed (admin API, metrics).
    #[arg(long, env = "INKAN_BACKCHANNEL_MAX_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub backchannel_max_attempts: u32,

    /// Back-channel logout: the wait before the second attempt, in
    /// milliseconds; it doubles with each attempt, up to 5 minutes.
    #[arg(long, env = "INKAN_BACKCHANNEL_RETRY_BASE_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub backchannel_retry_base_ms: u64,

    /// Back-channel logout: the longest one POST to a relying party may
    /// take, connecting included, in milliseconds.
    #[arg(long, env = "INKAN_BACKCHANNEL_TIMEOUT_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub backchannel_timeout_ms: u64,

    /// Back-channel logout URIs may point into private networks (RFC 1918,
    /// link-local, unique-local, …) and at this host. Off: such URIs are
    /// refused at registration and such addresses at delivery (loopback
    /// stays allowed for an issuer that is itself on loopback).
    #[arg(long, env = "INKAN_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub backchannel_allow_private_networks: bool,

    /// `/end_session` waits up to this many milliseconds for the
    /// back-channel logout deliveries of the session it ends before it
    /// redirects, so the other apps are signed out when the user lands
    /// (0: no wait; the deliveries go on either way).
    #[arg(long, env = "INKAN_END_SESSION_WAIT_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub end_session_wait_ms: u64,

    /// DPoP proofs (RFC 9449 §8) must carry a server nonce, which changes
    /// every this many seconds (0: no nonce required). Every replica
    /// derives the nonce from the key-encryption key; a client learns it
    /// from the `DPoP-Nonce` header and a `use_dpop_nonce` error.
    #[arg(long, env = "INKAN_DPOP_NONCE_SECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub dpop_nonce_seconds: u32,

    /// Client key sets (`jwks_uri`, for private_key_jwt) may be fetched
    /// from private networks (RFC 1918, link-local, unique-local, …) and
    /// this host. Off: such URIs are refused at registration and such
    /// addresses when fetched (loopback stays allowed for an issuer that is
    /// itself on loopback).
    #[arg(long, env = "INKAN_JWKS_ALLOW_PRIVATE_NETWORKS", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub jwks_allow_private_networks: bool,

    /// Minimum password length (NIST SP 800-63B-4: 15 for single-factor accounts).
    #[arg(long, env = "INKAN_PASSWORD_MIN_LENGTH", default_value_t = 15)]
    pub password_min_length: usize,

    /// Header a trusted reverse proxy puts the client address in (e.g.
    /// `X-Forwarded-For`; its first address is used). Unset = the TCP peer
    /// address. Only set it behind a proxy that overwrites the header:
    /// clients can forge it otherwise, and throttling keys on it.
    #[arg(long, env = "INKAN_TRUSTED_PROXY_HEADER")]
    pub trusted_proxy_header: Option<String>,

    /// Requests per minute one client address may send to each public endpoint
    /// group (token, userinfo, browser); 0 disables the limit.
    #[arg(long, env = "INKAN_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,

    /// Requests per minute one authenticated client may make to the token,
    /// introspection and revocation endpoints (counted after authentication,
    /// so nobody can spend another client's budget); 0 disables the limit.
    #[arg(
        long,
        env = "INKAN_CLIENT_RATE_LIMIT_PER_MINUTE",
        default_value_t = 6000
    )]
    pub client_rate_limit_per_minute: u32,

    /// Log format.
    #[arg(long, env = "INKAN_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, env = "INKAN_LOG", default_value = "info")]
    pub log: String,
}

/// Where `--role admin` serves its internal gRPC API when `--grpc-addr` is unset.
pub const DEFAULT_ADMIN_GRPC_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8081);

impl Settings {
    /// The address this role serves the internal gRPC API on, if any: only
    /// roles running admin have one, and one process (`--role all`) only
    /// when asked, so two embedded instances never fight over a port.
    pub fn grpc_listen_addr(&self, role: Role) -> Option<SocketAddr> {
        match role {
            Role::Admin => Some(self.grpc_addr.unwrap_or(DEFAULT_ADMIN_GRPC_ADDR)),
            Role::All => self.grpc_addr,
            Role::Authorize | Role::Token | Role::Userinfo => None,
        }
    }

    /// True when every store is embedded (no backend URL set).
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none() && self.redis_url.is_none() && self.nats_url.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path}: unknown key {key:?}")]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {path}: key {key:?} must be a string, number or boolean")]
    BadValue { path: PathBuf, key: String },
}

/// Makes each `key = value` of a TOML config file the default of the option
/// of the same name (`issuer`, `database_url`, ...), in `command` and all its
/// subcommands, so the environment and the command line still override it.
pub fn apply_config_file(
    mut command: clap::Command,
    path: &Path,
) -> Result<clap::Command, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    for (key, value) in table {
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(ConfigError::BadValue {
                    path: path.to_path_buf(),
                    key,
                })
            }
        };
        let (next, found) = set_default(command, &key, &value);
        command = next;
        if !found {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key,
            });
        }
    }
    Ok(command)
}

fn set_default(mut command: clap::Command, key: &str, value: &str) -> (clap::Command, bool) {
    let mut found = false;
    if command.get_arguments().any(|a| a.get_id() == key) {
        found = true;
        let value = value.to_string();
        command = command.mut_arg(key, |a| a.default_value(value));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let mut sub_found = false;
        command = command.mut_subcommand(name, |sub| {
            let (sub, f) = set_default(sub, key, value);
            sub_found = f;
            sub
        });
        found |= sub_found;
    }
    (command, found)
}

/// The config file named by `--config FILE` or `INKAN_CONFIG`, if any.
pub fn config_file_from(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(v) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("INKAN_CONFIG").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(flatten)]
        settings: Settings,
    }

    fn parse(file: Option<&str>, args: &[&str]) -> Result<Settings, String> {
        let mut command = TestCli::command();
        // Removed when dropped: the tests leave nothing in the temp folder.
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = dir.path();
        if let Some(text) = file {
            let path = dir.join("inkan.toml");
            std::fs::write(&path, text).map_err(|e| e.to_string())?;
            command = apply_config_file(command, &path).map_err(|e| e.to_string())?;
        }
        let mut argv = vec!["inkan".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        let matches = command
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        TestCli::from_arg_matches(&matches)
            .map(|c| c.settings)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_embedded_on_loopback() {
        let s = parse(None, &[]).unwrap();
        assert_eq!(s.issuer.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:8080");
        assert!(s.database_url.is_none() || std::env::var("DATABASE_URL").is_ok());
        assert!(
            s.trusted_proxy_header.is_none() || std::env::var("INKAN_TRUSTED_PROXY_HEADER").is_ok()
        );
    }

    #[test]
    fn config_file_values_are_used_and_command_line_overrides_them() {
        let s = parse(
            Some("issuer = \"https://id.example.com\"\ndatabase_max_connections = 3\n"),
            &["--database-max-connections", "5"],
        )
        .unwrap();
        assert_eq!(s.issuer.as_str(), "https://id.example.com/");
        assert_eq!(s.database_max_connections, 5);
    }

    #[test]
    fn only_admin_serves_grpc_by_default_and_one_process_only_when_asked() {
        let s = parse(None, &[]).unwrap();
        if std::env::var("INKAN_GRPC_ADDR").is_err() {
            assert_eq!(
                s.grpc_listen_addr(Role::Admin),
                Some(DEFAULT_ADMIN_GRPC_ADDR)
            );
            assert_eq!(s.grpc_listen_addr(Role::All), None);
        }
        assert_eq!(s.grpc_listen_addr(Role::Token), None);
        let s = parse(None, &["--grpc-addr", "127.0.0.1:0"]).unwrap();
        let asked: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(s.grpc_listen_addr(Role::All), Some(asked));
        assert_eq!(s.grpc_listen_addr(Role::Admin), Some(asked));
        assert_eq!(s.grpc_listen_addr(Role::Userinfo), None);
    }

    #[test]
    fn metrics_listen_on_loopback_port_9464_unless_configured() {
        let s = parse(None, &[]).unwrap();
        if std::env::var("INKAN_METRICS_ADDR").is_err() {
            assert_eq!(s.metrics_addr.to_string(), "127.0.0.1:9464");
        }
        let s = parse(Some("metrics_addr = \"0.0.0.0:9100\"\n"), &[]).unwrap();
        assert_eq!(s.metrics_addr.to_string(), "0.0.0.0:9100");
    }

    #[test]
    fn the_shutdown_drain_stays_within_the_shutdown_grace_period() {
        let s = parse(None, &["--shutdown-drain-seconds", "8"]).unwrap();
        assert_eq!(s.shutdown_drain_seconds, 8);
        let err = parse(None, &["--shutdown-drain-seconds", "9"]).unwrap_err();
        assert!(err.contains("shutdown-drain-seconds"), "{err}");
    }

    #[test]
    fn unknown_config_keys_are_reported() {
        let err = parse(Some("isuer = \"x\"\n"), &[]).unwrap_err();
        assert!(err.contains("unknown key \"isuer\""), "{err}");
    }
}
