//! The passkey login flow, with a software authenticator in place of the
//! browser's: `GET /authorize` → login page → `POST /login/passkey/options`
//! → an ES256 assertion over the challenge → `POST /login/passkey` →
//! redirect with the code → `POST /token`. One signature verification per
//! login where the password flow runs argon2id.
//!
//! Preparation registers one passkey per connection the way a browser does
//! after a password login: the login form says the browser can create one
//! (`passkey=available`), the offer page's ceremony (`POST
//! /passkeys/options`) is answered with a "none" attestation (WebAuthn
//! Level 3 §8.7) of a fresh P-256 key, `POST /passkeys`.
//!
//! The authenticator is written here from WebAuthn Level 3 §6.1
//! (authenticator data), §6.5.1 (attested credential data), §5.8.1 (client
//! data) and RFC 9053 §7.1.1 (the COSE EC2 key); CBOR is `ciborium`,
//! signatures `aws-lc-rs`. It does not count signatures (counter 0), like
//! most passkey providers.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ciborium::Value as Cbor;
use serde_json::{json, Value};

use super::code_flow::{authorize, code_of, redeem, Authorized, RelyingParty, Request, SCOPE};
use crate::routes::Routes;
use crate::wire::{form, hidden, Jar};

/// User present, user verified (WebAuthn Level 3 §6.1 flags UP, UV).
const FLAGS_UP_UV: u8 = 0x01 | 0x04;
/// Attested credential data included (AT).
const FLAG_AT: u8 = 0x40;

/// One passkey: its credential id, key pair and user handle.
pub struct SoftPasskey {
    credential_id: Vec<u8>,
    key: EcdsaKeyPair,
    user_handle: Vec<u8>,
}

/// The relying party's identity as the authenticator sees it: the RP id
/// (the issuer's host) and the origin (the issuer's origin).
#[derive(Clone, Debug)]
pub struct Origin {
    pub rp_id: String,
    pub origin: String,
}

impl Origin {
    /// From the issuer URL in discovery.
    pub fn of_issuer(issuer: &str) -> Result<Origin, String> {
        let url = url::Url::parse(issuer).map_err(|e| format!("issuer {issuer}: {e}"))?;
        let rp_id = url
            .host_str()
            .ok_or("an issuer without a host")?
            .to_string();
        Ok(Origin {
            rp_id,
            origin: url.origin().ascii_serialization(),
        })
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn rp_id_hash(&self) -> Vec<u8> {
        digest(&SHA256, self.rp_id.as_bytes()).as_ref().to_vec()
    }
}

fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64u(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("base64url: {e}"))
}

/// The options' `publicKey.<field>` as a string.
fn option<'a>(options: &'a Value, field: &str) -> Result<&'a str, String> {
    options["options"]["publicKey"][field]
        .as_str()
        .ok_or_else(|| format!("ceremony options without publicKey.{field}: {options}"))
}

impl SoftPasskey {
    /// A new P-256 credential for the user whose handle the creation
    /// options carry, and the registration answer (`credential` field of
    /// `POST /passkeys`) for `options`.
    pub fn create(origin: &Origin, options: &Value) -> Result<(SoftPasskey, String), String> {
        let challenge = option(options, "challenge")?;
        let user_handle = unb64u(
            options["options"]["publicKey"]["user"]["id"]
                .as_str()
                .ok_or("creation options without user.id")?,
        )?;
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| "generate a P-256 key")?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .map_err(|_| "read the P-256 key")?;
        let mut credential_id = vec![0u8; 16];
        aws_lc_rs::rand::fill(&mut credential_id).map_err(|_| "random credential id")?;

        // The public key: an uncompressed point 0x04 | x | y.
        let point = key.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        let cose_key = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())), // kty: EC2
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())), // alg: ES256
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())), // crv: P-256
            (Cbor::Integer((-2).into()), Cbor::Bytes(x.to_vec())),
            (Cbor::Integer((-3).into()), Cbor::Bytes(y.to_vec())),
        ]);
        let mut auth_data = origin.rp_id_hash();
        auth_data.push(FLAGS_UP_UV | FLAG_AT);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&credential_id);
        ciborium::into_writer(&cose_key, &mut auth_data).map_err(|e| e.to_string())?;
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::into_writer(&attestation, &mut attestation_object).map_err(|e| e.to_string())?;
        let client_data = origin.client_data("webauthn.create", challenge);
        let answer = json!({
            "id": b64u(&credential_id),
            "rawId": b64u(&credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64u(&attestation_object),
                "clientDataJSON": b64u(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        });
        Ok((
            SoftPasskey {
                credential_id,
                key,
                user_handle,
            },
            answer.to_string(),
        ))
    }

    /// The assertion (`credential` field of `POST /login/passkey`) for the
    /// request options `options`: a signature over the authenticator data
    /// and the hash of the client data (WebAuthn Level 3 §6.3.3 step 11).
    pub fn assert(&self, origin: &Origin, options: &Value) -> Result<String, String> {
        let challenge = option(options, "challenge")?;
        let client_data = origin.client_data("webauthn.get", challenge);
        let mut auth_data = origin.rp_id_hash();
        auth_data.push(FLAGS_UP_UV);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .map_err(|_| "sign the assertion")?;
        Ok(json!({
            "id": b64u(&self.credential_id),
            "rawId": b64u(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64u(&auth_data),
                "clientDataJSON": b64u(&client_data),
                "signature": b64u(signature.as_ref()),
                "userHandle": b64u(&self.user_handle),
            },
            "extensions": {},
        })
        .to_string())
    }
}

/// Posts `fields` as a form with `jar`'s cookies; returns (status, body, headers).
async fn post(
    http: &reqwest::Client,
    routes: &Routes,
    jar: &mut Jar,
    path: &str,
    fields: &[(&str, &str)],
) -> Result<(u16, reqwest::header::HeaderMap, String), String> {
    let mut req = http
        .post(routes.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields));
    if let Some(cookie) = jar.header() {
        req = req.header("cookie", cookie);
    }
    let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
    jar.update(resp.headers());
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.map_err(|e| format!("{path} body: {e}"))?;
    Ok((status, headers, body))
}

/// A ceremony's `{"ceremony", "options"}` for the page's pending sign-in.
async fn ceremony(
    http: &reqwest::Client,
    routes: &Routes,
    jar: &mut Jar,
    path: &str,
    authz: &str,
    csrf: &str,
) -> Result<Value, String> {
    let (status, _, body) =
        post(http, routes, jar, path, &[("authz", authz), ("csrf", csrf)]).await?;
    if status != 200 {
        return Err(format!("{path}: HTTP {status}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{path}: {e}"))
}

fn fields(page: &str) -> Result<(String, String), String> {
    Ok((
        hidden(page, "authz").ok_or("a page without its authz field")?,
        hidden(page, "csrf").ok_or("a page without its csrf field")?,
    ))
}

/// Registers a passkey for `email` as a browser would after a password
/// login (the offer), through `rp`'s code flow; returns it.
pub async fn register(
    http: &reqwest::Client,
    routes: &Routes,
    rp: &RelyingParty,
    origin: &Origin,
    email: &str,
    password: &str,
) -> Result<SoftPasskey, String> {
    let mut jar = Jar::default();
    let request = Request::new(rp, SCOPE);
    let Authorized::LoginPage(page) = authorize(http, routes, &mut jar, &request).await? else {
        return Err("a fresh browser got a code without signing in".into());
    };
    let (authz, csrf) = fields(&page)?;
    let (status, _, offer) = post(
        http,
        routes,
        &mut jar,
        "/login",
        &[
            ("authz", &authz),
            ("csrf", &csrf),
            ("email", email),
            ("password", password),
            ("passkey", "available"),
        ],
    )
    .await?;
    if status != 200 || !offer.contains("passkey-register") {
        return Err(format!(
            "no passkey offer after the password (HTTP {status})"
        ));
    }
    let (authz, csrf) = fields(&offer)?;
    let options = ceremony(http, routes, &mut jar, "/passkeys/options", &authz, &csrf).await?;
    let (passkey, answer) = SoftPasskey::create(origin, &options)?;
    let id = options["ceremony"].as_str().ok_or("no ceremony id")?;
    let (status, headers, _) = post(
        http,
        routes,
        &mut jar,
        "/passkeys",
        &[
            ("authz", &authz),
            ("csrf", &csrf),
            ("ceremony", id),
            ("credential", &answer),
        ],
    )
    .await?;
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if status != 303 || !location.contains("code=") {
        return Err(format!("the passkey was not registered (HTTP {status})"));
    }
    Ok(passkey)
}

/// One whole passkey login with a fresh browser: authorize → options →
/// assertion → code → token.
pub async fn login(
    http: &reqwest::Client,
    routes: &Routes,
    rp: &RelyingParty,
    origin: &Origin,
    passkey: &SoftPasskey,
) -> Result<Value, String> {
    let mut jar = Jar::default();
    let request = Request::new(rp, SCOPE);
    let Authorized::LoginPage(page) = authorize(http, routes, &mut jar, &request).await? else {
        return Err("a fresh browser got a code without signing in".into());
    };
    let (authz, csrf) = fields(&page)?;
    let options = ceremony(
        http,
        routes,
        &mut jar,
        "/login/passkey/options",
        &authz,
        &csrf,
    )
    .await?;
    let answer = passkey.assert(origin, &options)?;
    let id = options["ceremony"].as_str().ok_or("no ceremony id")?;
    let mut req = http
        .post(routes.url("/login/passkey"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("authz", &authz),
            ("csrf", &csrf),
            ("ceremony", id),
            ("credential", &answer),
        ]));
    if let Some(cookie) = jar.header() {
        req = req.header("cookie", cookie);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("passkey login: {e}"))?;
    let status = resp.status().as_u16();
    if status == 200 {
        return Err("passkey login refused (the form came back)".into());
    }
    let code = code_of(status, resp, &request.state).await?;
    redeem(http, routes, rp, &code, &request).await
}

/// The scenario: one registered passkey per connection.
pub struct Passkeys {
    pub rp: RelyingParty,
    pub origin: Origin,
    pub passkeys: Vec<SoftPasskey>,
}

impl Passkeys {
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
    ) -> Result<(), String> {
        let passkey = &self.passkeys[conn % self.passkeys.len()];
        login(http, routes, &self.rp, &self.origin, passkey)
            .await
            .map(|_| ())
    }
}
