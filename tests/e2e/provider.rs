//! A provider started for one test (embedded or on the real backends), the
//! relying parties registered on it, and a cookie-keeping user agent that
//! follows the login flow like a browser without JavaScript would.

use std::collections::HashMap;

use reqwest::header::LOCATION;
use serde_json::{json, Value};

use crate::helpers::{Inkan, Options};

pub const PASSWORD: &str = "correct horse battery staple";
pub const CALLBACK: &str = "https://rp.example.com/callback";
pub const LOGGED_OUT: &str = "https://rp.example.com/logged-out";

/// Which stores the provider runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Embedded,
    Real,
}

pub struct Provider {
    pub inkan: Inkan,
    pub issuer: String,
    _dir: tempfile::TempDir,
    real: Option<crate::storage::RealBackends>,
}

/// A registered relying party.
#[derive(Clone, Debug)]
pub struct Rp {
    pub client_id: String,
    pub secret: Option<String>,
}

impl Rp {
    /// The relying party a `POST /admin/v1/projects` answer describes.
    pub fn from_created(created: &Value) -> Rp {
        Rp {
            client_id: created["client_id"].as_str().unwrap().to_string(),
            secret: created["client_secret"].as_str().map(str::to_string),
        }
    }
}

impl Provider {
    pub async fn start(backend: Backend) -> Provider {
        Provider::start_with(backend, &[]).await
    }

    /// Starts a provider with extra environment variables.
    pub async fn start_with(backend: Backend, env: &[(&str, &str)]) -> Provider {
        Provider::start_at(backend, env, None).await
    }

    /// Starts a provider whose issuer is `http://localhost:PORT` (passkeys
    /// need a domain name for their relying-party id).
    pub async fn start_on_localhost(backend: Backend) -> Provider {
        Provider::start_at(backend, &[], Some("localhost")).await
    }

    async fn start_at(backend: Backend, env: &[(&str, &str)], host: Option<&str>) -> Provider {
        let dir = tempfile::tempdir().unwrap();
        let (options, real) = match backend {
            Backend::Embedded => (
                Options {
                    data_dir: Some(dir.path().to_path_buf()),
                    ..Default::default()
                },
                None,
            ),
            Backend::Real => {
                let real = crate::storage::RealBackends::new().await;
                (
                    real.options(&inkan_testkit::nats_url(), dir.path()),
                    Some(real),
                )
            }
        };
        let mut options = options;
        options.issuer_host = host.map(str::to_owned);
        options
            .env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let (inkan, issuer) = Inkan::start_on_free_port(&options);
        Provider {
            inkan,
            issuer,
            _dir: dir,
            real,
        }
    }

    /// A provider started by the caller.
    pub fn from_parts(
        inkan: Inkan,
        issuer: String,
        dir: tempfile::TempDir,
        real: Option<crate::storage::RealBackends>,
    ) -> Provider {
        Provider {
            inkan,
            issuer,
            _dir: dir,
            real,
        }
    }

    pub async fn stop(self) {
        let Provider { inkan, real, .. } = self;
        inkan.stop();
        if let Some(real) = real {
            real.cleanup().await;
        }
    }

    /// Registers a web app (confidential) with the default callback and logout URI.
    pub async fn web_rp(&self, extra: Value) -> Rp {
        let mut body = json!({
            "name": "Relying party",
            "app_type": "web",
            "redirect_uris": [CALLBACK],
            "post_logout_redirect_uris": [LOGGED_OUT],
            "scopes": ["openid", "profile", "email", "offline_access"],
        });
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        let (status, created) = self
            .inkan
            .admin()
            .send(reqwest::Method::POST, "/admin/v1/projects", Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        Rp::from_created(&created)
    }

    /// Registers a `service` project (a machine client) with `scopes`.
    pub async fn service_rp(&self, scopes: &[&str]) -> Rp {
        let (status, created) = self
            .inkan
            .admin()
            .send(
                reqwest::Method::POST,
                "/admin/v1/projects",
                Some(json!({"name": "Machine", "app_type": "service", "scopes": scopes})),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        Rp::from_created(&created)
    }

    /// Creates a user with [`PASSWORD`]; returns its id (the `sub`).
    pub async fn user(&self, email: &str) -> String {
        let identity = self.inkan.admin().create_identity(email).await;
        identity["id"].as_str().unwrap().to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

/// A user agent with a cookie jar that does not follow redirects, so each
/// step of the flow can be inspected.
pub struct Agent {
    pub http: reqwest::Client,
}

/// Where a response sent the agent, with the query parsed.
#[derive(Debug)]
pub struct Redirect {
    pub status: u16,
    pub location: String,
    pub params: HashMap<String, String>,
}

impl Agent {
    pub fn new() -> Agent {
        Agent {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    /// `GET /authorize` with these parameters.
    pub async fn authorize(
        &self,
        provider: &Provider,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .get(provider.url("/authorize"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// Fills and posts the login form found in `page`.
    pub async fn login(
        &self,
        provider: &Provider,
        page: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let authz = hidden(page, "authz").expect("the login form carries the pending request id");
        let csrf = hidden(page, "csrf").expect("the login form carries a CSRF token");
        self.http
            .post(provider.url("/login"))
            .form(&[
                ("authz", authz.as_str()),
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Authorize, log in if the form is shown, and return the final redirect.
    pub async fn sign_in(
        &self,
        provider: &Provider,
        params: &[(&str, &str)],
        email: &str,
    ) -> Redirect {
        let resp = self.authorize(provider, params).await;
        if resp.status() == 200 {
            let page = resp.text().await.unwrap();
            return redirect(self.login(provider, &page, email, PASSWORD).await);
        }
        redirect(resp)
    }
}

/// The redirect a response carries (panics if it is not one).
pub fn redirect(resp: reqwest::Response) -> Redirect {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("expected a redirect, got {status}"))
        .to_str()
        .unwrap()
        .to_string();
    let params = url::Url::parse(&location)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    Redirect {
        status,
        location,
        params,
    }
}

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

/// Standard authorization parameters for `rp` (PKCE S256 with the given verifier).
pub fn code_params<'a>(rp: &'a Rp, challenge: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", scope),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ0H8f4EI_uJjL1IVZgP4_bt5JwmL8oV";

pub fn challenge() -> String {
    inkan_oauth::pkce::s256_challenge(VERIFIER)
}

/// Exchanges a code at the token endpoint with client_secret_basic.
pub async fn exchange(provider: &Provider, rp: &Rp, code: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(provider.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// Verifies a JWT with `jsonwebtoken` against the provider's JWKS and returns its claims.
/// A client credentials grant for `rp` (HTTP Basic), with an optional `scope`.
pub async fn client_credentials(provider: &Provider, rp: &Rp, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let resp = reqwest::Client::new()
        .post(provider.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or_default(),
    )
}

pub async fn verify_jwt(provider: &Provider, token: &str, audience: &str) -> Value {
    verify_at(&provider.issuer, token, audience).await.1
}

/// Verifies a JWT from the provider at `issuer` (also its base URL), with an
/// independent JOSE library; returns its header and claims.
pub async fn verify_at(issuer: &str, token: &str, audience: &str) -> (jsonwebtoken::Header, Value) {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("valid signature and claims")
        .claims;
    (header, claims)
}
