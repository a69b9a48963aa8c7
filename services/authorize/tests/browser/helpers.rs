//! A test app: the router over an in-memory store, a manual clock, and a
//! fake directory with three projects, one identity and one real signing key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use inkan_authorize::{router, AuthorizeState};
use inkan_directory::{Directory, DirectoryError, Identity, KeyRing, Project, StoredKey};
use inkan_flows::code::{redeem, AuthorizationCode, Redemption};
use inkan_flows::session::Lifetimes;
use inkan_keys::kek::Kek;
use inkan_keys::signing::{Algorithm, SigningKey};
use inkan_kv::{KvError, KvStore, MemoryKv};
use inkan_oauth::params::Params;
use inkan_oauth::pkce::s256_challenge;
pub use inkan_web::clock::Clock;
use inkan_web::clock::ManualClock;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const ISSUER: &str = "https://id.example";

pub const WEB_CLIENT: &str = "shop-web";
pub const WEB_REDIRECT: &str = "https://shop.example/callback";
pub const WEB_LOGOUT: &str = "https://shop.example/logged-out";

pub const SPA_CLIENT: &str = "blog-spa";
pub const SPA_REDIRECT: &str = "https://blog.example/cb";
pub const SPA_LOGOUT: &str = "https://blog.example/bye";

pub const SERVICE_CLIENT: &str = "nightly-batch";
pub const SERVICE_REDIRECT: &str = "https://batch.example/cb";

pub const IDENTITY_ID: &str = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b";
pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge() -> String {
    s256_challenge(VERIFIER)
}

fn project(client_id: &str, name: &str, app_type: &str, redirect: &str, logout: &str) -> Project {
    Project {
        id: format!("id-{client_id}"),
        client_id: client_id.into(),
        name: name.into(),
        app_type: app_type.into(),
        redirect_uris: vec![redirect.into()],
        post_logout_redirect_uris: vec![logout.into()],
        scopes: ["openid", "email", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: if app_type == "web" {
            "client_secret_basic".into()
        } else {
            "none".into()
        },
        requires_pkce: app_type != "web",
        id_token_signed_response_alg: "RS256".into(),
        ..Project::default()
    }
}

/// A directory with a web project, a SPA project, a service project, one
/// identity, and one signing key. `down` makes every call fail.
pub struct FakeDirectory {
    projects: Vec<Project>,
    identity: Identity,
    keys: Vec<StoredKey>,
    passkeys: std::sync::Mutex<Vec<inkan_directory::StoredPasskey>>,
    pub down: AtomicBool,
}

impl FakeDirectory {
    fn check(&self) -> Result<(), DirectoryError> {
        if self.down.load(Ordering::SeqCst) {
            Err(DirectoryError::NoReplica)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Directory for FakeDirectory {
    async fn resolve_project(&self, client_id: &str) -> Result<Option<Project>, DirectoryError> {
        self.check()?;
        Ok(self
            .projects
            .iter()
            .find(|p| p.client_id == client_id)
            .cloned())
    }

    async fn authenticate_client(
        &self,
        _client_id: &str,
        _secret: &str,
    ) -> Result<Option<Project>, DirectoryError> {
        self.check()?;
        Ok(None)
    }

    async fn verify_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<Identity>, DirectoryError> {
        self.check()?;
        Ok(
            (email.eq_ignore_ascii_case(&self.identity.email) && password == PASSWORD)
                .then(|| self.identity.clone()),
        )
    }

    async fn get_identity(&self, id: &str) -> Result<Option<Identity>, DirectoryError> {
        self.check()?;
        Ok((id == self.identity.id).then(|| self.identity.clone()))
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>, DirectoryError> {
        self.check()?;
        Ok(self.keys.clone())
    }

    async fn passkeys(
        &self,
        identity_id: &str,
    ) -> Result<Option<Vec<inkan_directory::StoredPasskey>>, DirectoryError> {
        self.check()?;
        Ok((identity_id == self.identity.id).then(|| self.passkeys.lock().unwrap().clone()))
    }

    async fn register_passkey(
        &self,
        request: inkan_directory::NewPasskey,
    ) -> Result<inkan_directory::PasskeyRegistration, DirectoryError> {
        self.check()?;
        if request.identity_id != self.identity.id {
            return Ok(inkan_directory::PasskeyRegistration::NoIdentity);
        }
        let mut passkeys = self.passkeys.lock().unwrap();
        if passkeys
            .iter()
            .any(|p| p.credential_id == request.credential_id)
        {
            return Ok(inkan_directory::PasskeyRegistration::Taken);
        }
        passkeys.push(inkan_directory::StoredPasskey {
            credential_id: request.credential_id,
            name: request.name,
            credential_json: request.credential_json,
            backup_eligible: request.backup_eligible,
            registered_at: 0,
        });
        Ok(inkan_directory::PasskeyRegistration::Registered(
            passkeys.clone(),
        ))
    }

    /// This directory's identity takes no second factor: the one-time-code
    /// flows are driven in `tests/e2e` against the real admin.
    async fn enrol_totp(
        &self,
        _identity_id: &str,
        _secret: Vec<u8>,
    ) -> Result<inkan_directory::TotpEnrolment, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::TotpEnrolment::NoIdentity)
    }

    async fn verify_second_factor(
        &self,
        _identity_id: &str,
        _code: &str,
    ) -> Result<inkan_directory::SecondFactor, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::SecondFactor::NotEnrolled)
    }

    /// This directory has no mailer: links are refused as with no SMTP.
    async fn request_link(
        &self,
        _request: inkan_directory::LinkRequest,
    ) -> Result<inkan_directory::LinkRequested, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::LinkRequested::MailOff)
    }

    async fn redeem_link(
        &self,
        _request: inkan_directory::LinkRedemption,
    ) -> Result<inkan_directory::LinkRedeemed, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::LinkRedeemed::InvalidLink)
    }

    async fn sign_up(
        &self,
        _request: inkan_directory::SignUpRequest,
    ) -> Result<inkan_directory::SignedUp, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::SignedUp::MailOff)
    }

    async fn update_names(
        &self,
        _identity_id: &str,
        _first: &str,
        _last: &str,
    ) -> Result<inkan_directory::NamesUpdated, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::NamesUpdated::NoIdentity)
    }

    async fn change_password(
        &self,
        _identity_id: &str,
        _current: &str,
        _new: &str,
    ) -> Result<inkan_directory::PasswordChange, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::PasswordChange::WrongPassword)
    }

    async fn remove_credential(
        &self,
        _identity_id: &str,
        _passkey: Option<&str>,
    ) -> Result<bool, DirectoryError> {
        self.check()?;
        Ok(false)
    }

    async fn sign_out(
        &self,
        _identity_id: &str,
        handles: &[String],
        _reason: &str,
    ) -> Result<inkan_directory::SignedOut, DirectoryError> {
        self.check()?;
        Ok(inkan_directory::SignedOut {
            ended: handles.len() as u32,
            notices: vec![],
        })
    }
}

/// The in-memory store, with a switch that makes every call fail as if
/// Redis were down.
#[derive(Default)]
pub struct SwitchableKv {
    inner: MemoryKv,
    pub down: AtomicBool,
}

impl SwitchableKv {
    fn check(&self) -> inkan_kv::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(KvError::Unavailable("test: store down".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl KvStore for SwitchableKv {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> inkan_kv::Result<()> {
        self.check()?;
        self.inner.put(key, value, ttl).await
    }
    async fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> inkan_kv::Result<bool> {
        self.check()?;
        self.inner.put_if_absent(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> inkan_kv::Result<Option<Vec<u8>>> {
        self.check()?;
        self.inner.get(key).await
    }
    async fn take(&self, key: &str) -> inkan_kv::Result<Option<Vec<u8>>> {
        self.check()?;
        self.inner.take(key).await
    }
    async fn delete(&self, key: &str) -> inkan_kv::Result<bool> {
        self.check()?;
        self.inner.delete(key).await
    }
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> inkan_kv::Result<()> {
        self.check()?;
        self.inner.set_add(key, member, ttl).await
    }
    async fn set_members(&self, key: &str) -> inkan_kv::Result<Vec<String>> {
        self.check()?;
        self.inner.set_members(key).await
    }
    async fn set_remove(&self, key: &str, member: &str) -> inkan_kv::Result<bool> {
        self.check()?;
        self.inner.set_remove(key, member).await
    }
    async fn incr(&self, key: &str, ttl: Duration) -> inkan_kv::Result<i64> {
        self.check()?;
        self.inner.incr(key, ttl).await
    }
    async fn advance(&self, key: &str, value: i64, ttl: Duration) -> inkan_kv::Result<bool> {
        self.check()?;
        self.inner.advance(key, value, ttl).await
    }
    async fn ttl(&self, key: &str) -> inkan_kv::Result<Option<Duration>> {
        self.check()?;
        self.inner.ttl(key).await
    }
    async fn ping(&self) -> inkan_kv::Result<()> {
        self.check()
    }
}

pub struct TestApp {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub kv: Arc<SwitchableKv>,
    pub directory: Arc<FakeDirectory>,
    pub key: SigningKey,
    pub sessions: Lifetimes,
    pub secure: bool,
}

/// The app as deployed (HTTPS: `__Host-` cookies).
pub async fn spawn_app() -> TestApp {
    build(true).await
}

/// The app on plain-http loopback development (no `Secure`, no prefix).
pub async fn spawn_dev_app() -> TestApp {
    build(false).await
}

async fn build(secure: bool) -> TestApp {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let kek = Kek::generate().0;
    let stored = StoredKey {
        kid: key.kid().to_owned(),
        alg: key.alg().as_str().to_owned(),
        status: "active".into(),
        sealed_private_key: key.seal(&kek),
        public_jwk_json: key.public_jwk().to_string(),
    };
    let mut service = project(SERVICE_CLIENT, "Batch", "service", SERVICE_REDIRECT, "");
    service.grant_types = vec!["client_credentials".into()];
    let directory = Arc::new(FakeDirectory {
        projects: vec![
            project(WEB_CLIENT, "Shop", "web", WEB_REDIRECT, WEB_LOGOUT),
            project(SPA_CLIENT, "Blog", "spa", SPA_REDIRECT, SPA_LOGOUT),
            service,
        ],
        identity: Identity {
            id: IDENTITY_ID.into(),
            email: EMAIL.into(),
            email_verified: true,
            ..Identity::default()
        },
        keys: vec![stored],
        passkeys: std::sync::Mutex::default(),
        down: AtomicBool::new(false),
    });
    let keyring = Arc::new(KeyRing::new(directory.clone(), kek));
    keyring.refresh().await.unwrap();
    assert_eq!(keyring.current().verifier.len(), 1);
    let kv = Arc::new(SwitchableKv::default());
    let clock = Arc::new(ManualClock::new());
    let sessions = Lifetimes::default();
    let state = AuthorizeState {
        core: inkan_web::ServiceCore {
            issuer: Arc::from(ISSUER),
            directory: directory.clone(),
            keyring,
            kv: kv.clone(),
            clock: clock.clone(),
            dpop: inkan_flows::dpop::DpopPolicy::default(),
        },
        sessions,
        secure_cookies: secure,
        trusted_proxy_header: Some(axum::http::HeaderName::from_static("x-forwarded-for")),
        webauthn: Some(Arc::new(
            inkan_authorize::webauthn::relying_party(ISSUER, "Inkan").unwrap(),
        )),
        mail: false,
        catalogues: std::sync::Arc::new(inkan_i18n::Catalogues::built_in()),
        end_session_wait: std::time::Duration::ZERO,
    };
    TestApp {
        router: router(state),
        clock,
        kv,
        directory,
        key,
        sessions,
        secure,
    }
}

/// A response, body read.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
    }

    /// The redirect's query parameters (panics if this is not a redirect).
    pub fn redirect_params(&self) -> Params {
        let location = self.location().expect("a Location header");
        let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
        Params::parse(query.as_bytes()).unwrap()
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    /// The whole `Set-Cookie` header for cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// `name=value` of a set cookie, as a browser would send it back.
    pub fn cookie_pair(&self, name: &str) -> Option<String> {
        self.set_cookie(name)
            .map(|c| c.split(';').next().unwrap().to_owned())
    }

    /// The value of hidden input `name`.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect("the hidden input") + marker.len();
        let len = self.body[start..].find('"').unwrap();
        self.body[start..start + len].to_owned()
    }

    pub fn is_login_form(&self) -> bool {
        self.status == StatusCode::OK
            && self
                .body
                .contains("<form method=\"post\" action=\"/login\" id=\"password-form\">")
    }
}

/// A login form shown to a browser: what that browser will post back.
pub struct LoginForm {
    pub authz: String,
    pub csrf: String,
    /// The login-binding cookie (`name=value`).
    pub binding: String,
}

pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TestApp {
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-inkan_session"
        } else {
            "inkan_session"
        }
    }

    pub fn login_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-inkan_login"
        } else {
            "inkan_login"
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        TestResponse {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, uri: &str, cookies: &[&str]) -> TestResponse {
        let mut request = Request::builder().method(Method::GET).uri(uri);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(&self, uri: &str, body: &str, cookies: &[&str]) -> TestResponse {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    /// `GET /authorize` for `client` with its redirect URI, `openid email`,
    /// S256 PKCE, a state and a nonce, plus `extra` (`&name=value...`).
    pub async fn authorize(&self, client: &str, extra: &str, cookies: &[&str]) -> TestResponse {
        self.get(
            &format!("/authorize?{}{extra}", authorize_query(client)),
            cookies,
        )
        .await
    }

    /// Shows the login form for a fresh request and returns what to post back.
    pub async fn start_login(&self, client: &str) -> LoginForm {
        let page = self.authorize(client, "", &[]).await;
        assert!(page.is_login_form(), "{} {}", page.status, page.body);
        LoginForm {
            authz: page.hidden("authz"),
            csrf: page.hidden("csrf"),
            binding: page.cookie_pair(self.login_cookie_name()).unwrap(),
        }
    }

    /// Posts `email` and `password` with `form`'s hidden fields and cookie.
    pub async fn submit(
        &self,
        form: &LoginForm,
        email: &str,
        password: &str,
        extra_cookies: &[&str],
    ) -> TestResponse {
        let body = form_encode(&[
            ("authz", &form.authz),
            ("csrf", &form.csrf),
            ("email", email),
            ("password", password),
        ]);
        let mut cookies = vec![form.binding.as_str()];
        cookies.extend_from_slice(extra_cookies);
        self.post_form("/login", &body, &cookies).await
    }

    /// Logs in at `client`; returns the session cookie pair and the response.
    pub async fn log_in(&self, client: &str) -> (String, TestResponse) {
        let form = self.start_login(client).await;
        let response = self.submit(&form, EMAIL, PASSWORD, &[]).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        let cookie = response.cookie_pair(self.session_cookie_name()).unwrap();
        (cookie, response)
    }

    /// An ID token for `aud` signed with the app's key.
    pub fn id_token(&self, aud: &str) -> String {
        sign(&self.key, &self.id_token_claims(aud))
    }

    pub fn id_token_claims(&self, aud: &str) -> Value {
        let now = self.clock.now();
        json!({
            "iss": ISSUER,
            "sub": IDENTITY_ID,
            "aud": aud,
            "iat": now - 7200,
            "exp": now - 3600,
        })
    }
}

pub fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign_jwt("JWT", claims).unwrap()
}

/// The standard query for `client`: its redirect URI, `openid email`, S256
/// PKCE, state `st-1` and nonce `n-1`.
pub fn authorize_query(client: &str) -> String {
    query(client, &[])
}

/// The standard query with `changes`: a value replaces (or adds) a
/// parameter, `None` removes it.
pub fn query(client: &str, changes: &[(&str, Option<&str>)]) -> String {
    let redirect = match client {
        WEB_CLIENT => WEB_REDIRECT,
        SPA_CLIENT => SPA_REDIRECT,
        SERVICE_CLIENT => SERVICE_REDIRECT,
        _ => "https://unknown.example/cb",
    };
    let challenge = challenge();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", "openid email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        pairs.retain(|(n, _)| n != name);
        if let Some(value) = value {
            pairs.push((name, value));
        }
    }
    form_encode(&pairs)
}

/// Redeems `code` as the token service would: its record the first time.
pub async fn redeem_code(app: &TestApp, code: &str) -> Option<AuthorizationCode> {
    match redeem(&*app.kv, code).await.unwrap() {
        Redemption::Redeemed(record) => Some(*record),
        Redemption::Replayed { .. } | Redemption::Unknown => None,
    }
}
