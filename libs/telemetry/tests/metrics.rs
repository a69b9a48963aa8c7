//! `/metrics` shows HTTP traffic per route template and the domain counters.
//!
//! The registry is process-wide and tests run in parallel, so each test uses
//! routes and label values of its own, or compares a counter before and
//! after.

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{header, Request, StatusCode};
use inkan_telemetry::metrics::{
    cache_lookup, event_lag, login_attempt, refresh_reuse_detected, render, tokens_issued,
};
use inkan_telemetry::{metrics_layer, metrics_router};
use tower::ServiceExt;

/// The value of the sample `name` whose labels include every one of `labels`
/// (`key="value"` pairs), if present.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(series, _)| {
            let (metric, label_set) = series.split_once('{').unwrap_or((series, ""));
            metric == name && labels.iter().all(|l| label_set.contains(l))
        })
        .map(|(_, value)| value.parse().expect("a numeric sample"))
}

async fn get_text(app: &Router, uri: &str) -> (StatusCode, Option<String>, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().expect("ASCII").to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

#[tokio::test]
async fn a_routed_request_is_counted_under_its_route_template_and_status() {
    let app = Router::new()
        .route(
            "/metrics-test/widgets/{id}",
            get(|| async { StatusCode::CREATED }),
        )
        .layer(metrics_layer())
        .merge(metrics_router());

    let (status, _, _) = get_text(&app, "/metrics-test/widgets/42?token=secret").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, content_type, body) = get_text(&app, "/metrics").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4"));
    let route = r#"route="/metrics-test/widgets/{id}""#;
    assert_eq!(
        sample(
            &body,
            "http_requests_total",
            &[route, r#"method="GET""#, r#"status="201""#]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "http_request_duration_seconds_count",
            &[route, r#"method="GET""#]
        ),
        Some(1.0),
        "{body}"
    );
    assert!(
        !body.contains("/metrics-test/widgets/42"),
        "raw path leaked"
    );
    assert!(!body.contains("secret"), "query string leaked");
}

#[tokio::test]
async fn an_unrouted_request_is_counted_as_unmatched() {
    let app = Router::new()
        .route("/metrics-test/known", get(|| async { "ok" }))
        .layer(metrics_layer());
    let labels = [r#"route="unmatched""#, r#"method="GET""#, r#"status="404""#];
    let before = sample(&render(), "http_requests_total", &labels).unwrap_or(0.0);

    let (status, _, _) = get_text(&app, "/metrics-test/random-4711").await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = render();
    let after = sample(&text, "http_requests_total", &labels).unwrap_or(0.0);
    assert!(after >= before + 1.0, "{before} -> {after}");
    assert!(!text.contains("random-4711"));
}

#[test]
fn helper_counters_appear_after_being_called() {
    let before = render();
    let value = |text: &str, name: &str, labels: &[&str]| sample(text, name, labels).unwrap_or(0.0);

    tokens_issued("client_credentials");
    login_attempt(true);
    login_attempt(false);
    login_attempt(false);
    refresh_reuse_detected();
    cache_lookup("metrics_test_cache", true);
    cache_lookup("metrics_test_cache", false);
    cache_lookup("metrics_test_cache", false);
    event_lag(7);

    let after = render();
    let grew = |name: &str, labels: &[&str], by: f64| {
        let (b, a) = (value(&before, name, labels), value(&after, name, labels));
        assert!(a >= b + by, "{name}{labels:?}: {b} -> {a}\n{after}");
    };
    grew(
        "inkan_tokens_issued_total",
        &[r#"grant_type="client_credentials""#],
        1.0,
    );
    grew("inkan_login_attempts_total", &[r#"outcome="success""#], 1.0);
    grew("inkan_login_attempts_total", &[r#"outcome="failure""#], 2.0);
    grew("inkan_refresh_token_reuse_detected_total", &[], 1.0);
    assert_eq!(
        sample(
            &after,
            "inkan_cache_lookups_total",
            &[r#"cache="metrics_test_cache""#, r#"result="hit""#]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &after,
            "inkan_cache_lookups_total",
            &[r#"cache="metrics_test_cache""#, r#"result="miss""#]
        ),
        Some(2.0)
    );
    assert_eq!(sample(&after, "inkan_event_lag_positions", &[]), Some(7.0));
}
