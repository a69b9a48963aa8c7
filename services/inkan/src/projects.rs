//! `inkan projects show <id>`: prints the settings a relying party needs
//! for a project, read from a running Inkan's admin API.
//!
//! The admin API is found the way `inkan serve` is configured, so a shell
//! (or container) that runs the server can run this command unchanged:
//! `--url` (`INKAN_ADMIN_URL`) if given; otherwise the HTTP listener
//! `--http-addr` (`INKAN_HTTP_ADDR`, an unspecified address such as
//! `0.0.0.0` meaning this machine's loopback); otherwise the issuer
//! `--issuer` (`INKAN_ISSUER`); otherwise `serve`'s default,
//! `http://127.0.0.1:8080`. A config file (`--config`) may set `issuer`
//! and `http_addr` as it does for `serve`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use reqwest::{StatusCode, Url};
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// Print the relying-party configuration of a project (by id or client_id).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The project's id (UUID) or its client_id. Ids of older projects may
    /// start with `-`; they are taken as the project, not as a flag.
    #[arg(allow_hyphen_values = true)]
    pub project: String,

    /// Base URL of the admin API, e.g. `http://127.0.0.1:8080` (the issuer, in
    /// monolithic mode; the admin role's listener otherwise). Default: the
    /// HTTP listener, else the issuer, as `inkan serve` reads them.
    #[arg(long, env = "INKAN_ADMIN_URL")]
    pub url: Option<Url>,

    /// The HTTP listener of the server, as for `inkan serve` (used when `--url` is not set).
    #[arg(long, env = "INKAN_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// The issuer of the server, as for `inkan serve` (used when neither
    /// `--url` nor `--http-addr` is set).
    #[arg(long, env = "INKAN_ISSUER")]
    pub issuer: Option<Url>,

    /// An admin client's id (default: INKAN_BOOTSTRAP_ADMIN_CLIENT_ID, then `inkan-admin`).
    #[arg(long, env = "INKAN_ADMIN_CLIENT_ID")]
    pub client_id: Option<String>,

    /// That client's secret (default: INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET).
    #[arg(long, env = "INKAN_ADMIN_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `serve`'s default issuer and listener.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The order the table lists the fields in; absent fields are left out
/// (a `service` project has no browser endpoints).
const FIELDS: [&str; 33] = [
    "issuer",
    "discovery_url",
    "client_id",
    "client_type",
    "client_secret",
    "token_endpoint_auth_method",
    "client_assertion",
    "profile",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "response_type",
    "grant_types",
    "scopes",
    "redirect_uris",
    "post_logout_redirect_uris",
    "pkce",
    "id_token_signed_response_alg",
    "login_methods",
    "mfa",
    "default_acr_values",
    "allow_signup",
    "require_verified_email",
    "backchannel_logout_uri",
    "authorization_endpoint",
    "pushed_authorization_request_endpoint",
    "token_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
    "jwks_uri",
    "access_token_lifetime_seconds",
    "refresh_token_lifetime_seconds",
];

pub async fn run(command: ProjectsCommand) -> anyhow::Result<()> {
    let ProjectsCommand::Show(args) = command;
    let client_id = args
        .client_id
        .or_else(|| std::env::var("INKAN_BOOTSTRAP_ADMIN_CLIENT_ID").ok())
        .unwrap_or_else(|| "inkan-admin".to_string());
    let Some(secret) = args
        .client_secret
        .or_else(|| std::env::var("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET").ok())
    else {
        bail!("set --client-secret (or INKAN_ADMIN_CLIENT_SECRET) to an admin client's secret");
    };
    let base = admin_base(args.url, args.http_addr, args.issuer);
    let url = configuration_url(&base, &args.project)?;
    let resp = reqwest::Client::new()
        .get(url)
        .basic_auth(&client_id, Some(&secret))
        .send()
        .await
        .with_context(|| {
            format!(
                "cannot reach the admin API at {base} (set --url, or INKAN_HTTP_ADDR / INKAN_ISSUER as for `inkan serve`)"
            )
        })?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match status {
        s if s.is_success() => {}
        StatusCode::NOT_FOUND => bail!(
            "no project has the id or client_id {:?} at {base}",
            args.project
        ),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => bail!(
            "the admin API at {base} refused client {client_id:?} ({status}): {}",
            body["message"].as_str().unwrap_or("")
        ),
        _ => bail!(
            "the admin API at {base} answered {status}: {}",
            body["message"].as_str().unwrap_or("")
        ),
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", render(&body));
    }
    Ok(())
}

/// Where the admin API is: see the module docs for the order.
fn admin_base(url: Option<Url>, http_addr: Option<SocketAddr>, issuer: Option<Url>) -> Url {
    if let Some(url) = url {
        return url;
    }
    // Port 0 ("any free port") names no port a client could call.
    if let Some(addr) = http_addr.filter(|a| a.port() != 0) {
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let addr = SocketAddr::new(ip, addr.port());
        if let Ok(url) = Url::parse(&format!("http://{addr}")) {
            return url;
        }
    }
    issuer.unwrap_or_else(|| {
        // Invariant: a constant, valid URL.
        Url::parse(DEFAULT_URL).expect("the default URL parses")
    })
}

/// `{base}/admin/v1/projects/{project}/client-configuration`, with
/// `project` as one percent-encoded path segment (it comes from the
/// command line and may hold `/`, `?` or `#`).
fn configuration_url(base: &Url, project: &str) -> anyhow::Result<Url> {
    if !matches!(base.scheme(), "http" | "https") {
        bail!("the admin API URL {base} must be http or https");
    }
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("the admin API URL {base} cannot have paths"))?
        .pop_if_empty()
        .extend(["admin", "v1", "projects", project, "client-configuration"]);
    Ok(url)
}

/// The table `projects show` prints: one line per field present, in [`FIELDS`] order.
fn render(config: &Value) -> String {
    let mut out = format!(
        "Relying-party configuration of project {}:\n",
        config["project_id"].as_str().unwrap_or("?")
    );
    for field in FIELDS {
        let value = match &config[field] {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Array(items) if items.is_empty() => "(none)".to_string(),
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect::<Vec<_>>()
                .join(" "),
            Value::Object(o) if field == "pkce" => format!(
                "{} (code_challenge_method {})",
                if o.get("required") == Some(&Value::Bool(true)) {
                    "required"
                } else {
                    "recommended"
                },
                o.get("code_challenge_method")
                    .and_then(Value::as_str)
                    .unwrap_or("S256")
            ),
            other => other.to_string(),
        };
        out.push_str(&format!("  {field:<37} {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ProjectsCommand,
    }

    fn url(s: &str) -> Option<Url> {
        Some(Url::parse(s).unwrap())
    }

    #[test]
    fn the_admin_api_is_found_by_url_then_listener_then_issuer_then_default() {
        let addr: Option<SocketAddr> = Some("127.0.0.1:9123".parse().unwrap());
        let issuer = url("https://id.example.com");
        assert_eq!(
            admin_base(url("http://10.0.0.1:80"), addr, issuer.clone()).as_str(),
            "http://10.0.0.1/"
        );
        assert_eq!(
            admin_base(None, addr, issuer.clone()).as_str(),
            "http://127.0.0.1:9123/"
        );
        assert_eq!(
            admin_base(None, None, issuer.clone()).as_str(),
            "https://id.example.com/"
        );
        assert_eq!(
            admin_base(None, None, None).as_str(),
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn an_unspecified_or_port_zero_listener_is_not_an_address_to_call() {
        let any_v4: Option<SocketAddr> = Some("0.0.0.0:8080".parse().unwrap());
        let any_v6: Option<SocketAddr> = Some("[::]:8080".parse().unwrap());
        let port_zero: Option<SocketAddr> = Some("127.0.0.1:0".parse().unwrap());
        assert_eq!(
            admin_base(None, any_v4, None).as_str(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            admin_base(None, any_v6, None).as_str(),
            "http://[::1]:8080/"
        );
        assert_eq!(
            admin_base(None, port_zero, url("http://127.0.0.1:7000")).as_str(),
            "http://127.0.0.1:7000/"
        );
    }

    #[test]
    fn the_project_is_one_encoded_path_segment_under_the_base_path() {
        let base = Url::parse("https://id.example.com/inkan/?x=1#f").unwrap();
        assert_eq!(
            configuration_url(&base, "a/../b?c#d").unwrap().as_str(),
            "https://id.example.com/inkan/admin/v1/projects/a%2F..%2Fb%3Fc%23d/client-configuration"
        );
        let bare = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            configuration_url(&bare, "-abc").unwrap().as_str(),
            "http://127.0.0.1:8080/admin/v1/projects/-abc/client-configuration"
        );
        let ftp = Url::parse("ftp://127.0.0.1/").unwrap();
        assert!(configuration_url(&ftp, "x").is_err());
    }

    #[test]
    fn a_client_id_starting_with_a_hyphen_is_the_project_not_a_flag() {
        let cli = Cli::try_parse_from(["projects", "show", "-Hx3_q", "--json"]).unwrap();
        let ProjectsCommand::Show(args) = cli.command;
        assert_eq!(args.project, "-Hx3_q");
        assert!(args.json);
        let cli = Cli::try_parse_from(["projects", "show", "--json", "--", "-abc"]).unwrap();
        let ProjectsCommand::Show(args) = cli.command;
        assert_eq!(args.project, "-abc");
    }

    #[test]
    fn a_service_project_is_printed_without_browser_lines() {
        let table = render(&json!({
            "project_id": "0190-x",
            "issuer": "http://127.0.0.1:8080",
            "client_id": "abc",
            "grant_types": ["client_credentials"],
            "scopes": [],
            "token_endpoint": "http://127.0.0.1:8080/token",
            "introspection_endpoint": "http://127.0.0.1:8080/introspect",
            "revocation_endpoint": "http://127.0.0.1:8080/revoke",
            "access_token_lifetime_seconds": 3600,
        }));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "Relying-party configuration of project 0190-x:",
                "  issuer                                http://127.0.0.1:8080",
                "  client_id                             abc",
                "  grant_types                           client_credentials",
                "  scopes                                (none)",
                "  token_endpoint                        http://127.0.0.1:8080/token",
                "  introspection_endpoint                http://127.0.0.1:8080/introspect",
                "  revocation_endpoint                   http://127.0.0.1:8080/revoke",
                "  access_token_lifetime_seconds         3600",
            ]
        );
    }
}
