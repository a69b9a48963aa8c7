//! Micro-benchmarks of the key-value state behind sessions, codes, refresh
//! tokens and access-token checks: `cargo bench -p inkan-flows`.
//!
//! Everything runs against the embedded [`MemoryKv`] (what `inkan serve`
//! uses without Redis), so the figures are the CPU cost of Inkan's own
//! work per operation; with Redis each store call adds a network round trip.
//!
//! - `encode/*`, `decode/*`: the JSON encoding of a stored session,
//!   authorization code and refresh token (`serde_json::to_vec` /
//!   `from_slice`, exactly what the crate's private `encode` / `decode` call);
//! - `kv_key/*`: deriving a store key from a secret value
//!   ([`session::handle`], [`code::family_of`]);
//! - `session/load`: [`session::load`] of a live session (hash, get,
//!   decode, re-encode, put renewing the idle lifetime): the `/authorize`
//!   lookup of a logged-in browser;
//! - `code/redeem`: [`code::redeem`] of a fresh code (marker, take, marker);
//! - `refresh/issue`, `refresh/redeem`, `refresh/peek`: a refresh token's
//!   store work at the code grant, the refresh grant and introspection;
//! - `access_check/<alg>`: [`access::check`] of an access token from a user
//!   grant (JWT verification, then the `jti` and family revocation lookups),
//!   what `/userinfo` and `/introspect` do per request;
//! - `rate_limit/hit`: one [`limits::hit`], the per-address or per-client
//!   counter (the token endpoint counts two per request when both are on).

use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use inkan_flows::code::{self, AuthorizationCode};
use inkan_flows::limits::{self, RateLimit};
use inkan_flows::refresh::{self, Redeemed, RefreshToken};
use inkan_flows::session::{self, Lifetimes, Session};
use inkan_flows::{access, code::family_of};
use inkan_keys::generate_token;
use inkan_keys::signing::{Algorithm, SigningKey, Verifier};
use inkan_kv::MemoryKv;
use serde_json::json;
use tokio::runtime::Runtime;

const ISSUER: &str = "https://id.example.com";
const IDENTITY: &str = "0199a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";
const CLIENT_ID: &str = "hG7cK2mQ9xT4vB1nW8pL3sD6";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn session_record(now: i64) -> Session {
    Session::new(IDENTITY, now, vec!["pwd".into()])
}

fn code_record(now: i64) -> AuthorizationCode {
    AuthorizationCode {
        client_id: CLIENT_ID.into(),
        redirect_uri: "https://shop.example.com/callback".into(),
        scope: "openid profile email offline_access".into(),
        nonce: Some(generate_token(16)),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        identity_id: IDENTITY.into(),
        auth_time: now - 5,
        amr: vec!["pwd".into()],
        requested_at: now - 10,
        session: generate_token(32),
        expires_at: now + code::TTL_SECONDS,
        epoch: 0,
        dpop_jkt: None,
    }
}

fn refresh_record(now: i64) -> RefreshToken {
    RefreshToken {
        family: family_of(&generate_token(32)),
        generation: 0,
        client_id: CLIENT_ID.into(),
        identity_id: IDENTITY.into(),
        scope: "openid profile email offline_access".into(),
        auth_time: now - 5,
        amr: vec!["pwd".into()],
        expires_at: now + 86_400,
        epoch: 0,
        session: None,
        jkt: None,
    }
}

fn encoding(c: &mut Criterion) {
    let now = now();
    let session = session_record(now);
    let code = code_record(now);
    let refresh = refresh_record(now);
    let session_bytes = serde_json::to_vec(&session).expect("encode");
    let code_bytes = serde_json::to_vec(&code).expect("encode");
    let refresh_bytes = serde_json::to_vec(&refresh).expect("encode");

    c.bench_function("encode/session", |b| {
        b.iter(|| serde_json::to_vec(black_box(&session)))
    });
    c.bench_function("decode/session", |b| {
        b.iter(|| serde_json::from_slice::<Session>(black_box(&session_bytes)))
    });
    c.bench_function("encode/code", |b| {
        b.iter(|| serde_json::to_vec(black_box(&code)))
    });
    c.bench_function("decode/code", |b| {
        b.iter(|| serde_json::from_slice::<AuthorizationCode>(black_box(&code_bytes)))
    });
    c.bench_function("encode/refresh", |b| {
        b.iter(|| serde_json::to_vec(black_box(&refresh)))
    });
    c.bench_function("decode/refresh", |b| {
        b.iter(|| serde_json::from_slice::<RefreshToken>(black_box(&refresh_bytes)))
    });

    let sid = generate_token(32);
    let code_value = generate_token(32);
    c.bench_function("kv_key/session_handle", |b| {
        b.iter(|| session::handle(black_box(&sid)))
    });
    c.bench_function("kv_key/code_family", |b| {
        b.iter(|| family_of(black_box(&code_value)))
    });
}

fn store(c: &mut Criterion) {
    let rt = runtime();
    let now = now();

    // A live session, loaded (and renewed) over and over: the store holds one key.
    let kv = MemoryKv::new();
    let lifetimes = Lifetimes::default();
    let sid = rt
        .block_on(session::create(&kv, &session_record(now), lifetimes))
        .expect("create a session");
    c.bench_function("session/load", |b| {
        b.to_async(&rt).iter(|| async {
            let found = session::load(&kv, black_box(&sid), now, lifetimes).await;
            assert!(matches!(found, Ok(Some(_))));
        })
    });

    // One-time values: each sample gets a fresh store holding exactly the
    // values it redeems, so the map does not grow across samples.
    c.bench_function("code/redeem", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let kv = MemoryKv::new();
            let mut codes = Vec::new();
            for _ in 0..iters {
                codes.push(
                    code::issue(&kv, &code_record(now))
                        .await
                        .expect("issue a code"),
                );
            }
            let start = Instant::now();
            for value in &codes {
                let redeemed = code::redeem(&kv, black_box(value)).await;
                assert!(matches!(redeemed, Ok(code::Redemption::Redeemed(_))));
            }
            start.elapsed()
        })
    });
    c.bench_function("refresh/issue", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let kv = MemoryKv::new();
            let record = refresh_record(now);
            let start = Instant::now();
            for _ in 0..iters {
                black_box(refresh::issue(&kv, &record, now).await.expect("issue"));
            }
            start.elapsed()
        })
    });
    c.bench_function("refresh/redeem", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let kv = MemoryKv::new();
            let record = refresh_record(now);
            let mut tokens = Vec::new();
            for _ in 0..iters {
                tokens.push(refresh::issue(&kv, &record, now).await.expect("issue"));
            }
            let start = Instant::now();
            for token in &tokens {
                let redeemed = refresh::redeem(&kv, black_box(token), now, 0, None).await;
                assert!(matches!(redeemed, Ok(Redeemed::Fresh(_))));
            }
            start.elapsed()
        })
    });
    let kv = MemoryKv::new();
    let token = rt
        .block_on(refresh::issue(&kv, &refresh_record(now), now))
        .expect("issue a refresh token");
    c.bench_function("refresh/peek", |b| {
        b.to_async(&rt).iter(|| async {
            let found = refresh::peek(&kv, black_box(&token), now).await;
            assert!(matches!(found, Ok(Some(_))));
        })
    });

    let limit = RateLimit {
        limit: u32::MAX,
        window_seconds: 60,
    };
    let key = format!("client:{}", inkan_keys::sha256_b64(CLIENT_ID));
    c.bench_function("rate_limit/hit", |b| {
        b.to_async(&rt).iter(|| async {
            let decision = limits::hit(&kv, black_box(&key), limit).await;
            assert!(matches!(decision, Ok(limits::Decision::Allowed)));
        })
    });
}

fn access_tokens(c: &mut Criterion) {
    let rt = runtime();
    let now = now();
    let keys: Vec<SigningKey> = Algorithm::ALL
        .into_iter()
        .map(|alg| SigningKey::generate(alg).expect("generate a key"))
        .collect();
    // The key ring's verifier holds every published key.
    let verifier = Verifier::new(&keys.iter().map(SigningKey::public_jwk).collect::<Vec<_>>());
    let kv = MemoryKv::new();
    for key in &keys {
        // The access token of a code or refresh grant (`inkan_token::mint`).
        let claims = json!({
            "iss": ISSUER,
            "sub": IDENTITY,
            "aud": ISSUER,
            "client_id": CLIENT_ID,
            "scope": "openid profile email offline_access",
            "iat": now,
            "exp": now + 3600,
            "jti": generate_token(16),
            "auth_time": now - 5,
            "fid": family_of(&generate_token(32)),
        });
        let token = key.sign_jwt("at+jwt", &claims).expect("sign");
        c.bench_function(&format!("access_check/{}", key.alg()), |b| {
            b.to_async(&rt).iter(|| async {
                let checked = access::check(&kv, &verifier, ISSUER, black_box(&token)).await;
                assert!(matches!(checked, Ok(Some(_))));
            })
        });
    }
}

criterion_group!(benches, encoding, store, access_tokens);
criterion_main!(benches);
