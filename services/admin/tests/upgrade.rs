//! The upgrade fixture: an embedded event store written by release 0.1.0
//! through the real admin write path (`tests/fixtures/release-0.1.0.db`, with
//! what went into it in `release-0.1.0.json`). Every later release must open
//! it unchanged: migrate, load the read models from its tables, rebuild them
//! from its log, and find the same projects, identities and keys.
//!
//! The fixture is never regenerated. When a release changes what is stored,
//! write that release's own fixture beside it and add a test for it:
//! `cargo test -p inkan-admin --test upgrade -- --ignored` writes
//! `release-<version>.db` and `.json` for the crate's current version, and
//! refuses to overwrite a fixture that exists.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use inkan_admin::projections::{rebuild, Projections};
use inkan_admin::{bootstrap, keys, router, AdminState, KeyPolicy};
use inkan_domain::project::AppType;
use inkan_domain::signing_key::KeyStatus;
use inkan_eventstore::{EventStore, SqliteEventStore};
use inkan_keys::kek::Kek;
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::SecretHasher;
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN: (&str, &str) = ("admin", "admin-secret-admin-secret-admin-secret");
/// The client-secret hashing key of the fixture's admin (a test value).
const SECRET_KEY: [u8; 32] = [7u8; 32];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn call(state: &AdminState, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, basic(ADMIN.0, ADMIN.1))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn created(state: &AdminState, path: &str, body: Value) -> Value {
    let (status, body) = call(state, Method::POST, path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body
}

/// Writes this release's fixture through the admin API: a project of each
/// app type (one updated, one with a rotated secret, one deleted),
/// identities with and without a password (one updated, one deleted), and
/// a key rotation (first keys, new keys, the old ones retired).
#[tokio::test]
#[ignore = "writes the upgrade fixture of the current release; run by hand when cutting one"]
async fn write_the_upgrade_fixture_of_this_release() {
    let version = env!("CARGO_PKG_VERSION");
    let db = fixtures().join(format!("release-{version}.db"));
    let manifest = fixtures().join(format!("release-{version}.json"));
    assert!(
        !db.exists() && !manifest.exists(),
        "{} exists: a release's fixture is never rewritten",
        db.display()
    );
    std::fs::create_dir_all(fixtures()).unwrap();
    let store = Arc::new(SqliteEventStore::open(&db).await.unwrap());
    store.migrate().await.unwrap();
    let state = AdminState::new(
        "https://id.example.com".into(),
        store.clone(),
        Kek::generate().0,
        KeyPolicy {
            activation_delay: std::time::Duration::ZERO,
            ..KeyPolicy::default()
        },
        SecretHasher::new(SECRET_KEY),
        PasswordHasher::new(PasswordParams::fast_for_tests()),
        15,
    );
    assert!(bootstrap::ensure_admin_client(&state, ADMIN.0, ADMIN.1)
        .await
        .unwrap());
    keys::ensure_initial_keys(&state).await.unwrap();

    let mut projects = Vec::new();
    for (name, app_type, redirect) in [
        ("Shop", "web", Some("https://shop.example.com/cb")),
        ("Dashboard", "spa", Some("https://app.example.com/callback")),
        ("Phone app", "native", Some("com.example.app:/callback")),
        ("Billing job", "service", None),
    ] {
        let mut input = json!({"name": name, "app_type": app_type});
        if let Some(uri) = redirect {
            input["redirect_uris"] = json!([uri]);
        }
        let p = created(&state, "/admin/v1/projects", input).await;
        projects.push(json!({
            "id": p["id"], "client_id": p["client_id"], "name": name,
            "app_type": app_type, "client_secret": p.get("client_secret").cloned().unwrap_or(Value::Null),
        }));
    }
    let shop = projects[0]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &state,
        Method::PATCH,
        &format!("/admin/v1/projects/{shop}"),
        json!({"custom_claims": false, "reject_unknown_scopes": true, "access_token_ttl_seconds": 900}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let billing = projects[3]["id"].as_str().unwrap().to_string();
    let (status, rotated) = call(
        &state,
        Method::POST,
        &format!("/admin/v1/projects/{billing}/secret"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    projects[3]["client_secret"] = rotated["client_secret"].clone();
    let gone = created(
        &state,
        "/admin/v1/projects",
        json!({"name": "Gone", "app_type": "spa", "redirect_uris": ["https://gone.example.com/cb"]}),
    )
    .await;
    let (status, _) = call(
        &state,
        Method::DELETE,
        &format!("/admin/v1/projects/{}", gone["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let ada = created(
        &state,
        "/admin/v1/identities",
        json!({"email": "Ada@Example.com", "password": "correct horse battery staple",
               "first_name": "Ada", "last_name": "Lovelace", "claims": {"tenant": "acme"}}),
    )
    .await;
    let (status, _) = call(
        &state,
        Method::PATCH,
        &format!("/admin/v1/identities/{}", ada["id"].as_str().unwrap()),
        json!({"email_verified": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let grace = created(
        &state,
        "/admin/v1/identities",
        json!({"email": "grace@example.com"}),
    )
    .await;
    let gone = created(
        &state,
        "/admin/v1/identities",
        json!({"email": "gone@example.com", "password": "a long enough password"}),
    )
    .await;
    let (status, _) = call(
        &state,
        Method::DELETE,
        &format!("/admin/v1/identities/{}", gone["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, body) = call(&state, Method::POST, "/admin/v1/keys/rotate", json!({})).await;
    assert!(status.is_success(), "{status}: {body}");
    keys::run_schedule(&state, state.clock.now_utc())
        .await
        .unwrap();
    state.projections.catch_up().await.unwrap();

    let manifest_body = json!({
        "admin": {"client_id": ADMIN.0, "client_secret": ADMIN.1},
        "projects": projects,
        "identities": [
            {"id": ada["id"], "email": "ada@example.com", "password": "correct horse battery staple"},
            {"id": grace["id"], "email": "grace@example.com", "password": null},
        ],
        "head": store.head().await.unwrap(),
        "signing_keys": state.projections.signing_keys().len(),
    });
    store.close().await;
    std::fs::write(
        &manifest,
        serde_json::to_string_pretty(&manifest_body).unwrap() + "\n",
    )
    .unwrap();
}

/// A copy of a fixture in a fresh temporary folder, opened and migrated.
async fn open_copy(name: &str) -> (tempfile::TempDir, Arc<dyn EventStore>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("events.db");
    std::fs::copy(fixtures().join(format!("{name}.db")), &copy).unwrap();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    let store = SqliteEventStore::open(&copy).await.unwrap();
    store.migrate().await.unwrap();
    (dir, Arc::new(store), manifest)
}

/// What the fixture's manifest says must be in it, checked against `projections`.
async fn assert_holds(projections: &Projections, manifest: &Value) {
    let secrets = SecretHasher::new(SECRET_KEY);
    let admin = projections
        .project_by_client_id(manifest["admin"]["client_id"].as_str().unwrap())
        .expect("the bootstrap admin client");
    assert!(secrets.verify(
        manifest["admin"]["client_secret"].as_str().unwrap(),
        admin.state.secret_hash.as_deref().unwrap()
    ));

    let listed = manifest["projects"].as_array().unwrap();
    // The admin client, the four listed; the deleted one is gone.
    assert_eq!(projections.projects().len(), listed.len() + 1);
    for p in listed {
        let client_id = p["client_id"].as_str().unwrap();
        let entry = projections
            .project_by_client_id(client_id)
            .unwrap_or_else(|| panic!("project {client_id} is missing"));
        assert_eq!(entry.state.id.to_string(), p["id"].as_str().unwrap());
        let settings = entry.state.settings.as_ref().unwrap();
        assert_eq!(settings.name, p["name"].as_str().unwrap());
        let app_type: AppType = serde_json::from_value(p["app_type"].clone()).unwrap();
        assert_eq!(settings.app_type, app_type);
        match p["client_secret"].as_str() {
            Some(secret) => assert!(
                secrets.verify(secret, entry.state.secret_hash.as_deref().unwrap()),
                "{client_id}'s secret no longer verifies"
            ),
            None => assert_eq!(entry.state.secret_hash, None),
        }
        if settings.name == "Shop" {
            assert!(!settings.custom_claims);
            assert!(settings.reject_unknown_scopes);
            assert_eq!(settings.access_token_ttl_seconds, 900);
            assert!(entry.version >= 2);
        } else {
            assert!(settings.custom_claims);
            assert!(!settings.reject_unknown_scopes);
        }
    }

    let passwords = PasswordHasher::new(PasswordParams::fast_for_tests());
    for i in manifest["identities"].as_array().unwrap() {
        let email = i["email"].as_str().unwrap();
        let entry = projections
            .identity_by_email(email)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("identity {email} is missing"));
        assert_eq!(entry.state.id.to_string(), i["id"].as_str().unwrap());
        match i["password"].as_str() {
            Some(password) => {
                assert!(passwords.verify(password, entry.state.password_hash.as_deref().unwrap()))
            }
            None => assert_eq!(entry.state.password_hash, None),
        }
    }
    let ada = projections
        .identity_by_email("ADA@example.com")
        .await
        .unwrap()
        .unwrap();
    let profile = ada.state.profile.unwrap();
    assert!(profile.email_verified);
    assert_eq!(profile.first_name.as_deref(), Some("Ada"));
    assert_eq!(profile.claims["tenant"], "acme");
    assert!(projections
        .identity_by_email("gone@example.com")
        .await
        .unwrap()
        .is_none());
    let (_, total) = projections.identities_page(0, 10).await.unwrap();
    assert_eq!(total, 2);

    let keys = projections.signing_keys();
    assert_eq!(
        keys.len() as u64,
        manifest["signing_keys"].as_u64().unwrap()
    );
    let count = |status| {
        keys.iter()
            .filter(|k| k.state.status == Some(status))
            .count()
    };
    // A rotation of every algorithm: the first keys retired, their successors active.
    assert_eq!(count(KeyStatus::Active), keys.len() / 2);
    assert_eq!(count(KeyStatus::Retired), keys.len() / 2);
    assert!(keys.iter().all(|k| k
        .state
        .key
        .as_ref()
        .is_some_and(|g| g.public_jwk["kid"] == g.kid.as_str())));
}

#[tokio::test]
async fn the_release_0_1_0_store_loads_unchanged_from_its_read_model_tables() {
    let (_dir, store, manifest) = open_copy("release-0.1.0").await;
    let projections = Projections::new(store.clone());
    let position = projections.catch_up().await.unwrap();
    assert_eq!(position, manifest["head"].as_i64().unwrap());
    assert_holds(&projections, &manifest).await;
}

#[tokio::test]
async fn the_release_0_1_0_store_rebuilds_its_read_models_from_its_log() {
    let (_dir, store, manifest) = open_copy("release-0.1.0").await;
    let report = rebuild(store.clone()).await.unwrap();
    assert_eq!(report.events, manifest["head"].as_i64().unwrap());
    let projections = Projections::new(store);
    projections.catch_up().await.unwrap();
    assert_holds(&projections, &manifest).await;
}
