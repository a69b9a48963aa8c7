//! `private_key_jwt` client authentication: JWT client assertions
//! (RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID Connect Core §9).
//!
//! A client authenticates by sending `client_assertion_type` =
//! [`CLIENT_ASSERTION_TYPE`] and `client_assertion` = a JWT it signed with
//! one of the keys it registered (`jwks`). Verification has two steps:
//!
//! 1. [`claimed_client_id`] reads, *without* verifying anything, which
//!    client the assertion claims to come from, so the caller can load that
//!    client's keys (and check the request's `client_id` parameter, if any,
//!    against it: RFC 7521 §4.2).
//! 2. [`verify_client_assertion`] verifies it against those keys and the
//!    rules below, and returns the `jti` and `exp` the caller needs to refuse
//!    replays: store the `jti` (per client) until `exp`.
//!
//! Rules enforced:
//!
//! * at most [`MAX_ASSERTION_LEN`] bytes;
//! * signed by one of the client's registered keys, the algorithm pinned to
//!   the key ([`Verifier`]: never `none`, never HMAC, never an `alg` other
//!   than the key's);
//! * `iss` and `sub` are both the client id (RFC 7523 §3 items 1–2);
//! * `aud` (a string or an array) contains one of the accepted audiences
//!   (item 3);
//! * `exp` is present and not past (item 4), and not further ahead than the
//!   allowed lifetime, which bounds how long a `jti` must be remembered;
//!   `nbf` is honoured (item 5); an `iat` must not be in the future (item 6);
//! * `jti` is a non-empty string of at most 256 characters (OpenID Connect
//!   Core §9 makes it REQUIRED; RFC 7523 §3 item 7 lets the server refuse
//!   replays by it).
//!
//! Time checks use the caller's `now` plus, inside [`Verifier`], the system
//! clock for `exp` and `nbf`; both allow `leeway_secs` of skew.
//!
//! Errors ([`AssertionError`]) carry short messages meant for an
//! `invalid_client` `error_description`; they never echo the assertion or
//! any value taken from it.

use crate::dpop::{decode_object, numeric_date};
use serde_json::{Map, Value};

use crate::error::KeyError;
use crate::signing::{Verifier, VerifyOptions, MAX_LEEWAY_SECS};

/// The `client_assertion_type` for JWT client assertions (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Largest assertion accepted, in bytes. An RS256 assertion with a handful
/// of claims is well under 1 KiB.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// Longest `jti` accepted, in characters. The caller stores `jti`s to refuse
/// replays, so their size must be bounded.
pub const MAX_JTI_LEN: usize = 256;

/// Why a client assertion was refused. Each message fits an
/// `invalid_client` `error_description` and contains nothing taken from the
/// assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// The assertion exceeds [`MAX_ASSERTION_LEN`].
    #[error("client assertion is too large")]
    TooLarge,

    /// Not a well-formed compact JWS JWT (including `alg: none` and
    /// unsupported `crit` headers).
    #[error("client assertion is not a well-formed JWT")]
    Malformed,

    /// The `alg` is not supported or not the one of the matching key.
    #[error("client assertion algorithm is not allowed for the client's key")]
    Algorithm,

    /// None of the client's registered keys matches the assertion's `kid`
    /// (or the client has no usable keys).
    #[error("no registered key of the client matches the client assertion")]
    UnknownKey,

    /// The signature does not verify under the matching registered key.
    #[error("client assertion signature is invalid")]
    Signature,

    /// `iss` is missing or not the client id.
    #[error("client assertion iss must be the client id")]
    Issuer,

    /// `sub` is missing or not the client id.
    #[error("client assertion sub must be the client id")]
    Subject,

    /// `aud` is missing or names none of the accepted audiences.
    #[error("client assertion aud does not identify this server")]
    Audience,

    /// `exp` is missing or not a number.
    #[error("client assertion has no valid exp")]
    MissingExp,

    /// `exp` has passed (beyond the leeway).
    #[error("client assertion has expired")]
    Expired,

    /// `nbf` is in the future (beyond the leeway).
    #[error("client assertion is not yet valid")]
    NotYetValid,

    /// `exp` is further ahead than the allowed assertion lifetime.
    #[error("client assertion expires too far in the future")]
    LifetimeTooLong,

    /// `iat` is not a number or is in the future (beyond the leeway).
    #[error("client assertion iat is invalid or in the future")]
    IssuedAt,

    /// `jti` is missing, not a string, empty or longer than
    /// [`MAX_JTI_LEN`].
    #[error("client assertion jti is missing or invalid")]
    Jti,

    /// Another registered claim has the wrong JSON type.
    #[error("client assertion has a malformed claim")]
    InvalidClaims,
}

/// What an assertion is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionCheck<'a> {
    /// The client the assertion must come from: required as `iss` and `sub`.
    pub client_id: &'a str,
    /// Accepted `aud` values, e.g. the issuer, the token endpoint URL and
    /// the URL of the endpoint the assertion was sent to. `aud` must contain
    /// at least one of them (exact string match).
    pub audiences: &'a [&'a str],
    /// The current time, Unix seconds.
    pub now: i64,
    /// Refuse assertions whose `exp` is later than `now` plus this many
    /// seconds (plus the leeway), e.g. 600. This bounds how long the `jti`
    /// must be remembered.
    pub max_lifetime_secs: i64,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`, e.g. 30; capped at
    /// [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
}

/// An assertion that passed [`verify_client_assertion`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The assertion's `jti`: remember it (per client) until `exp` and
    /// refuse it if seen again.
    pub jti: String,
    /// The assertion's `exp`, Unix seconds.
    pub exp: i64,
}

/// The client id an assertion claims to be from (`sub`, else `iss`), read
/// *without* verifying anything, only to find which client's keys verify
/// it. `None` if the assertion is oversized or unreadable or names no
/// client.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let claims = unverified_claims(assertion)?;
    ["sub", "iss"]
        .iter()
        .filter_map(|name| claims.get(*name).and_then(Value::as_str))
        .find(|id| !id.is_empty())
        .map(str::to_owned)
}

/// Verifies a client assertion against the client's registered keys (see
/// the module docs for the rules) and returns its `jti` and `exp`.
///
/// The signature is checked first; claims are only looked at once it has
/// verified.
pub fn verify_client_assertion(
    assertion: &str,
    keys: &Verifier,
    check: &AssertionCheck<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(AssertionError::TooLarge);
    }
    // Signature, `alg` pinned to the key, `iss` (RFC 7523 §3 item 1), and
    // `exp`/`nbf` against the system clock.
    let options = VerifyOptions {
        expected_typ: None,
        issuer: check.client_id,
        audience: None,
        leeway_secs: check.leeway_secs,
        allow_expired: false,
    };
    let claims = keys
        .verify(assertion, &options)
        .map_err(|e| map_key_error(e, assertion))?;

    // RFC 7523 §3 item 2: the subject is the client itself.
    if claims.get("sub").and_then(Value::as_str) != Some(check.client_id) {
        return Err(AssertionError::Subject);
    }
    // Item 3: the server must identify itself in `aud`.
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => check.audiences.contains(&aud.as_str()),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| check.audiences.contains(&aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(AssertionError::Audience);
    }

    let leeway = i64::try_from(check.leeway_secs.min(MAX_LEEWAY_SECS)).unwrap_or(0);
    // Item 4: `exp` present and not past, here against the caller's clock.
    let exp = claims
        .get("exp")
        .and_then(numeric_date)
        .ok_or(AssertionError::MissingExp)?;
    if exp < check.now.saturating_sub(leeway) {
        return Err(AssertionError::Expired);
    }
    let latest = check
        .now
        .saturating_add(check.max_lifetime_secs)
        .saturating_add(leeway);
    if exp > latest {
        return Err(AssertionError::LifetimeTooLong);
    }
    // Item 5: `nbf`, if present, has passed.
    if let Some(nbf) = claims.get("nbf") {
        let nbf = numeric_date(nbf).ok_or(AssertionError::InvalidClaims)?;
        if nbf > check.now.saturating_add(leeway) {
            return Err(AssertionError::NotYetValid);
        }
    }
    // Item 6: `iat`, if present, is not in the future.
    if let Some(iat) = claims.get("iat") {
        match numeric_date(iat) {
            Some(iat) if iat <= check.now.saturating_add(leeway) => {}
            _ => return Err(AssertionError::IssuedAt),
        }
    }
    // OpenID Connect Core §9: `jti` is REQUIRED, so replays can be refused.
    let jti = match claims.get("jti").and_then(Value::as_str) {
        Some(jti) if !jti.is_empty() && jti.chars().count() <= MAX_JTI_LEN => jti.to_owned(),
        _ => return Err(AssertionError::Jti),
    };
    Ok(VerifiedAssertion { jti, exp })
}

/// Maps the verifier's errors onto assertion errors.
fn map_key_error(error: KeyError, assertion: &str) -> AssertionError {
    match error {
        KeyError::MalformedToken(_) | KeyError::Type => AssertionError::Malformed,
        KeyError::UnsupportedAlgorithm(_) | KeyError::AlgorithmMismatch { .. } => {
            AssertionError::Algorithm
        }
        KeyError::UnknownKey => AssertionError::UnknownKey,
        // A registered key the verifier cannot use verifies nothing.
        KeyError::InvalidSignature | KeyError::InvalidKey(_) => AssertionError::Signature,
        KeyError::Expired => AssertionError::Expired,
        KeyError::NotYetValid => AssertionError::NotYetValid,
        KeyError::Issuer => AssertionError::Issuer,
        KeyError::Audience => AssertionError::Audience,
        // Claim validation runs only after the signature verified, so these
        // claims are authentic; look at them to tell a missing or malformed
        // `exp` from other malformed claims.
        KeyError::InvalidToken(_) => {
            let has_exp = unverified_claims(assertion)
                .and_then(|claims| claims.get("exp").and_then(numeric_date))
                .is_some();
            if has_exp {
                AssertionError::InvalidClaims
            } else {
                AssertionError::MissingExp
            }
        }
        // Not produced by verification.
        KeyError::InvalidKek(_)
        | KeyError::Decrypt
        | KeyError::Generate
        | KeyError::Sign(_)
        | KeyError::Hash(_) => AssertionError::Malformed,
    }
}

/// The claims of a compact JWS, decoded but not verified. `None` unless the
/// token is within the size cap, has exactly three parts and its payload is
/// base64url of a JSON object.
fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    if token.len() > MAX_ASSERTION_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    decode_object(payload)
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use aws_lc_rs::hmac;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::signing::{Algorithm, SigningKey};

    const CLIENT: &str = "client-a";
    const ISSUER: &str = "https://id.example";
    const TOKEN_ENDPOINT: &str = "https://id.example/token";
    const AUDIENCES: &[&str] = &[ISSUER, TOKEN_ENDPOINT];

    /// The real clock: the verifier checks `exp` and `nbf` against it.
    fn now() -> i64 {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        i64::try_from(secs).unwrap()
    }

    fn check(now: i64) -> AssertionCheck<'static> {
        AssertionCheck {
            client_id: CLIENT,
            audiences: AUDIENCES,
            now,
            max_lifetime_secs: 600,
            leeway_secs: 30,
        }
    }

    fn claims(now: i64) -> Value {
        json!({
            "iss": CLIENT,
            "sub": CLIENT,
            "aud": TOKEN_ENDPOINT,
            "jti": "3b5f1c0e-assertion",
            "iat": now,
            "exp": now + 60,
        })
    }

    /// `value` with member `name` set (`Some`) or removed (`None`).
    fn with(mut value: Value, name: &str, member: Option<Value>) -> Value {
        let map = value.as_object_mut().unwrap();
        match member {
            Some(member) => map.insert(name.to_owned(), member),
            None => map.remove(name),
        };
        value
    }

    fn registered(keys: &[&SigningKey]) -> Verifier {
        let jwks: Vec<Value> = keys.iter().map(|k| k.public_jwk()).collect();
        Verifier::from_jwk_set(&json!({ "keys": jwks }))
    }

    fn sign(key: &SigningKey, claims: &Value) -> String {
        key.sign_jwt("JWT", claims).unwrap()
    }

    fn b64json(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn valid_es256_and_eddsa_assertions() {
        let now = now();
        for alg in [Algorithm::ES256, Algorithm::EdDSA] {
            let key = SigningKey::generate(alg).unwrap();
            let assertion = sign(&key, &claims(now));
            assert_eq!(claimed_client_id(&assertion).as_deref(), Some(CLIENT));
            let verified =
                verify_client_assertion(&assertion, &registered(&[&key]), &check(now)).unwrap();
            assert_eq!(
                verified,
                VerifiedAssertion {
                    jti: "3b5f1c0e-assertion".to_owned(),
                    exp: now + 60,
                }
            );
        }
    }

    #[test]
    fn valid_rs256_assertion_among_several_keys() {
        let now = now();
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let ec = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&ec, &rsa]);
        let assertion = sign(&rsa, &claims(now));
        assert!(verify_client_assertion(&assertion, &keys, &check(now)).is_ok());
    }

    #[test]
    fn aud_may_be_a_string_or_an_array() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        for aud in [
            json!(ISSUER),
            json!(TOKEN_ENDPOINT),
            json!([TOKEN_ENDPOINT]),
            json!(["https://other.example", ISSUER]),
            json!([42, ISSUER]),
        ] {
            let assertion = sign(&key, &with(claims(now), "aud", Some(aud.clone())));
            assert!(
                verify_client_assertion(&assertion, &keys, &check(now)).is_ok(),
                "{aud}"
            );
        }
    }

    #[test]
    fn wrong_aud_is_refused() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        for aud in [
            Some(json!("https://other.example/token")),
            Some(json!("https://id.example/token/")),
            Some(json!([])),
            Some(json!(["https://other.example"])),
            Some(json!({ "aud": ISSUER })),
            None,
        ] {
            let assertion = sign(&key, &with(claims(now), "aud", aud));
            assert_eq!(
                verify_client_assertion(&assertion, &keys, &check(now)),
                Err(AssertionError::Audience)
            );
        }
        let no_audiences = AssertionCheck {
            audiences: &[],
            ..check(now)
        };
        let assertion = sign(&key, &claims(now));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &no_audiences),
            Err(AssertionError::Audience)
        );
    }

    #[test]
    fn iss_and_sub_must_both_be_the_client() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);

        // iss != sub.
        let assertion = sign(&key, &with(claims(now), "sub", Some(json!("client-b"))));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Subject)
        );
        let assertion = sign(&key, &with(claims(now), "sub", None));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Subject)
        );

        // Both naming another client, verified with this client's keys
        // (e.g. a key shared between two clients).
        let other = with(
            with(claims(now), "iss", Some(json!("client-b"))),
            "sub",
            Some(json!("client-b")),
        );
        let assertion = sign(&key, &other);
        assert_eq!(claimed_client_id(&assertion).as_deref(), Some("client-b"));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Issuer)
        );
        let assertion = sign(&key, &with(claims(now), "iss", None));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Issuer)
        );
    }

    #[test]
    fn jti_is_required_and_bounded() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        let long = "j".repeat(MAX_JTI_LEN + 1);
        for jti in [None, Some(json!("")), Some(json!(long)), Some(json!(7))] {
            let assertion = sign(&key, &with(claims(now), "jti", jti));
            assert_eq!(
                verify_client_assertion(&assertion, &keys, &check(now)),
                Err(AssertionError::Jti)
            );
        }
    }

    #[test]
    fn expiry_rules() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        let at = |exp: Option<Value>| {
            let assertion = sign(&key, &with(claims(now), "exp", exp));
            verify_client_assertion(&assertion, &keys, &check(now))
        };
        assert_eq!(at(Some(json!(now - 120))), Err(AssertionError::Expired));
        // Within the leeway.
        assert!(at(Some(json!(now - 10))).is_ok());
        // Lifetime: up to now + 600 + 30 leeway.
        assert!(at(Some(json!(now + 600))).is_ok());
        assert_eq!(
            at(Some(json!(now + 3600))),
            Err(AssertionError::LifetimeTooLong)
        );
        assert_eq!(
            at(Some(json!(i64::MAX))),
            Err(AssertionError::LifetimeTooLong)
        );
        assert_eq!(at(None), Err(AssertionError::MissingExp));
        assert_eq!(at(Some(json!("tomorrow"))), Err(AssertionError::MissingExp));

        // The caller's clock counts too: an assertion valid by the system
        // clock but expired at the caller's `now` is refused.
        let assertion = sign(&key, &claims(now));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now + 3600)),
            Err(AssertionError::Expired)
        );
    }

    #[test]
    fn nbf_and_iat_must_not_be_in_the_future() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        let verify =
            |claims: &Value| verify_client_assertion(&sign(&key, claims), &keys, &check(now));
        assert_eq!(
            verify(&with(claims(now), "nbf", Some(json!(now + 300)))),
            Err(AssertionError::NotYetValid)
        );
        assert!(verify(&with(claims(now), "nbf", Some(json!(now - 5)))).is_ok());
        assert_eq!(
            verify(&with(claims(now), "iat", Some(json!(now + 300)))),
            Err(AssertionError::IssuedAt)
        );
        assert_eq!(
            verify(&with(claims(now), "iat", Some(json!("now")))),
            Err(AssertionError::IssuedAt)
        );
        assert!(verify(&with(claims(now), "iat", Some(json!(now + 20)))).is_ok());
        assert!(verify(&with(claims(now), "iat", None)).is_ok());
    }

    #[test]
    fn unregistered_keys_are_refused() {
        let now = now();
        let registered_key = SigningKey::generate(Algorithm::ES256).unwrap();
        let intruder = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&registered_key]);

        // The intruder's own kid matches nothing.
        let assertion = sign(&intruder, &claims(now));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::UnknownKey)
        );
        // Claiming the registered key's kid does not make the signature
        // verify.
        let header = json!({ "typ": "JWT", "kid": registered_key.kid() });
        let assertion = intruder.sign_jws(&header, &claims(now)).unwrap();
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Signature)
        );
        // A client without keys.
        assert_eq!(
            verify_client_assertion(
                &sign(&registered_key, &claims(now)),
                &Verifier::default(),
                &check(now)
            ),
            Err(AssertionError::UnknownKey)
        );
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        let none = json!({ "alg": "none", "typ": "JWT", "kid": key.kid() });
        let assertion = format!("{}.{}.", b64json(&none), b64json(&claims(now)));
        assert!(matches!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Malformed | AssertionError::Algorithm)
        ));

        // HS256 keyed with the public JWK's bytes: the classic confusion.
        let hs = json!({ "alg": "HS256", "typ": "JWT", "kid": key.kid() });
        let input = format!("{}.{}", b64json(&hs), b64json(&claims(now)));
        let secret = key.public_jwk().to_string();
        let mac = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            input.as_bytes(),
        );
        let assertion = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::Algorithm)
        );
    }

    #[test]
    fn oversized_and_malformed_assertions_are_refused() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = registered(&[&key]);
        let huge = with(
            claims(now),
            "pad",
            Some(json!("x".repeat(MAX_ASSERTION_LEN))),
        );
        let assertion = sign(&key, &huge);
        assert_eq!(
            verify_client_assertion(&assertion, &keys, &check(now)),
            Err(AssertionError::TooLarge)
        );
        assert_eq!(claimed_client_id(&assertion), None);
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(
                verify_client_assertion(bad, &keys, &check(now)),
                Err(AssertionError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn claimed_client_id_reads_sub_then_iss() {
        let header = b64json(&json!({ "alg": "ES256" }));
        let token = |claims: Value| format!("{header}.{}.sig", b64json(&claims));
        assert_eq!(
            claimed_client_id(&token(json!({ "iss": "a", "sub": "b" }))).as_deref(),
            Some("b")
        );
        assert_eq!(
            claimed_client_id(&token(json!({ "iss": "a" }))).as_deref(),
            Some("a")
        );
        assert_eq!(
            claimed_client_id(&token(json!({ "iss": "a", "sub": "" }))).as_deref(),
            Some("a")
        );
        assert_eq!(
            claimed_client_id(&token(json!({ "iss": 1, "sub": ["b"] }))),
            None
        );
        assert_eq!(claimed_client_id(&token(json!(["b"]))), None);
    }

    #[test]
    fn claimed_client_id_on_garbage_is_none() {
        for garbage in [
            "",
            ".",
            "..",
            "...",
            "not a jwt",
            "a.b.c",
            "eyJhbGciOiJub25lIn0.!!!.x",
            "eyJhbGciOiJub25lIn0.bnVsbA.x",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.x.y",
        ] {
            assert_eq!(claimed_client_id(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn error_messages_never_echo_the_assertion() {
        let now = now();
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let claims = with(claims(now), "sub", Some(json!("SECRET-SUBJECT")));
        let err = verify_client_assertion(&sign(&key, &claims), &registered(&[&key]), &check(now))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "client assertion sub must be the client id"
        );
    }

    proptest! {
        #[test]
        fn hostile_input_never_panics(input in ".{0,300}") {
            let _ = claimed_client_id(&input);
            prop_assert!(
                verify_client_assertion(&input, &Verifier::default(), &check(0)).is_err()
            );
        }

        #[test]
        fn structured_garbage_never_panics(
            header in "[A-Za-z0-9_-]{0,60}",
            payload in "[A-Za-z0-9_-]{0,120}",
            signature in "[A-Za-z0-9_-]{0,60}",
        ) {
            let token = format!("{header}.{payload}.{signature}");
            let _ = claimed_client_id(&token);
            prop_assert!(
                verify_client_assertion(&token, &Verifier::default(), &check(0)).is_err()
            );
        }
    }
}
