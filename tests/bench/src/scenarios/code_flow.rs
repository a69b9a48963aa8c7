//! The authorization-code flow as a browser and a relying party run it:
//! `GET /authorize` (PKCE S256, state, nonce) → either a redirect with a code
//! (an SSO session cookie is present) or the login page (CSRF token and
//! login cookie) → `POST /login` → redirect with the code → `POST /token`
//! (`authorization_code` + `code_verifier`, client_secret_basic).
//!
//! Two scenarios: [`Sso`] (every connection holds a session from one login
//! made during preparation; a flow costs no password hash) and
//! [`Password`] (every flow starts without cookies and posts the login form:
//! one argon2id verification per flow).

use inkan_keys::secret::generate_token;
use inkan_oauth::pkce::s256_challenge;
use serde_json::Value;

use crate::provision::{Client, CALLBACK};
use crate::routes::Routes;
use crate::wire::{basic, excerpt, form, hidden, param, redirect_params, Jar};

/// The scope the flows request: an ID token with the usual claims; the
/// project allows refresh, so a refresh token comes too (`offline_access`
/// only where the refresh scenario needs it).
pub const SCOPE: &str = "openid email profile";

/// One relying party's view of the flow.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    pub client: Client,
    pub authorization: String,
}

impl RelyingParty {
    pub fn new(client: Client) -> RelyingParty {
        let authorization = basic(&client.id, &client.secret);
        RelyingParty {
            client,
            authorization,
        }
    }
}

/// The parameters of one authorization request, fresh per flow.
pub(crate) struct Request {
    query: String,
    verifier: String,
    pub(crate) state: String,
}

impl Request {
    pub(crate) fn new(rp: &RelyingParty, scope: &str) -> Request {
        let verifier = generate_token(32);
        let state = generate_token(12);
        let nonce = generate_token(12);
        let challenge = s256_challenge(&verifier);
        let query = form(&[
            ("response_type", "code"),
            ("client_id", &rp.client.id),
            ("redirect_uri", CALLBACK),
            ("scope", scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        Request {
            query,
            verifier,
            state,
        }
    }
}

/// What `GET /authorize` answered.
pub(crate) enum Authorized {
    Code(String),
    LoginPage(String),
}

pub(crate) async fn authorize(
    http: &reqwest::Client,
    routes: &Routes,
    jar: &mut Jar,
    request: &Request,
) -> Result<Authorized, String> {
    let mut req = http.get(routes.url(&format!("/authorize?{}", request.query)));
    if let Some(cookie) = jar.header() {
        req = req.header("cookie", cookie);
    }
    let resp = req.send().await.map_err(|e| format!("authorize: {e}"))?;
    jar.update(resp.headers());
    let status = resp.status().as_u16();
    if status == 200 {
        let page = resp.text().await.map_err(|e| format!("login page: {e}"))?;
        return Ok(Authorized::LoginPage(page));
    }
    code_of(status, resp, &request.state)
        .await
        .map(Authorized::Code)
}

/// The code from an authorization response, after checking its `state`.
pub(crate) async fn code_of(
    status: u16,
    resp: reqwest::Response,
    state: &str,
) -> Result<String, String> {
    let params = match redirect_params(status, resp.headers()) {
        Ok(p) => p,
        Err(e) => {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(format!("{e}: {}", excerpt(&body)));
        }
    };
    if let Some(error) = param(&params, "error") {
        return Err(format!("authorization error {error}"));
    }
    if param(&params, "state") != Some(state) {
        return Err("authorization response with the wrong state".into());
    }
    param(&params, "code")
        .map(str::to_string)
        .ok_or_else(|| "authorization response without a code".into())
}

/// Posts the login form of `page`; returns the code.
pub(crate) async fn login(
    http: &reqwest::Client,
    routes: &Routes,
    jar: &mut Jar,
    page: &str,
    request: &Request,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let authz = hidden(page, "authz").ok_or("the login page has no authz field")?;
    let csrf = hidden(page, "csrf").ok_or("the login page has no csrf field")?;
    let mut req = http
        .post(routes.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("authz", &authz),
            ("csrf", &csrf),
            ("email", email),
            ("password", password),
        ]));
    if let Some(cookie) = jar.header() {
        req = req.header("cookie", cookie);
    }
    let resp = req.send().await.map_err(|e| format!("login: {e}"))?;
    jar.update(resp.headers());
    let status = resp.status().as_u16();
    if status == 200 {
        return Err("login refused (the form came back)".into());
    }
    code_of(status, resp, &request.state).await
}

/// POSTs a token request with the client's Basic credentials; returns the
/// JSON answer once it carries every member of `required`. `what` names
/// the step in errors.
pub async fn token_request(
    http: &reqwest::Client,
    routes: &Routes,
    rp: &RelyingParty,
    fields: &[(&str, &str)],
    required: &[&str],
    what: &str,
) -> Result<Value, String> {
    let resp = http
        .post(routes.url("/token"))
        .header("authorization", &rp.authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields))
        .send()
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("{what} body: {e}"))?;
    if !status.is_success() {
        return Err(format!("{what}: HTTP {status}: {}", excerpt(&body)));
    }
    let tokens: Value =
        serde_json::from_slice(&body).map_err(|e| format!("{what} response: {e}"))?;
    if required.iter().any(|m| tokens[*m].as_str().is_none()) {
        return Err(format!(
            "{what} response without tokens: {}",
            excerpt(&body)
        ));
    }
    Ok(tokens)
}

/// Redeems a code; returns the token response (which has an ID token).
pub(crate) async fn redeem(
    http: &reqwest::Client,
    routes: &Routes,
    rp: &RelyingParty,
    code: &str,
    request: &Request,
) -> Result<Value, String> {
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", &request.verifier),
    ];
    token_request(
        http,
        routes,
        rp,
        &fields,
        &["id_token", "access_token"],
        "token",
    )
    .await
}

/// One whole flow with `jar`'s cookies, logging in with `credentials` if
/// the login page is shown (an error if it is shown without them).
pub async fn flow(
    http: &reqwest::Client,
    routes: &Routes,
    rp: &RelyingParty,
    jar: &mut Jar,
    scope: &str,
    credentials: Option<(&str, &str)>,
) -> Result<Value, String> {
    let request = Request::new(rp, scope);
    let code = match authorize(http, routes, jar, &request).await? {
        Authorized::Code(code) => code,
        Authorized::LoginPage(page) => {
            let Some((email, password)) = credentials else {
                return Err("the login page was shown: no SSO session".into());
            };
            login(http, routes, jar, &page, &request, email, password).await?
        }
    };
    redeem(http, routes, rp, &code, &request).await
}

/// The SSO scenario: a session cookie per connection.
pub struct Sso {
    pub rp: RelyingParty,
    pub sessions: Vec<Jar>,
}

impl Sso {
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
    ) -> Result<(), String> {
        let mut jar = self.sessions[conn % self.sessions.len()].clone();
        flow(http, routes, &self.rp, &mut jar, SCOPE, None)
            .await
            .map(|_| ())
    }
}

/// The password scenario: an identity per connection, no cookies at the start of a flow.
pub struct Password {
    pub rp: RelyingParty,
    pub emails: Vec<String>,
    pub password: String,
}

impl Password {
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
    ) -> Result<(), String> {
        let email = &self.emails[conn % self.emails.len()];
        let mut jar = Jar::default();
        flow(
            http,
            routes,
            &self.rp,
            &mut jar,
            SCOPE,
            Some((email, &self.password)),
        )
        .await
        .map(|_| ())
    }
}
