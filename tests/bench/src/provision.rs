//! Provisioning through the admin API (HTTP Basic as the bootstrap admin):
//! the projects and identities a scenario needs.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// The redirect URI of the benchmark's web projects (never fetched: the
/// bench reads the code from the redirect's `Location`).
pub const CALLBACK: &str = "https://rp.bench.example/callback";

/// The scope the benchmark's service projects register and request.
pub const SERVICE_SCOPE: &str = "bench:read";

/// A registered client.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// An admin API client.
#[derive(Clone)]
pub struct Admin {
    pub http: reqwest::Client,
    pub base: String,
    pub id: String,
    pub secret: String,
}

impl Admin {
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.id, Some(&self.secret))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("admin API: POST {path}"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("admin API: POST {path}: HTTP {status}: {body}");
        }
        Ok(body)
    }

    /// Registers a project; its whole admin view.
    pub async fn create(&self, body: Value) -> Result<Value> {
        self.post("/admin/v1/projects", body).await
    }

    pub async fn project(&self, body: Value) -> Result<Client> {
        let created = self.post("/admin/v1/projects", body).await?;
        let id = created["client_id"]
            .as_str()
            .ok_or_else(|| anyhow!("no client_id: {created}"))?;
        let secret = created["client_secret"]
            .as_str()
            .ok_or_else(|| anyhow!("no client_secret: {created}"))?;
        Ok(Client {
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// A `service` project (client_credentials) whose tokens are signed with `alg`.
    pub async fn service_project(&self, alg: &str) -> Result<Client> {
        self.project(json!({
            "name": format!("bench-service-{}", alg.to_ascii_lowercase()),
            "app_type": "service",
            "scopes": [SERVICE_SCOPE],
            "id_token_signed_response_alg": alg,
        }))
        .await
    }

    /// A confidential `web` project (authorization code + refresh token)
    /// redirecting to [`CALLBACK`], whose tokens are signed with `alg`.
    pub async fn web_project(&self, alg: &str) -> Result<Client> {
        self.project(json!({
            "name": format!("bench-web-{}", alg.to_ascii_lowercase()),
            "app_type": "web",
            "redirect_uris": [CALLBACK],
            "scopes": ["openid", "profile", "email", "offline_access"],
            "id_token_signed_response_alg": alg,
        }))
        .await
    }

    /// An identity with this email and password; returns its id.
    pub async fn identity(&self, email: &str, password: &str) -> Result<String> {
        let created = self
            .post(
                "/admin/v1/identities",
                json!({
                    "email": email,
                    "password": password,
                    "email_verified": true,
                    "first_name": "Bench",
                    "last_name": "User",
                }),
            )
            .await?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no identity id: {created}"))
    }
}
