//! Micro-benchmarks of the protocol steps the token and userinfo endpoints
//! run on every request: `cargo bench -p inkan-oauth`.
//!
//! - `params/parse_*`: [`Params::parse`] of a token request body, as the
//!   `OAuthParams` extractor does for every `POST /token`;
//! - `token_request/parse_*`: [`TokenRequest::parse`] of those parameters
//!   (the code grant's includes the `code_verifier` syntax check);
//! - `client_auth/extract_basic`: [`client_auth::extract`] of a
//!   `client_secret_basic` header next to the body (base64 and form
//!   decoding); the secret check itself is `client_secret/verify` in
//!   `inkan-keys`;
//! - `pkce/verify_s256`: [`pkce::verify_s256`], the code grant's PKCE check;
//! - `scope/parse`: [`Scopes::parse`] of a typical OpenID scope;
//! - `claims/user_claims_*`: [`user_claims`], the identity part of an ID
//!   token and of a `/userinfo` answer, for `openid` alone and for
//!   `openid profile email` with the compatibility names and a custom claim.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use inkan_oauth::claims::{user_claims, IdentityFacts};
use inkan_oauth::client_auth::{self, basic_header};
use inkan_oauth::params::Params;
use inkan_oauth::pkce;
use inkan_oauth::scope::Scopes;
use inkan_oauth::token_request::TokenRequest;
use serde_json::{json, Map, Value};

/// A 43-character verifier, as relying-party libraries generate them.
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0H8f4EI_uJjL1IVZgP4_bt5JwmL8";
const CODE: &str = "Q3x9kTfV2mLr8WzYpN4sHcJ6uB1gE7aD0oKqRtUvXy5";
const CLIENT_ID: &str = "hG7cK2mQ9xT4vB1nW8pL3sD6";
const CLIENT_SECRET: &str = "3q2-Yb8rXc1LmN5vT0wQzK7pH4sJ9dF6gA2eR1uI8oE";

fn client_credentials_body() -> String {
    "grant_type=client_credentials&scope=reports".to_owned()
}

fn code_body() -> String {
    format!(
        "grant_type=authorization_code&code={CODE}\
         &redirect_uri=https%3A%2F%2Fshop.example.com%2Fcallback&code_verifier={VERIFIER}"
    )
}

fn parsing(c: &mut Criterion) {
    let cc = client_credentials_body();
    let code = code_body();
    c.bench_function("params/parse_client_credentials", |b| {
        b.iter(|| Params::parse(black_box(cc.as_bytes())))
    });
    c.bench_function("params/parse_authorization_code", |b| {
        b.iter(|| Params::parse(black_box(code.as_bytes())))
    });

    let cc_params = Params::parse(cc.as_bytes()).expect("client credentials body");
    let code_params = Params::parse(code.as_bytes()).expect("code body");
    assert!(matches!(
        TokenRequest::parse(&code_params),
        Ok(TokenRequest::AuthorizationCode { .. })
    ));
    c.bench_function("token_request/parse_client_credentials", |b| {
        b.iter(|| TokenRequest::parse(black_box(&cc_params)))
    });
    c.bench_function("token_request/parse_authorization_code", |b| {
        b.iter(|| TokenRequest::parse(black_box(&code_params)))
    });

    let header = basic_header(CLIENT_ID, CLIENT_SECRET);
    let auth = client_auth::extract(Some(&header), &cc_params).expect("Basic credentials");
    assert_eq!(auth.secret(), Some(CLIENT_SECRET));
    c.bench_function("client_auth/extract_basic", |b| {
        b.iter(|| client_auth::extract(black_box(Some(header.as_str())), black_box(&cc_params)))
    });

    let challenge = pkce::s256_challenge(VERIFIER);
    assert!(pkce::verify_s256(VERIFIER, &challenge));
    c.bench_function("pkce/verify_s256", |b| {
        b.iter(|| pkce::verify_s256(black_box(VERIFIER), black_box(&challenge)))
    });

    c.bench_function("scope/parse", |b| {
        b.iter(|| Scopes::parse(black_box("openid profile email offline_access")))
    });
}

fn claims(c: &mut Criterion) {
    // As the token service reads them: the identity's custom claims arrive
    // as a JSON string and are parsed per request (see `grants/issue.rs`).
    let mut custom = Map::new();
    custom.insert("tenant".into(), json!("acme"));
    let facts = IdentityFacts {
        id: "0199a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b",
        email: "ada@example.com",
        email_verified: true,
        first_name: Some("Ada"),
        last_name: Some("Lovelace"),
        custom: Some(&custom),
    };
    let openid = Scopes::parse("openid").expect("scope");
    let full = Scopes::parse("openid profile email offline_access").expect("scope");
    assert_eq!(
        Value::Object(user_claims(&facts, &full, true))["name"],
        "Ada Lovelace"
    );
    c.bench_function("claims/user_claims_openid", |b| {
        b.iter(|| user_claims(black_box(&facts), black_box(&openid), false))
    });
    c.bench_function("claims/user_claims_profile_email_compat", |b| {
        b.iter(|| user_claims(black_box(&facts), black_box(&full), true))
    });
}

criterion_group!(benches, parsing, claims);
criterion_main!(benches);
