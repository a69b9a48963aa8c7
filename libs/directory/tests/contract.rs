//! One contract for [`Directory`], run against both implementations over a
//! real admin service (embedded event store): [`InProcess`] (monolithic
//! mode) and [`Grpc`] to a gRPC server on `127.0.0.1:0` (microservices mode).
//!
//! Each contract is a plain async fn over a [`Fixture`]; the `contract!`
//! macro turns it into one test per implementation. Every test gets its own
//! admin, store and (for gRPC) server.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use inkan_admin::grpc::AdminGrpc;
use inkan_admin::{bootstrap, router, AdminState, KeyPolicy};
use inkan_directory::typed::Lookup;
use inkan_directory::{Directory, Grpc, InProcess, KeyRing};
use inkan_domain::project::{AppType, AuthMethod, GrantType};
use inkan_eventstore::{EventStore, SqliteEventStore};
use inkan_keys::kek::Kek;
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::SecretHasher;
use inkan_keys::signing::Algorithm;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const OPS: (&str, &str) = ("ops", "ops-secret-ops-secret-ops-secret-0001");
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// An admin with a service project (`ops`), a web project and one identity,
/// reached through one of the two directory implementations.
struct Fixture {
    directory: Arc<dyn Directory>,
    kek: Kek,
    web_client_id: String,
    web_secret: String,
    identity_id: String,
    /// Stops the gRPC server (if any) when the test ends.
    _server: Option<tokio_util::sync::DropGuard>,
}

async fn admin() -> (AdminState, Kek) {
    let store = SqliteEventStore::in_memory()
        .await
        .expect("in-memory store");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn EventStore> = Arc::new(store);
    let kek = Kek::generate().0;
    let state = AdminState::new(
        "https://id.example.com".into(),
        store,
        kek.clone(),
        KeyPolicy::default(),
        SecretHasher::new([7u8; 32]),
        PasswordHasher::new(PasswordParams::fast_for_tests()),
        15,
    );
    assert!(bootstrap::ensure_admin_client(&state, OPS.0, OPS.1)
        .await
        .expect("bootstrap"));
    inkan_admin::keys::ensure_initial_keys(&state)
        .await
        .expect("first signing keys");
    (state, kek)
}

/// One admin API call as the `ops` client.
async fn call(state: &AdminState, path: &str, body: Value) -> Value {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", OPS.0, OPS.1));
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED, "POST {path}");
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn populate(state: &AdminState) -> (String, String, String) {
    let web = call(
        state,
        "/admin/v1/projects",
        json!({
            "name": "Shop", "app_type": "web",
            "redirect_uris": ["https://shop.example.com/cb"],
            "scopes": ["openid", "email", "offline_access"],
            "id_token_signed_response_alg": "ES256"
        }),
    )
    .await;
    let identity = call(
        state,
        "/admin/v1/identities",
        json!({
            "email": EMAIL, "password": PASSWORD, "first_name": "Ada",
            "claims": {"tenant": "acme"}
        }),
    )
    .await;
    (
        web["client_id"].as_str().unwrap().to_owned(),
        web["client_secret"].as_str().unwrap().to_owned(),
        identity["id"].as_str().unwrap().to_owned(),
    )
}

async fn in_process() -> Fixture {
    let (state, kek) = admin().await;
    let (web_client_id, web_secret, identity_id) = populate(&state).await;
    Fixture {
        directory: Arc::new(InProcess(Arc::new(AdminGrpc::in_process(state)))),
        kek,
        web_client_id,
        web_secret,
        identity_id,
        _server: None,
    }
}

async fn grpc() -> Fixture {
    let (state, kek) = admin().await;
    let (web_client_id, web_secret, identity_id) = populate(&state).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let shutdown = stop.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(inkan_admin::grpc::service(state))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                shutdown.cancelled_owned(),
            )
            .await
            .expect("gRPC server");
    });
    Fixture {
        directory: Arc::new(Grpc::connect_lazy(&url).expect("admin URL")),
        kek,
        web_client_id,
        web_secret,
        identity_id,
        _server: Some(stop.drop_guard()),
    }
}

/// One test per implementation for a contract fn taking a [`Fixture`].
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn in_process() {
                super::$name(super::in_process().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn grpc() {
                super::$name(super::grpc().await).await;
            }
        }
    };
}

// ---------------------------------------------------------------- contracts

contract!(a_registered_project_resolves_typed_and_an_unknown_one_is_none);
async fn a_registered_project_resolves_typed_and_an_unknown_one_is_none(f: Fixture) {
    let web = f
        .directory
        .project(&f.web_client_id)
        .await
        .unwrap()
        .expect("the web project");
    assert_eq!(web.client_id, f.web_client_id);
    assert_eq!(web.name, "Shop");
    assert_eq!(web.app_type, AppType::Web);
    assert_eq!(web.redirect_uris, vec!["https://shop.example.com/cb"]);
    assert!(web.allows(GrantType::AuthorizationCode));
    assert!(!web.allows(GrantType::ClientCredentials));
    assert_eq!(
        web.token_endpoint_auth_method,
        AuthMethod::ClientSecretBasic
    );
    assert_eq!(web.id_token_signed_response_alg, Algorithm::ES256);

    let ops = f.directory.project(OPS.0).await.unwrap().expect("ops");
    assert_eq!(ops.app_type, AppType::Service);
    assert_eq!(ops.grant_types, vec![GrantType::ClientCredentials]);

    assert_eq!(f.directory.project("nobody").await.unwrap(), None);
    assert!(f.directory.resolve_project("").await.unwrap().is_none());
}

contract!(a_client_authenticates_with_its_secret_and_nothing_else);
async fn a_client_authenticates_with_its_secret_and_nothing_else(f: Fixture) {
    let project = f
        .directory
        .client(&f.web_client_id, &f.web_secret)
        .await
        .unwrap()
        .expect("the right secret");
    assert_eq!(project.client_id, f.web_client_id);
    let ops = f.directory.client(OPS.0, OPS.1).await.unwrap();
    assert_eq!(ops.map(|p| p.client_id).as_deref(), Some(OPS.0));

    // A wrong secret, another client's secret, an unknown client: no answer, no error.
    for (id, secret) in [
        (f.web_client_id.as_str(), "wrong"),
        (f.web_client_id.as_str(), ""),
        (f.web_client_id.as_str(), OPS.1),
        ("nobody", f.web_secret.as_str()),
    ] {
        assert_eq!(f.directory.client(id, secret).await.unwrap(), None, "{id}");
    }
}

contract!(a_password_is_verified_for_its_email_only);
async fn a_password_is_verified_for_its_email_only(f: Fixture) {
    let identity = f
        .directory
        .login(EMAIL, PASSWORD)
        .await
        .unwrap()
        .expect("the right password");
    assert_eq!(identity.id, f.identity_id);
    assert_eq!(identity.email, EMAIL);
    // Emails compare without regard to case.
    let upper = f
        .directory
        .login("ADA@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(upper.map(|i| i.id), Some(f.identity_id.clone()));

    assert_eq!(
        f.directory.login(EMAIL, "wrong password").await.unwrap(),
        None
    );
    assert_eq!(f.directory.login(EMAIL, "").await.unwrap(), None);
    assert_eq!(
        f.directory
            .login("nobody@example.com", PASSWORD)
            .await
            .unwrap(),
        None
    );
}

contract!(an_identity_is_found_by_its_id_with_its_claims);
async fn an_identity_is_found_by_its_id_with_its_claims(f: Fixture) {
    let identity = f
        .directory
        .identity(&f.identity_id)
        .await
        .unwrap()
        .expect("the identity");
    assert_eq!(identity.email, EMAIL);
    assert_eq!(identity.first_name.as_deref(), Some("Ada"));
    assert_eq!(identity.last_name, None);
    assert_eq!(identity.claims["tenant"], "acme");

    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(f.directory.identity(&unknown).await.unwrap(), None);
    assert_eq!(f.directory.identity("not-a-uuid").await.unwrap(), None);
}

contract!(the_signing_keys_are_published_sealed_and_load_into_a_key_ring);
async fn the_signing_keys_are_published_sealed_and_load_into_a_key_ring(f: Fixture) {
    let keys = f.directory.signing_keys().await.unwrap();
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(key.alg.parse::<Algorithm>().is_ok(), "{}", key.alg);
        let jwk: Value = serde_json::from_str(&key.public_jwk_json).unwrap();
        assert_eq!(jwk["kid"], key.kid.as_str());
        assert!(jwk.get("d").is_none(), "a private part was published");
    }
    let ring = KeyRing::new(f.directory.clone(), f.kek.clone());
    ring.refresh().await.unwrap();
    let set = ring.current();
    assert!(set.signer(Algorithm::RS256).is_some());
    let jwks: Value = serde_json::from_slice(&set.jwks).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), keys.len());
}
