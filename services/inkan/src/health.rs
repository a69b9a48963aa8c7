//! `/healthz` and `/readyz`, served on the public listener and on the
//! operations listener (beside `/metrics`).
//!
//! - `/healthz`: the process is alive (no backend is asked).
//! - `/readyz`: every backend this role writes to answers and the process is
//!   not draining (503 from SIGTERM on, so load balancers stop sending
//!   traffic before the listener closes). The bus being down degrades caches
//!   to short lifetimes but does not make a process unready.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use inkan_directory::cache::CachedDirectory;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::backends::Backends;

/// What `/readyz` asks.
pub struct Health {
    pub backends: Backends,
    pub cache: Option<Arc<CachedDirectory>>,
    /// Cancelled on SIGTERM: the process is draining and wants no new traffic.
    pub draining: CancellationToken,
}

/// `/healthz`: the process is alive. `/readyz`: every backend this role uses
/// answers and the process is not shutting down.
pub fn router(health: Arc<Health>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .with_state(health)
}

async fn readyz(State(h): State<Arc<Health>>) -> (StatusCode, Json<serde_json::Value>) {
    if h.draining.is_cancelled() {
        // Shutting down: load balancers should stop sending traffic here.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining" })),
        );
    }
    let store = async {
        match &h.backends.store {
            Some(store) => store.ping().await.is_ok(),
            None => true,
        }
    };
    let (store, kv, bus) = tokio::join!(store, h.backends.kv.ping(), h.backends.bus.ping());
    let mut checks = json!({
        "key_value_store": kv.is_ok(),
        "event_bus": bus.is_ok(),
    });
    if h.backends.store.is_some() {
        checks["event_store"] = json!(store);
    }
    if let Some(cache) = &h.cache {
        checks["cache"] = cache.health();
    }
    // The bus being down degrades caches (shorter lifetimes) but does not make
    // the process unready; the stores it writes to do.
    let ready = store && kv.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "status": if ready { "ready" } else { "unready" }, "checks": checks })),
    )
}
