//! Building and signing tokens: RFC 9068 access tokens and OpenID Connect
//! ID tokens. Signing goes through the key ring's parsed key pairs.

use aws_lc_rs::digest;
use base64::Engine;
use inkan_directory::KeySet;
use inkan_keys::secret::generate_token;
use inkan_keys::signing::Algorithm;
use inkan_oauth::AccessClaims;
use serde_json::{json, Map, Value};

use crate::error::TokenError;

/// What the caller decides about an access token (RFC 9068 §2.2); the
/// token's id and expiry are added when it is minted as [`AccessClaims`].
pub struct AccessTokenClaims<'a> {
    pub issuer: &'a str,
    /// The identity's id, or the client id for client credentials.
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub lifetime_seconds: u32,
    pub now: i64,
    pub auth_time: Option<i64>,
    /// Token family (refresh rotation) this token belongs to, if any.
    pub family: Option<&'a str>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1: `cnf.jkt`).
    pub jkt: Option<&'a str>,
}

/// A signed access token and its id.
pub struct Minted {
    pub token: String,
    pub jti: String,
    pub expires_at: i64,
}

fn signer(keys: &KeySet, alg: Algorithm) -> Result<&inkan_keys::signing::SigningKey, TokenError> {
    keys.signer(alg)
        .map(|k| k.as_ref())
        .ok_or_else(|| TokenError::Unavailable(format!("no active {alg} signing key").into()))
}

/// Signs an RFC 9068 access token (`typ: at+jwt`); `aud` is the issuer,
/// whose userinfo endpoint and admin API are the resource servers.
pub fn access_token(
    keys: &KeySet,
    alg: Algorithm,
    c: &AccessTokenClaims<'_>,
) -> Result<Minted, TokenError> {
    let claims = AccessClaims {
        iss: c.issuer.to_owned(),
        sub: c.subject.to_owned(),
        aud: c.issuer.to_owned(),
        client_id: c.client_id.to_owned(),
        scope: c.scope.to_owned(),
        iat: c.now,
        exp: c.now + i64::from(c.lifetime_seconds),
        jti: generate_token(16),
        auth_time: c.auth_time,
        fid: c.family.map(str::to_owned),
        cnf: c.jkt.map(|jkt| inkan_oauth::Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let token = signer(keys, alg)?
        .sign_jwt("at+jwt", &claims.to_value())
        .map_err(|e| TokenError::Internal(e.into()))?;
    Ok(Minted {
        token,
        jti: claims.jti,
        expires_at: claims.exp,
    })
}

/// `at_hash` / `c_hash` (OIDC Core §3.1.3.6): the left half of the hash of
/// the ASCII value, base64url. The hash is the one of the JWS algorithm:
/// SHA-256 for RS256 and ES256, SHA-512 for EdDSA with Ed25519 (OIDC Core errata).
pub fn half_hash(alg: Algorithm, value: &str) -> String {
    let algorithm = match alg {
        Algorithm::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let d = digest::digest(algorithm, value.as_bytes());
    let bytes = d.as_ref();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Signs an ID token (OIDC Core §2) with the given claims laid over the required ones.
pub fn id_token(
    keys: &KeySet,
    alg: Algorithm,
    required: IdTokenBase<'_>,
    extra: Map<String, Value>,
) -> Result<String, TokenError> {
    let mut claims = Map::new();
    claims.extend(extra);
    claims.insert("iss".into(), json!(required.issuer));
    claims.insert("sub".into(), json!(required.subject));
    claims.insert("aud".into(), json!(required.client_id));
    claims.insert("azp".into(), json!(required.client_id));
    claims.insert("iat".into(), json!(required.now));
    claims.insert(
        "exp".into(),
        json!(required.now + i64::from(required.lifetime_seconds)),
    );
    claims.insert("auth_time".into(), json!(required.auth_time));
    if let Some(nonce) = required.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(at) = required.access_token {
        claims.insert("at_hash".into(), json!(half_hash(alg, at)));
    }
    signer(keys, alg)?
        .sign_jwt("JWT", &Value::Object(claims))
        .map_err(|e| TokenError::Internal(e.into()))
}

pub struct IdTokenBase<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub client_id: &'a str,
    pub now: i64,
    pub lifetime_seconds: u32,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core A.3: access_token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" → at_hash "77QmUPtjPfzWtF2AnpK9RQ" (RS256).
        assert_eq!(
            half_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
