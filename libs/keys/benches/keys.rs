//! Micro-benchmarks of the cryptography on Inkan's hot paths:
//! `cargo bench -p inkan-keys`.
//!
//! - `sign_raw/<alg>`: one bare aws-lc-rs signature over a JWS signing input,
//!   with a key pair parsed once (the floor any token mint pays);
//! - `sign_jwt/<alg>`: [`SigningKey::sign_jwt`] on an RFC 9068 access
//!   token's claims (header and claims serialised, base64url, signed): the
//!   difference to `sign_raw` is the cost of our JWS assembly;
//! - `verify_raw/<alg>`: one bare aws-lc-rs signature verification;
//! - `verify_jwt/<alg>`: [`Verifier::verify`] with the options `/userinfo`
//!   and `/introspect` use (`typ`, `iss`, `aud`, leeway), against the
//!   three-key published set, as the key ring builds it;
//! - `client_secret/verify`: [`SecretHasher::verify`], the keyed-hash check
//!   of a presented client secret; `client_secret/hash` for comparison;
//! - `lookup_hash/sha256_b64` and `random/generate_token_16|32`: the hashes
//!   and random values every code, session, refresh token and `jti` needs;
//! - `password/verify_owasp`: one argon2id verification with the default
//!   parameters, the unavoidable cost of a password login.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use criterion::{criterion_group, criterion_main, Criterion};
use inkan_keys::signing::{Algorithm, SigningKey, Verifier, VerifyOptions};
use inkan_keys::{generate_secret, generate_token, sha256_b64, PasswordHasher, SecretHasher};
use serde_json::{json, Value};

const ISSUER: &str = "https://id.example.com";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The claims `inkan_token::mint::access_token` builds for a client
/// credentials grant.
fn access_claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "sub": "hG7cK2mQ9xT4vB1nW8pL3sD6",
        "aud": ISSUER,
        "client_id": "hG7cK2mQ9xT4vB1nW8pL3sD6",
        "scope": "reports",
        "iat": now,
        "exp": now + 3600,
        "jti": generate_token(16),
    })
}

/// A key pair parsed from the same PKCS#8 DER as a [`SigningKey`], signing
/// the way `SigningKey::sign` does, without any JWS around it.
enum RawKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl RawKey {
    fn parse(key: &SigningKey) -> RawKey {
        let der = key.pkcs8();
        match key.alg() {
            Algorithm::RS256 => RawKey::Rsa(RsaKeyPair::from_pkcs8(der).expect("RSA PKCS#8")),
            Algorithm::ES256 => RawKey::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .expect("P-256 PKCS#8"),
            ),
            Algorithm::EdDSA => {
                RawKey::Ed(Ed25519KeyPair::from_pkcs8(der).expect("Ed25519 PKCS#8"))
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            RawKey::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .expect("RSA signature");
                sig
            }
            RawKey::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .expect("ECDSA signature")
                .as_ref()
                .to_vec(),
            RawKey::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    fn public_key(&self) -> UnparsedPublicKey<Vec<u8>> {
        match self {
            RawKey::Rsa(pair) => UnparsedPublicKey::new(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public_key().as_ref().to_vec(),
            ),
            RawKey::Ec(pair) => UnparsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                pair.public_key().as_ref().to_vec(),
            ),
            RawKey::Ed(pair) => {
                UnparsedPublicKey::new(&signature::ED25519, pair.public_key().as_ref().to_vec())
            }
        }
    }
}

fn signing(c: &mut Criterion) {
    let keys: Vec<SigningKey> = Algorithm::ALL
        .into_iter()
        .map(|alg| SigningKey::generate(alg).expect("generate a key"))
        .collect();
    // The key ring's verifier holds every published key.
    let verifier = Verifier::new(&keys.iter().map(SigningKey::public_jwk).collect::<Vec<_>>());
    let mut options = VerifyOptions::new(ISSUER);
    options.expected_typ = Some("at+jwt");
    options.audience = Some(ISSUER);
    options.leeway_secs = 30;

    let claims = access_claims();
    for key in &keys {
        let alg = key.alg();
        let raw = RawKey::parse(key);
        let token = key.sign_jwt("at+jwt", &claims).expect("sign a token");
        let (signing_input, _) = token.rsplit_once('.').expect("three parts");
        let signing_input = signing_input.as_bytes().to_vec();
        let raw_signature = raw.sign(&signing_input);
        let public = raw.public_key();
        public
            .verify(&signing_input, &raw_signature)
            .expect("raw signature verifies");
        verifier.verify(&token, &options).expect("token verifies");

        c.bench_function(&format!("sign_raw/{alg}"), |b| {
            b.iter(|| raw.sign(black_box(&signing_input)))
        });
        c.bench_function(&format!("sign_jwt/{alg}"), |b| {
            b.iter(|| key.sign_jwt("at+jwt", black_box(&claims)))
        });
        c.bench_function(&format!("verify_raw/{alg}"), |b| {
            b.iter(|| public.verify(black_box(&signing_input), black_box(&raw_signature)))
        });
        c.bench_function(&format!("verify_jwt/{alg}"), |b| {
            b.iter(|| verifier.verify(black_box(&token), &options))
        });
    }
}

fn secrets(c: &mut Criterion) {
    let hasher = SecretHasher::new([7u8; 32]);
    let secret = generate_secret();
    let stored = hasher.hash(&secret);
    assert!(hasher.verify(&secret, &stored));
    c.bench_function("client_secret/verify", |b| {
        b.iter(|| hasher.verify(black_box(&secret), black_box(&stored)))
    });
    c.bench_function("client_secret/hash", |b| {
        b.iter(|| hasher.hash(black_box(&secret)))
    });

    let token = generate_token(32);
    c.bench_function("lookup_hash/sha256_b64", |b| {
        b.iter(|| sha256_b64(black_box(&token)))
    });
    c.bench_function("random/generate_token_16", |b| {
        b.iter(|| generate_token(black_box(16)))
    });
    c.bench_function("random/generate_token_32", |b| {
        b.iter(|| generate_token(black_box(32)))
    });
}

fn passwords(c: &mut Criterion) {
    let hasher = PasswordHasher::new(Default::default());
    let password = "correct horse battery staple";
    let phc = hasher.hash(password).expect("hash a password");
    assert!(hasher.verify(password, &phc));
    let mut group = c.benchmark_group("password");
    // Tens of milliseconds per verification: fewer samples keep the run short.
    group.sample_size(10);
    group.bench_function("verify_owasp", |b| {
        b.iter(|| hasher.verify(black_box(password), black_box(&phc)))
    });
    group.finish();
}

criterion_group!(benches, signing, secrets, passwords);
criterion_main!(benches);
