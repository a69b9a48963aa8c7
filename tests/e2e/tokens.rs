//! Discovery, JWKS and the client credentials grant, checked the way a
//! relying party or resource server would: over HTTP, verifying signatures
//! with an independent JOSE library against the published JWKS.

use serde_json::{json, Value};

use crate::helpers::{Inkan, Options, ADMIN_ID, ADMIN_SECRET};

fn start() -> (Inkan, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inkan = Inkan::start(&Options {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    (inkan, dir)
}

async fn post_token(
    inkan: &Inkan,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/token", inkan.base))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

/// Verifies a JWT with `jsonwebtoken` against the provider's JWKS.
async fn verify(inkan: &Inkan, token: &str) -> (jsonwebtoken::Header, Value) {
    crate::provider::verify_at(&inkan.base, token, &inkan.base).await
}

#[tokio::test]
async fn discovery_lists_every_endpoint_under_the_issuer() {
    let (inkan, _dir) = start();
    let resp = reqwest::get(format!("{}/.well-known/openid-configuration", inkan.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    // The binary's issuer defaults to http://127.0.0.1:8080 while tests bind port 0.
    let issuer = doc["issuer"].as_str().unwrap().to_string();
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/end_session"),
    ] {
        assert_eq!(doc[field], format!("{issuer}{path}"), "{field}");
    }
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

fn start_with_issuer() -> (Inkan, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (inkan, _) = Inkan::start_on_free_port(&Options {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    (inkan, dir)
}

#[tokio::test]
async fn jwks_publishes_one_key_per_algorithm() {
    let (inkan, _dir) = start();
    let jwks: Value = reqwest::get(format!("{}/jwks", inkan.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    algs.sort();
    assert_eq!(algs, vec!["ES256", "EdDSA", "RS256"]);
    assert!(
        jwks.to_string().find("\"d\"").is_none(),
        "no private parameters"
    );
}

#[tokio::test]
async fn client_credentials_yield_an_rfc9068_access_token_the_jwks_verifies() {
    let (inkan, _dir) = start_with_issuer();
    let admin = inkan.admin();
    let (status, svc) = admin
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Reports", "app_type": "service", "scopes": ["reports:read", "reports:write"], "id_token_signed_response_alg": "ES256"})),
        )
        .await;
    assert_eq!(status, 201, "{svc}");
    let id = svc["client_id"].as_str().unwrap();
    let secret = svc["client_secret"].as_str().unwrap();

    let (status, headers, body) = post_token(
        &inkan,
        Some((id, secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "reports:read");
    assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    let (header, claims) = verify(&inkan, body["access_token"].as_str().unwrap()).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["scope"], "reports:read");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));

    // client_secret_post works too; no scope means the registered scopes.
    let (status, _, body) = post_token(
        &inkan,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "reports:read reports:write");
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749() {
    let (inkan, _dir) = start();
    let (status, headers, body) = post_token(
        &inkan,
        Some((ADMIN_ID, "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));

    let (status, _, body) = post_token(
        &inkan,
        Some((ADMIN_ID, ADMIN_SECRET)),
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");

    let (status, _, body) = post_token(
        &inkan,
        Some((ADMIN_ID, ADMIN_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");

    let (status, _, body) = post_token(
        &inkan,
        Some((ADMIN_ID, ADMIN_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");

    let resp = reqwest::Client::new()
        .post(format!("{}/token", inkan.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn the_admin_api_accepts_an_admin_scoped_bearer_token() {
    let (inkan, _dir) = start_with_issuer();
    let (status, _, body) = post_token(
        &inkan,
        Some((ADMIN_ID, ADMIN_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/admin/v1/projects", inkan.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A token from a client without the admin scope is refused.
    let (_, svc) = inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Batch", "app_type": "service", "scopes": ["reports"]})),
        )
        .await;
    let (_, _, body) = post_token(
        &inkan,
        Some((
            svc["client_id"].as_str().unwrap(),
            svc["client_secret"].as_str().unwrap(),
        )),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let resp = http
        .get(format!("{}/admin/v1/projects", inkan.base))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // A forged or tampered token is not.
    let mut forged = token.to_string();
    forged.push('x');
    let resp = http
        .get(format!("{}/admin/v1/projects", inkan.base))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_tokens_by_grant_type() {
    let (inkan, _dir) = start_with_issuer();
    let (status, _, _) = post_token(
        &inkan,
        Some((ADMIN_ID, ADMIN_SECRET)),
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(status, 200);
    // Metrics are on the operations listener, not the public port.
    let resp = reqwest::get(format!("{}/metrics", inkan.metrics))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/token\"")
            && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("inkan_tokens_issued_total{")
                && l.contains("grant_type=\"client_credentials\"")),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
}
