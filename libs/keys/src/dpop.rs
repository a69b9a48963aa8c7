//! DPoP proof verification (RFC 9449, OAuth 2.0 Demonstrating Proof of
//! Possession) and stateless server nonces.
//!
//! A DPoP proof is a JWT the client signs with a key of its own and sends in
//! the `DPoP` header of each request; its header carries the *public* key
//! (`jwk`), so the proof is self-verifying. [`verify_proof`] performs the
//! checks of RFC 9449 §4.3 that need no state and returns what the caller
//! must act on:
//!
//! * `jkt` — the RFC 7638 thumbprint of the proof key. At the token endpoint
//!   it goes into the access token's `cnf.jkt`; at a resource endpoint it
//!   must equal the token's `cnf.jkt`.
//! * `jti` and `iat` — the caller remembers `jti` for at least the accepted
//!   `iat` window to refuse replays (§11.1).
//! * `nonce` — returned as is; the caller checks it with [`NonceSource`]
//!   when it demands nonces (§8), and answers `use_dpop_nonce` otherwise.
//!
//! What is enforced here:
//!
//! * the proof is at most [`MAX_PROOF_LEN`] bytes and a compact JWS of three
//!   base64url parts whose header and claims are JSON objects;
//! * `typ` is `dpop+jwt`; `alg` is one of [`PROOF_ALGS`] (never `none`,
//!   never a MAC algorithm: a MAC keyed by a value in the proof proves
//!   nothing); no `crit` header;
//! * `jwk` is a public key only, of the type the `alg` needs (P-256 for
//!   ES256, Ed25519 for EdDSA, RSA of at least 2048 bits for RS256/PS256);
//! * the signature verifies under that `jwk` with the header `alg`;
//! * `jti` is a non-empty string of at most 256 characters, `htm` equals
//!   the request method, `htu` equals the request URL ignoring query and
//!   fragment, `iat` lies within the allowed window;
//! * at a resource endpoint, `ath` is the hash of the presented access token.
//!
//! Errors ([`DpopError`]) carry short messages meant for an OAuth
//! `error_description` (`invalid_dpop_proof`); they never echo the proof or
//! any value taken from it.

use std::fmt;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use url::Url;
use zeroize::Zeroizing;

use crate::signing::jwk_thumbprint;

/// The `typ` header every DPoP proof carries (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";

/// Algorithms accepted for proofs, for discovery's
/// `dpop_signing_alg_values_supported` (RFC 9449 §5.1).
pub const PROOF_ALGS: &[&str] = &["ES256", "EdDSA", "RS256", "PS256"];

/// Largest proof accepted, in bytes. A proof with an RSA 4096 key is about
/// 1.5 KiB; the cap bounds the work an unauthenticated request can cause.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// Longest `jti` accepted, in characters. The caller stores `jti`s to refuse
/// replays, so their size must be bounded.
pub const MAX_JTI_LEN: usize = 256;

/// Smallest RSA modulus accepted for a proof key, in bits.
const MIN_RSA_BITS: usize = 2048;

/// JWK members that only private (or symmetric) keys have (RFC 7518 §6.2.2,
/// §6.3.2, §6.4.1; RFC 8037 §2). A proof must carry a public key only
/// (RFC 9449 §4.3 item 7).
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/// Why a DPoP proof was refused. Each message fits an OAuth
/// `error_description` and contains nothing taken from the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// The proof exceeds [`MAX_PROOF_LEN`].
    #[error("DPoP proof is too large")]
    TooLarge,

    /// Not a compact JWS of three base64url parts with JSON object header
    /// and claims.
    #[error("DPoP proof is not a well-formed JWT: {0}")]
    Malformed(&'static str),

    /// `typ` is missing or not `dpop+jwt`.
    #[error("DPoP proof typ must be dpop+jwt")]
    Type,

    /// `alg` is missing or not one of [`PROOF_ALGS`].
    #[error("DPoP proof alg must be one of ES256, EdDSA, RS256, PS256")]
    Algorithm,

    /// The header has a `crit` member; no JWS extension is supported.
    #[error("DPoP proof has unsupported critical header parameters")]
    CriticalHeader,

    /// The header has no `jwk` object.
    #[error("DPoP proof header has no jwk")]
    MissingJwk,

    /// The `jwk` holds private or symmetric key material.
    #[error("DPoP proof jwk must be a public key")]
    PrivateKey,

    /// The `jwk` is not a usable public key for the proof's `alg`.
    #[error("DPoP proof jwk is unusable: {0}")]
    InvalidJwk(&'static str),

    /// The signature does not verify under the header `jwk`.
    #[error("DPoP proof signature is invalid")]
    Signature,

    /// `jti` is missing, not a string, empty or longer than
    /// [`MAX_JTI_LEN`].
    #[error("DPoP proof jti is missing or invalid")]
    Jti,

    /// `htm` is missing or differs from the request method.
    #[error("DPoP proof htm does not match the request method")]
    Method,

    /// `htu` is missing, unparsable or differs from the request URL.
    #[error("DPoP proof htu does not match the request URL")]
    Url,

    /// `iat` is missing or not a number.
    #[error("DPoP proof iat is missing or invalid")]
    IssuedAt,

    /// `iat` is older than the accepted age.
    #[error("DPoP proof is too old")]
    TooOld,

    /// `iat` is further in the future than the accepted clock skew.
    #[error("DPoP proof iat is in the future")]
    IssuedInFuture,

    /// At a resource endpoint: `ath` is missing or is not the hash of the
    /// presented access token.
    #[error("DPoP proof ath does not match the access token")]
    AccessTokenHash,

    /// `nonce` is present but not a string.
    #[error("DPoP proof nonce must be a string")]
    Nonce,
}

/// What a proof is checked against: the request it arrived with and the
/// server's clock.
///
/// `Debug` shows whether an access token is set, never the token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProofCheck<'a> {
    /// The request method, compared exactly with `htm` (methods are
    /// case-sensitive, RFC 9110 §9.1), e.g. `"POST"`.
    pub method: &'a str,
    /// The URL the server was reached at, e.g. `"https://id.example/token"`.
    /// If it does not parse, every proof is refused with [`DpopError::Url`].
    pub url: &'a str,
    /// The current time, Unix seconds.
    pub now: i64,
    /// How old `iat` may be, in seconds (e.g. 300).
    pub max_age_secs: i64,
    /// How far in the future `iat` may be, in seconds (e.g. 60).
    pub max_skew_secs: i64,
    /// At a resource endpoint, the presented access token: `ath` is then
    /// required and must equal [`access_token_hash`] of it (RFC 9449 §4.3
    /// item 12, §7). `None` (token endpoint) ignores `ath`.
    pub access_token: Option<&'a str>,
}

impl fmt::Debug for ProofCheck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofCheck")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("now", &self.now)
            .field("max_age_secs", &self.max_age_secs)
            .field("max_skew_secs", &self.max_skew_secs)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .finish()
    }
}

/// A proof that passed [`verify_proof`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 SHA-256 thumbprint of the header `jwk` (base64url).
    pub jkt: String,
    /// The proof's `jti`, for replay detection by the caller.
    pub jti: String,
    /// The proof's `iat`, Unix seconds.
    pub iat: i64,
    /// The proof's `nonce`, *not* checked here: the caller checks it with
    /// [`NonceSource::accepts`] when it requires nonces.
    pub nonce: Option<String>,
}

/// The proof algorithms, each with the key type it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProofAlg {
    Es256,
    EdDsa,
    Rs256,
    Ps256,
}

impl ProofAlg {
    /// Exact, case-sensitive JOSE names (RFC 7518 §3.1, RFC 8037 §3.1).
    fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(ProofAlg::Es256),
            "EdDSA" => Some(ProofAlg::EdDsa),
            "RS256" => Some(ProofAlg::Rs256),
            "PS256" => Some(ProofAlg::Ps256),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ProofAlg::Es256 => "ES256",
            ProofAlg::EdDsa => "EdDSA",
            ProofAlg::Rs256 => "RS256",
            ProofAlg::Ps256 => "PS256",
        }
    }

    fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            ProofAlg::Es256 => jsonwebtoken::Algorithm::ES256,
            ProofAlg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            ProofAlg::Rs256 => jsonwebtoken::Algorithm::RS256,
            ProofAlg::Ps256 => jsonwebtoken::Algorithm::PS256,
        }
    }
}

/// Verifies a DPoP proof against the request it came with: RFC 9449 §4.3
/// items 2–9, 11 and the `ath` half of 12. The rest is the caller's: a
/// single `DPoP` header field (item 1), the nonce (item 10), replay of the
/// `jti` (§11.1) and that the access token is bound to `jkt` (item 12).
///
/// Checks run in this order: size, structure, `typ`, `alg`, `crit`, `jwk`,
/// signature, then the claims. Claims are only looked at once the signature
/// has verified.
pub fn verify_proof(proof: &str, check: &ProofCheck<'_>) -> Result<VerifiedProof, DpopError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(DpopError::TooLarge);
    }
    // Compact serialization: exactly three parts (RFC 7515 §7.1). The last
    // dot separates the signature from the signing input.
    let (signing_input, signature) = proof
        .rsplit_once('.')
        .ok_or(DpopError::Malformed("expected three dot-separated parts"))?;
    let (header_b64, claims_b64) = signing_input
        .split_once('.')
        .ok_or(DpopError::Malformed("expected three dot-separated parts"))?;
    if claims_b64.contains('.') {
        return Err(DpopError::Malformed("expected three dot-separated parts"));
    }
    let header = decode_object(header_b64).ok_or(DpopError::Malformed("bad header"))?;
    let claims = decode_object(claims_b64).ok_or(DpopError::Malformed("bad claims"))?;

    // §4.3 item 4: `typ` is `dpop+jwt`. Media types compare
    // case-insensitively (RFC 7515 §4.1.9).
    match header.get("typ").and_then(Value::as_str) {
        Some(typ) if typ.eq_ignore_ascii_case(DPOP_TYP) => {}
        _ => return Err(DpopError::Type),
    }
    // §4.3 item 5: an asymmetric algorithm we support; never `none`, never
    // a MAC.
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(ProofAlg::parse)
        .ok_or(DpopError::Algorithm)?;
    // We implement no JWS extensions, so a critical one is unknown and
    // RFC 7515 §4.1.11 requires rejection.
    if header.contains_key("crit") {
        return Err(DpopError::CriticalHeader);
    }
    // §4.3 item 7: a public key that fits the algorithm.
    let jwk = match header.get("jwk") {
        Some(Value::Object(jwk)) => jwk,
        _ => return Err(DpopError::MissingJwk),
    };
    let key = decoding_key(jwk, alg)?;
    // §4.3 item 6: the signature verifies with that key. The algorithm is
    // pinned to the header `alg`, which the key type was just checked
    // against, so the key cannot be used under another algorithm.
    match jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key, alg.to_jwt()) {
        Ok(true) => {}
        Ok(false) | Err(_) => return Err(DpopError::Signature),
    }
    let jkt = jwk_thumbprint(&Value::Object(jwk.clone()))
        .map_err(|_| DpopError::InvalidJwk("no thumbprint can be computed"))?;

    // §4.2: `jti` identifies the proof for replay detection.
    let jti = match claims.get("jti").and_then(Value::as_str) {
        Some(jti) if !jti.is_empty() && jti.chars().count() <= MAX_JTI_LEN => jti.to_owned(),
        _ => return Err(DpopError::Jti),
    };
    // §4.3 item 8: `htm` matches the method exactly.
    if claims.get("htm").and_then(Value::as_str) != Some(check.method) {
        return Err(DpopError::Method);
    }
    // §4.3 item 9: `htu` matches the request URI ignoring query and
    // fragment, after syntax- and scheme-based normalisation (RFC 3986
    // §6.2.2–§6.2.3: scheme and host case, default port, dot segments),
    // which is what parsing with `url` does.
    let htu = claims
        .get("htu")
        .and_then(Value::as_str)
        .and_then(normalise_htu)
        .ok_or(DpopError::Url)?;
    match normalise_htu(check.url) {
        Some(expected) if expected == htu => {}
        _ => return Err(DpopError::Url),
    }
    // §4.3 item 11: `iat` within an acceptable window.
    let iat = claims
        .get("iat")
        .and_then(numeric_date)
        .ok_or(DpopError::IssuedAt)?;
    if iat < check.now.saturating_sub(check.max_age_secs) {
        return Err(DpopError::TooOld);
    }
    if iat > check.now.saturating_add(check.max_skew_secs) {
        return Err(DpopError::IssuedInFuture);
    }
    // §4.3 item 12 and §7: at a resource endpoint the proof is bound to the
    // access token it accompanies. The hash is public (the client computed
    // it from a token it holds), so a plain comparison is fine.
    if let Some(token) = check.access_token {
        if claims.get("ath").and_then(Value::as_str) != Some(access_token_hash(token).as_str()) {
            return Err(DpopError::AccessTokenHash);
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(DpopError::Nonce),
    };
    Ok(VerifiedProof {
        jkt,
        jti,
        iat,
        nonce,
    })
}

/// The `ath` value for an access token (RFC 9449 §4.2): base64url without
/// padding of the SHA-256 of the token's ASCII bytes.
pub fn access_token_hash(token: &str) -> String {
    crate::secret::sha256_b64(token)
}

/// Decodes one base64url (unpadded) part into a JSON object.
pub(crate) fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A JWT NumericDate (RFC 7519 §2): seconds, possibly non-integer.
pub(crate) fn numeric_date(value: &Value) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    // `as` saturates at the i64 bounds, which the window check then refuses.
    f.is_finite().then_some(f.trunc() as i64)
}

/// Parses a URL and drops its query and fragment (RFC 9449 §4.3 item 9).
fn normalise_htu(raw: &str) -> Option<Url> {
    let mut url = Url::parse(raw).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

/// Checks that `jwk` is a public key of the type `alg` needs and builds the
/// verification key from its members.
fn decoding_key(
    jwk: &Map<String, Value>,
    alg: ProofAlg,
) -> Result<jsonwebtoken::DecodingKey, DpopError> {
    if PRIVATE_JWK_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKey);
    }
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kty = member("kty").ok_or(DpopError::InvalidJwk("kty is missing"))?;
    if kty == "oct" {
        // A symmetric key is a shared secret: publishing it in the proof
        // proves nothing (and its `k` was refused above anyway).
        return Err(DpopError::PrivateKey);
    }
    // An `alg` on the key itself (RFC 7517 §4.4) must agree with the proof's.
    if let Some(key_alg) = jwk.get("alg") {
        if key_alg.as_str() != Some(alg.as_str()) {
            return Err(DpopError::InvalidJwk("key alg differs from the proof alg"));
        }
    }
    // A base64url member, returned both as text (for the `jsonwebtoken`
    // constructors) and decoded (for the size checks).
    let b64_member = |name: &str| -> Result<(&str, Vec<u8>), DpopError> {
        member(name)
            .and_then(|text| Some((text, URL_SAFE_NO_PAD.decode(text).ok()?)))
            .ok_or(DpopError::InvalidJwk(
                "a key member is missing or not base64url",
            ))
    };
    let unparsable = |_| DpopError::InvalidJwk("key members cannot be parsed");
    match alg {
        ProofAlg::Es256 => {
            if kty != "EC" || member("crv") != Some("P-256") {
                return Err(DpopError::InvalidJwk("ES256 needs an EC P-256 key"));
            }
            // Coordinates are fixed-length, 32 bytes for P-256 (RFC 7518
            // §6.2.1.2–§6.2.1.3). Whether the point is on the curve is
            // checked when the signature is verified.
            let ((x, x_bytes), (y, y_bytes)) = (b64_member("x")?, b64_member("y")?);
            if x_bytes.len() != 32 || y_bytes.len() != 32 {
                return Err(DpopError::InvalidJwk("P-256 coordinates must be 32 bytes"));
            }
            jsonwebtoken::DecodingKey::from_ec_components(x, y).map_err(unparsable)
        }
        ProofAlg::EdDsa => {
            if kty != "OKP" || member("crv") != Some("Ed25519") {
                return Err(DpopError::InvalidJwk("EdDSA needs an OKP Ed25519 key"));
            }
            let (x, x_bytes) = b64_member("x")?;
            if x_bytes.len() != 32 {
                return Err(DpopError::InvalidJwk("Ed25519 keys must be 32 bytes"));
            }
            jsonwebtoken::DecodingKey::from_ed_components(x).map_err(unparsable)
        }
        ProofAlg::Rs256 | ProofAlg::Ps256 => {
            if kty != "RSA" {
                return Err(DpopError::InvalidJwk("RS256 and PS256 need an RSA key"));
            }
            let ((n, n_bytes), (e, e_bytes)) = (b64_member("n")?, b64_member("e")?);
            if rsa_modulus_bits(&n_bytes) < MIN_RSA_BITS {
                return Err(DpopError::InvalidJwk("RSA keys must be at least 2048 bits"));
            }
            if e_bytes.is_empty() {
                return Err(DpopError::InvalidJwk("RSA exponent is empty"));
            }
            jsonwebtoken::DecodingKey::from_rsa_components(n, e).map_err(unparsable)
        }
    }
}

/// Bit length of a big-endian unsigned integer (leading zero bytes allowed).
fn rsa_modulus_bits(n: &[u8]) -> usize {
    let mut significant = n.iter().skip_while(|b| **b == 0);
    match significant.next() {
        Some(first) => {
            let rest = significant.count();
            rest * 8 + (8 - first.leading_zeros() as usize)
        }
        None => 0,
    }
}

// ---------------------------------------------------------------------------
// Server nonces
// ---------------------------------------------------------------------------

/// Stateless DPoP server nonces (RFC 9449 §8).
///
/// A nonce is `base64url(HMAC-SHA256(key, "dpop-nonce:" || period))` where
/// `period = floor(now / period_secs)`, so every replica holding the same
/// key (derived from the KEK: `kek.derive("dpop-nonce")`) issues and accepts
/// the same nonces without a shared store. The current and the previous
/// period's nonce are accepted, so a nonce stays valid for between one and
/// two periods and a client that fetched one just before a period boundary
/// is not refused right away.
///
/// Nonces limit how far ahead a client can pre-compute proofs; they are not
/// single-use (replay protection is the caller's `jti` store).
///
/// `Debug` never prints the key.
#[derive(Clone)]
pub struct NonceSource {
    key: hmac::Key,
    period_secs: i64,
}

impl fmt::Debug for NonceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceSource")
            .field("key", &"<redacted>")
            .field("period_secs", &self.period_secs)
            .finish()
    }
}

/// Longest string [`NonceSource::accepts`] bothers to decode (a nonce is 43
/// characters).
const MAX_NONCE_LEN: usize = 64;

impl NonceSource {
    /// A nonce source keyed with `key` (normally
    /// `kek.derive("dpop-nonce")`), changing nonces every `period_secs`
    /// seconds. A period below one second is taken as one second.
    pub fn new(key: [u8; 32], period_secs: i64) -> Self {
        let key = Zeroizing::new(key);
        NonceSource {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()),
            period_secs: period_secs.max(1),
        }
    }

    /// The nonce to hand out at `now` (Unix seconds), 43 characters of
    /// base64url.
    pub fn current(&self, now: i64) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, &self.message(self.period(now))))
    }

    /// Whether `nonce` is the current or the previous period's nonce. The
    /// tag comparison is constant-time (`aws_lc_rs::hmac::verify`).
    pub fn accepts(&self, nonce: &str, now: i64) -> bool {
        if nonce.len() > MAX_NONCE_LEN {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let period = self.period(now);
        [period, period.saturating_sub(1)]
            .iter()
            .any(|p| hmac::verify(&self.key, &self.message(*p), &tag).is_ok())
    }

    /// The period number of `now`; `div_euclid` keeps periods contiguous for
    /// times before 1970 too.
    fn period(&self, now: i64) -> i64 {
        now.div_euclid(self.period_secs)
    }

    fn message(&self, period: i64) -> Vec<u8> {
        format!("dpop-nonce:{period}").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{RsaKeyPair, RSA_PSS_SHA256};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::signing::{Algorithm, SigningKey};

    const NOW: i64 = 1_700_000_000;
    const URL: &str = "https://id.example/token";

    fn check() -> ProofCheck<'static> {
        ProofCheck {
            method: "POST",
            url: URL,
            now: NOW,
            max_age_secs: 300,
            max_skew_secs: 60,
            access_token: None,
        }
    }

    fn key(alg: Algorithm) -> SigningKey {
        SigningKey::generate(alg).unwrap()
    }

    fn proof_header(key: &SigningKey) -> Value {
        json!({ "typ": DPOP_TYP, "alg": key.alg().as_str(), "jwk": key.public_jwk() })
    }

    fn claims() -> Value {
        json!({ "jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": NOW })
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

    fn proof_with(key: &SigningKey, claims: &Value) -> String {
        key.sign_jws(&proof_header(key), claims).unwrap()
    }

    fn proof(key: &SigningKey) -> String {
        proof_with(key, &claims())
    }

    fn b64json(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// A compact JWS assembled by hand, for headers our signer refuses to
    /// write.
    fn raw(header: &Value, claims: &Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64json(header),
            b64json(claims),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    fn assert_valid(key: &SigningKey, proof: &str) {
        let verified = verify_proof(proof, &check()).unwrap();
        assert_eq!(verified.jkt, jwk_thumbprint(&key.public_jwk()).unwrap());
        assert_eq!(verified.jkt, key.kid());
        assert_eq!(verified.jti, "e1j3V_bKic8-LAEB");
        assert_eq!(verified.iat, NOW);
        assert_eq!(verified.nonce, None);
    }

    #[test]
    fn valid_es256_proof() {
        let key = key(Algorithm::ES256);
        assert_valid(&key, &proof(&key));
    }

    #[test]
    fn valid_eddsa_proof() {
        let key = key(Algorithm::EdDSA);
        assert_valid(&key, &proof(&key));
    }

    #[test]
    fn valid_rs256_proof() {
        let key = key(Algorithm::RS256);
        assert_valid(&key, &proof(&key));
    }

    #[test]
    fn valid_ps256_proof() {
        let key = key(Algorithm::RS256);
        // The same RSA key signing with PSS; the key's own `alg: RS256`
        // member would contradict the proof's alg, so it is left out.
        let jwk = with(key.public_jwk(), "alg", None);
        let header = json!({ "typ": DPOP_TYP, "alg": "PS256", "jwk": jwk });
        let input = format!("{}.{}", b64json(&header), b64json(&claims()));
        let pair = RsaKeyPair::from_pkcs8(key.pkcs8()).unwrap();
        let mut signature = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &RSA_PSS_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .unwrap();
        let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&signature));
        assert_valid(&key, &proof);

        // The same PSS signature presented as RS256 does not verify.
        let rs256 = with(header, "alg", Some(json!("RS256")));
        let forged = raw(&rs256, &claims(), &signature);
        assert_eq!(verify_proof(&forged, &check()), Err(DpopError::Signature));
    }

    /// RFC 9449 §4.2, Figure 3: the specification's own example proof.
    #[test]
    fn rfc_9449_example_proof() {
        let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
        let check = ProofCheck {
            url: "https://server.example.com/token",
            now: 1_562_262_616,
            ..check()
        };
        let verified = verify_proof(proof, &check).unwrap();
        assert_eq!(verified.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(verified.iat, 1_562_262_616);
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        });
        assert_eq!(verified.jkt, jwk_thumbprint(&jwk).unwrap());
    }

    #[test]
    fn nonce_is_returned_unchecked() {
        let key = key(Algorithm::ES256);
        let claims = with(claims(), "nonce", Some(json!("anything")));
        let verified = verify_proof(&proof_with(&key, &claims), &check()).unwrap();
        assert_eq!(verified.nonce.as_deref(), Some("anything"));

        let claims = with(claims, "nonce", Some(json!(42)));
        assert_eq!(
            verify_proof(&proof_with(&key, &claims), &check()),
            Err(DpopError::Nonce)
        );
    }

    #[test]
    fn htm_must_match_exactly() {
        let key = key(Algorithm::ES256);
        for htm in [json!("GET"), json!("post"), json!(null), json!(["POST"])] {
            let claims = with(claims(), "htm", Some(htm));
            assert_eq!(
                verify_proof(&proof_with(&key, &claims), &check()),
                Err(DpopError::Method)
            );
        }
        let claims = with(claims(), "htm", None);
        assert_eq!(
            verify_proof(&proof_with(&key, &claims), &check()),
            Err(DpopError::Method)
        );
    }

    #[test]
    fn htu_must_match_ignoring_query_and_fragment() {
        let key = key(Algorithm::ES256);
        for htu in [
            "https://id.example/token?client=1",
            "https://id.example/token#frag",
            "HTTPS://ID.EXAMPLE:443/token",
            "https://id.example/x/../token",
        ] {
            let claims = with(claims(), "htu", Some(json!(htu)));
            assert!(
                verify_proof(&proof_with(&key, &claims), &check()).is_ok(),
                "{htu} should match"
            );
        }
        // The request URL's own query is ignored too.
        let check_with_query = ProofCheck {
            url: "https://id.example/token?a=b",
            ..check()
        };
        assert!(verify_proof(&proof(&key), &check_with_query).is_ok());

        for htu in [
            json!("https://id.example/userinfo"),
            json!("https://id.example/token/"),
            json!("https://other.example/token"),
            json!("http://id.example/token"),
            json!("https://id.example:8443/token"),
            json!("/token"),
            json!("not a url"),
            json!(7),
        ] {
            let claims = with(claims(), "htu", Some(htu.clone()));
            assert_eq!(
                verify_proof(&proof_with(&key, &claims), &check()),
                Err(DpopError::Url),
                "{htu} should not match"
            );
        }
        let claims = with(claims(), "htu", None);
        assert_eq!(
            verify_proof(&proof_with(&key, &claims), &check()),
            Err(DpopError::Url)
        );
    }

    #[test]
    fn iat_window() {
        let key = key(Algorithm::ES256);
        let at = |iat: Value| {
            verify_proof(
                &proof_with(&key, &with(claims(), "iat", Some(iat))),
                &check(),
            )
        };
        assert!(at(json!(NOW - 300)).is_ok());
        assert!(at(json!(NOW + 60)).is_ok());
        assert!(at(json!(NOW as f64 + 0.5)).is_ok());
        assert_eq!(at(json!(NOW - 301)), Err(DpopError::TooOld));
        assert_eq!(at(json!(NOW + 61)), Err(DpopError::IssuedInFuture));
        assert_eq!(at(json!(i64::MIN)), Err(DpopError::TooOld));
        assert_eq!(at(json!(u64::MAX)), Err(DpopError::IssuedInFuture));
        assert_eq!(at(json!(1e300)), Err(DpopError::IssuedInFuture));
        assert_eq!(at(json!(NOW.to_string())), Err(DpopError::IssuedAt));
        assert_eq!(
            verify_proof(&proof_with(&key, &with(claims(), "iat", None)), &check()),
            Err(DpopError::IssuedAt)
        );
    }

    #[test]
    fn jti_is_required_and_bounded() {
        let key = key(Algorithm::ES256);
        let long = "j".repeat(MAX_JTI_LEN + 1);
        for jti in [None, Some(json!("")), Some(json!(long)), Some(json!(12345))] {
            let claims = with(claims(), "jti", jti);
            assert_eq!(
                verify_proof(&proof_with(&key, &claims), &check()),
                Err(DpopError::Jti)
            );
        }
        let longest = "é".repeat(MAX_JTI_LEN);
        let claims = with(claims(), "jti", Some(json!(longest)));
        let verified = verify_proof(&proof_with(&key, &claims), &check()).unwrap();
        assert_eq!(verified.jti, longest);
    }

    #[test]
    fn typ_must_be_dpop_jwt() {
        let key = key(Algorithm::ES256);
        for typ in [
            Some(json!("JWT")),
            Some(json!("at+jwt")),
            Some(json!(1)),
            None,
        ] {
            let header = with(proof_header(&key), "typ", typ);
            let proof = key.sign_jws(&header, &claims()).unwrap();
            assert_eq!(verify_proof(&proof, &check()), Err(DpopError::Type));
        }
        let header = with(proof_header(&key), "typ", Some(json!("DPoP+JWT")));
        let proof = key.sign_jws(&header, &claims()).unwrap();
        assert!(verify_proof(&proof, &check()).is_ok());
    }

    #[test]
    fn alg_none_is_refused() {
        let key = key(Algorithm::ES256);
        let header = with(proof_header(&key), "alg", Some(json!("none")));
        let proof = raw(&header, &claims(), b"");
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::Algorithm));
        let header = with(header, "alg", None);
        let proof = raw(&header, &claims(), b"");
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::Algorithm));
    }

    #[test]
    fn hmac_algorithms_are_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let jwk = json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret) });
        for alg in ["HS256", "HS384", "HS512"] {
            let header = json!({ "typ": DPOP_TYP, "alg": alg, "jwk": jwk });
            let input = format!("{}.{}", b64json(&header), b64json(&claims()));
            let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
            let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
            assert_eq!(verify_proof(&proof, &check()), Err(DpopError::Algorithm));
        }
        // Other names and case variants are refused as well.
        let key = key(Algorithm::ES256);
        for alg in ["es256", "ES384", "RS512", "EdDSA25519", ""] {
            let header = with(proof_header(&key), "alg", Some(json!(alg)));
            let proof = raw(&header, &claims(), b"sig");
            assert_eq!(verify_proof(&proof, &check()), Err(DpopError::Algorithm));
        }
    }

    #[test]
    fn private_and_symmetric_jwks_are_refused() {
        let key = key(Algorithm::ES256);
        for member in PRIVATE_JWK_MEMBERS {
            let jwk = with(key.public_jwk(), member, Some(json!("AAAA")));
            let header = with(proof_header(&key), "jwk", Some(jwk));
            let proof = key.sign_jws(&header, &claims()).unwrap();
            assert_eq!(verify_proof(&proof, &check()), Err(DpopError::PrivateKey));
        }
        let oct = json!({ "kty": "oct", "alg": "ES256" });
        let header = with(proof_header(&key), "jwk", Some(oct));
        let proof = key.sign_jws(&header, &claims()).unwrap();
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::PrivateKey));
    }

    #[test]
    fn jwk_must_fit_the_alg() {
        let ec = key(Algorithm::ES256);
        let ed = key(Algorithm::EdDSA);
        let missing = with(proof_header(&ec), "jwk", None);
        let proof = ec.sign_jws(&missing, &claims()).unwrap();
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::MissingJwk));
        let not_object = with(proof_header(&ec), "jwk", Some(json!("key")));
        let proof = ec.sign_jws(&not_object, &claims()).unwrap();
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::MissingJwk));

        // An Ed25519 key under ES256 (and the reverse).
        let header = with(proof_header(&ec), "jwk", Some(ed.public_jwk()));
        let proof = ec.sign_jws(&header, &claims()).unwrap();
        assert!(matches!(
            verify_proof(&proof, &check()),
            Err(DpopError::InvalidJwk(_))
        ));
        let header = with(
            json!({ "typ": DPOP_TYP, "alg": "EdDSA" }),
            "jwk",
            Some(with(ec.public_jwk(), "alg", None)),
        );
        let proof = ed.sign_jws(&header, &claims()).unwrap();
        assert!(matches!(
            verify_proof(&proof, &check()),
            Err(DpopError::InvalidJwk(_))
        ));

        // A key whose own `alg` contradicts the proof's.
        let jwk = with(ec.public_jwk(), "alg", Some(json!("ES384")));
        let header = with(proof_header(&ec), "jwk", Some(jwk));
        let proof = ec.sign_jws(&header, &claims()).unwrap();
        assert!(matches!(
            verify_proof(&proof, &check()),
            Err(DpopError::InvalidJwk(_))
        ));

        // Truncated coordinates.
        let jwk = with(ec.public_jwk(), "x", Some(json!("AAAA")));
        let header = with(proof_header(&ec), "jwk", Some(jwk));
        let proof = ec.sign_jws(&header, &claims()).unwrap();
        assert!(matches!(
            verify_proof(&proof, &check()),
            Err(DpopError::InvalidJwk(_))
        ));
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        // A 1024-bit modulus (top bit set) with e = 65537.
        let mut n = vec![0xc5u8; 128];
        n[127] |= 1;
        let jwk = json!({ "kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&n), "e": "AQAB" });
        let header = json!({ "typ": DPOP_TYP, "alg": "RS256", "jwk": jwk });
        let proof = raw(&header, &claims(), &[0u8; 128]);
        assert_eq!(
            verify_proof(&proof, &check()),
            Err(DpopError::InvalidJwk("RSA keys must be at least 2048 bits"))
        );
        assert_eq!(rsa_modulus_bits(&[0, 0, 0x01, 0xff]), 9);
        assert_eq!(rsa_modulus_bits(&[0x80; 256]), 2048);
        assert_eq!(rsa_modulus_bits(&[0x7f; 256]), 2047);
        assert_eq!(rsa_modulus_bits(&[]), 0);
    }

    #[test]
    fn crit_header_is_refused() {
        let key = key(Algorithm::ES256);
        let header = with(proof_header(&key), "crit", Some(json!(["b64"])));
        let proof = key.sign_jws(&header, &claims()).unwrap();
        assert_eq!(
            verify_proof(&proof, &check()),
            Err(DpopError::CriticalHeader)
        );
    }

    #[test]
    fn signature_must_be_by_the_header_key() {
        let signer = key(Algorithm::ES256);
        let other = key(Algorithm::ES256);
        // Signed by `signer`, but claiming `other`'s public key.
        let proof = signer.sign_jws(&proof_header(&other), &claims()).unwrap();
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::Signature));

        // Claims changed after signing.
        let valid = proof_with(&signer, &claims());
        let parts: Vec<&str> = valid.split('.').collect();
        let tampered = with(claims(), "htm", Some(json!("POST ")));
        let forged = format!("{}.{}.{}", parts[0], b64json(&tampered), parts[2]);
        assert_eq!(verify_proof(&forged, &check()), Err(DpopError::Signature));

        // No or a garbage signature.
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(verify_proof(&unsigned, &check()), Err(DpopError::Signature));
        let garbage = format!("{}.{}.!!", parts[0], parts[1]);
        assert_eq!(verify_proof(&garbage, &check()), Err(DpopError::Signature));
    }

    #[test]
    fn ath_binds_the_access_token_at_resource_endpoints() {
        let key = key(Algorithm::ES256);
        let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
        // RFC 9449 §7.1, Figure 12.
        assert_eq!(
            access_token_hash(token),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        let resource = ProofCheck {
            method: "GET",
            url: "https://id.example/userinfo",
            access_token: Some(token),
            ..check()
        };
        let base = json!({
            "jti": "e1j3V_bKic8-LAEB",
            "htm": "GET",
            "htu": "https://id.example/userinfo",
            "iat": NOW,
        });

        let bound = with(base.clone(), "ath", Some(json!(access_token_hash(token))));
        assert!(verify_proof(&proof_with(&key, &bound), &resource).is_ok());

        assert_eq!(
            verify_proof(&proof_with(&key, &base), &resource),
            Err(DpopError::AccessTokenHash)
        );
        let other = with(base.clone(), "ath", Some(json!(access_token_hash("other"))));
        assert_eq!(
            verify_proof(&proof_with(&key, &other), &resource),
            Err(DpopError::AccessTokenHash)
        );
        let raw_token = with(base.clone(), "ath", Some(json!(token)));
        assert_eq!(
            verify_proof(&proof_with(&key, &raw_token), &resource),
            Err(DpopError::AccessTokenHash)
        );

        // At the token endpoint there is no access token: `ath` is ignored.
        let token_endpoint = ProofCheck {
            access_token: None,
            ..resource
        };
        assert!(verify_proof(&proof_with(&key, &other), &token_endpoint).is_ok());
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let key = key(Algorithm::ES256);
        let valid = proof(&key);
        let parts: Vec<&str> = valid.split('.').collect();
        for bad in [
            String::new(),
            "abc".to_owned(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{valid}.x"),
            format!("{}..{}.{}", parts[0], parts[1], parts[2]),
            format!("!!.{}.{}", parts[1], parts[2]),
            format!("{}.{}=.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", b64json(&json!([1])), parts[1], parts[2]),
            format!(
                "{}.{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode("null"),
                parts[2]
            ),
        ] {
            assert!(
                matches!(verify_proof(&bad, &check()), Err(DpopError::Malformed(_))),
                "{bad:?}"
            );
        }
        let huge = with(claims(), "pad", Some(json!("x".repeat(MAX_PROOF_LEN))));
        let proof = proof_with(&key, &huge);
        assert_eq!(verify_proof(&proof, &check()), Err(DpopError::TooLarge));
    }

    #[test]
    fn error_messages_never_echo_the_proof() {
        let key = key(Algorithm::ES256);
        let claims = with(claims(), "htm", Some(json!("SECRET-METHOD")));
        let err = verify_proof(&proof_with(&key, &claims), &check()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DPoP proof htm does not match the request method"
        );
    }

    #[test]
    fn nonces_rotate_per_period() {
        let source = NonceSource::new([7u8; 32], 300);
        // The first second of period 5_666_667 (300 s each).
        let start = 1_700_000_100;
        let nonce = source.current(start);
        assert_eq!(nonce.len(), 43);
        assert_eq!(nonce, source.current(start + 299));
        assert!(source.accepts(&nonce, start));
        // Next period: a new nonce, and the previous one is still accepted.
        assert_ne!(source.current(start + 300), nonce);
        assert!(source.accepts(&nonce, start + 300));
        assert!(source.accepts(&nonce, start + 599));
        // Two periods later it is refused.
        assert!(!source.accepts(&nonce, start + 600));
        // Nonces from the future are refused.
        assert!(!source.accepts(&source.current(start + 300), start + 299));
        assert!(!source.accepts(&nonce, start - 1));

        // Another key's nonces, garbage and near-misses are refused.
        let other = NonceSource::new([8u8; 32], 300);
        assert!(!source.accepts(&other.current(start), start));
        let mut altered = nonce.clone();
        altered.pop();
        altered.push(if nonce.ends_with('A') { 'B' } else { 'A' });
        for bad in ["", "garbage", "!!!!", altered.as_str(), &"A".repeat(10_000)] {
            assert!(!source.accepts(bad, start), "{bad:?}");
        }
    }

    #[test]
    fn nonce_source_edge_cases() {
        // A zero or negative period is taken as one second instead of
        // dividing by zero.
        let source = NonceSource::new([1u8; 32], 0);
        assert!(source.accepts(&source.current(10), 11));
        assert!(!source.accepts(&source.current(10), 12));
        let source = NonceSource::new([1u8; 32], -5);
        assert!(source.accepts(&source.current(10), 10));
        // Times at the i64 bounds and before 1970 do not overflow.
        let source = NonceSource::new([1u8; 32], 60);
        assert!(source.accepts(&source.current(i64::MIN), i64::MIN));
        assert!(source.accepts(&source.current(i64::MAX), i64::MAX));
        assert!(source.accepts(&source.current(-61), -1));
        assert!(!source.accepts(&source.current(-121), -1));
    }

    #[test]
    fn proof_check_debug_hides_the_access_token() {
        let check = ProofCheck {
            access_token: Some("bearer-secret-token"),
            ..check()
        };
        let debug = format!("{check:?}");
        assert!(debug.contains("redacted"), "{debug}");
        assert!(!debug.contains("bearer-secret-token"), "{debug}");
    }

    #[test]
    fn nonce_source_debug_hides_the_key() {
        let source = NonceSource::new([0xab; 32], 300);
        let debug = format!("{source:?}");
        assert!(debug.contains("redacted"), "{debug}");
        assert!(debug.contains("300"), "{debug}");
        assert!(!debug.contains("171") && !debug.contains("ab"), "{debug}");
    }

    proptest! {
        #[test]
        fn hostile_input_never_panics(input in ".{0,200}") {
            prop_assert!(verify_proof(&input, &check()).is_err());
            prop_assert!(!NonceSource::new([0; 32], 60).accepts(&input, NOW));
        }

        #[test]
        fn well_formed_headers_with_random_claims_never_panic(
            claims in "[A-Za-z0-9_-]{0,100}",
            signature in "[A-Za-z0-9_-]{0,100}",
            alg in prop::sample::select(vec!["ES256", "EdDSA", "RS256", "PS256", "HS256", "none"]),
            kty in prop::sample::select(vec!["EC", "OKP", "RSA", "oct", ""]),
        ) {
            let header = json!({
                "typ": DPOP_TYP,
                "alg": alg,
                "jwk": { "kty": kty, "crv": "P-256", "x": "AA", "y": "AA", "n": "AA", "e": "AQAB" },
            });
            let proof = format!("{}.{claims}.{signature}", b64json(&header));
            prop_assert!(verify_proof(&proof, &check()).is_err());
        }
    }
}
