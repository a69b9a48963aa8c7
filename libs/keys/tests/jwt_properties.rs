//! Property tests for JWT validation: whatever an attacker changes in a
//! token — a byte anywhere, the algorithm, the key id, the times, the
//! audience or issuer — it no longer verifies.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use inkan_keys::signing::{Algorithm, SigningKey, Verifier, VerifyOptions};
use proptest::prelude::*;
use serde_json::{json, Value};

const ISS: &str = "https://id.example.com";
const NOW: i64 = 1_900_000_000;

fn keys() -> &'static Vec<SigningKey> {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|a| SigningKey::generate(*a).unwrap())
            .collect()
    })
}

fn verifier() -> Verifier {
    let jwks: Vec<Value> = keys().iter().map(|k| k.public_jwk()).collect();
    Verifier::new(&jwks)
}

fn options() -> VerifyOptions<'static> {
    let mut o = VerifyOptions::new(ISS);
    o.audience = Some("client");
    o
}

fn claims(exp: i64, nbf: i64, aud: &str, iss: &str) -> Value {
    json!({"iss": iss, "aud": aud, "sub": "u", "iat": NOW, "exp": exp, "nbf": nbf})
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn valid(key: usize) -> String {
    let t = now();
    keys()[key]
        .sign_jwt("JWT", &claims(t + 600, t - 10, "client", ISS))
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn a_token_verifies_only_unmodified(key in 0usize..3, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let token = valid(key);
        prop_assert!(verifier().verify(&token, &options()).is_ok());
        let mut bytes = token.clone().into_bytes();
        let i = position.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        // A changed byte may leave the decoded value intact only in base64 padding bits of the
        // last character; anything that still verifies must then decode to the same token.
        if let Ok(claims) = verifier().verify(&tampered, &options()) {
            let original = verifier().verify(&token, &options()).unwrap();
            prop_assert_eq!(claims, original);
        }
    }

    #[test]
    fn arbitrary_strings_never_verify(s in ".{0,400}") {
        prop_assert!(verifier().verify(&s, &options()).is_err());
    }

    #[test]
    fn any_header_algorithm_swap_is_refused(key in 0usize..3, alg in prop::sample::select(vec!["none", "None", "HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA", "PS256", "ES384"])) {
        let token = valid(key);
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
        prop_assume!(header["alg"] != alg);
        header["alg"] = json!(alg);
        parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
        prop_assert!(verifier().verify(&parts.join("."), &options()).is_err());
        // Also with the signature stripped, as "alg: none" tokens come.
        parts[2] = String::new();
        prop_assert!(verifier().verify(&parts.join("."), &options()).is_err());
    }

    #[test]
    fn wrong_times_audiences_and_issuers_are_refused(
        key in 0usize..3,
        expired_by in 31i64..100_000,
        early_by in 31i64..100_000,
        aud in "[a-z]{1,12}",
        iss in "https://[a-z]{1,12}\\.example",
    ) {
        let t = now();
        let k = &keys()[key];
        let expired = k.sign_jwt("JWT", &claims(t - expired_by, t - expired_by - 600, "client", ISS)).unwrap();
        prop_assert!(verifier().verify(&expired, &options()).is_err());
        let not_yet = k.sign_jwt("JWT", &claims(t + early_by + 600, t + early_by, "client", ISS)).unwrap();
        prop_assert!(verifier().verify(&not_yet, &options()).is_err());
        prop_assume!(aud != "client");
        let other_aud = k.sign_jwt("JWT", &claims(t + 600, t - 10, &aud, ISS)).unwrap();
        prop_assert!(verifier().verify(&other_aud, &options()).is_err());
        prop_assume!(iss != ISS);
        let other_iss = k.sign_jwt("JWT", &claims(t + 600, t - 10, "client", &iss)).unwrap();
        prop_assert!(verifier().verify(&other_iss, &options()).is_err());
    }

    #[test]
    fn an_unknown_key_id_is_refused(key in 0usize..3, kid in "[A-Za-z0-9_-]{1,43}") {
        let token = valid(key);
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
        prop_assume!(header["kid"] != kid);
        header["kid"] = json!(kid);
        parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
        prop_assert!(verifier().verify(&parts.join("."), &options()).is_err());
    }
}
