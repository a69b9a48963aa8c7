//! `/userinfo` driven through its router (`oneshot`, no server), over the
//! test kit's directory and the in-memory key-value store.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use inkan_directory::{Directory, DirectoryError, Identity, Project, StoredKey};
use inkan_kv::MemoryKv;
use inkan_oauth::AccessClaims;
use inkan_testkit::directory::{identity, project, FakeDirectory};
use inkan_userinfo::{router, UserinfoState};
use serde_json::Value;
use tower::ServiceExt;

const ISSUER: &str = "https://id.example.com";

/// The test kit's directory, with switches: fail every call as an outage,
/// or send identities with unreadable custom claims.
struct Switchable {
    inner: Arc<FakeDirectory>,
    down: std::sync::atomic::AtomicBool,
    corrupt: std::sync::atomic::AtomicBool,
}

impl Switchable {
    fn check(&self) -> inkan_directory::Result<()> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DirectoryError::NoReplica);
        }
        Ok(())
    }
}

#[async_trait]
impl Directory for Switchable {
    async fn resolve_project(&self, id: &str) -> inkan_directory::Result<Option<Project>> {
        self.check()?;
        self.inner.resolve_project(id).await
    }
    async fn authenticate_client(
        &self,
        id: &str,
        secret: &str,
    ) -> inkan_directory::Result<Option<Project>> {
        self.check()?;
        self.inner.authenticate_client(id, secret).await
    }
    async fn verify_password(
        &self,
        email: &str,
        password: &str,
    ) -> inkan_directory::Result<Option<Identity>> {
        self.check()?;
        self.inner.verify_password(email, password).await
    }
    async fn get_identity(&self, id: &str) -> inkan_directory::Result<Option<Identity>> {
        self.check()?;
        let mut identity = self.inner.get_identity(id).await?;
        if self.corrupt.load(std::sync::atomic::Ordering::SeqCst) {
            if let Some(i) = &mut identity {
                i.claims_json = "[1, 2]".into();
            }
        }
        Ok(identity)
    }
    async fn signing_keys(&self) -> inkan_directory::Result<Vec<StoredKey>> {
        self.inner.signing_keys().await
    }
    async fn passkeys(
        &self,
        identity_id: &str,
    ) -> inkan_directory::Result<Option<Vec<inkan_directory::StoredPasskey>>> {
        self.inner.passkeys(identity_id).await
    }
    async fn register_passkey(
        &self,
        request: inkan_directory::NewPasskey,
    ) -> inkan_directory::Result<inkan_directory::PasskeyRegistration> {
        self.inner.register_passkey(request).await
    }
    async fn enrol_totp(
        &self,
        identity_id: &str,
        secret: Vec<u8>,
    ) -> inkan_directory::Result<inkan_directory::TotpEnrolment> {
        self.inner.enrol_totp(identity_id, secret).await
    }
    async fn verify_second_factor(
        &self,
        identity_id: &str,
        code: &str,
    ) -> inkan_directory::Result<inkan_directory::SecondFactor> {
        self.inner.verify_second_factor(identity_id, code).await
    }
    async fn request_link(
        &self,
        request: inkan_directory::LinkRequest,
    ) -> inkan_directory::Result<inkan_directory::LinkRequested> {
        self.inner.request_link(request).await
    }
    async fn redeem_link(
        &self,
        request: inkan_directory::LinkRedemption,
    ) -> inkan_directory::Result<inkan_directory::LinkRedeemed> {
        self.inner.redeem_link(request).await
    }
    async fn sign_up(
        &self,
        request: inkan_directory::SignUpRequest,
    ) -> inkan_directory::Result<inkan_directory::SignedUp> {
        self.inner.sign_up(request).await
    }
    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> inkan_directory::Result<inkan_directory::NamesUpdated> {
        self.inner.update_names(identity_id, first, last).await
    }
    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> inkan_directory::Result<inkan_directory::PasswordChange> {
        self.inner.change_password(identity_id, current, new).await
    }
    async fn remove_credential(
        &self,
        identity_id: &str,
        passkey: Option<&str>,
    ) -> inkan_directory::Result<bool> {
        self.inner.remove_credential(identity_id, passkey).await
    }

    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> inkan_directory::Result<inkan_directory::SignedOut> {
        self.inner.sign_out(identity_id, handles, reason).await
    }
}

struct App {
    state: UserinfoState,
    directory: Arc<Switchable>,
    fake: Arc<FakeDirectory>,
    user: Identity,
}

async fn app() -> App {
    let fake = Arc::new(FakeDirectory::new());
    fake.add_project(project("web", "web", &["https://web.example.com/cb"]), None);
    let user = identity("ada@example.com");
    fake.add_identity(user.clone(), None);
    let directory = Arc::new(Switchable {
        inner: fake.clone(),
        down: Default::default(),
        corrupt: Default::default(),
    });
    let state = UserinfoState {
        issuer: ISSUER.into(),
        directory: directory.clone(),
        keyring: fake.keyring().await,
        kv: Arc::new(MemoryKv::new()),
        clock: Arc::new(inkan_web::clock::SystemClock),
        dpop: inkan_flows::dpop::DpopPolicy::default(),
    };
    App {
        state,
        directory,
        fake,
        user,
    }
}

impl App {
    fn token(&self, scope: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            sub: self.user.id.clone(),
            aud: ISSUER.into(),
            client_id: "web".into(),
            scope: scope.into(),
            exp: now + 600,
            iat: now,
            jti: "jti-1".into(),
            auth_time: Some(now),
            fid: None,
            cnf: None,
        };
        self.fake.pairs[0]
            .sign_jwt("at+jwt", &claims.to_value())
            .expect("sign a test token")
    }

    async fn send(&self, req: Request<Body>) -> (Response, Value) {
        let response = router(self.state.clone()).oneshot(req).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (Response::from_parts(parts, Body::empty()), json)
    }

    async fn get(&self, authorization: &str) -> (Response, Value) {
        let req = Request::builder()
            .uri("/userinfo")
            .header(header::AUTHORIZATION, authorization)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }
}

#[tokio::test]
async fn userinfo_answers_the_claims_of_the_tokens_scopes_whatever_the_case_of_the_scheme() {
    let app = app().await;
    let token = app.token("openid email profile");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let (response, body) = app.get(&format!("{scheme} {token}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{scheme}: {body}");
        assert_eq!(body["sub"], app.user.id.as_str());
        assert_eq!(body["email"], "ada@example.com");
        assert_eq!(body["tenant"], "acme");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn userinfo_takes_the_token_from_a_form_body_but_not_from_two_places() {
    let app = app().await;
    let token = app.token("openid");
    let form = |auth: Option<&str>| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/userinfo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        req.body(Body::from(format!("access_token={token}")))
            .unwrap()
    };
    let (response, body) = app.send(form(None)).await;
    assert_eq!(response.status(), StatusCode::OK, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"sub": app.user.id, "user_id": app.user.id})
    );

    let (response, body) = app.send(form(Some(&format!("Bearer {token}")))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn userinfo_refuses_missing_invalid_and_underscoped_tokens_with_bearer_challenges() {
    let app = app().await;
    let req = Request::builder()
        .uri("/userinfo")
        .body(Body::empty())
        .unwrap();
    let (response, _) = app.send(req).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"inkan\""
    );

    let (response, body) = app.get("Bearer not-a-jwt").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");

    let (response, body) = app.get(&format!("Bearer {}", app.token("email"))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_scope");
}

/// Collects what the handler logs, for the test's thread only.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn userinfo_answers_503_on_a_directory_outage_and_logs_its_cause_once_without_the_token() {
    let app = app().await;
    let token = app.token("openid");
    app.directory
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let (response, body) = app.get(&format!("Bearer {token}")).await;
    drop(guard);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    let text = logs.text();
    assert_eq!(
        text.matches("no admin replica answered").count(),
        1,
        "{text}"
    );
    assert!(!text.contains(&token), "the token was logged: {text}");
}

#[tokio::test]
async fn userinfo_answers_server_error_for_an_identity_record_it_cannot_read() {
    let app = app().await;
    let token = app.token("openid profile");
    app.directory
        .corrupt
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let logs = Logs::default();
    let guard = logs.capture();
    let (response, body) = app.get(&format!("Bearer {token}")).await;
    drop(guard);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "server_error");
    assert!(logs.text().contains("claims_json"), "{}", logs.text());
}
