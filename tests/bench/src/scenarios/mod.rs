//! The scenarios: what one "request" of each is, and how it is prepared
//! (projects, identities, sessions and tokens provisioned beforehand, so the
//! measured run sends protocol traffic only).
//!
//! | scenario | one request |
//! |---|---|
//! | `client_credentials_{rs256,es256,eddsa}` | `POST /token` client_credentials, JWT access token signed with that algorithm |
//! | `client_credentials_private_key_jwt_dpop` | the same (ES256) from a `fapi2` project: a fresh `private_key_jwt` assertion and DPoP proof per request, a DPoP-bound token ([`key_bound`]) |
//! | `client_credentials_es256_half_rate` | the same (ES256) sent open-loop at half the measured maximum rate ([`crate::load::open_loop`]) |
//! | `introspection` | `POST /introspect` of distinct valid access tokens |
//! | `userinfo` | `GET /userinfo` with distinct valid user access tokens |
//! | `discovery`, `jwks` | `GET /.well-known/openid-configuration`, `GET /jwks` |
//! | `authorization_code_sso` | a whole code flow with an SSO session: authorize → code → token |
//! | `authorization_code_password` | a whole code flow with the login form: authorize → login page → login → code → token |
//! | `authorization_code_passkey` | a whole code flow with a passkey (a software authenticator, ES256): authorize → login page → ceremony options → assertion → code → token |
//! | `refresh` | `POST /token` refresh_token, keeping the rotated token |
//! | `account_page` | `GET /account` with a signed-in session (its sessions and apps listed) |
//! | `logout_backchannel` | a password login, then `GET /end_session`: the notice committed and a logout token posted to a receiver on loopback |

pub mod account;
pub mod code_flow;
pub mod key_bound;
pub mod logout;
pub mod passkey;
pub mod refresh;
pub mod request;

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use inkan_keys::secret::generate_token;

use crate::provision::{Admin, Client, SERVICE_SCOPE};
use crate::routes::Routes;
use crate::wire::{basic, form, form_encode, Jar};
use code_flow::{flow, Password, RelyingParty, Sso, SCOPE};
use refresh::Refresh;
use request::Request;

/// Every scenario, in the order a full run measures them.
pub const ALL: &[&str] = &[
    "client_credentials_rs256",
    "client_credentials_es256",
    "client_credentials_eddsa",
    "client_credentials_private_key_jwt_dpop",
    "client_credentials_es256_half_rate",
    "introspection",
    "userinfo",
    "discovery",
    "jwks",
    "authorization_code_sso",
    "authorization_code_password",
    "authorization_code_passkey",
    "refresh",
    "account_page",
    "logout_backchannel",
];

/// The scenario whose open-loop replay [`crate::load::open_loop`] runs.
pub const HALF_RATE: &str = "client_credentials_es256_half_rate";

/// What preparation needs.
#[derive(Clone)]
pub struct Ctx {
    pub http: reqwest::Client,
    pub routes: Routes,
    pub admin: Admin,
    /// Connections of the measured run (one session/identity/refresh token each).
    pub connections: usize,
    /// Distinct tokens the introspection and userinfo scenarios cycle through.
    pub tokens: usize,
    /// The signing algorithm of the web project the code flows use.
    pub flow_alg: String,
}

/// A prepared scenario; cheap to clone (shared by every connection).
#[derive(Clone)]
pub enum Plan {
    Request(Arc<Request>),
    Sso(Arc<Sso>),
    Password(Arc<Password>),
    Passkey(Arc<passkey::Passkeys>),
    Refresh(Arc<Refresh>),
    Account(Arc<account::Account>),
    Logout(Arc<logout::Logout>),
    KeyBound(Arc<key_bound::KeyBound>),
}

impl Plan {
    /// One request (one whole flow for the code-flow scenarios) of connection
    /// `conn`, its `i`-th; Err describes what failed.
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
        i: usize,
    ) -> Result<(), String> {
        match self {
            Plan::Request(r) => r.send(http, routes, i).await,
            Plan::Sso(s) => s.step(http, routes, conn).await,
            Plan::Password(p) => p.step(http, routes, conn).await,
            Plan::Passkey(p) => p.step(http, routes, conn).await,
            Plan::Refresh(r) => r.step(http, routes, conn).await,
            Plan::Account(a) => a.step(http, routes, conn).await,
            Plan::Logout(l) => l.step(http, routes, conn).await,
            Plan::KeyBound(k) => k.step(http, routes).await,
        }
    }
}

/// The client_credentials request of a service project.
pub fn client_credentials(client: &Client, scope: &str, token_path: &str) -> Request {
    Request {
        post: true,
        path: token_path.to_string(),
        authorization: vec![basic(&client.id, &client.secret)],
        bodies: vec![form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ])],
        expect: Some("\"access_token\""),
    }
}

/// Sends `cc` `n` times (on up to 16 concurrent tasks) and returns the access tokens.
pub async fn mint(
    http: &reqwest::Client,
    routes: &Routes,
    cc: &Request,
    n: usize,
    workers: usize,
) -> Result<Vec<String>> {
    let workers = workers.clamp(1, 16);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (http, routes, cc) = (http.clone(), routes.clone(), cc.clone());
        let count = n / workers + usize::from(w < n % workers);
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::with_capacity(count);
            for _ in 0..count {
                let resp = http
                    .post(routes.url(&cc.path))
                    .header("authorization", &cc.authorization[0])
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(cc.bodies[0].clone())
                    .send()
                    .await?;
                let status = resp.status();
                let v: serde_json::Value = resp.json().await?;
                let token = v["access_token"]
                    .as_str()
                    .ok_or_else(|| anyhow!("mint a token: HTTP {status}: {v}"))?;
                tokens.push(token.to_string());
            }
            anyhow::Ok(tokens)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

/// Introspection of `tokens`, authenticated as `client`.
pub fn introspection(client: &Client, tokens: &[String], path: &str) -> Request {
    Request {
        post: true,
        path: path.to_string(),
        authorization: vec![basic(&client.id, &client.secret)],
        bodies: tokens
            .iter()
            .map(|t| format!("token={}&token_type_hint=access_token", form_encode(t)))
            .collect(),
        expect: Some("\"active\":true"),
    }
}

/// Identities and SSO sessions for `n` connections: one identity each and
/// one login each (in parallel), returning (emails, password, cookie jars).
async fn users_with_sessions(
    ctx: &Ctx,
    rp: &RelyingParty,
    n: usize,
) -> Result<(Vec<String>, String, Vec<Jar>)> {
    let run = generate_token(6)
        .to_ascii_lowercase()
        .replace(['-', '_'], "x");
    let password = format!("bench-{}", generate_token(18));
    let mut tasks = Vec::new();
    for c in 0..n {
        let (ctx, rp, password) = (ctx.clone(), rp.clone(), password.clone());
        let email = format!("bench-{run}-{c}@bench.example");
        tasks.push(tokio::spawn(async move {
            ctx.admin.identity(&email, &password).await?;
            let mut jar = Jar::default();
            flow(
                &ctx.http,
                &ctx.routes,
                &rp,
                &mut jar,
                SCOPE,
                Some((&email, &password)),
            )
            .await
            .map_err(|e| anyhow!("first login of {email}: {e}"))?;
            anyhow::Ok((email, jar))
        }));
    }
    let mut emails = Vec::new();
    let mut jars = Vec::new();
    for t in tasks {
        let (email, jar) = t.await??;
        emails.push(email);
        jars.push(jar);
    }
    Ok((emails, password, jars))
}

/// Prepares `scenario` (see the module table).
pub async fn prepare(ctx: &Ctx, scenario: &str) -> Result<Plan> {
    prepare_plan(ctx, scenario)
        .await
        .with_context(|| format!("prepare {scenario}"))
}

async fn prepare_plan(ctx: &Ctx, scenario: &str) -> Result<Plan> {
    Ok(match scenario {
        "client_credentials_rs256"
        | "client_credentials_es256"
        | "client_credentials_eddsa"
        | HALF_RATE => {
            let alg = match scenario {
                "client_credentials_rs256" => "RS256",
                "client_credentials_eddsa" => "EdDSA",
                _ => "ES256",
            };
            let client = ctx.admin.service_project(alg).await?;
            Plan::Request(Arc::new(client_credentials(
                &client,
                SERVICE_SCOPE,
                "/token",
            )))
        }
        "client_credentials_private_key_jwt_dpop" => {
            Plan::KeyBound(Arc::new(key_bound::prepare(ctx).await?))
        }
        "introspection" => {
            let client = ctx.admin.service_project("RS256").await?;
            let cc = client_credentials(&client, SERVICE_SCOPE, "/token");
            let tokens = mint(
                &ctx.http,
                &ctx.routes,
                &cc,
                ctx.tokens.max(1),
                ctx.connections,
            )
            .await?;
            Plan::Request(Arc::new(introspection(&client, &tokens, "/introspect")))
        }
        "userinfo" => {
            // RS256 access tokens, like the introspection scenario: the
            // target (one verification + one key-value round trip) is set
            // against the cheapest verification (RS256 ~30 µs on this CPU,
            // EdDSA ~49 µs, ES256 ~71 µs: the reference figures).
            let rp = RelyingParty::new(ctx.admin.web_project("RS256").await?);
            let workers = ctx.connections.clamp(1, 16);
            let (_, _, jars) = users_with_sessions(ctx, &rp, workers).await?;
            let n = ctx.tokens.max(1);
            let mut tasks = Vec::new();
            for (w, jar) in jars.into_iter().enumerate() {
                let (ctx, rp) = (ctx.clone(), rp.clone());
                let count = n / workers + usize::from(w < n % workers);
                tasks.push(tokio::spawn(async move {
                    let mut jar = jar;
                    let mut out = Vec::with_capacity(count);
                    for _ in 0..count {
                        let tokens = flow(&ctx.http, &ctx.routes, &rp, &mut jar, SCOPE, None)
                            .await
                            .map_err(|e| anyhow!("mint a user token: {e}"))?;
                        let at = tokens["access_token"].as_str().unwrap_or_default();
                        out.push(format!("Bearer {at}"));
                    }
                    anyhow::Ok(out)
                }));
            }
            let mut authorization = Vec::with_capacity(n);
            for t in tasks {
                authorization.extend(t.await??);
            }
            Plan::Request(Arc::new(Request {
                post: false,
                path: "/userinfo".into(),
                authorization,
                bodies: vec![],
                expect: Some("\"sub\""),
            }))
        }
        "discovery" => Plan::Request(Arc::new(Request::get("/.well-known/openid-configuration"))),
        "jwks" => Plan::Request(Arc::new(Request::get("/jwks"))),
        "logout_backchannel" => {
            let (receiver, url) = logout::Receiver::start().await?;
            let rp = RelyingParty::new(
                ctx.admin
                    .project(serde_json::json!({
                        "name": "bench-logout",
                        "app_type": "web",
                        "redirect_uris": [crate::provision::CALLBACK],
                        "scopes": ["openid", "profile", "email"],
                        "id_token_signed_response_alg": ctx.flow_alg,
                        "backchannel_logout_uri": url,
                    }))
                    .await?,
            );
            let (emails, password, _) = users_with_sessions(ctx, &rp, ctx.connections).await?;
            Plan::Logout(Arc::new(logout::Logout {
                rp,
                emails,
                password,
                receiver,
            }))
        }
        "account_page" => {
            let rp = RelyingParty::new(ctx.admin.web_project(&ctx.flow_alg).await?);
            let (_, _, sessions) = users_with_sessions(ctx, &rp, ctx.connections).await?;
            Plan::Account(Arc::new(account::Account { sessions }))
        }
        "authorization_code_sso" => {
            let rp = RelyingParty::new(ctx.admin.web_project(&ctx.flow_alg).await?);
            let (_, _, sessions) = users_with_sessions(ctx, &rp, ctx.connections).await?;
            Plan::Sso(Arc::new(Sso { rp, sessions }))
        }
        "authorization_code_password" => {
            let rp = RelyingParty::new(ctx.admin.web_project(&ctx.flow_alg).await?);
            let (emails, password, _) = users_with_sessions(ctx, &rp, ctx.connections).await?;
            Plan::Password(Arc::new(Password {
                rp,
                emails,
                password,
            }))
        }
        "authorization_code_passkey" => {
            let rp = RelyingParty::new(ctx.admin.web_project(&ctx.flow_alg).await?);
            let discovery: serde_json::Value = ctx
                .http
                .get(ctx.routes.url("/.well-known/openid-configuration"))
                .send()
                .await?
                .json()
                .await?;
            let issuer = discovery["issuer"].as_str().unwrap_or_default();
            let origin = passkey::Origin::of_issuer(issuer).map_err(|e| anyhow!(e))?;
            if origin.rp_id.parse::<std::net::IpAddr>().is_ok() {
                bail!("passkeys need an issuer on a host name (WebAuthn refuses {issuer}); start the server with INKAN_ISSUER=http://localhost:PORT");
            }
            let run = generate_token(6)
                .to_ascii_lowercase()
                .replace(['-', '_'], "x");
            let password = format!("bench-{}", generate_token(18));
            let mut tasks = Vec::new();
            for c in 0..ctx.connections.max(1) {
                let (ctx, rp, origin, password) =
                    (ctx.clone(), rp.clone(), origin.clone(), password.clone());
                let email = format!("bench-pk-{run}-{c}@bench.example");
                tasks.push(tokio::spawn(async move {
                    ctx.admin.identity(&email, &password).await?;
                    passkey::register(&ctx.http, &ctx.routes, &rp, &origin, &email, &password)
                        .await
                        .map_err(|e| anyhow!("register a passkey for {email}: {e}"))
                }));
            }
            let mut passkeys = Vec::new();
            for t in tasks {
                passkeys.push(t.await??);
            }
            Plan::Passkey(Arc::new(passkey::Passkeys {
                rp,
                origin,
                passkeys,
            }))
        }
        "refresh" => {
            let rp = RelyingParty::new(ctx.admin.web_project(&ctx.flow_alg).await?);
            let (_, _, jars) = users_with_sessions(ctx, &rp, ctx.connections).await?;
            let mut tokens = Vec::new();
            for mut jar in jars {
                let t = flow(
                    &ctx.http,
                    &ctx.routes,
                    &rp,
                    &mut jar,
                    "openid offline_access",
                    None,
                )
                .await
                .map_err(|e| anyhow!("code flow for a refresh token: {e}"))?;
                let rt = t["refresh_token"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no refresh token issued: {t}"))?;
                tokens.push(Mutex::new(rt.to_string()));
            }
            Plan::Refresh(Arc::new(Refresh { rp, tokens }))
        }
        other => bail!("unknown scenario {other:?} (known: {})", ALL.join(", ")),
    })
}
