//! JWS signing keys, compact-JWS signing and JWT verification.
//!
//! * [`SigningKey`] — an asymmetric key pair (RS256, ES256 or EdDSA) with a
//!   stable `kid` (its RFC 7638 JWK thumbprint). The private key is kept as
//!   PKCS#8 DER (for sealing under the KEK) *and* as a parsed key pair, so
//!   signing never re-parses key material.
//! * [`SigningKey::sign_jwt`] / [`SigningKey::sign_jws`] — build compact JWS
//!   tokens by hand (see the comment on `sign_jwt` for why).
//! * [`Verifier`] / [`verify_jwt`] — verification through the
//!   `jsonwebtoken` crate with strict algorithm pinning: the algorithm comes
//!   from the *key*, never from the token.
//! * [`SigningKey::seal`] / [`SigningKey::unseal`] — encryption of the
//!   private key under the [`Kek`] for storage, bound to the `kid`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::kek::Kek;

/// Smallest RSA modulus accepted when importing a key (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Largest leeway honoured by the verifier. Larger values are capped: a
/// leeway beyond a day defeats expiry, and `jsonwebtoken` computes
/// `now - leeway` without overflow checks.
pub const MAX_LEEWAY_SECS: u64 = 86_400;

// ---------------------------------------------------------------------------
// Algorithm
// ---------------------------------------------------------------------------

/// The JWS algorithms Inkan signs and verifies with.
///
/// Deliberately small: no `none`, no HMAC (`HS*`) — a shared-secret
/// algorithm on a public key set is the classic algorithm-confusion hole —
/// and one choice per key family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA 2048). The one algorithm every
    /// OpenID Connect relying party must support.
    #[serde(rename = "RS256")]
    RS256,
    /// ECDSA on P-256 with SHA-256, fixed-size `r || s` signatures.
    #[serde(rename = "ES256")]
    ES256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm, in preference order for compatibility.
    pub const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    fn from_jwt(alg: jsonwebtoken::Algorithm) -> Option<Self> {
        match alg {
            jsonwebtoken::Algorithm::RS256 => Some(Algorithm::RS256),
            jsonwebtoken::Algorithm::ES256 => Some(Algorithm::ES256),
            jsonwebtoken::Algorithm::EdDSA => Some(Algorithm::EdDSA),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    /// Exact, case-sensitive JOSE names (`"RS256"`, `"ES256"`, `"EdDSA"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| KeyError::UnsupportedAlgorithm(s.to_owned()))
    }
}

// ---------------------------------------------------------------------------
// SigningKey
// ---------------------------------------------------------------------------

/// A parsed private key. Parsing (especially RSA: CRT parameters, key
/// checks) is expensive, so it happens once per key, not once per signature.
enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private JWS signing key.
///
/// Cheap to clone (shared internally). `Debug` shows only `kid` and `alg`,
/// never key bytes.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<Inner>,
}

struct Inner {
    kid: String,
    alg: Algorithm,
    pkcs8: Zeroizing<Vec<u8>>,
    pair: KeyPair,
    public_jwk: Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key: RSA 2048 for RS256, P-256 for ES256, Ed25519 for
    /// EdDSA.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, KeyError> {
        match alg {
            Algorithm::RS256 => {
                let pair =
                    RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
                let der = pair.as_der().map_err(|_| KeyError::Generate)?;
                Self::build(alg, der.as_ref().to_vec(), KeyPair::Rsa(pair))
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Generate)?;
                let der = pair.to_pkcs8v1().map_err(|_| KeyError::Generate)?;
                Self::build(alg, der.as_ref().to_vec(), KeyPair::Ec(pair))
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
                let der = pair.to_pkcs8().map_err(|_| KeyError::Generate)?;
                Self::build(alg, der.as_ref().to_vec(), KeyPair::Ed(pair))
            }
        }
    }

    /// Loads a key from unencrypted PKCS#8 DER (v1, or v2 for Ed25519).
    ///
    /// The DER must match `alg` (an RSA key for RS256, a P-256 key for
    /// ES256, an Ed25519 key for EdDSA); RSA keys below 2048 bits are
    /// rejected. The `kid` is recomputed from the public key, so it is the
    /// same every time the same key is loaded.
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = match alg {
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| KeyError::InvalidKey(format!("not an RSA PKCS#8 key: {e}")))?;
                if pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                    return Err(KeyError::InvalidKey(
                        "RSA keys must be at least 2048 bits".to_owned(),
                    ));
                }
                KeyPair::Rsa(pair)
            }
            Algorithm::ES256 => KeyPair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| KeyError::InvalidKey(format!("not a P-256 PKCS#8 key: {e}")))?,
            ),
            Algorithm::EdDSA => KeyPair::Ed(
                Ed25519KeyPair::from_pkcs8(der)
                    .map_err(|e| KeyError::InvalidKey(format!("not an Ed25519 PKCS#8 key: {e}")))?,
            ),
        };
        Self::build(alg, der.to_vec(), pair)
    }

    fn build(alg: Algorithm, pkcs8: Vec<u8>, pair: KeyPair) -> Result<SigningKey, KeyError> {
        let pkcs8 = Zeroizing::new(pkcs8);
        let mut jwk = match &pair {
            KeyPair::Rsa(p) => {
                let public = p.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            KeyPair::Ec(p) => {
                // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = p.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(KeyError::InvalidKey(
                        "unexpected P-256 public key encoding".to_owned(),
                    ));
                }
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(&point[1..33]),
                    "y": b64(&point[33..65]),
                })
            }
            KeyPair::Ed(p) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(p.public_key().as_ref()),
            }),
        };
        let kid = jwk_thumbprint(&jwk)?;
        if let Value::Object(map) = &mut jwk {
            map.insert("kid".to_owned(), Value::String(kid.clone()));
            map.insert("alg".to_owned(), Value::String(alg.as_str().to_owned()));
            map.insert("use".to_owned(), Value::String("sig".to_owned()));
        }
        Ok(SigningKey {
            inner: Arc::new(Inner {
                kid,
                alg,
                pkcs8,
                pair,
                public_jwk: jwk,
            }),
        })
    }

    /// The key id: the RFC 7638 JWK thumbprint (SHA-256, base64url). Derived
    /// from the public key, so it cannot collide between different keys and
    /// needs no separate storage to stay stable.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.inner.alg
    }

    /// The private key as PKCS#8 DER. Secret: only hand it to
    /// [`Kek::encrypt`] (or use [`SigningKey::seal`]).
    pub fn pkcs8(&self) -> &[u8] {
        &self.inner.pkcs8
    }

    /// The public key as a JWK for the JWKS endpoint: key parameters
    /// (`n`/`e`, `crv`/`x`/`y` or `crv`/`x`) plus `kid`, `alg` and
    /// `use: "sig"`.
    pub fn public_jwk(&self) -> Value {
        self.inner.public_jwk.clone()
    }

    /// Signs `claims` (a JSON object) as a compact JWS with header
    /// `{"alg", "typ", "kid"}`.
    ///
    /// `typ` is e.g. `"JWT"` for ID tokens or `"at+jwt"` for access tokens
    /// (RFC 9068).
    ///
    /// This is the one place a JWS is assembled by hand instead of through
    /// `jsonwebtoken::encode`: that function takes an `EncodingKey` holding
    /// raw DER and re-parses it into a key pair on every call, which for RSA
    /// roughly halves signing throughput on the token endpoint's hot path.
    /// Compact serialization is trivial (three base64url parts joined by
    /// dots, RFC 7515 §7.1), and every token produced here is checked by
    /// `jsonwebtoken::decode` in this crate's tests.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let header = json!({
            "alg": self.inner.alg.as_str(),
            "typ": typ,
            "kid": self.inner.kid,
        });
        self.sign_jws(&header, claims)
    }

    /// Signs `claims` (a JSON object) as a compact JWS under a caller-built
    /// protected `header` (a JSON object), for tokens whose header carries
    /// more than [`SigningKey::sign_jwt`] writes — e.g. a DPoP proof's
    /// `typ: "dpop+jwt"` and public `jwk` (RFC 9449 §4.2).
    ///
    /// `alg` is set to this key's algorithm if the header lacks it; a header
    /// naming another `alg` is refused rather than producing a token that
    /// lies about how it was signed. Nothing else in the header is checked.
    pub fn sign_jws(&self, header: &Value, claims: &Value) -> Result<String, KeyError> {
        if !claims.is_object() {
            return Err(KeyError::Sign(
                "JWT claims must be a JSON object".to_owned(),
            ));
        }
        let Value::Object(map) = header else {
            return Err(KeyError::Sign(
                "JWS header must be a JSON object".to_owned(),
            ));
        };
        let alg = self.inner.alg.as_str();
        let mut token = match map.get("alg") {
            Some(Value::String(a)) if a == alg => b64(header.to_string().as_bytes()),
            Some(_) => {
                return Err(KeyError::Sign(format!(
                    "JWS header alg differs from the key's algorithm {alg}"
                )))
            }
            None => {
                let mut map = map.clone();
                map.insert("alg".to_owned(), Value::String(alg.to_owned()));
                b64(Value::Object(map).to_string().as_bytes())
            }
        };
        token.push('.');
        token.push_str(&b64(claims.to_string().as_bytes()));
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64(&signature));
        Ok(token)
    }

    /// Signs `message` with the parsed key pair, producing the JWS signature
    /// encoding for the algorithm.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner.pair {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| KeyError::Sign("RSA signing failed".to_owned()))?;
                Ok(signature)
            }
            // The `_FIXED` algorithm yields JWS's `r || s` form (RFC 7518
            // §3.4), not ASN.1 DER.
            KeyPair::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign("ECDSA signing failed".to_owned())),
            KeyPair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// Encrypts the private key under the KEK for storage, with the `kid`
    /// as associated data so a sealed blob cannot be relabelled as another
    /// key.
    pub fn seal(&self, kek: &Kek) -> Vec<u8> {
        kek.encrypt(&self.inner.pkcs8, self.inner.kid.as_bytes())
    }

    /// Reverses [`SigningKey::seal`]: decrypts with `kid` as associated
    /// data, parses the key and checks that its recomputed thumbprint equals
    /// `kid`.
    pub fn unseal(
        alg: Algorithm,
        kid: &str,
        blob: &[u8],
        kek: &Kek,
    ) -> Result<SigningKey, KeyError> {
        let der = Zeroizing::new(kek.decrypt(blob, kid.as_bytes())?);
        let key = Self::from_pkcs8(alg, &der)?;
        if key.kid() != kid {
            return Err(KeyError::InvalidKey(
                "stored kid does not match the key's thumbprint".to_owned(),
            ));
        }
        Ok(key)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of a public RSA, EC or OKP
/// JWK. Only the required members take part, so `kid`, `alg`, `use` etc.
/// do not change it. Also usable for DPoP `jkt` values.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, KeyError> {
    let member = |name: &str| -> Result<Value, KeyError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .map(|s| Value::String(s.to_owned()))
            .ok_or_else(|| KeyError::InvalidKey(format!("JWK lacks string member {name:?}")))
    };
    // Members in lexicographic order, no whitespace (RFC 7638 §3.2);
    // `Value`'s Display writes correctly escaped JSON strings.
    let canonical = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            member("e")?,
            member("n")?
        ),
        Some("EC") => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        Some("OKP") => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            member("crv")?,
            member("x")?
        ),
        _ => {
            return Err(KeyError::InvalidKey(
                "JWK kty must be RSA, EC or OKP".to_owned(),
            ))
        }
    };
    Ok(b64(
        digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref()
    ))
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// What a token must satisfy besides a valid signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions<'a> {
    /// Required `typ` header (e.g. `"at+jwt"`), compared case-insensitively
    /// with an optional `application/` prefix ignored (RFC 7515 §4.1.9).
    /// `None` accepts any or no `typ`.
    pub expected_typ: Option<&'a str>,
    /// Required `iss` claim (exact string match; the claim must be present).
    pub issuer: &'a str,
    /// Required member of `aud`. `None` skips the audience check *and*
    /// accepts tokens without `aud`.
    pub audience: Option<&'a str>,
    /// Clock-skew allowance for `exp` and `nbf`, capped at
    /// [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// Accept tokens whose `exp` has passed (and tokens without `exp`).
    /// Only for `id_token_hint`, which OpenID Connect RP-Initiated Logout
    /// says the OP should accept after expiry. Default `false`.
    pub allow_expired: bool,
}

impl<'a> VerifyOptions<'a> {
    /// Options requiring `iss == issuer` and an unexpired `exp`, with no
    /// `typ` or `aud` requirement and no leeway.
    pub fn new(issuer: &'a str) -> Self {
        VerifyOptions {
            expected_typ: None,
            issuer,
            audience: None,
            leeway_secs: 0,
            allow_expired: false,
        }
    }
}

/// One usable public key out of a JWK set.
#[derive(Clone, Debug)]
struct VerificationKey {
    kid: Option<String>,
    /// Bound to the key, never taken from the token.
    alg: Algorithm,
    key: DecodingKey,
}

/// Verifies JWTs against a set of public JWKs.
///
/// Build it once per key set (the JWKs are parsed up front) and share it.
/// Verification goes through `jsonwebtoken`, with the accepted algorithm
/// pinned to the matching key's algorithm, so a token cannot choose how it
/// is verified: `alg: none`, HMAC algorithms (including an HMAC keyed with
/// the public key — the classic confusion attack) and any `alg` that differs
/// from the key's are all rejected.
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    keys: Vec<VerificationKey>,
}

impl Verifier {
    /// Builds a verifier from individual JWKs.
    ///
    /// Entries that cannot be used for RS256/ES256/EdDSA signature
    /// verification are skipped rather than failing the whole set, because
    /// real-world key sets mix in encryption keys and other algorithms:
    /// symmetric (`oct`) keys, `use` other than `"sig"`, an `alg` that
    /// is unsupported or does not fit the key type, curves other than P-256
    /// and Ed25519, and unparsable entries. For an RSA key without `alg`,
    /// RS256 is assumed; EC and OKP keys imply their algorithm. Check
    /// [`Verifier::len`] if an empty result matters.
    pub fn new(jwks: &[Value]) -> Self {
        Verifier {
            keys: jwks.iter().filter_map(parse_verification_key).collect(),
        }
    }

    /// Builds a verifier from a JWK Set document (`{"keys": [...]}`), e.g. a
    /// client's registered `jwks`. A document without a `keys` array yields
    /// an empty verifier.
    pub fn from_jwk_set(set: &Value) -> Self {
        match set.get("keys").and_then(Value::as_array) {
            Some(keys) => Self::new(keys),
            None => Self::default(),
        }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no usable key was found.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies a compact JWS JWT and returns its claims.
    ///
    /// Key selection: the key whose `kid` equals the header's `kid`; a token
    /// without `kid` is accepted only if the set holds exactly one usable
    /// key. Then, in order: the header `alg` must equal that key's
    /// algorithm, `crit` must be absent, `typ` must match if required, the
    /// signature must verify, and `exp`/`nbf`/`iss`/`aud` must pass.
    pub fn verify(&self, token: &str, options: &VerifyOptions<'_>) -> Result<Value, KeyError> {
        if token.split('.').count() != 3 {
            return Err(KeyError::MalformedToken(
                "expected three dot-separated parts".to_owned(),
            ));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| KeyError::MalformedToken(format!("bad header: {e}")))?;
        // We implement no JWS extensions, so any critical one is unknown and
        // RFC 7515 §4.1.11 requires rejection (e.g. `b64: false`).
        if header.crit.is_some() {
            return Err(KeyError::MalformedToken(
                "unsupported critical header parameters".to_owned(),
            ));
        }
        let token_alg = Algorithm::from_jwt(header.alg)
            .ok_or_else(|| KeyError::UnsupportedAlgorithm(format!("{:?}", header.alg)))?;

        let candidates: Vec<&VerificationKey> = match header.kid.as_deref() {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None if self.keys.len() == 1 => self.keys.iter().collect(),
            None => Vec::new(),
        };
        let first = candidates.first().ok_or(KeyError::UnknownKey)?;
        let key = candidates
            .iter()
            .find(|k| k.alg == token_alg)
            .ok_or_else(|| KeyError::AlgorithmMismatch {
                token: token_alg.as_str().to_owned(),
                key: first.alg.as_str().to_owned(),
            })?;

        if let Some(expected) = options.expected_typ {
            match header.typ.as_deref() {
                Some(typ) if typ_matches(typ, expected) => {}
                _ => return Err(KeyError::Type),
            }
        }

        let mut validation = Validation::new(key.alg.to_jwt());
        validation.algorithms = vec![key.alg.to_jwt()];
        validation.leeway = options.leeway_secs.min(MAX_LEEWAY_SECS);
        validation.validate_exp = !options.allow_expired;
        validation.validate_nbf = true;
        let mut required = vec!["iss"];
        if !options.allow_expired {
            required.push("exp");
        }
        if options.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        validation.set_issuer(&[options.issuer]);
        match options.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }

        let data = jsonwebtoken::decode::<Value>(token, &key.key, &validation)
            .map_err(|e| map_jwt_error(&e))?;
        // `jsonwebtoken` also accepts an *array* `iss` containing the issuer;
        // a JWT issuer is a single string (RFC 7519 §4.1.1).
        if data.claims.get("iss").and_then(Value::as_str) != Some(options.issuer) {
            return Err(KeyError::Issuer);
        }
        Ok(data.claims)
    }
}

/// Verifies `token` against `jwks` and returns its claims — a one-shot
/// [`Verifier::new`] + [`Verifier::verify`]. Prefer a long-lived
/// [`Verifier`] on hot paths.
///
/// Requires `iss == issuer`, an unexpired `exp` and (if given) `audience`
/// in `aud` and `typ` equal to `expected_typ`; `nbf` is honoured; clock
/// skew up to `leeway_secs` is tolerated.
pub fn verify_jwt(
    token: &str,
    jwks: &[Value],
    expected_typ: Option<&str>,
    issuer: &str,
    audience: Option<&str>,
    leeway_secs: u64,
) -> Result<Value, KeyError> {
    let options = VerifyOptions {
        expected_typ,
        issuer,
        audience,
        leeway_secs,
        allow_expired: false,
    };
    Verifier::new(jwks).verify(token, &options)
}

fn parse_verification_key(jwk: &Value) -> Option<VerificationKey> {
    let obj = jwk.as_object()?;
    let str_member = |name: &str| obj.get(name).and_then(Value::as_str);
    if obj.contains_key("use") && str_member("use") != Some("sig") {
        return None;
    }
    let implied = match (str_member("kty")?, str_member("crv")) {
        ("RSA", _) => Algorithm::RS256,
        ("EC", Some("P-256")) => Algorithm::ES256,
        ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
        _ => return None,
    };
    if obj.contains_key("alg") {
        let declared: Algorithm = str_member("alg")?.parse().ok()?;
        if declared != implied {
            return None;
        }
    }
    let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).ok()?;
    let key = DecodingKey::from_jwk(&parsed).ok()?;
    Some(VerificationKey {
        kid: str_member("kid").map(str::to_owned),
        alg: implied,
        key,
    })
}

/// `typ` values are media types: case-insensitive, and the `application/`
/// prefix is optional (RFC 7515 §4.1.9).
fn typ_matches(actual: &str, expected: &str) -> bool {
    fn strip(s: &str) -> &str {
        const PREFIX: &str = "application/";
        match s.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX) => &s[PREFIX.len()..],
            _ => s,
        }
    }
    strip(actual).eq_ignore_ascii_case(strip(expected))
}

fn map_jwt_error(e: &jsonwebtoken::errors::Error) -> KeyError {
    match e.kind() {
        ErrorKind::InvalidSignature => KeyError::InvalidSignature,
        ErrorKind::ExpiredSignature => KeyError::Expired,
        ErrorKind::ImmatureSignature => KeyError::NotYetValid,
        ErrorKind::InvalidIssuer => KeyError::Issuer,
        ErrorKind::InvalidAudience => KeyError::Audience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => KeyError::Issuer,
            "aud" => KeyError::Audience,
            other => KeyError::InvalidToken(format!("missing required claim {other}")),
        },
        ErrorKind::InvalidClaimFormat(claim) => {
            KeyError::InvalidToken(format!("claim {claim} has an invalid format"))
        }
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => KeyError::InvalidKey(e.to_string()),
        _ => KeyError::MalformedToken(e.to_string()),
    }
}
