//! The admin REST API driven through its router (no server, `oneshot`), on
//! the embedded event store: what an operator sends, what they get back,
//! and that bad input changes nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use inkan_admin::{bootstrap, router, AdminState, KeyPolicy};
use inkan_eventstore::{EventStore, SqliteEventStore};
use inkan_keys::kek::Kek;
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::SecretHasher;
use serde_json::{json, Value};
use tower::ServiceExt;

mod common;

use common::{admin_state, basic, memory_store, ADMIN};

struct TestApp {
    state: AdminState,
}

async fn spawn_app() -> TestApp {
    spawn_app_on(memory_store().await, PasswordParams::fast_for_tests()).await
}

/// An admin on a given store whose password hasher uses `params`, so two
/// admins on one store can stand for "before" and "after" a parameter raise.
async fn spawn_app_on(store: Arc<dyn EventStore>, params: PasswordParams) -> TestApp {
    TestApp {
        state: admin_state(store, params).await,
    }
}

impl TestApp {
    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<String>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::send(&self.state, method, path, auth, body).await
    }

    /// POSTs `body` as the admin client.
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin(Method::POST, path, Some(body)).await
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(basic(ADMIN.0, ADMIN.1)), body)
            .await
    }

    async fn raw(&self, path: &str, content_type: &str, body: &'static str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, basic(ADMIN.0, ADMIN.1))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let resp = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn head(&self) -> i64 {
        self.state.store.head().await.unwrap()
    }
}

fn web_project() -> Value {
    json!({
        "name": "Shop",
        "app_type": "web",
        "redirect_uris": ["https://shop.example.com/cb"],
        "post_logout_redirect_uris": ["https://shop.example.com/"],
        "scopes": ["openid", "profile", "email"]
    })
}

fn field_names(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn creating_a_web_project_returns_its_secret_once_and_applies_defaults() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin(Method::POST, "/admin/v1/projects", Some(web_project()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["client_secret"].as_str().unwrap().len() >= 43);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["requires_pkce"], false);
    assert_eq!(body["access_token_ttl_seconds"], 3600);

    let (status, got) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/projects/{}", body["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["client_id"], body["client_id"]);
    assert!(
        got.get("client_secret").is_none(),
        "the secret is shown only once"
    );
    assert!(got.get("secret_hash").is_none());
}

#[tokio::test]
async fn a_spa_project_has_no_secret_and_requires_pkce() {
    let app = spawn_app().await;
    let mut input = web_project();
    input["app_type"] = json!("spa");
    let (status, body) = app
        .admin(Method::POST, "/admin/v1/projects", Some(input))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["requires_pkce"], true);
}

#[tokio::test]
async fn invalid_project_input_gets_field_level_errors_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.head().await;
    let (status, body) = app
        .post(
            "/admin/v1/projects",
            json!({
                "name": "Shop",
                "app_type": "web",
                "redirect_uris": ["http://shop.example.com/cb", "https://shop.example.com/cb#frag"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        field_names(&body),
        vec!["redirect_uris[0]", "redirect_uris[1]"]
    );

    let (status, body) = app
        .post(
            "/admin/v1/projects",
            json!({"name": "x", "app_type": "mainframe"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&body), vec!["app_type"]);

    let (status, body) = app
        .post(
            "/admin/v1/projects",
            json!({"name": "x", "app_type": "web", "colour": "red"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {body}"
    );
    assert_eq!(app.head().await, before);
}

#[tokio::test]
async fn a_project_chooses_its_login_methods_second_factor_and_default_levels() {
    let app = spawn_app().await;
    let (status, body) = app.post("/admin/v1/projects", web_project()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["login_methods"], json!(["password", "passkey"]));
    assert_eq!(body["mfa"], "optional");
    assert_eq!(body["default_acr_values"], json!([]));
    let path = format!("/admin/v1/projects/{}", body["id"].as_str().unwrap());

    let (status, got) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({
                "login_methods": ["passkey"],
                "mfa": "required",
                "default_acr_values": ["urn:inkan:acr:phr"],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["login_methods"], json!(["passkey"]));
    assert_eq!(got["mfa"], "required");
    assert_eq!(got["default_acr_values"], json!(["urn:inkan:acr:phr"]));

    let before = app.head().await;
    for (input, fields) in [
        (json!({"mfa": "sometimes"}), vec!["mfa"]),
        (json!({"login_methods": ["sms"]}), vec!["login_methods[0]"]),
        (
            json!({"login_methods": []}),
            vec!["login_methods", "default_acr_values"],
        ),
        (
            json!({"default_acr_values": ["gold"]}),
            vec!["default_acr_values[0]"],
        ),
        (
            json!({"login_methods": ["password"]}),
            vec!["default_acr_values"],
        ),
    ] {
        let (status, body) = app.admin(Method::PATCH, &path, Some(input.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{input}: {body}");
        assert_eq!(field_names(&body), fields, "{input}: {body}");
    }
    assert_eq!(app.head().await, before, "refused updates change nothing");
}

#[tokio::test]
async fn a_project_opens_sign_up_requires_verified_addresses_and_carries_its_branding() {
    let app = spawn_app().await;
    let (status, body) = app.post("/admin/v1/projects", web_project()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["allow_signup"], false);
    assert_eq!(body["require_verified_email"], false);
    assert_eq!(body["logo_uri"], Value::Null);
    let path = format!("/admin/v1/projects/{}", body["id"].as_str().unwrap());
    let (status, got) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({
                "allow_signup": true,
                "require_verified_email": true,
                "logo_uri": "https://cdn.example.com/shop.svg",
                "primary_color": "#0F766E",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["allow_signup"], true);
    assert_eq!(got["require_verified_email"], true);
    assert_eq!(got["logo_uri"], "https://cdn.example.com/shop.svg");
    assert_eq!(got["primary_color"], "#0f766e");

    let before = app.head().await;
    for (input, fields) in [
        (
            json!({"logo_uri": "http://cdn.example.com/x.png"}),
            vec!["logo_uri"],
        ),
        (json!({"primary_color": "blue"}), vec!["primary_color"]),
        (
            json!({"login_methods": ["passkey"], "default_acr_values": []}),
            vec!["allow_signup"],
        ),
        (json!({"allow_signup": "yes"}), vec!["allow_signup"]),
    ] {
        let (status, body) = app.admin(Method::PATCH, &path, Some(input.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{input}: {body}");
        assert_eq!(field_names(&body), fields, "{input}: {body}");
    }
    assert_eq!(app.head().await, before, "refused updates change nothing");
}

#[tokio::test]
async fn malformed_bodies_are_clear_json_errors() {
    let app = spawn_app().await;
    let (status, body) = app
        .raw("/admin/v1/projects", "application/json", "{not json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        field_names(&body),
        vec!["body"],
        "malformed JSON is no field's fault"
    );
    let (status, body) = app
        .raw(
            "/admin/v1/projects",
            "application/json",
            r#"{"name": "x", "app_type": "#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&body), vec!["body"], "{body}");
    let (status, body) = app
        .raw("/admin/v1/projects", "application/json", "[]")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&body), vec!["body"]);
    assert_eq!(body["fields"][0]["message"], "must be a JSON object");
    assert!(!body.to_string().contains("ProjectInput"), "{body}");
    let (status, body) = app.raw("/admin/v1/projects", "text/plain", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"], "invalid_request");
    let big: &'static str = Box::leak(
        format!(
            r#"{{"name": "{}", "app_type": "service"}}"#,
            "x".repeat(300 * 1024)
        )
        .into_boxed_str(),
    );
    let before = app.head().await;
    let (status, body) = app.raw("/admin/v1/projects", "application/json", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(app.head().await, before);
    let (status, body) = app
        .raw(
            "/admin/v1/identities",
            "application/json",
            r#"{"email": 42}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&body), vec!["email"]);
}

#[tokio::test]
async fn the_admin_api_requires_an_admin_client() {
    let app = spawn_app().await;
    let (status, _) = app
        .call(Method::GET, "/admin/v1/projects", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            Method::GET,
            "/admin/v1/projects",
            Some(basic(ADMIN.0, "wrong")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(
            Method::GET,
            "/admin/v1/projects",
            Some("Basic %%%".into()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A service client without the admin scope is authenticated but forbidden.
    let (_, svc) = app
        .post(
            "/admin/v1/projects",
            json!({"name": "Batch", "app_type": "service", "scopes": ["reports"]}),
        )
        .await;
    let creds = basic(
        svc["client_id"].as_str().unwrap(),
        svc["client_secret"].as_str().unwrap(),
    );
    let (status, _) = app
        .call(Method::GET, "/admin/v1/projects", Some(creds), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rotating_a_secret_retires_the_old_one() {
    let app = spawn_app().await;
    let (_, svc) = app
        .post(
            "/admin/v1/projects",
            json!({"name": "Ops", "app_type": "service", "scopes": ["admin"]}),
        )
        .await;
    let id = svc["id"].as_str().unwrap();
    let client_id = svc["client_id"].as_str().unwrap();
    let old = basic(client_id, svc["client_secret"].as_str().unwrap());
    assert_eq!(
        app.call(Method::GET, "/admin/v1/projects", Some(old.clone()), None)
            .await
            .0,
        StatusCode::OK
    );

    let (status, rotated) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/projects/{id}/secret"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new = basic(client_id, rotated["client_secret"].as_str().unwrap());
    assert_eq!(
        app.call(Method::GET, "/admin/v1/projects", Some(old), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::GET, "/admin/v1/projects", Some(new), None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn projects_can_be_updated_listed_and_deleted() {
    let app = spawn_app().await;
    let (_, created) = app
        .admin(Method::POST, "/admin/v1/projects", Some(web_project()))
        .await;
    let path = format!("/admin/v1/projects/{}", created["id"].as_str().unwrap());

    let (status, updated) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"redirect_uris": ["https://shop.example.com/new"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://shop.example.com/new"])
    );
    assert_eq!(updated["name"], "Shop");
    assert_eq!(updated["version"], 2);

    // An update that changes nothing appends nothing.
    let before = app.head().await;
    let (status, same) = app
        .admin(Method::PATCH, &path, Some(json!({"name": "Shop"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["version"], 2);
    assert_eq!(app.head().await, before);

    let (_, list) = app.admin(Method::GET, "/admin/v1/projects", None).await;
    assert_eq!(list["total"], 2, "bootstrap admin + shop");

    assert_eq!(
        app.admin(Method::DELETE, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.admin(Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.admin(Method::DELETE, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.admin(Method::GET, "/admin/v1/projects/not-a-uuid", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn identities_are_created_found_by_email_and_never_show_their_password() {
    let app = spawn_app().await;
    let (status, ada) = app
        .post(
            "/admin/v1/identities",
            json!({
                "email": "Ada@Example.com",
                "password": "correct horse battery staple",
                "first_name": "Ada",
                "claims": {"tenant": "acme"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ada}");
    assert_eq!(ada["has_password"], true);
    assert!(ada.get("password").is_none() && ada.get("password_hash").is_none());
    uuid::Uuid::parse_str(ada["id"].as_str().unwrap()).unwrap();

    let (_, found) = app
        .admin(
            Method::GET,
            "/admin/v1/identities?email=ada@example.COM",
            None,
        )
        .await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["id"], ada["id"]);

    let (_, events) = app
        .admin(Method::GET, "/admin/v1/events?after=0", None)
        .await;
    let text = events.to_string();
    assert!(
        !text.contains("$argon2"),
        "the audit log redacts password hashes"
    );
    assert!(
        !text.contains("hmac-sha256$"),
        "the audit log redacts secret hashes"
    );
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_even_in_another_case() {
    let app = spawn_app().await;
    let body = json!({"email": "grace@example.com"});
    assert_eq!(
        app.admin(Method::POST, "/admin/v1/identities", Some(body))
            .await
            .0,
        StatusCode::CREATED
    );
    let before = app.head().await;
    let (status, err) = app
        .post(
            "/admin/v1/identities",
            json!({"email": "GRACE@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"], "conflict");
    assert_eq!(field_names(&err), vec!["email"], "{err}");
    assert_eq!(app.head().await, before);
}

#[tokio::test]
async fn a_deleted_identity_frees_its_email() {
    let app = spawn_app().await;
    let (_, first) = app
        .post("/admin/v1/identities", json!({"email": "alan@example.com"}))
        .await;
    let path = format!("/admin/v1/identities/{}", first["id"].as_str().unwrap());
    assert_eq!(
        app.admin(Method::DELETE, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.admin(Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = app
        .post("/admin/v1/identities", json!({"email": "alan@example.com"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn passwords_follow_the_length_policy_and_can_be_set() {
    let app = spawn_app().await;
    let (status, err) = app
        .post(
            "/admin/v1/identities",
            json!({"email": "a@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&err), vec!["password"]);

    let (_, created) = app
        .post("/admin/v1/identities", json!({"email": "a@example.com"}))
        .await;
    assert_eq!(created["has_password"], false);
    let path = format!("/admin/v1/identities/{}", created["id"].as_str().unwrap());
    let (status, _) = app
        .admin(
            Method::PUT,
            &format!("{path}/password"),
            Some(json!({"password": "a long enough passphrase"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, got) = app.admin(Method::GET, &path, None).await;
    assert_eq!(got["has_password"], true);
}

#[tokio::test]
async fn common_passwords_and_the_email_itself_are_rejected() {
    let app = spawn_app().await;
    for password in [
        "passwordpassword",
        "1234567890123456",
        "ada.lovelace.1815",
        "Ada.Lovelace.1815@example.com",
    ] {
        let (status, err) = app
            .post(
                "/admin/v1/identities",
                json!({"email": "ada.lovelace.1815@example.com", "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{password}");
        assert_eq!(field_names(&err), vec!["password"]);
    }
}

#[tokio::test]
async fn a_login_rehashes_a_password_stored_with_weaker_parameters() {
    use inkan_admin::grpc::AdminGrpc;
    use inkan_proto::admin::v1::admin_internal_server::AdminInternal;
    use inkan_proto::admin::v1::VerifyPasswordRequest;

    let store = SqliteEventStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let before = spawn_app_on(store.clone(), PasswordParams::fast_for_tests()).await;
    let (status, created) = before
        .post(
            "/admin/v1/identities",
            json!({"email": "ada@example.com", "password": "a long enough passphrase"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let raised = PasswordParams {
        memory_kib: 2 * PasswordParams::fast_for_tests().memory_kib,
        iterations: 2,
        parallelism: 1,
    };
    let after = AdminState::new(
        "https://id.example.com".into(),
        store.clone(),
        Kek::generate().0,
        KeyPolicy::default(),
        SecretHasher::new([7u8; 32]),
        PasswordHasher::new(raised),
        15,
    );
    let grpc = AdminGrpc::new(after.clone());
    let login = || {
        tonic::Request::new(VerifyPasswordRequest {
            email: "ada@example.com".into(),
            password: "a long enough passphrase".into(),
        })
    };
    let reply = grpc.verify_password(login()).await.unwrap().into_inner();
    assert_eq!(reply.identity.unwrap().id, created["id"].as_str().unwrap());

    let changed: Vec<_> = store
        .read_all(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "identity.password_changed.v1")
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].metadata.actor, "system");
    let new_hash = changed[0].payload["password_hash"].as_str().unwrap();
    assert!(after.passwords.verify("a long enough passphrase", new_hash));
    assert!(!after.passwords.needs_rehash(new_hash));

    // The upgraded hash is current: a second login appends nothing.
    let head = store.head().await.unwrap();
    grpc.verify_password(login()).await.unwrap();
    assert_eq!(store.head().await.unwrap(), head);
}

#[tokio::test]
async fn identity_profile_updates_validate_and_apply() {
    let app = spawn_app().await;
    let (_, created) = app
        .post("/admin/v1/identities", json!({"email": "b@example.com"}))
        .await;
    let path = format!("/admin/v1/identities/{}", created["id"].as_str().unwrap());
    let (status, err) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"email": "not an email", "claims": {"sub": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&err), vec!["email", "claims.sub"]);
    let (status, updated) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"last_name": "Hopper", "email_verified": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["last_name"], "Hopper");
    assert_eq!(updated["email_verified"], true);
}

#[tokio::test]
async fn the_events_endpoint_pages_through_the_log() {
    let app = spawn_app().await;
    for email in ["1@example.com", "2@example.com", "3@example.com"] {
        app.post("/admin/v1/identities", json!({"email": email}))
            .await;
    }
    let (_, page) = app
        .admin(Method::GET, "/admin/v1/events?after=1&limit=2", None)
        .await;
    let positions: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, vec![2, 3]);
    assert_eq!(page["next_after"], 3);
    assert_eq!(page["items"][0]["event_type"], "identity.registered.v1");
    assert_eq!(page["items"][0]["metadata"]["actor"], ADMIN.0);
}

#[tokio::test]
async fn bootstrap_runs_only_on_an_empty_store() {
    let app = spawn_app().await;
    assert!(
        !bootstrap::ensure_admin_client(&app.state, "other", ADMIN.1)
            .await
            .unwrap()
    );
}

mod keys {
    use super::*;
    use inkan_admin::keys::{ensure_initial_keys, jwks, run_schedule};
    use inkan_domain::signing_key::KeyStatus;
    use inkan_keys::signing::{verify_jwt, Algorithm, SigningKey as KeyPair};
    use time::OffsetDateTime;

    fn kids(set: &Value) -> Vec<String> {
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn first_start_creates_one_active_key_per_algorithm() {
        let app = spawn_app().await;
        ensure_initial_keys(&app.state).await.unwrap();
        ensure_initial_keys(&app.state).await.unwrap(); // idempotent
        let set = jwks(&app.state, OffsetDateTime::now_utc());
        let algs: Vec<&str> = set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap())
            .collect();
        assert_eq!(algs, vec!["RS256", "ES256", "EdDSA"]);
        let (status, listed) = app.admin(Method::GET, "/admin/v1/keys", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["status"] == "active"));
        assert!(
            !listed.to_string().contains("sealed"),
            "private keys are never shown"
        );
    }

    #[tokio::test]
    async fn rotation_publishes_first_then_signs_then_retires_the_old_key() {
        let app = spawn_app().await;
        ensure_initial_keys(&app.state).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let old = kids(&jwks(&app.state, now));

        let (status, rotated) = app
            .post("/admin/v1/keys/rotate", json!({"alg": "ES256"}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{rotated}");
        assert_eq!(rotated["items"][0]["status"], "pending");
        let new_kid = rotated["items"][0]["kid"].as_str().unwrap().to_string();
        let published = kids(&jwks(&app.state, now));
        assert!(published.contains(&new_kid), "published before it signs");
        assert_eq!(published.len(), 4);

        // Within the publication delay nothing changes.
        run_schedule(&app.state, now).await.unwrap();
        let status_of = |kid: &str| {
            app.state
                .projections
                .signing_keys()
                .into_iter()
                .find(|k| k.state.key.as_ref().unwrap().kid == kid)
                .unwrap()
                .state
        };
        assert_eq!(status_of(&new_kid).status, Some(KeyStatus::Pending));

        // After it, the new key signs and the old ES256 key is retired but still published.
        let later = now + app.state.key_policy.activation_delay + std::time::Duration::from_secs(1);
        run_schedule(&app.state, later).await.unwrap();
        assert_eq!(status_of(&new_kid).status, Some(KeyStatus::Active));
        let old_es = old
            .iter()
            .find(|kid| status_of(kid).key.unwrap().alg == "ES256")
            .unwrap()
            .clone();
        assert_eq!(status_of(&old_es).status, Some(KeyStatus::Retired));
        assert!(kids(&jwks(&app.state, later)).contains(&old_es));

        // Once every token it signed has expired, it leaves the JWKS.
        let much_later =
            later + app.state.key_policy.retired_publication + std::time::Duration::from_secs(1);
        let remaining = kids(&jwks(&app.state, much_later));
        assert!(!remaining.contains(&old_es));
        assert_eq!(remaining.len(), 3);
    }

    #[tokio::test]
    async fn stored_keys_are_sealed_and_sign_tokens_their_jwk_verifies() {
        let app = spawn_app().await;
        ensure_initial_keys(&app.state).await.unwrap();
        let events = app.state.store.read_all(0, 100).await.unwrap();
        let generated: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "key.generated.v1")
            .collect();
        assert_eq!(generated.len(), 3);
        for event in generated {
            let text = event.payload.to_string();
            assert!(!text.contains("PRIVATE KEY"));
            let p = &event.payload;
            let alg: Algorithm = p["alg"].as_str().unwrap().parse().unwrap();
            let kid = p["kid"].as_str().unwrap();
            let sealed = base64::engine::general_purpose::STANDARD
                .decode(p["sealed_private_key"].as_str().unwrap())
                .unwrap();
            let pair = KeyPair::unseal(alg, kid, &sealed, &app.state.kek).unwrap();
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let token = pair
                .sign_jwt("JWT", &json!({"iss": "https://id.example.com", "sub": "x", "iat": now, "exp": now + 60}))
                .unwrap();
            let claims = verify_jwt(
                &token,
                &[p["public_jwk"].clone()],
                None,
                "https://id.example.com",
                None,
                0,
            )
            .unwrap();
            assert_eq!(claims["sub"], "x");
            // Another key-encryption key cannot open it.
            assert!(KeyPair::unseal(alg, kid, &sealed, &Kek::generate().0).is_err());
        }
    }

    #[tokio::test]
    async fn rotating_an_unknown_algorithm_is_a_field_error() {
        let app = spawn_app().await;
        let (status, body) = app
            .post("/admin/v1/keys/rotate", json!({"alg": "HS256"}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(field_names(&body), vec!["alg"]);
    }
}

#[tokio::test]
async fn client_configuration_is_found_by_client_id_as_well_as_by_id() {
    let app = spawn_app().await;
    let (_, project) = app
        .admin(Method::POST, "/admin/v1/projects", Some(web_project()))
        .await;
    let id = project["id"].as_str().unwrap();
    let client_id = project["client_id"].as_str().unwrap();
    let (status, by_id) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/projects/{id}/client-configuration"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    let (status, by_client_id) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/projects/{client_id}/client-configuration"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_client_id}");
    assert_eq!(by_id, by_client_id);
    assert_eq!(by_id["project_id"], id);
    assert_eq!(by_id["client_id"], client_id);
    // The bootstrap admin's client_id is not generated; it is found too.
    let (status, admin) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/projects/{}/client-configuration", ADMIN.0),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{admin}");
    assert_eq!(admin["client_id"], ADMIN.0);
    for unknown in [
        "no-such-client",
        "00000000-0000-0000-0000-000000000000",
        "%2E%2E",
    ] {
        let (status, body) = app
            .admin(
                Method::GET,
                &format!("/admin/v1/projects/{unknown}/client-configuration"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
    }
    // Without admin credentials nothing is revealed, by either name.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/admin/v1/projects/{client_id}/client-configuration"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_web_projects_client_configuration_lists_every_endpoint_it_uses() {
    let app = spawn_app().await;
    let (_, project) = app
        .admin(Method::POST, "/admin/v1/projects", Some(web_project()))
        .await;
    let (status, config) = app
        .admin(
            Method::GET,
            &format!(
                "/admin/v1/projects/{}/client-configuration",
                project["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    for (field, url) in [
        ("issuer", "https://id.example.com"),
        (
            "discovery_url",
            "https://id.example.com/.well-known/openid-configuration",
        ),
        ("authorization_endpoint", "https://id.example.com/authorize"),
        ("token_endpoint", "https://id.example.com/token"),
        (
            "introspection_endpoint",
            "https://id.example.com/introspect",
        ),
        ("revocation_endpoint", "https://id.example.com/revoke"),
        ("userinfo_endpoint", "https://id.example.com/userinfo"),
        ("end_session_endpoint", "https://id.example.com/end_session"),
        ("jwks_uri", "https://id.example.com/jwks"),
    ] {
        assert_eq!(config[field], url, "{field}: {config}");
    }
    assert_eq!(config["client_type"], "confidential");
    assert_eq!(config["response_type"], "code");
    assert_eq!(
        config["redirect_uris"],
        json!(["https://shop.example.com/cb"])
    );
    assert_eq!(config["pkce"]["code_challenge_method"], "S256");
    assert_eq!(config["id_token_signed_response_alg"], "RS256");
    assert_eq!(config["login_methods"], json!(["password", "passkey"]));
    assert_eq!(config["mfa"], "optional");
    assert_eq!(config["default_acr_values"], json!([]));
    assert_eq!(
        config["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(
        config["refresh_token_lifetime_seconds"].is_u64(),
        "{config}"
    );
}

#[tokio::test]
async fn a_service_projects_client_configuration_leaves_out_the_browser_flow() {
    let app = spawn_app().await;
    let (status, svc) = app
        .post(
            "/admin/v1/projects",
            json!({"name": "Batch", "app_type": "service", "scopes": ["reports"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{svc}");
    let (status, config) = app
        .admin(
            Method::GET,
            &format!(
                "/admin/v1/projects/{}/client-configuration",
                svc["client_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    for field in [
        "issuer",
        "discovery_url",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "jwks_uri",
        "client_id",
        "token_endpoint_auth_method",
        "grant_types",
        "scopes",
    ] {
        assert!(config.get(field).is_some(), "{field} missing: {config}");
    }
    for field in [
        "authorization_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "response_type",
        "redirect_uris",
        "post_logout_redirect_uris",
        "pkce",
        "id_token_signed_response_alg",
        "login_methods",
        "mfa",
        "refresh_token_lifetime_seconds",
    ] {
        assert!(config.get(field).is_none(), "{field} present: {config}");
    }
    assert_eq!(config["grant_types"], json!(["client_credentials"]));
}

#[tokio::test]
async fn registered_projects_get_client_ids_that_never_start_with_a_hyphen() {
    // About 1 random base64url id in 64 started with `-`; 300 registrations
    // met one with a probability above 99 % before ids were built to start
    // with a letter (the unit tests of routes/projects.rs prove it for every
    // first byte).
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for i in 0..300 {
        let (status, body) = app
            .post(
                "/admin/v1/projects",
                json!({"name": format!("Batch {i}"), "app_type": "service"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let client_id = body["client_id"].as_str().unwrap().to_string();
        assert!(
            client_id.starts_with(|c: char| c.is_ascii_alphabetic()),
            "{client_id}"
        );
        assert!(seen.insert(client_id));
    }
}

#[tokio::test]
async fn only_service_projects_may_register_the_admin_scope() {
    let app = spawn_app().await;
    let before = app.head().await;
    for (app_type, redirect) in [
        ("web", "https://shop.example.com/cb"),
        ("spa", "https://shop.example.com/cb"),
        ("native", "com.example.app:/cb"),
    ] {
        let (status, body) = app
            .post(
                "/admin/v1/projects",
                json!({
                    "name": "App", "app_type": app_type,
                    "redirect_uris": [redirect],
                    "scopes": ["openid", "admin"]
                }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{app_type}: {body}");
        assert_eq!(field_names(&body), vec!["scopes[1]"], "{body}");
    }
    assert_eq!(app.head().await, before, "nothing was registered");
    let (_, web) = app
        .admin(Method::POST, "/admin/v1/projects", Some(web_project()))
        .await;
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/projects/{}", web["id"].as_str().unwrap()),
            Some(json!({"scopes": ["openid", "admin"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&body), vec!["scopes[1]"]);
}

#[tokio::test]
async fn wildcard_redirect_hosts_are_refused_at_registration() {
    let app = spawn_app().await;
    let before = app.head().await;
    let mut project = web_project();
    project["redirect_uris"] = json!(["https://*.example.com/cb"]);
    let (status, body) = app
        .admin(Method::POST, "/admin/v1/projects", Some(project))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&body), vec!["redirect_uris[0]"]);
    assert!(body.to_string().contains("wildcard"), "{body}");
    assert_eq!(app.head().await, before);
}

#[tokio::test]
async fn the_audit_log_never_shows_private_key_material() {
    let app = spawn_app().await;
    let (status, _) = app
        .admin(Method::POST, "/admin/v1/keys/rotate", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, events) = app
        .admin(Method::GET, "/admin/v1/events?after=0&limit=1000", None)
        .await;
    let generated: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains("sealed_private_key"))
        .collect();
    assert!(
        !generated.is_empty(),
        "the rotation generated keys: {events}"
    );
    for event in generated {
        let text = event.to_string();
        let sealed = text
            .split("\"sealed_private_key\":")
            .nth(1)
            .unwrap_or_default();
        assert!(sealed.starts_with("\"[redacted]\""), "{text}");
    }
}

#[tokio::test]
async fn a_key_rotation_needs_no_body() {
    let app = spawn_app().await;
    let (status, rotated) = app.admin(Method::POST, "/admin/v1/keys/rotate", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{rotated}");
    assert_eq!(
        rotated["items"].as_array().unwrap().len(),
        3,
        "one key per algorithm"
    );
}

#[tokio::test]
async fn the_admin_takes_its_time_from_the_injected_clock() {
    let mut app = spawn_app().await;
    let clock = Arc::new(inkan_clock::ManualClock::new());
    clock.advance(30 * 86_400);
    app.state.clock = clock.clone();
    let (status, created) = app.post("/admin/v1/projects", web_project()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let expected = time::OffsetDateTime::from_unix_timestamp(inkan_clock::Clock::now(&*clock))
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        created["created_at"],
        expected.as_str(),
        "event time is the clock's"
    );
}

#[tokio::test]
async fn passkeys_registered_over_grpc_are_listed_renamed_and_deleted_over_rest() {
    use inkan_admin::grpc::AdminGrpc;
    use inkan_proto::admin::v1::admin_internal_server::AdminInternal;
    use inkan_proto::admin::v1::{ListPasskeysRequest, RegisterPasskeyRequest};
    use tonic::Code;

    let app = spawn_app().await;
    let grpc = AdminGrpc::new(app.state.clone());
    let mut ids = Vec::new();
    for email in ["ada@example.com", "grace@example.com"] {
        let (status, created) = app
            .post("/admin/v1/identities", json!({ "email": email }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let register = |identity: &str, credential: &str| {
        tonic::Request::new(RegisterPasskeyRequest {
            identity_id: identity.into(),
            credential_id: credential.into(),
            name: "Laptop".into(),
            credential_json: r#"{"cred":{"counter":0}}"#.into(),
            backup_eligible: true,
        })
    };
    let reply = grpc
        .register_passkey(register(&ids[0], "Y3JlZC0x"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.passkeys.len(), 1);
    assert_eq!(
        reply.passkeys[0].credential_json,
        r#"{"cred":{"counter":0}}"#
    );

    // One credential id, one identity: not even another identity may hold it.
    for identity in [&ids[0], &ids[1]] {
        let refused = grpc
            .register_passkey(register(identity, "Y3JlZC0x"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
    }
    let bad = grpc
        .register_passkey(register(&ids[1], "not base64url!"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let unknown = grpc
        .register_passkey(register(&uuid::Uuid::new_v4().to_string(), "b3RoZXI"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let path = format!("/admin/v1/identities/{}/passkeys", ids[0]);
    let (status, listed) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["credential_id"], "Y3JlZC0x");
    assert_eq!(listed["items"][0]["name"], "Laptop");
    assert_eq!(listed["items"][0]["backup_eligible"], true);
    assert!(listed["items"][0]["registered_at"].is_string());
    assert!(listed["items"][0].get("credential").is_none());

    let one = format!("{path}/Y3JlZC0x");
    let (status, renamed) = app
        .admin(Method::PATCH, &one, Some(json!({"name": "Work laptop"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Work laptop");
    let (status, body) = app
        .admin(Method::PATCH, &one, Some(json!({"name": ""})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(field_names(&body), vec!["name"]);

    let (status, _) = app.admin(Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.admin(Method::DELETE, &one, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = grpc
        .list_passkeys(tonic::Request::new(ListPasskeysRequest {
            identity_id: ids[0].clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.passkeys.is_empty());
    // Removed, the credential id is free again.
    grpc.register_passkey(register(&ids[1], "Y3JlZC0x"))
        .await
        .unwrap();
    let (status, _) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/identities/{}/passkeys", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_one_time_code_is_checked_by_its_step_and_a_recovery_code_raced_by_two_admins_works_once()
{
    use inkan_admin::grpc::AdminGrpc;
    use inkan_proto::admin::v1::admin_internal_server::AdminInternal;
    use inkan_proto::admin::v1::verify_second_factor_reply::Outcome;
    use inkan_proto::admin::v1::{EnrolTotpRequest, GetIdentityRequest, VerifySecondFactorRequest};
    use tonic::Code;

    let store = SqliteEventStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let one = spawn_app_on(store.clone(), PasswordParams::fast_for_tests()).await;
    let (status, created) = one
        .post("/admin/v1/identities", json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let grpc = AdminGrpc::new(one.state.clone());

    let secret = inkan_otp::Secret::generate();
    let enrol = || {
        tonic::Request::new(EnrolTotpRequest {
            identity_id: id.clone(),
            secret: secret.as_bytes().to_vec(),
        })
    };
    let codes = grpc
        .enrol_totp(enrol())
        .await
        .unwrap()
        .into_inner()
        .recovery_codes;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        grpc.enrol_totp(enrol()).await.unwrap_err().code(),
        Code::AlreadyExists
    );
    let identity = grpc
        .get_identity(tonic::Request::new(GetIdentityRequest { id: id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(identity.identity.unwrap().totp);
    let (_, events) = one.admin(Method::GET, "/admin/v1/events", None).await;
    assert!(
        !events.to_string().contains(&codes[0]),
        "recovery codes are stored hashed"
    );

    async fn verify(
        grpc: &AdminGrpc,
        id: &str,
        code: String,
    ) -> inkan_proto::admin::v1::VerifySecondFactorReply {
        let request = tonic::Request::new(VerifySecondFactorRequest {
            identity_id: id.into(),
            code,
        });
        grpc.verify_second_factor(request)
            .await
            .unwrap()
            .into_inner()
    }
    let check = |grpc, code| verify(grpc, &id, code);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = check(&grpc, secret.code_at(now)).await;
    assert_eq!(good.outcome(), Outcome::Totp);
    assert_eq!(good.step, i64::try_from(now / 30).unwrap());
    assert_eq!(
        check(&grpc, secret.code_at(now - 300)).await.outcome(),
        Outcome::Rejected
    );

    // Two admin replicas on one log race one recovery code: one spends it.
    let other = AdminGrpc::new(AdminState::new(
        "https://id.example.com".into(),
        store.clone(),
        Kek::generate().0,
        KeyPolicy::default(),
        SecretHasher::new([7u8; 32]),
        PasswordHasher::new(PasswordParams::fast_for_tests()),
        15,
    ));
    let (a, b) = tokio::join!(
        check(&grpc, codes[0].clone()),
        check(&other, codes[0].clone())
    );
    let mut outcomes = [a.outcome(), b.outcome()];
    outcomes.sort_by_key(|o| *o as i32);
    assert_eq!(outcomes, [Outcome::Rejected, Outcome::RecoveryCode]);
    let spent = if a.outcome() == Outcome::RecoveryCode {
        a
    } else {
        b
    };
    assert_eq!(spent.recovery_codes_left, 9);
    assert_eq!(
        check(&grpc, codes[0].clone()).await.outcome(),
        Outcome::Rejected
    );

    // Removed by an admin: nothing to check any more.
    let (status, _) = one
        .admin(
            Method::DELETE,
            &format!("/admin/v1/identities/{id}/totp"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        check(&grpc, codes[1].clone()).await.outcome(),
        Outcome::NotEnrolled
    );
}
