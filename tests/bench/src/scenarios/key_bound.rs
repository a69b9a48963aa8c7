//! `client_credentials_private_key_jwt_dpop`: the FAPI 2.0 machine client.
//! Each request is a client_credentials grant authenticated with a fresh
//! `private_key_jwt` assertion (RFC 7523) and carrying a fresh DPoP proof
//! (RFC 9449), both ES256, so the server verifies two signatures, records
//! two one-time ids (assertion `jti`, proof `jti`) and mints a bound token.
//! The client's signing is bench-side work; the figure is the server's.

use inkan_keys::signing::{Algorithm, SigningKey};
use serde_json::{json, Value};

use crate::routes::Routes;
use crate::wire::{excerpt, form};

/// A key-authenticated, DPoP-using service project.
pub struct KeyBound {
    pub client_id: String,
    key: SigningKey,
    /// The public JWK the proofs carry (no `kid`).
    jwk: Value,
    /// The issuer (the assertions' `aud`) and the token endpoint (`htu`).
    issuer: String,
    token_endpoint: String,
}

impl KeyBound {
    /// A new ES256 key; `register` gets its JWK Set and returns the client id.
    pub fn new(issuer: String, token_endpoint: String) -> anyhow::Result<(KeyBound, Value)> {
        let key = SigningKey::generate(Algorithm::ES256)?;
        let jwks = json!({ "keys": [key.public_jwk()] });
        let mut jwk = key.public_jwk();
        if let Some(o) = jwk.as_object_mut() {
            o.remove("kid");
        }
        Ok((
            KeyBound {
                client_id: String::new(),
                key,
                jwk,
                issuer,
                token_endpoint,
            },
            jwks,
        ))
    }

    fn sign(&self, header: Value, claims: Value) -> Result<String, String> {
        self.key
            .sign_jws(&header, &claims)
            .map_err(|e| format!("sign: {e}"))
    }

    /// One grant; Err carries a short description.
    pub async fn step(&self, http: &reqwest::Client, routes: &Routes) -> Result<(), String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64;
        let assertion = self.sign(
            json!({"typ": "JWT", "kid": self.key.kid()}),
            json!({
                "iss": self.client_id, "sub": self.client_id, "aud": self.issuer,
                "iat": now, "exp": now + 60, "jti": inkan_keys::generate_token(16),
            }),
        )?;
        let proof = self.sign(
            json!({"typ": "dpop+jwt", "jwk": self.jwk}),
            json!({
                "htm": "POST", "htu": self.token_endpoint, "iat": now,
                "jti": inkan_keys::generate_token(16),
            }),
        )?;
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("scope", crate::provision::SERVICE_SCOPE),
            ("client_id", &self.client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ]);
        let resp = http
            .post(routes.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("dpop", proof)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", excerpt(&body)));
        }
        if !String::from_utf8_lossy(&body).contains("\"token_type\":\"DPoP\"") {
            return Err(format!("not a DPoP-bound token: {}", excerpt(&body)));
        }
        Ok(())
    }
}

/// Registers the project and returns the scenario.
pub async fn prepare(ctx: &super::Ctx) -> anyhow::Result<KeyBound> {
    let discovery: Value = ctx
        .http
        .get(ctx.routes.url("/.well-known/openid-configuration"))
        .send()
        .await?
        .json()
        .await?;
    let text = |name: &str| -> anyhow::Result<String> {
        discovery[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("discovery lacks {name}"))
    };
    let (mut scenario, jwks) = KeyBound::new(text("issuer")?, text("token_endpoint")?)?;
    let created = ctx
        .admin
        .create(json!({
            "name": "bench-fapi2-service",
            "app_type": "service",
            "profile": "fapi2",
            "scopes": [crate::provision::SERVICE_SCOPE],
            "id_token_signed_response_alg": "ES256",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
        }))
        .await?;
    scenario.client_id = created["client_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no client_id: {created}"))?
        .to_string();
    Ok(scenario)
}
