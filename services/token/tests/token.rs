//! The token, introspection and revocation endpoints driven through the
//! router, with codes issued the way the authorize service issues them.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request};
use base64::Engine;
use inkan_flows::code::{self, AuthorizationCode};
use inkan_kv::{KvStore, MemoryKv};
use inkan_oauth::pkce::s256_challenge;
use inkan_testkit::directory::{identity, project, FakeDirectory};
use inkan_token::{router, TokenState};
use inkan_web::clock::{Clock, ManualClock};
use serde_json::Value;
use tower::ServiceExt;

const ISSUER: &str = "https://id.example.com";
const WEB_SECRET: &str = "web-secret";
const CB: &str = "https://web.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0H8f4EI_uJjL1IVZgP4_bt5JwmL8oV";

struct App {
    state: TokenState,
    clock: Arc<ManualClock>,
    directory: Arc<FakeDirectory>,
    user: inkan_directory::Identity,
}

async fn app() -> App {
    let directory = Arc::new(FakeDirectory::new());
    let mut web = project("web", "web", &[CB]);
    web.id_token_signed_response_alg = "ES256".into();
    directory.add_project(web, Some(WEB_SECRET));
    directory.add_project(project("other", "web", &[CB]), Some("other-secret"));
    directory.add_project(project("spa", "spa", &[CB]), None);
    let user = identity("ada@example.com");
    directory.add_identity(user.clone(), Some("correct horse battery staple"));
    let clock = Arc::new(ManualClock::new());
    let state = TokenState {
        core: inkan_web::ServiceCore {
            issuer: ISSUER.into(),
            directory: directory.clone(),
            keyring: directory.keyring().await,
            kv: Arc::new(MemoryKv::new()),
            clock: clock.clone(),
            dpop: inkan_flows::dpop::DpopPolicy::default(),
        },
        client_rate_limit_per_minute: 0,
        client_keys: std::sync::Arc::new(
            inkan_token::client_keys::KeySets::new(inkan_egress::Policy::default()).unwrap(),
        ),
    };
    App {
        state,
        clock,
        directory,
        user,
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

impl App {
    async fn code(&self, client_id: &str, challenge: Option<&str>, nonce: Option<&str>) -> String {
        let now = self.clock.now();
        code::issue(
            self.state.kv.as_ref(),
            &AuthorizationCode {
                client_id: client_id.into(),
                redirect_uri: CB.into(),
                scope: "openid profile email offline_access".into(),
                nonce: nonce.map(str::to_string),
                code_challenge: challenge.map(str::to_string),
                identity_id: self.user.id.clone(),
                auth_time: now - 5,
                amr: vec!["pwd".into()],
                requested_at: now - 10,
                session: "s".into(),
                expires_at: now + 60,
                epoch: 0,
                dpop_jkt: None,
            },
        )
        .await
        .unwrap()
    }

    async fn post(&self, path: &str, auth: Option<String>, form: &[(&str, &str)]) -> (u16, Value) {
        let body = url_encode(form);
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(auth) = auth {
            req = req.header(header::AUTHORIZATION, auth);
        }
        let resp = router(self.state.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if path == "/token" {
            assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
        }
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn exchange(&self, code: &str, verifier: Option<&str>) -> (u16, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.post("/token", Some(basic("web", WEB_SECRET)), &form)
            .await
    }

    async fn refresh(&self, token: &str) -> (u16, Value) {
        self.post(
            "/token",
            Some(basic("web", WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    async fn introspect(&self, client: (&str, &str), token: &str) -> Value {
        self.post(
            "/introspect",
            Some(basic(client.0, client.1)),
            &[("token", token)],
        )
        .await
        .1
    }

    fn verify(&self, token: &str) -> Value {
        let header = jsonwebtoken::decode_header(token).unwrap();
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_slice(&self.state.keyring.current().jwks).unwrap();
        let key =
            jsonwebtoken::DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap())
                .unwrap();
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[ISSUER]);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .unwrap()
            .claims
    }
}

fn url_encode(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_code_exchange_returns_an_id_token_access_token_and_refresh_token() {
    let app = app().await;
    let code = app
        .code("web", Some(&s256_challenge(VERIFIER)), Some("n-0S6_WzA2Mj"))
        .await;
    let (status, body) = app.exchange(&code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].as_str().is_some());
    let id = app.verify(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], "web");
    assert_eq!(id["sub"], app.user.id.as_str());
    assert_eq!(id["user_id"], app.user.id.as_str());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["verified"], true);
    assert_eq!(id["given_name"], "Ada");
    assert_eq!(id["first_name"], "Ada");
    assert_eq!(id["tenant"], "acme");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["auth_time"], app.clock.now() - 5);
    assert_eq!(id["rat"], app.clock.now() - 10);
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(
        id["at_hash"],
        inkan_token::mint::half_hash(inkan_keys::signing::Algorithm::ES256, at)
    );
    let access = app.verify(at);
    assert_eq!(access["client_id"], "web");
    assert_eq!(access["scope"], "openid profile email offline_access");
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_the_tokens_it_produced() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (_, first) = app.exchange(&code, None).await;
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at).await["active"],
        true
    );

    let (status, body) = app.exchange(&code, None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at).await["active"],
        false
    );
    let (status, body) = app.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_missing_code_verifier_is_invalid_grant() {
    let app = app().await;
    let code = app.code("web", Some(&s256_challenge(VERIFIER)), None).await;
    assert_eq!(app.exchange(&code, None).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant() {
    let app = app().await;
    let code = app.code("web", Some(&s256_challenge(VERIFIER)), None).await;
    let wrong = "x".repeat(43);
    assert_eq!(
        app.exchange(&code, Some(&wrong)).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_code_verifier_without_a_challenge_is_a_refused_downgrade() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    assert_eq!(
        app.exchange(&code, Some(VERIFIER)).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorization_requests_is_invalid_grant() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (_, body) = app
        .post(
            "/token",
            Some(basic("web", WEB_SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://web.example.com/other"),
            ],
        )
        .await;
    assert_eq!(body["error"], "invalid_grant");
}

/// oidcc-codereuse-30seconds, with a test clock instead of a real wait: a
/// code presented again 30 seconds later fails and revokes its tokens.
#[tokio::test]
async fn oidcc_codereuse_30seconds() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (status, first) = app.exchange(&code, None).await;
    assert_eq!(status, 200);
    app.clock.advance(30);
    let (status, body) = app.exchange(&code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at).await["active"],
        false
    );
}

#[tokio::test]
async fn an_expired_code_or_one_issued_to_another_client_is_refused() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    app.clock.advance(61);
    assert_eq!(app.exchange(&code, None).await.1["error"], "invalid_grant");
    let code = app.code("other", None, None).await;
    assert_eq!(app.exchange(&code, None).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn a_public_client_redeems_with_pkce_and_no_secret() {
    let app = app().await;
    let code = app.code("spa", Some(&s256_challenge(VERIFIER)), None).await;
    let (status, body) = app
        .post(
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
                ("client_id", "spa"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A confidential client cannot skip its secret.
    let (status, body) = app
        .post(
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", CB),
                ("client_id", "web"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (_, first) = app.exchange(&code, None).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = app.refresh(r1).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    let at2 = second["access_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at2).await["active"],
        true
    );

    // Reusing the rotated token: refused, and everything of the family dies.
    let (status, body) = app.refresh(r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(app.refresh(r2).await.1["error"], "invalid_grant");
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at2).await["active"],
        false
    );
}

#[tokio::test]
async fn within_the_retry_window_a_lost_refresh_response_is_returned_again() {
    let app = app().await;
    let mut web = project("web", "web", &[CB]);
    web.refresh_token_retry_seconds = 30;
    app.directory.add_project(web, Some(WEB_SECRET));
    let code = app.code("web", None, None).await;
    let (_, first) = app.exchange(&code, None).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (_, a) = app.refresh(r1).await;
    app.clock.advance(5);
    let (status, b) = app.refresh(r1).await;
    assert_eq!(status, 200);
    assert_eq!(a, b, "the same response, not a second family member");
    app.clock.advance(30);
    assert_eq!(app.refresh(r1).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_may_narrow_but_not_widen_the_scope() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (_, first) = app.exchange(&code, None).await;
    let (status, narrowed) = app
        .post(
            "/token",
            Some(basic("web", WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first["refresh_token"].as_str().unwrap()),
                ("scope", "openid email"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], "openid email");
    let (status, body) = app
        .post(
            "/token",
            Some(basic("web", WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", narrowed["refresh_token"].as_str().unwrap()),
                ("scope", "openid admin"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn clients_can_only_introspect_and_revoke_their_own_tokens() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (_, tokens) = app.exchange(&code, None).await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let own = app.introspect(("web", WEB_SECRET), at).await;
    assert_eq!(own["active"], true);
    assert_eq!(own["sub"], app.user.id.as_str());
    assert_eq!(
        app.introspect(("web", WEB_SECRET), rt).await["token_type"],
        "refresh_token"
    );
    assert_eq!(
        app.introspect(("other", "other-secret"), at).await,
        serde_json::json!({"active": false})
    );

    // Another client's revocation changes nothing.
    let (status, _) = app
        .post(
            "/revoke",
            Some(basic("other", "other-secret")),
            &[("token", rt)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.introspect(("web", WEB_SECRET), rt).await["active"],
        true
    );

    // Revoking the refresh token also revokes the access tokens of its grant.
    let (status, _) = app
        .post("/revoke", Some(basic("web", WEB_SECRET)), &[("token", rt)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.introspect(("web", WEB_SECRET), rt).await["active"],
        false
    );
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at).await["active"],
        false
    );
    // Unknown tokens revoke "successfully" (RFC 7009 §2.2).
    assert_eq!(
        app.post(
            "/revoke",
            Some(basic("web", WEB_SECRET)),
            &[("token", "nonsense")]
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn a_revoked_access_token_reads_inactive() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    let (_, tokens) = app.exchange(&code, None).await;
    let at = tokens["access_token"].as_str().unwrap();
    app.post(
        "/revoke",
        Some(basic("web", WEB_SECRET)),
        &[("token", at), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(
        app.introspect(("web", WEB_SECRET), at).await["active"],
        false
    );
    // The refresh token of the same grant still works: only that access token was revoked.
    assert_eq!(
        app.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_deleted_user_cannot_redeem_a_code() {
    let app = app().await;
    let code = app.code("web", None, None).await;
    app.directory.remove_identity(&app.user.id);
    assert_eq!(app.exchange(&code, None).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn the_key_value_store_being_down_is_a_503_never_invalid_grant() {
    let mut app = app().await;
    let down = inkan_kv::RedisKv::connect("redis://127.0.0.1:1", "down:")
        .await
        .unwrap();
    app.state.core.kv = Arc::new(down) as Arc<dyn KvStore>;
    let (status, body) = app.refresh("some-refresh-token").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    let (status, body) = app.exchange("some-code", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
}

#[tokio::test]
async fn an_authenticated_client_over_its_rate_limit_gets_429_with_retry_after() {
    let mut app = app().await;
    app.state.client_rate_limit_per_minute = 3;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let code = app.code("web", None, None).await;
        statuses.push(app.exchange(&code, None).await.0);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    // Another client has its own budget.
    let code = app.code("other", None, None).await;
    let (status, _) = app
        .post(
            "/token",
            Some(basic("other", "other-secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
            ],
        )
        .await;
    assert_eq!(status, 200);
}

/// The per-address budget (from the rate-limit middleware) and the
/// per-client budget are counted together, once per request: with an
/// address budget of 3, exactly three requests pass.
#[tokio::test]
async fn address_and_client_budgets_are_counted_once_per_request() {
    let mut app = app().await;
    app.state.client_rate_limit_per_minute = 100;
    let limited = inkan_web::rate_limit::RateLimiter {
        kv: app.state.kv.clone(),
        per_minute: 3,
        trusted_proxy_header: None,
    }
    .apply(
        inkan_web::rate_limit::RateLimitGroup::Token,
        router(app.state.clone()),
    );
    let send = |body: String, auth: Option<String>| {
        let limited = limited.clone();
        async move {
            let mut req = Request::post("/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(auth) = auth {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let resp = limited
                .oneshot(req.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let retry = resp.headers().get(header::RETRY_AFTER).is_some();
            (status, retry)
        }
    };
    let cc = || url_encode(&[("grant_type", "client_credentials")]);
    // Two authenticated requests (the web client may not use
    // client_credentials: 400, but counted all the same), then one with a
    // wrong secret: all three are within the address budget.
    assert_eq!(send(cc(), Some(basic("web", WEB_SECRET))).await.0, 400);
    assert_eq!(send(cc(), Some(basic("web", WEB_SECRET))).await.0, 400);
    assert_eq!(send(cc(), Some(basic("web", "wrong"))).await.0, 401);
    // The fourth is over, right or wrong credentials.
    assert_eq!(
        send(cc(), Some(basic("web", WEB_SECRET))).await,
        (429, true)
    );
    assert_eq!(send(cc(), Some(basic("web", "wrong"))).await, (429, true));
    // A request rejected before client authentication (a repeated
    // parameter) is counted by the middleware afterwards: over the limit too.
    let repeated = "grant_type=client_credentials&grant_type=client_credentials".to_string();
    assert_eq!(
        send(repeated, Some(basic("web", WEB_SECRET))).await,
        (429, true)
    );
}

#[tokio::test]
async fn a_project_with_an_algorithm_this_version_does_not_know_gets_server_error_not_rs256() {
    let app = app().await;
    let mut svc = project("svc", "service", &[]);
    svc.id_token_signed_response_alg = "HS256".into();
    app.directory.add_project(svc, Some("svc-secret"));
    let (status, body) = app
        .post(
            "/token",
            Some(basic("svc", "svc-secret")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "server_error");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn token_introspect_and_revoke_authenticate_clients_the_same_way() {
    let app = app().await;
    for path in ["/token", "/introspect", "/revoke"] {
        let form = [("grant_type", "client_credentials"), ("token", "t")];
        // A wrong secret over Basic: 401 with a Basic challenge (RFC 6749 §5.2).
        let (status, body) = app.post(path, Some(basic("web", "wrong")), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{path}"
        );
        // No credentials at all.
        let (status, body) = app.post(path, None, &form).await;
        assert_eq!(body["error"], "invalid_client", "{path}: {status}");
        // A public client may not present a secret it does not have.
        let (status, body) = app.post(path, Some(basic("spa", "anything")), &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{path}"
        );
    }
}
