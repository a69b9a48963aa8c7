//! Hostile input at every public endpoint: each answer is a clean error —
//! valid JSON (OAuth endpoints) or HTML (pages) — with no stack trace, no
//! internal path, and no echo of a submitted secret; and the process lives on.

use serde_json::json;

use crate::provider::*;

const SECRET_MARKER: &str = "s3cr3t-value-that-must-never-be-echoed";

fn clean(status: u16, content_type: &str, body: &str) -> Result<(), String> {
    if status >= 500 && status != 503 {
        return Err(format!("server error {status}: {body}"));
    }
    for leak in [
        "panicked",
        "/src/",
        ".rs:",
        "RUST_BACKTRACE",
        "stack backtrace",
        SECRET_MARKER,
    ] {
        if body.contains(leak) {
            return Err(format!("the body leaks {leak:?}: {body}"));
        }
    }
    if content_type.starts_with("application/json")
        && serde_json::from_str::<serde_json::Value>(body).is_err()
    {
        return Err(format!("invalid JSON: {body}"));
    }
    Ok(())
}

#[tokio::test]
async fn hostile_requests_get_clean_errors_and_never_an_echo_of_a_secret() {
    let p = Provider::start(Backend::Embedded).await;
    let rp = p.web_rp(json!({})).await;
    let huge = "x".repeat(100_000);
    let bad_utf8 = "%FF%FE%FD";
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // (method, path, body as ("form" or JSON, text), headers)
    type Case<'a> = (
        reqwest::Method,
        String,
        Option<(&'a str, String)>,
        Vec<(&'a str, String)>,
    );
    let cases: Vec<Case> = vec![
        (
            reqwest::Method::POST,
            "/token".into(),
            None,
            vec![("content-type", "application/x-www-form-urlencoded".into())],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            Some((
                "form",
                format!("grant_type=password&username=a&password={SECRET_MARKER}"),
            )),
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            Some((
                "form",
                format!(
                    "grant_type=client_credentials&client_id={}&client_secret={SECRET_MARKER}",
                    rp.client_id
                ),
            )),
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            Some(("form", "grant_type=authorization_code&code=a&code=b".into())),
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            Some(("form", format!("grant_type={huge}"))),
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            Some(("form", format!("grant_type=x&{bad_utf8}={bad_utf8}"))),
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            Some(("json", "{\"grant_type\": ".into())),
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            None,
            vec![("authorization", "Basic !!!not-base64!!!".into())],
        ),
        (
            reqwest::Method::POST,
            "/token".into(),
            None,
            vec![("authorization", format!("Basic {}", "QQ".repeat(5000)))],
        ),
        (
            reqwest::Method::POST,
            "/introspect".into(),
            Some(("form", format!("token={SECRET_MARKER}"))),
            vec![("authorization", "Basic Zm9vOmJhcg==".into())],
        ),
        (
            reqwest::Method::POST,
            "/revoke".into(),
            Some(("form", format!("token={SECRET_MARKER}"))),
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/userinfo".into(),
            None,
            vec![("authorization", format!("Bearer {SECRET_MARKER}"))],
        ),
        (
            reqwest::Method::POST,
            "/userinfo".into(),
            Some((
                "form",
                format!("access_token={SECRET_MARKER}&access_token=x"),
            )),
            vec![],
        ),
        (
            reqwest::Method::GET,
            format!("/authorize?client_id={}&client_id=x", rp.client_id),
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            format!("/authorize?client_id={bad_utf8}&redirect_uri={bad_utf8}"),
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            format!("/authorize?client_id={}", &huge[..20_000]),
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/authorize".into(),
            None,
            vec![(
                "cookie",
                format!("inkan_session={SECRET_MARKER}; inkan_login=%%%;;==; =x"),
            )],
        ),
        (
            reqwest::Method::POST,
            "/login".into(),
            Some((
                "form",
                format!("authz=nope&csrf=nope&email=a@example.com&password={SECRET_MARKER}"),
            )),
            vec![],
        ),
        (
            reqwest::Method::GET,
            format!("/end_session?id_token_hint={SECRET_MARKER}.{SECRET_MARKER}.x"),
            None,
            vec![],
        ),
        (
            reqwest::Method::GET,
            "/end_session?id_token_hint=%%%".into(),
            None,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/admin/v1/projects".into(),
            Some(("json", "{\"name\": [1, 2".into())),
            vec![(
                "authorization",
                inkan_oauth::client_auth::basic_header("inkan-admin", SECRET_MARKER),
            )],
        ),
        (
            reqwest::Method::GET,
            "/admin/v1/projects/../../etc/passwd".into(),
            None,
            vec![],
        ),
    ];
    for (method, path, body, headers) in cases {
        let mut req = http.request(method.clone(), p.url(&path));
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        req = match body {
            Some(("form", b)) => req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b),
            Some((_, b)) => req.header("content-type", "application/json").body(b),
            None => req,
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        let text = resp.text().await.unwrap_or_default();
        if let Err(e) = clean(status, &content_type, &text) {
            panic!("{method} {}: {e}", &path[..path.len().min(80)]);
        }
    }
    // Still alive and well.
    assert_eq!(reqwest::get(p.url("/healthz")).await.unwrap().status(), 200);
    p.stop().await;
}

#[tokio::test]
async fn a_brute_force_run_is_throttled_and_the_owner_can_log_in_once_the_lock_passes() {
    let p = Provider::start(Backend::Real).await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let params = code_params(&rp, &ch, "openid");
    let attacker = Agent::new();
    for _ in 0..8 {
        let page = attacker.authorize(&p, &params).await.text().await.unwrap();
        let resp = attacker
            .login(&p, &page, "ada@example.com", "wrong password guess")
            .await;
        assert_ne!(resp.status(), 303, "a wrong password never signs in");
    }
    // Locked now: even the right password gets the generic failure page.
    let owner = Agent::new();
    let page = owner.authorize(&p, &params).await.text().await.unwrap();
    let resp = owner.login(&p, &page, "ada@example.com", PASSWORD).await;
    assert_ne!(resp.status(), 303, "the account is temporarily locked");
    // The lock is temporary: the owner gets in once it passes. Poll gently
    // (well under the per-address rate limit), for at most 30 seconds.
    let mut signed_in = false;
    for _ in 0..120 {
        let page = owner.authorize(&p, &params).await.text().await.unwrap();
        if owner
            .login(&p, &page, "ada@example.com", PASSWORD)
            .await
            .status()
            == 303
        {
            signed_in = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(signed_in, "the owner can log in after the lock");
    p.stop().await;
}

#[tokio::test]
async fn a_flood_at_the_token_endpoint_is_limited_without_starving_other_clients() {
    let p = Provider::start_with(
        Backend::Embedded,
        &[
            ("INKAN_RATE_LIMIT_PER_MINUTE", "20"),
            ("INKAN_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
        ],
    )
    .await;
    let (_, svc) = p
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Batch", "app_type": "service", "scopes": ["reports"]})),
        )
        .await;
    let (id, secret) = (
        svc["client_id"].as_str().unwrap(),
        svc["client_secret"].as_str().unwrap(),
    );
    let http = reqwest::Client::new();
    let call = |from: &'static str| {
        http.post(p.url("/token"))
            .header("x-forwarded-for", from)
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let mut limited = None;
    for _ in 0..40 {
        let resp = call("203.0.113.7").await.unwrap();
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("the flood is limited");
    assert!(resp.headers().get("retry-after").is_some());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().is_some(),
        "an OAuth error body: {body}"
    );
    // Another client, from another address, is served.
    assert_eq!(call("198.51.100.9").await.unwrap().status(), 200);
    p.stop().await;
}
