//! What the admin's router tests share: an admin on an embedded store with
//! the bootstrap client, and a request sent through its router (`oneshot`,
//! no server).

#![allow(dead_code)] // Each test binary uses its own part.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use inkan_admin::{bootstrap, router, AdminState, KeyPolicy};
use inkan_eventstore::{EventStore, SqliteEventStore};
use inkan_keys::kek::Kek;
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::SecretHasher;
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN: (&str, &str) = ("admin", "admin-secret-admin-secret-admin-secret");

/// A fresh in-memory SQLite event store.
pub async fn memory_store() -> Arc<dyn EventStore> {
    let store = SqliteEventStore::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

/// An admin on `store` whose password hasher uses `params`, with the
/// bootstrap client [`ADMIN`].
pub async fn admin_state(store: Arc<dyn EventStore>, params: PasswordParams) -> AdminState {
    let state = AdminState::new(
        "https://id.example.com".into(),
        store,
        Kek::generate().0,
        KeyPolicy::default(),
        SecretHasher::new([7u8; 32]),
        PasswordHasher::new(params),
        15,
    );
    assert!(bootstrap::ensure_admin_client(&state, ADMIN.0, ADMIN.1)
        .await
        .unwrap());
    state
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// Sends a request through the admin's router; the status and JSON body
/// (`null` when there is none).
pub async fn send(
    state: &AdminState,
    method: Method,
    path: &str,
    auth: Option<String>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(auth) = auth {
        req = req.header(header::AUTHORIZATION, auth);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
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
