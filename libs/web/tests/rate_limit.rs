//! The rate-limit middleware on a small router over the in-memory store.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use inkan_kv::MemoryKv;
use inkan_web::rate_limit::{RateLimitGroup, RateLimiter};
use tower::ServiceExt;

/// Routers composed the way `inkan serve` composes the services: each
/// declares its group; discovery's router declares none.
fn app(per_minute: u32, trusted: Option<&'static str>) -> Router {
    let limiter = RateLimiter {
        kv: Arc::new(MemoryKv::new()),
        per_minute,
        trusted_proxy_header: trusted.map(HeaderName::from_static),
    };
    let token = Router::new()
        .route("/token", post(|| async { "token" }))
        .route("/revoke", post(|| async { "revoked" }));
    let userinfo = Router::new().route("/userinfo", get(|| async { "me" }));
    let authorize = Router::new().route("/authorize", get(|| async { "form" }));
    let wellknown = Router::new().route("/jwks", get(|| async { "keys" }));
    Router::new()
        .merge(limiter.apply(RateLimitGroup::Token, token))
        .merge(limiter.apply(RateLimitGroup::Userinfo, userinfo))
        .merge(limiter.apply(RateLimitGroup::Browser, authorize))
        .merge(wellknown)
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    peer: &str,
) -> (StatusCode, Option<String>, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    send(app, request).await
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, retry, String::from_utf8(body.to_vec()).unwrap())
}

const PEER: &str = "192.0.2.1:40000";

#[tokio::test]
async fn the_request_after_the_limit_gets_429_with_retry_after_and_an_oauth_error() {
    let app = app(3, None);
    for _ in 0..3 {
        assert_eq!(call(&app, "POST", "/token", PEER).await.0, StatusCode::OK);
    }
    let (status, retry, body) = call(&app, "POST", "/token", PEER).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u32 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "temporarily_unavailable");
    // The token group shares one budget: /revoke is spent too.
    assert_eq!(
        call(&app, "POST", "/revoke", PEER).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn groups_and_addresses_have_separate_budgets_and_other_paths_are_not_limited() {
    let app = app(1, None);
    assert_eq!(call(&app, "POST", "/token", PEER).await.0, StatusCode::OK);
    assert_eq!(call(&app, "GET", "/userinfo", PEER).await.0, StatusCode::OK);
    assert_eq!(
        call(&app, "POST", "/token", "192.0.2.2:1").await.0,
        StatusCode::OK
    );
    for _ in 0..3 {
        assert_eq!(call(&app, "GET", "/jwks", PEER).await.0, StatusCode::OK);
    }
    let (status, _, body) = call(&app, "GET", "/userinfo", PEER).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body.contains("\"error\":\"temporarily_unavailable\""),
        "{body}"
    );
}

#[tokio::test]
async fn the_browser_endpoints_get_an_html_429_page() {
    let app = app(1, None);
    assert_eq!(
        call(&app, "GET", "/authorize", PEER).await.0,
        StatusCode::OK
    );
    let (status, retry, body) = call(&app, "GET", "/authorize", PEER).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    assert!(body.contains("<h1>Too many requests</h1>"), "{body}");
}

#[tokio::test]
async fn a_trusted_proxy_header_keys_the_limit_on_the_forwarded_address() {
    let app = app(1, Some("x-forwarded-for"));
    let forwarded = |client: &str| {
        let mut r = Request::builder()
            .method("POST")
            .uri("/token")
            .header("x-forwarded-for", format!("{client}, 10.0.0.1"))
            .body(Body::empty())
            .unwrap();
        r.extensions_mut()
            .insert(ConnectInfo("10.0.0.1:1".parse::<SocketAddr>().unwrap()));
        r
    };
    assert_eq!(send(&app, forwarded("203.0.113.1")).await.0, StatusCode::OK);
    assert_eq!(send(&app, forwarded("203.0.113.2")).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, forwarded("203.0.113.1")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_limit_of_zero_disables_rate_limiting() {
    let app = app(0, None);
    for _ in 0..5 {
        assert_eq!(call(&app, "POST", "/token", PEER).await.0, StatusCode::OK);
    }
}
