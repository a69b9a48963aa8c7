//! Micro-benchmarks of token minting, per signing algorithm:
//! `cargo bench -p inkan-token`.
//!
//! Keys come from a key ring loaded the way the service loads it (sealed
//! keys unsealed and parsed once); one-time state goes to the embedded
//! [`MemoryKv`]. The bare signature each of these pays is `sign_raw/<alg>`
//! in `inkan-keys`.
//!
//! - `mint/access_token/<alg>`: [`mint::access_token`] with the claims of a
//!   client credentials grant (claims built, `jti` drawn, JWS signed);
//! - `mint/id_token/<alg>`: the ID-token half of a code grant: the
//!   identity's custom claims parsed, [`user_claims`] for
//!   `openid profile email` with compatibility names, `amr` and `rat`
//!   added, then [`mint::id_token`] (required claims, `at_hash`, signature),
//!   as `grants/issue.rs` does;
//! - `grant/client_credentials/<alg>`: the whole
//!   [`grants::client_credentials::grant`] after client authentication
//!   (scope, key ring snapshot, access token, response JSON);
//! - `grant/user_tokens/<alg>`: [`grants::issue::issue`], what a code or
//!   refresh grant mints: access token, ID token and a stored refresh token;
//! - `endpoint/client_credentials/<alg>`: `POST /token` through the axum
//!   router in-process (no socket): form extraction, client authentication
//!   against the test directory (a plain map, no keyed hash), the grant and
//!   the JSON response. What this adds over `grant/...` is the handler's
//!   own overhead; the HTTP server and the admin's read models are not in it.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use criterion::{criterion_group, criterion_main, Criterion};
use inkan_directory::typed::{Identity, Project};
use inkan_keys::signing::Algorithm;
use inkan_kv::MemoryKv;
use inkan_oauth::claims::user_claims;
use inkan_oauth::client_auth::basic_header;
use inkan_oauth::scope::Scopes;
use inkan_testkit::directory::{identity, project, FakeDirectory};
use inkan_token::grants::issue::{issue, UserGrant};
use inkan_token::mint::{self, AccessTokenClaims, IdTokenBase};
use inkan_token::{grants, router, TokenState};
use inkan_web::clock::SystemClock;
use serde_json::json;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const ISSUER: &str = "https://id.example.com";
const SECRET: &str = "3q2-Yb8rXc1LmN5vT0wQzK7pH4sJ9dF6gA2eR1uI8oE";

struct Fixture {
    state: TokenState,
    /// A `service` project per algorithm (client credentials).
    services: Vec<(Algorithm, Project)>,
    /// A `web` project per algorithm (code and refresh grants).
    webs: Vec<(Algorithm, Project)>,
    user: Identity,
}

fn fixture(rt: &Runtime) -> Fixture {
    let directory = Arc::new(FakeDirectory::new());
    let mut services = Vec::new();
    let mut webs = Vec::new();
    for alg in Algorithm::ALL {
        let mut service = project(&format!("svc-{alg}"), "service", &[]);
        service.id_token_signed_response_alg = alg.as_str().into();
        directory.add_project(service.clone(), Some(SECRET));
        services.push((alg, Project::try_from(service).expect("a typed project")));
        let mut web = project(
            &format!("web-{alg}"),
            "web",
            &["https://shop.example.com/callback"],
        );
        web.id_token_signed_response_alg = alg.as_str().into();
        directory.add_project(web.clone(), Some(SECRET));
        webs.push((alg, Project::try_from(web).expect("a typed project")));
    }
    let user = identity("ada@example.com");
    directory.add_identity(user.clone(), None);
    let keyring = rt.block_on(directory.keyring());
    Fixture {
        state: TokenState {
            core: inkan_web::ServiceCore {
                issuer: ISSUER.into(),
                directory,
                keyring,
                kv: Arc::new(MemoryKv::new()),
                clock: Arc::new(SystemClock),
                dpop: inkan_flows::dpop::DpopPolicy::default(),
            },
            client_rate_limit_per_minute: 0,
            client_keys: std::sync::Arc::new(
                inkan_token::client_keys::KeySets::new(inkan_egress::Policy::default()).unwrap(),
            ),
        },
        services,
        webs,
        user: Identity::try_from(user).expect("a typed identity"),
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn minting(c: &mut Criterion) {
    let rt = runtime();
    let f = fixture(&rt);
    let keys = f.state.keyring.current();
    let now = f.state.clock.now();
    let scope = Scopes::parse("openid profile email offline_access").expect("scope");
    let amr = vec!["pwd".to_string()];
    for (alg, service) in &f.services {
        let claims = AccessTokenClaims {
            issuer: ISSUER,
            subject: &service.client_id,
            client_id: &service.client_id,
            scope: "reports",
            lifetime_seconds: service.access_token_ttl_seconds,
            now,
            auth_time: None,
            family: None,
            jkt: None,
        };
        c.bench_function(&format!("mint/access_token/{alg}"), |b| {
            b.iter(|| mint::access_token(&keys, *alg, black_box(&claims)).expect("mint"))
        });
    }
    let access_token = mint::access_token(
        &keys,
        Algorithm::EdDSA,
        &AccessTokenClaims {
            issuer: ISSUER,
            subject: &f.user.id,
            client_id: "web",
            scope: &scope.to_string(),
            lifetime_seconds: 3600,
            now,
            auth_time: Some(now - 5),
            family: Some("family"),
            jkt: None,
        },
    )
    .expect("mint")
    .token;
    for (alg, web) in &f.webs {
        let user = &f.user;
        c.bench_function(&format!("mint/id_token/{alg}"), |b| {
            b.iter(|| {
                // As in `grants/issue.rs`.
                let facts = user.facts(web.custom_claims);
                let mut extra = user_claims(&facts, &scope, web.compat_claims);
                extra.insert("amr".into(), json!(amr));
                extra.insert("rat".into(), json!(now - 10));
                mint::id_token(
                    &keys,
                    *alg,
                    IdTokenBase {
                        issuer: ISSUER,
                        subject: &user.id,
                        client_id: &web.client_id,
                        now,
                        lifetime_seconds: web.id_token_ttl_seconds,
                        auth_time: now - 5,
                        nonce: Some("n-0S6_WzA2Mj"),
                        access_token: Some(black_box(&access_token)),
                    },
                    extra,
                )
                .expect("mint")
            })
        });
    }
}

fn grant_flows(c: &mut Criterion) {
    let rt = runtime();
    let f = fixture(&rt);
    let scope = Scopes::parse("openid profile email offline_access").expect("scope");
    let amr = vec!["pwd".to_string()];
    for (alg, service) in &f.services {
        c.bench_function(&format!("grant/client_credentials/{alg}"), |b| {
            b.to_async(&rt).iter(|| async {
                let body =
                    grants::client_credentials::grant(&f.state, black_box(service), None, None)
                        .await
                        .expect("grant");
                assert!(body["access_token"].is_string());
            })
        });
    }
    for (alg, web) in &f.webs {
        // Each sample stores its refresh tokens in a store of its own, so
        // the map does not grow across samples.
        c.bench_function(&format!("grant/user_tokens/{alg}"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let mut state = f.state.clone();
                state.core.kv = Arc::new(MemoryKv::new());
                let (scope, amr, user) = (&scope, &amr, &f.user);
                async move {
                    let now = state.clock.now();
                    let start = Instant::now();
                    for _ in 0..iters {
                        let body = issue(
                            &state,
                            UserGrant {
                                project: web,
                                identity: user,
                                scope,
                                auth_time: now - 5,
                                amr,
                                nonce: Some("n-0S6_WzA2Mj"),
                                requested_at: Some(now - 10),
                                family: "Zm9vYmFyYmF6cXV4",
                                generation: 0,
                                epoch: 0,
                                session: Some("c2Vzc2lvbi1oYW5kbGU"),
                                jkt: None,
                            },
                        )
                        .await
                        .expect("issue");
                        assert!(body["refresh_token"].is_string());
                    }
                    start.elapsed()
                }
            })
        });
    }

    let app = router(f.state.clone());
    for (alg, service) in &f.services {
        let authorization = basic_header(&service.client_id, SECRET);
        c.bench_function(&format!("endpoint/client_credentials/{alg}"), |b| {
            b.to_async(&rt).iter(|| async {
                let request = Request::post("/token")
                    .header(header::AUTHORIZATION, &authorization)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("grant_type=client_credentials"))
                    .expect("request");
                let response = app.clone().oneshot(request).await.expect("infallible");
                assert_eq!(response.status(), StatusCode::OK);
            })
        });
    }
}

criterion_group!(benches, minting, grant_flows);
criterion_main!(benches);
