//! JWS signing keys, hand-assembled JWTs, and verification through
//! `jsonwebtoken`. Forged tokens are produced with `jsonwebtoken::encode`
//! (or by hand) so the attacks do not depend on this crate's signer.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use inkan_keys::{
    jwk_thumbprint, verify_jwt, Algorithm, Kek, KeyError, SigningKey, Verifier, VerifyOptions,
};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

const ISS: &str = "https://id.example.test";
const AUD: &str = "client-1";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "user-42",
        "aud": AUD,
        "iat": now(),
        "exp": now() + 300,
        "nonce": "n-0S6_WzA2Mj",
    })
}

fn keys() -> Vec<SigningKey> {
    Algorithm::ALL
        .into_iter()
        .map(|alg| SigningKey::generate(alg).unwrap())
        .collect()
}

fn verify(token: &str, key: &SigningKey) -> Result<Value, KeyError> {
    verify_jwt(token, &[key.public_jwk()], Some("JWT"), ISS, Some(AUD), 0)
}

fn pkcs8_pem(key: &SigningKey) -> String {
    let body = STANDARD.encode(key.pkcs8());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The same private key as a `jsonwebtoken` encoding key.
fn encoding_key(key: &SigningKey) -> EncodingKey {
    match key.alg() {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pkcs8_pem(key).as_bytes()).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_der(key.pkcs8()),
        Algorithm::EdDSA => EncodingKey::from_ed_der(key.pkcs8()),
    }
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    alg.as_str().parse().unwrap()
}

/// Signs `claims` with `signer` via `jsonwebtoken`, claiming `kid`/`alg`.
fn forge(signer: &SigningKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(jwt_alg(signer.alg()));
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding_key(signer)).unwrap()
}

fn b64json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

// --- happy path -------------------------------------------------------------

#[test]
fn every_algorithm_signs_a_jwt_that_verifies_with_its_public_jwk_and_returns_the_claims() {
    for key in keys() {
        let claims = claims();
        let token = key.sign_jwt("JWT", &claims).unwrap();
        assert_eq!(verify(&token, &key).unwrap(), claims, "{}", key.alg());
    }
}

#[test]
fn the_header_carries_alg_typ_and_kid() {
    for key in keys() {
        let token = key.sign_jwt("at+jwt", &claims()).unwrap();
        let header = decode_part(token.split('.').next().unwrap());
        assert_eq!(
            header,
            json!({"alg": key.alg().as_str(), "typ": "at+jwt", "kid": key.kid()})
        );
    }
}

#[test]
fn tokens_verify_against_a_set_holding_several_keys() {
    let keys = keys();
    let jwks: Vec<Value> = keys.iter().map(SigningKey::public_jwk).collect();
    let verifier = Verifier::new(&jwks);
    assert_eq!(verifier.len(), 3);
    let mut options = VerifyOptions::new(ISS);
    options.audience = Some(AUD);
    for key in &keys {
        let token = key.sign_jwt("JWT", &claims()).unwrap();
        assert!(verifier.verify(&token, &options).is_ok(), "{}", key.alg());
    }
}

#[test]
fn the_public_jwk_has_the_expected_members_per_key_type() {
    for key in keys() {
        let jwk = key.public_jwk();
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["alg"], key.alg().as_str());
        assert_eq!(jwk["use"], "sig");
        let mut members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        let expected: &[&str] = match key.alg() {
            Algorithm::RS256 => &["alg", "e", "kid", "kty", "n", "use"],
            Algorithm::ES256 => &["alg", "crv", "kid", "kty", "use", "x", "y"],
            Algorithm::EdDSA => &["alg", "crv", "kid", "kty", "use", "x"],
        };
        assert_eq!(members, expected);
        match key.alg() {
            Algorithm::RS256 => {
                assert_eq!(jwk["kty"], "RSA");
                assert_eq!(jwk["e"], "AQAB");
                let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
                assert_eq!(n.len(), 256, "2048-bit modulus without leading zero");
            }
            Algorithm::ES256 => {
                assert_eq!(jwk["kty"], "EC");
                assert_eq!(jwk["crv"], "P-256");
            }
            Algorithm::EdDSA => {
                assert_eq!(jwk["kty"], "OKP");
                assert_eq!(jwk["crv"], "Ed25519");
            }
        }
    }
}

#[test]
fn the_kid_is_the_rfc7638_thumbprint_as_computed_by_jsonwebtoken() {
    for key in keys() {
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
        let theirs = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(key.kid(), theirs, "{}", key.alg());
        assert_eq!(jwk_thumbprint(&key.public_jwk()).unwrap(), theirs);
    }
}

#[test]
fn the_rfc7638_example_key_has_the_published_thumbprint() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        jwk_thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

// --- the external, known-good path -----------------------------------------

#[test]
fn an_rs256_token_and_public_jwk_verify_with_jsonwebtoken_directly() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let claims = claims();
    let token = key.sign_jwt("JWT", &claims).unwrap();

    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[AUD]);
    validation.set_issuer(&[ISS]);
    let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
    assert_eq!(data.claims, claims);
    assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
}

#[test]
fn rs256_signatures_are_byte_identical_to_jsonwebtokens() {
    // RSASSA-PKCS1-v1_5 is deterministic, so an independent signer over the
    // same signing input must produce the same bytes.
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let token = key.sign_jwt("JWT", &claims()).unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let theirs = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &encoding_key(&key),
        jsonwebtoken::Algorithm::RS256,
    )
    .unwrap();
    assert_eq!(signature, theirs);
}

#[test]
fn every_algorithms_tokens_verify_with_jsonwebtoken_and_jsonwebtokens_tokens_verify_here() {
    for key in keys() {
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(jwt_alg(key.alg()));
        validation.set_audience(&[AUD]);
        let ours = key.sign_jwt("JWT", &claims()).unwrap();
        assert!(
            jsonwebtoken::decode::<Value>(&ours, &decoding, &validation).is_ok(),
            "{}",
            key.alg()
        );

        let theirs = forge(&key, key.kid(), &claims());
        assert_eq!(
            verify(&theirs, &key).unwrap(),
            claims_without_volatile(&theirs)
        );
    }
}

fn claims_without_volatile(token: &str) -> Value {
    decode_part(token.split('.').nth(1).unwrap())
}

// --- attacks ----------------------------------------------------------------

#[test]
fn a_tampered_payload_fails_verification() {
    for key in keys() {
        let token = key.sign_jwt("JWT", &claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut evil = claims();
        evil["sub"] = json!("admin");
        let tampered = format!("{}.{}.{}", parts[0], b64json(&evil), parts[2]);
        assert_eq!(
            verify(&tampered, &key),
            Err(KeyError::InvalidSignature),
            "{}",
            key.alg()
        );
    }
}

#[test]
fn a_tampered_signature_fails_verification() {
    for key in keys() {
        let token = key.sign_jwt("JWT", &claims()).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[0] ^= 0x01;
        let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(verify(&tampered, &key), Err(KeyError::InvalidSignature));
    }
}

#[test]
fn a_token_signed_by_another_key_with_the_same_kid_fails() {
    for key in keys() {
        let impostor = SigningKey::generate(key.alg()).unwrap();
        let token = forge(&impostor, key.kid(), &claims());
        assert_eq!(
            verify(&token, &key),
            Err(KeyError::InvalidSignature),
            "{}",
            key.alg()
        );
    }
}

#[test]
fn an_alg_none_token_is_rejected() {
    for key in keys() {
        for none in ["none", "None", "NONE"] {
            let header = json!({"alg": none, "typ": "JWT", "kid": key.kid()});
            let unsigned = format!("{}.{}.", b64json(&header), b64json(&claims()));
            assert!(verify(&unsigned, &key).is_err(), "{none}");
            // ...also with the original signature glued on.
            let real = key.sign_jwt("JWT", &claims()).unwrap();
            let sig = real.rsplit('.').next().unwrap();
            assert!(verify(&format!("{unsigned}{sig}"), &key).is_err());
        }
    }
}

#[test]
fn an_hs256_token_whose_hmac_secret_is_the_rsa_public_key_is_rejected() {
    let key = SigningKey::generate(Algorithm::RS256).unwrap();
    let jwk = key.public_jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        n,
        jwk.to_string().into_bytes(),
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
    ];
    // Also a JWKS entry without `alg`, so nothing but the key type binds it.
    let mut bare = jwk.clone();
    bare.as_object_mut().unwrap().remove("alg");
    for secret in secrets {
        for hs in [
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::HS384,
            jsonwebtoken::Algorithm::HS512,
        ] {
            let mut header = Header::new(hs);
            header.kid = Some(key.kid().to_owned());
            let token =
                jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&secret))
                    .unwrap();
            for set in [vec![jwk.clone()], vec![bare.clone()]] {
                let err = verify_jwt(&token, &set, None, ISS, Some(AUD), 0).unwrap_err();
                assert!(
                    matches!(err, KeyError::UnsupportedAlgorithm(_)),
                    "{hs:?}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn a_token_whose_alg_differs_from_the_keys_alg_is_rejected() {
    let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let other = SigningKey::generate(alg).unwrap();
        let token = forge(&other, rsa.kid(), &claims());
        assert_eq!(
            verify(&token, &rsa),
            Err(KeyError::AlgorithmMismatch {
                token: alg.as_str().to_owned(),
                key: "RS256".to_owned()
            })
        );
    }
}

#[test]
fn symmetric_and_encryption_keys_in_a_jwks_are_never_used() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut enc = key.public_jwk();
    enc["use"] = json!("enc");
    let mut wrong_alg = key.public_jwk();
    wrong_alg["alg"] = json!("RS256");
    let mut es384 = key.public_jwk();
    es384["alg"] = json!("ES384");
    let oct = json!({"kty": "oct", "k": "c2VjcmV0", "kid": key.kid(), "alg": "HS256"});
    let verifier = Verifier::new(&[enc, wrong_alg, es384, oct, json!("junk"), json!({})]);
    assert!(verifier.is_empty());
    let token = key.sign_jwt("JWT", &claims()).unwrap();
    assert_eq!(
        verifier.verify(&token, &VerifyOptions::new(ISS)),
        Err(KeyError::UnknownKey)
    );
}

#[test]
fn a_critical_header_extension_is_rejected() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid().to_owned());
    header.crit = Some(vec!["exp".to_owned()]);
    let token = jsonwebtoken::encode(&header, &claims(), &encoding_key(&key)).unwrap();
    assert!(matches!(
        verify(&token, &key),
        Err(KeyError::MalformedToken(_))
    ));
}

#[test]
fn garbage_tokens_are_malformed() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    for bad in ["", "a", "a.b", "a.b.c", "a.b.c.d", "....", "eyJ.eyJ.sig"] {
        assert!(
            matches!(verify(bad, &key), Err(KeyError::MalformedToken(_))),
            "{bad:?}"
        );
    }
}

// --- key selection ------------------------------------------------------------

#[test]
fn an_unknown_kid_is_rejected() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let token = forge(&key, "some-other-kid", &claims());
    assert_eq!(verify(&token, &key), Err(KeyError::UnknownKey));
}

#[test]
fn a_token_without_kid_is_accepted_only_against_a_single_key_set() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let other = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let header = Header::new(jsonwebtoken::Algorithm::EdDSA);
    let token = jsonwebtoken::encode(&header, &claims(), &encoding_key(&key)).unwrap();
    assert!(verify_jwt(&token, &[key.public_jwk()], None, ISS, Some(AUD), 0).is_ok());
    assert_eq!(
        verify_jwt(
            &token,
            &[key.public_jwk(), other.public_jwk()],
            None,
            ISS,
            Some(AUD),
            0
        ),
        Err(KeyError::UnknownKey)
    );
}

// --- claims -------------------------------------------------------------------

#[test]
fn an_expired_token_is_rejected() {
    for key in keys() {
        let mut c = claims();
        c["exp"] = json!(now() - 120);
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::Expired));
        // ...unless the leeway covers it,
        assert!(verify_jwt(&token, &[key.public_jwk()], None, ISS, Some(AUD), 300).is_ok());
        // ...or expired tokens are explicitly allowed (id_token_hint).
        let mut options = VerifyOptions::new(ISS);
        options.audience = Some(AUD);
        options.allow_expired = true;
        assert!(Verifier::new(&[key.public_jwk()])
            .verify(&token, &options)
            .is_ok());
    }
}

#[test]
fn a_token_without_exp_is_rejected() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    let token = key.sign_jwt("JWT", &c).unwrap();
    assert!(matches!(
        verify(&token, &key),
        Err(KeyError::InvalidToken(_))
    ));
}

#[test]
fn a_token_whose_nbf_is_in_the_future_is_rejected() {
    for key in keys() {
        let mut c = claims();
        c["nbf"] = json!(now() + 120);
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::NotYetValid));
        assert!(verify_jwt(&token, &[key.public_jwk()], None, ISS, Some(AUD), 300).is_ok());
    }
}

#[test]
fn a_token_for_another_audience_is_rejected() {
    for key in keys() {
        let mut c = claims();
        c["aud"] = json!("client-2");
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::Audience));

        c["aud"] = json!(["client-2", AUD]);
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert!(verify(&token, &key).is_ok(), "audience arrays are searched");

        c.as_object_mut().unwrap().remove("aud");
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::Audience));
        // Without an audience requirement a missing `aud` is fine.
        assert!(verify_jwt(&token, &[key.public_jwk()], None, ISS, None, 0).is_ok());
    }
}

#[test]
fn a_token_from_another_issuer_is_rejected() {
    for key in keys() {
        let mut c = claims();
        c["iss"] = json!("https://evil.example.test");
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::Issuer));

        c["iss"] = json!([ISS]);
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::Issuer), "array iss");

        c.as_object_mut().unwrap().remove("iss");
        let token = key.sign_jwt("JWT", &c).unwrap();
        assert_eq!(verify(&token, &key), Err(KeyError::Issuer), "missing iss");
    }
}

#[test]
fn a_token_of_another_type_is_rejected_when_a_type_is_expected() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks = [key.public_jwk()];
    let at = key.sign_jwt("at+jwt", &claims()).unwrap();
    assert_eq!(
        verify_jwt(&at, &jwks, Some("JWT"), ISS, Some(AUD), 0),
        Err(KeyError::Type)
    );
    assert!(verify_jwt(&at, &jwks, Some("at+jwt"), ISS, Some(AUD), 0).is_ok());
    assert!(verify_jwt(&at, &jwks, Some("application/AT+JWT"), ISS, Some(AUD), 0).is_ok());
    assert!(verify_jwt(&at, &jwks, None, ISS, Some(AUD), 0).is_ok());
}

#[test]
fn claims_that_are_not_a_json_object_cannot_be_signed() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    assert!(matches!(
        key.sign_jwt("JWT", &json!(["not", "an", "object"])),
        Err(KeyError::Sign(_))
    ));
}

// --- storage ------------------------------------------------------------------

#[test]
fn a_sealed_key_unseals_to_the_same_key() {
    let (kek, _) = Kek::generate();
    for key in keys() {
        let blob = key.seal(&kek);
        let restored = SigningKey::unseal(key.alg(), key.kid(), &blob, &kek).unwrap();
        assert_eq!(restored.kid(), key.kid());
        assert_eq!(restored.pkcs8(), key.pkcs8());
        let token = restored.sign_jwt("JWT", &claims()).unwrap();
        assert!(verify(&token, &key).is_ok());
    }
}

#[test]
fn unsealing_with_the_wrong_kid_or_kek_fails() {
    let (kek, _) = Kek::generate();
    let (other_kek, _) = Kek::generate();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let blob = key.seal(&kek);
    assert_eq!(
        SigningKey::unseal(Algorithm::ES256, other.kid(), &blob, &kek).unwrap_err(),
        KeyError::Decrypt
    );
    assert_eq!(
        SigningKey::unseal(Algorithm::ES256, key.kid(), &blob, &other_kek).unwrap_err(),
        KeyError::Decrypt
    );
}

#[test]
fn unsealing_checks_the_kid_against_the_recomputed_thumbprint() {
    let (kek, _) = Kek::generate();
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    // A blob correctly encrypted under a *false* kid label.
    let blob = kek.encrypt(key.pkcs8(), b"forged-kid");
    assert!(matches!(
        SigningKey::unseal(Algorithm::EdDSA, "forged-kid", &blob, &kek),
        Err(KeyError::InvalidKey(_))
    ));
}

#[test]
fn the_kid_is_stable_across_from_pkcs8() {
    for key in keys() {
        let again = SigningKey::from_pkcs8(key.alg(), key.pkcs8()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.public_jwk(), key.public_jwk());
    }
}

#[test]
fn pkcs8_of_one_key_type_is_rejected_for_another_algorithm() {
    let keys = keys();
    for key in &keys {
        for alg in Algorithm::ALL {
            if alg != key.alg() {
                assert!(
                    matches!(
                        SigningKey::from_pkcs8(alg, key.pkcs8()),
                        Err(KeyError::InvalidKey(_))
                    ),
                    "{} as {alg}",
                    key.alg()
                );
            }
        }
    }
    assert!(SigningKey::from_pkcs8(Algorithm::RS256, b"garbage").is_err());
}

#[test]
fn debug_output_shows_kid_and_alg_but_no_key_bytes() {
    for key in keys() {
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()));
        assert!(!debug.contains(&STANDARD.encode(key.pkcs8())));
        assert!(!debug.contains("pkcs8"));
    }
}

// --- Algorithm ------------------------------------------------------------------

#[test]
fn algorithms_round_trip_through_strings_and_serde() {
    for (alg, name) in [
        (Algorithm::RS256, "RS256"),
        (Algorithm::ES256, "ES256"),
        (Algorithm::EdDSA, "EdDSA"),
    ] {
        assert_eq!(alg.to_string(), name);
        assert_eq!(name.parse::<Algorithm>().unwrap(), alg);
        assert_eq!(serde_json::to_value(alg).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<Algorithm>(json!(name)).unwrap(),
            alg
        );
    }
    for bad in ["none", "HS256", "rs256", "ES384", ""] {
        assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
    }
}
