//! `inkan projects show <id>`: prints the settings a relying party needs
//! for a project, read from a running Inkan's admin API.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// Print the relying-party configuration of a project (by id or client_id).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The project's id (UUID) or its client_id.
    pub project: String,

    /// Base URL of the admin API (the issuer, in monolithic mode).
    #[arg(long, env = "INKAN_ADMIN_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,

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

/// The order the table lists the fields in.
const FIELDS: [&str; 17] = [
    "issuer",
    "discovery_url",
    "client_id",
    "client_type",
    "client_secret",
    "token_endpoint_auth_method",
    "response_type",
    "grant_types",
    "scopes",
    "redirect_uris",
    "post_logout_redirect_uris",
    "pkce",
    "id_token_signed_response_alg",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
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
    let base = args.url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let get = |path: String| {
        let req = http
            .get(format!("{base}{path}"))
            .basic_auth(&client_id, Some(&secret));
        async move {
            let resp = req.send().await.context("calling the admin API")?;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!(
                    "the admin API answered {status}: {}",
                    body["message"].as_str().unwrap_or("")
                );
            }
            Ok::<Value, anyhow::Error>(body)
        }
    };
    let id = if uuid_like(&args.project) {
        args.project.clone()
    } else {
        let list = get("/admin/v1/projects?limit=1000".into()).await?;
        list["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|p| p["client_id"] == args.project.as_str())
            })
            .and_then(|p| p["id"].as_str())
            .map(str::to_string)
            .with_context(|| format!("no project with client_id {:?}", args.project))?
    };
    let config = get(format!("/admin/v1/projects/{id}/client-configuration")).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    println!("Relying-party configuration of project {id}:");
    for field in FIELDS {
        let value = match &config[field] {
            Value::Null => continue,
            Value::String(s) => s.clone(),
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
        println!("  {field:<30} {value}");
    }
    Ok(())
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}
