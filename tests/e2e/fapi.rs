//! The FAPI 2.0 baseline (issue #15): pushed authorization requests
//! (RFC 9126), DPoP (RFC 9449) and private_key_jwt (RFC 7523), driven from
//! the outside.
//!
//! - An independent client, the npm package `oauth4webapi`
//!   (`tests/e2e/oauth4webapi/client.mjs`), runs a FAPI 2.0 project end to
//!   end: PAR + PKCE + DPoP (with server nonces) + private_key_jwt, the
//!   login in between driven by this test's user agent, then userinfo,
//!   refresh, introspection and revocation; and client credentials.
//! - Rust negative cases, with proofs and assertions signed here: a
//!   replayed proof, a proof for another URL, a stolen bound token without
//!   its key, a replayed assertion, a `request_uri` used twice, a request
//!   that skips PAR, a secret where only a key is accepted.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use inkan_keys::signing::{Algorithm, SigningKey};
use serde_json::{json, Value};

use crate::provider::{
    challenge, hidden, redirect, Agent, Backend, Provider, CALLBACK, PASSWORD, VERIFIER,
};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A client's key: signs its assertions and its DPoP proofs.
struct ClientKey(SigningKey);

impl ClientKey {
    fn new() -> ClientKey {
        ClientKey(SigningKey::generate(Algorithm::ES256).unwrap())
    }

    fn jwks(&self) -> Value {
        json!({ "keys": [self.0.public_jwk()] })
    }

    fn jkt(&self) -> String {
        inkan_keys::jwk_thumbprint(&self.0.public_jwk()).unwrap()
    }

    /// An RFC 7523 client assertion for `client_id`, for the audience `aud`.
    fn assertion(&self, client_id: &str, aud: &str) -> String {
        let now = now();
        self.0
            .sign_jws(
                &json!({"typ": "JWT", "kid": self.0.kid()}),
                &json!({
                    "iss": client_id, "sub": client_id, "aud": aud,
                    "iat": now, "exp": now + 60, "jti": random_id(),
                }),
            )
            .unwrap()
    }

    /// An RFC 9449 proof for `method url`, with `ath` for `access_token`.
    fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "htm": method, "htu": url, "iat": now(), "jti": random_id(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(inkan_keys::dpop::access_token_hash(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let mut jwk = self.0.public_jwk();
        if let Some(o) = jwk.as_object_mut() {
            o.remove("kid");
        }
        self.0
            .sign_jws(&json!({"typ": "dpop+jwt", "jwk": jwk}), &claims)
            .unwrap()
    }
}

/// A POST answer: status, `DPoP-Nonce`, JSON body.
struct Answer {
    status: u16,
    nonce: Option<String>,
    www_authenticate: Option<String>,
    body: Value,
}

async fn post(url: &str, form: &[(&str, &str)], dpop: Option<&str>) -> Answer {
    let mut req = reqwest::Client::new().post(url).form(form);
    if let Some(proof) = dpop {
        req = req.header("DPoP", proof);
    }
    answer(req.send().await.unwrap()).await
}

async fn answer(resp: reqwest::Response) -> Answer {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (nonce, www_authenticate) = (header("dpop-nonce"), header("www-authenticate"));
    Answer {
        status: resp.status().as_u16(),
        nonce,
        www_authenticate,
        body: resp.json().await.unwrap_or(Value::Null),
    }
}

/// Registers a project authenticating with `key`; `extra` overlays the body.
async fn keyed_project(provider: &Provider, key: &ClientKey, extra: Value) -> String {
    let mut body = json!({
        "name": "Payments",
        "app_type": "web",
        "redirect_uris": [CALLBACK],
        "scopes": ["openid", "profile", "email", "offline_access"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": key.jwks(),
    });
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    let (status, created) = provider
        .inkan
        .admin()
        .send(reqwest::Method::POST, "/admin/v1/projects", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("client_secret").is_none(), "{created}");
    created["client_id"].as_str().unwrap().to_string()
}

/// Registers a `service` project (client credentials) with `scopes`,
/// authenticating with `key`.
async fn keyed_service(
    provider: &Provider,
    key: &ClientKey,
    scopes: &[&str],
    extra: Value,
) -> String {
    let mut body = json!({"app_type": "service", "redirect_uris": [], "scopes": scopes});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    keyed_project(provider, key, body).await
}

/// The form of a client authenticated with `key`'s assertion.
fn authenticated<'a>(
    client_id: &'a str,
    assertion: &'a str,
    rest: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("client_id", client_id),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(rest);
    form
}

// ---- the independent client ----

/// `client.mjs`, installed by `.ci/run` (`npm ci`), talking JSON lines.
struct NodeClient {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
}

impl NodeClient {
    fn start(mode: &str, env: &[(&str, &str)]) -> NodeClient {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/oauth4webapi");
        assert!(
            dir.join("node_modules/oauth4webapi").is_dir(),
            "run `npm ci --prefix tests/e2e/oauth4webapi` first (.ci/run does)"
        );
        let mut child = Command::new("node")
            .arg("client.mjs")
            .arg(mode)
            .current_dir(&dir)
            .envs(env.iter().copied())
            .env("CLIENT_TIMEOUT_SECS", "60")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or(json!({"step": "unreadable", "line": line}));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        NodeClient {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    /// The next line, which must be `step`.
    fn expect(&self, step: &str) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("oauth4webapi printed nothing for {step}"));
        assert_eq!(line["step"], step, "{line}");
        line
    }

    fn send(&mut self, line: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) {
        self.expect("done");
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

impl Drop for NodeClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private EC P-256 JWK (with `kid` and `alg`) and its public half, made
/// by Node's WebCrypto, so the client's key never passes through Inkan's code.
fn node_key_pair() -> (Value, Value) {
    let script = r#"
const { generateKeyPairSync } = require('node:crypto');
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = privateKey.export({ format: 'jwk' });
jwk.kid = 'oauth4webapi-key'; jwk.alg = 'ES256';
const { d, ...pub } = jwk;
pub.use = 'sig';
console.log(JSON.stringify({ private: jwk, public: pub }));
"#;
    let out = Command::new("node")
        .arg("-e")
        .arg(script)
        .output()
        .expect("node runs");
    assert!(out.status.success());
    let pair: Value = serde_json::from_slice(&out.stdout).unwrap();
    (pair["private"].clone(), pair["public"].clone())
}

async fn a_fapi2_project_works_end_to_end_with_oauth4webapi(backend: Backend) {
    // Server nonces on, so the client's use_dpop_nonce retries run too.
    let provider = Provider::start_with(backend, &[("INKAN_DPOP_NONCE_SECONDS", "60")]).await;
    let user = provider.user("ada@example.com").await;
    let (private, public) = node_key_pair();
    let (status, created) = provider
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({
                "name": "Payments",
                "app_type": "web",
                "profile": "fapi2",
                "redirect_uris": [CALLBACK],
                "scopes": ["openid", "email", "offline_access"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public]},
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["require_pushed_authorization_requests"], true);
    assert_eq!(created["dpop_bound_access_tokens"], true);
    assert_eq!(created["requires_pkce"], true);
    let client_id = created["client_id"].as_str().unwrap().to_string();
    let private = private.to_string();
    let env = [
        ("ISSUER", provider.issuer.as_str()),
        ("CLIENT_ID", client_id.as_str()),
        ("CLIENT_PRIVATE_JWK", private.as_str()),
        ("REDIRECT_URI", CALLBACK),
        ("SCOPE", "openid email offline_access"),
    ];

    let mut client = NodeClient::start("code", &env);
    let authorize = client.expect("authorize");
    let url = authorize["url"].as_str().unwrap();
    assert!(url.contains("request_uri="), "{url}");
    assert_eq!(authorize["expires_in"], 60);
    // The browser part: only client_id and request_uri travel through it.
    let agent = Agent::new();
    let page = agent.get(url).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(hidden(&page, "authz").is_some());
    let back = redirect(
        agent
            .login(&provider, &page, "ada@example.com", PASSWORD)
            .await,
    );
    assert!(back.location.starts_with(CALLBACK), "{}", back.location);
    assert_eq!(back.params["iss"], provider.issuer);
    client.send(json!({ "callback": back.location }));

    let tokens = client.expect("tokens");
    assert_eq!(tokens["token_type"], "dpop");
    assert_eq!(tokens["sub"], user);
    assert_eq!(tokens["has_refresh_token"], true);
    let jkt = tokens["dpop_jkt"].as_str().unwrap().to_string();
    let userinfo = client.expect("userinfo");
    assert_eq!(userinfo["claims"]["email"], "ada@example.com");
    let refreshed = client.expect("refreshed");
    assert_eq!(refreshed["token_type"], "dpop");
    assert_eq!(client.expect("userinfo")["claims"]["sub"], user);
    let introspection = client.expect("introspection");
    assert_eq!(introspection["body"]["active"], true, "{introspection}");
    assert_eq!(introspection["body"]["token_type"], "DPoP");
    assert_eq!(introspection["body"]["cnf"]["jkt"], jkt.as_str());
    client.expect("revoked");
    client.finish();

    // The bound access token is no good as a Bearer token.
    let stolen = refreshed["access_token"].as_str().unwrap();
    let resp = reqwest::Client::new()
        .get(provider.url("/userinfo"))
        .bearer_auth(stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Machine clients: client credentials with private_key_jwt and DPoP.
    let (status, created) = provider
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({
                "name": "Settlement job",
                "app_type": "service",
                "profile": "fapi2",
                "scopes": ["payments.read"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": created["jwks"],
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let service_id = created["client_id"].as_str().unwrap().to_string();
    let env = [
        ("ISSUER", provider.issuer.as_str()),
        ("CLIENT_ID", service_id.as_str()),
        ("CLIENT_PRIVATE_JWK", private.as_str()),
        ("SCOPE", "payments.read"),
    ];
    let client = NodeClient::start("client_credentials", &env);
    let tokens = client.expect("tokens");
    assert_eq!(tokens["token_type"], "dpop");
    let introspection = client.expect("introspection");
    assert_eq!(introspection["body"]["active"], true, "{introspection}");
    assert_eq!(introspection["body"]["sub"], service_id.as_str());
    assert_eq!(introspection["body"]["cnf"]["jkt"], tokens["dpop_jkt"]);
    client.finish();
    provider.stop().await;
}

#[tokio::test]
async fn a_fapi2_project_works_end_to_end_with_oauth4webapi_on_embedded_stores() {
    a_fapi2_project_works_end_to_end_with_oauth4webapi(Backend::Embedded).await;
}

#[tokio::test]
async fn a_fapi2_project_works_end_to_end_with_oauth4webapi_on_real_backends() {
    a_fapi2_project_works_end_to_end_with_oauth4webapi(Backend::Real).await;
}

// ---- negative cases, from Rust ----

#[tokio::test]
async fn dpop_proofs_are_refused_when_replayed_for_another_url_or_without_the_nonce() {
    let provider =
        Provider::start_with(Backend::Embedded, &[("INKAN_DPOP_NONCE_SECONDS", "60")]).await;
    let key = ClientKey::new();
    let client_id = keyed_service(&provider, &key, &["reports"], json!({})).await;
    let token_url = provider.url("/token");
    let aud = provider.issuer.clone();
    let grant = [("grant_type", "client_credentials")];

    // No nonce yet: use_dpop_nonce, and the nonce to use.
    let assertion = key.assertion(&client_id, &aud);
    let first = post(
        &token_url,
        &authenticated(&client_id, &assertion, &grant),
        Some(&key.proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(first.status, 400, "{}", first.body);
    assert_eq!(first.body["error"], "use_dpop_nonce");
    let nonce = first.nonce.expect("a DPoP-Nonce header");

    // With it: a DPoP-bound token.
    let proof = key.proof("POST", &token_url, None, Some(&nonce));
    let assertion = key.assertion(&client_id, &aud);
    let ok = post(
        &token_url,
        &authenticated(&client_id, &assertion, &grant),
        Some(&proof),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["token_type"], "DPoP");
    let claims = crate::provider::verify_jwt(
        &provider,
        ok.body["access_token"].as_str().unwrap(),
        &provider.issuer,
    )
    .await;
    assert_eq!(claims["cnf"]["jkt"], key.jkt());

    // The same proof again (a fresh assertion): refused.
    let assertion = key.assertion(&client_id, &aud);
    let replay = post(
        &token_url,
        &authenticated(&client_id, &assertion, &grant),
        Some(&proof),
    )
    .await;
    assert_eq!(replay.status, 400);
    assert_eq!(
        replay.body["error"], "invalid_dpop_proof",
        "{}",
        replay.body
    );

    // A proof for another URL: refused.
    let elsewhere = key.proof("POST", &provider.url("/par"), None, Some(&nonce));
    let assertion = key.assertion(&client_id, &aud);
    let wrong = post(
        &token_url,
        &authenticated(&client_id, &assertion, &grant),
        Some(&elsewhere),
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body["error"], "invalid_dpop_proof", "{}", wrong.body);
    provider.stop().await;
}

#[tokio::test]
async fn a_stolen_dpop_bound_token_is_useless_without_its_key() {
    let provider = Provider::start(Backend::Embedded).await;
    provider.user("ada@example.com").await;
    let key = ClientKey::new();
    let client_id = keyed_project(&provider, &key, json!({"dpop_bound_access_tokens": true})).await;
    let (token_url, aud) = (provider.url("/token"), provider.issuer.clone());

    // A login whose code is bound to the key at the authorization request.
    let agent = Agent::new();
    let challenge = challenge();
    let jkt = key.jkt();
    let rp = crate::provider::Rp {
        client_id: client_id.clone(),
        secret: None,
    };
    let mut params = crate::provider::code_params(&rp, &challenge, "openid email offline_access");
    params.push(("dpop_jkt", &jkt));
    // The code exchange, with the key's assertion and the given proof.
    let redeem = |code: String, proof: Option<String>| {
        let (key, client_id, aud, token_url) = (&key, &client_id, &aud, &token_url);
        async move {
            let assertion = key.assertion(client_id, aud);
            let exchange = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ];
            post(
                token_url,
                &authenticated(client_id, &assertion, &exchange),
                proof.as_deref(),
            )
            .await
        }
    };
    let back = agent.sign_in(&provider, &params, "ada@example.com").await;
    let code = back.params["code"].clone();
    // Without a proof the project gets nothing (dpop_bound_access_tokens).
    let bare = redeem(code.clone(), None).await;
    assert_eq!(bare.body["error"], "invalid_dpop_proof", "{}", bare.body);
    // The code is bound to the key: another key's proof does not redeem it.
    let thief = ClientKey::new();
    let stolen = redeem(code, Some(thief.proof("POST", &token_url, None, None))).await;
    assert_eq!(
        stolen.body["error"], "invalid_dpop_proof",
        "{}",
        stolen.body
    );

    // A new login, redeemed by the right key.
    let back = agent.sign_in(&provider, &params, "ada@example.com").await;
    let ok = redeem(
        back.params["code"].clone(),
        Some(key.proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let token = ok.body["access_token"].as_str().unwrap().to_string();

    let userinfo = provider.url("/userinfo");
    let get = |scheme: &'static str, proof: Option<String>| {
        let mut req = reqwest::Client::new()
            .get(&userinfo)
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    // The owner, with a proof over this request and this token.
    let owner = get(
        "DPoP",
        Some(key.proof("GET", &userinfo, Some(&token), None)),
    )
    .await;
    assert_eq!(owner.status, 200, "{}", owner.body);
    assert_eq!(owner.body["email"], "ada@example.com");
    // The thief: as a Bearer token, with no proof, with a proof by another key.
    let bearer = get("Bearer", None).await;
    assert_eq!(bearer.status, 401);
    let no_proof = get("DPoP", None).await;
    assert_eq!(no_proof.status, 401);
    assert!(no_proof.www_authenticate.unwrap().starts_with("DPoP "));
    let other_key = get(
        "DPoP",
        Some(thief.proof("GET", &userinfo, Some(&token), None)),
    )
    .await;
    assert_eq!(other_key.status, 401);
    assert!(other_key
        .www_authenticate
        .unwrap()
        .contains("invalid_token"));
    // A proof by the right key for another token (no matching ath).
    let wrong_ath = get(
        "DPoP",
        Some(key.proof("GET", &userinfo, Some("another-token"), None)),
    )
    .await;
    assert_eq!(wrong_ath.status, 401);
    assert!(wrong_ath
        .www_authenticate
        .unwrap()
        .contains("invalid_dpop_proof"));
    provider.stop().await;
}

#[tokio::test]
async fn client_assertions_are_refused_when_replayed_or_signed_by_another_key() {
    let provider = Provider::start(Backend::Embedded).await;
    let key = ClientKey::new();
    let client_id = keyed_service(&provider, &key, &["reports"], json!({})).await;
    let token_url = provider.url("/token");
    let grant = [("grant_type", "client_credentials")];
    let assertion = key.assertion(&client_id, &token_url);
    let first = post(
        &token_url,
        &authenticated(&client_id, &assertion, &grant),
        None,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["token_type"], "Bearer");
    // The same assertion again: its jti was used.
    let again = post(
        &token_url,
        &authenticated(&client_id, &assertion, &grant),
        None,
    )
    .await;
    assert_eq!(again.status, 401);
    assert_eq!(again.body["error"], "invalid_client");
    // Signed by a key the client never registered.
    let stranger = ClientKey::new().assertion(&client_id, &token_url);
    let forged = post(
        &token_url,
        &authenticated(&client_id, &stranger, &grant),
        None,
    )
    .await;
    assert_eq!(forged.body["error"], "invalid_client");
    // For another audience.
    let elsewhere = key.assertion(&client_id, "https://other.example.com");
    let wrong = post(
        &token_url,
        &authenticated(&client_id, &elsewhere, &grant),
        None,
    )
    .await;
    assert_eq!(wrong.body["error"], "invalid_client");
    // A key-authenticated client's secret is no way in, nor is Basic.
    let secret = post(
        &token_url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "guess"),
        ],
        None,
    )
    .await;
    assert_eq!(secret.body["error"], "invalid_client");
    // Introspection and revocation take the same assertions.
    let token = first.body["access_token"].as_str().unwrap();
    let assertion = key.assertion(&client_id, &provider.url("/introspect"));
    let introspected = post(
        &provider.url("/introspect"),
        &authenticated(&client_id, &assertion, &[("token", token)]),
        None,
    )
    .await;
    assert_eq!(introspected.body["active"], true, "{}", introspected.body);
    let assertion = key.assertion(&client_id, &provider.issuer);
    let revoked = post(
        &provider.url("/revoke"),
        &authenticated(&client_id, &assertion, &[("token", token)]),
        None,
    )
    .await;
    assert_eq!(revoked.status, 200);
    let assertion = key.assertion(&client_id, &provider.issuer);
    let after = post(
        &provider.url("/introspect"),
        &authenticated(&client_id, &assertion, &[("token", token)]),
        None,
    )
    .await;
    assert_eq!(after.body["active"], false);
    provider.stop().await;
}

#[tokio::test]
async fn a_request_uri_is_used_once_and_a_fapi2_project_must_push_its_requests() {
    let provider = Provider::start(Backend::Embedded).await;
    provider.user("ada@example.com").await;
    let key = ClientKey::new();
    let client_id = keyed_project(&provider, &key, json!({"profile": "fapi2"})).await;
    let rp = crate::provider::Rp {
        client_id: client_id.clone(),
        secret: None,
    };
    let challenge = challenge();
    let params = crate::provider::code_params(&rp, &challenge, "openid email");
    // What the client pushes: the request but its client_id, which its
    // authentication carries.
    let pushable: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(k, _)| *k != "client_id")
        .collect();

    // Sent through the browser: refused, back at the client.
    let agent = Agent::new();
    let direct = redirect(agent.authorize(&provider, &params).await);
    assert!(direct.location.starts_with(CALLBACK), "{}", direct.location);
    assert_eq!(direct.params["error"], "invalid_request");

    // Pushed (FAPI 2.0: the issuer is the assertion's audience, only it).
    let par_url = provider.url("/par");
    let to_par = key.assertion(&client_id, &par_url);
    let refused = post(
        &par_url,
        &authenticated(&client_id, &to_par, &pushable),
        None,
    )
    .await;
    assert_eq!(refused.body["error"], "invalid_client", "{}", refused.body);
    let assertion = key.assertion(&client_id, &provider.issuer);
    let incomplete = &pushable[1..];
    let pushed = post(
        &par_url,
        &authenticated(&client_id, &assertion, incomplete),
        None,
    )
    .await;
    // `pushable[1..]` left out response_type: the push is validated like /authorize.
    assert_eq!(pushed.body["error"], "invalid_request", "{}", pushed.body);
    let assertion = key.assertion(&client_id, &provider.issuer);
    let pushed = post(
        &par_url,
        &authenticated(&client_id, &assertion, &pushable),
        None,
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    let request_uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let by_reference = [
        ("client_id", client_id.as_str()),
        ("request_uri", request_uri.as_str()),
    ];

    // Once: the login answers with the pushed request's state.
    let first = agent.authorize(&provider, &by_reference).await;
    assert_eq!(first.status(), 200);
    let page = first.text().await.unwrap();
    let back = redirect(
        agent
            .login(&provider, &page, "ada@example.com", PASSWORD)
            .await,
    );
    assert!(back.params.contains_key("code"), "{}", back.location);
    assert_eq!(back.params["state"], "st4te");
    // Twice: refused on an error page (nothing says where to redirect).
    let second = agent.authorize(&provider, &by_reference).await;
    assert_eq!(second.status(), 400);
    assert!(second.text().await.unwrap().contains("already used"));
    // A made-up one likewise.
    let made_up = agent
        .authorize(
            &provider,
            &[
                ("client_id", client_id.as_str()),
                ("request_uri", "urn:ietf:params:oauth:request_uri:nope"),
            ],
        )
        .await;
    assert_eq!(made_up.status(), 400);

    // The profile allows no shared secret.
    let (status, body) = provider
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Weak", "app_type": "web", "profile": "fapi2", "redirect_uris": [CALLBACK]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("token_endpoint_auth_method"),
        "{body}"
    );
    provider.stop().await;
}

#[tokio::test]
async fn a_published_key_set_is_fetched_once_kept_and_refused_when_too_large_or_private() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let provider = Provider::start(Backend::Embedded).await;
    let key = ClientKey::new();
    // The client's key set on loopback (allowed: the issuer is on loopback
    // too), and an oversized one; every fetch is counted.
    let fetches = Arc::new(AtomicUsize::new(0));
    let jwks = key.jwks();
    let huge = json!({"keys": [key.0.public_jwk()], "padding": "x".repeat(70 * 1024)});
    let app = {
        let fetches = fetches.clone();
        axum::Router::new()
            .route(
                "/jwks.json",
                axum::routing::get(move || {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let jwks = jwks.clone();
                    async move { axum::Json(jwks) }
                }),
            )
            .route(
                "/huge.json",
                axum::routing::get(move || {
                    let huge = huge.clone();
                    async move { axum::Json(huge) }
                }),
            )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let service = |uri: String| json!({"app_type": "service", "redirect_uris": [], "scopes": ["reports"], "jwks": null, "jwks_uri": uri});
    let register = |body: Value| {
        let admin = provider.inkan.admin();
        let mut body = body;
        body["name"] = json!("Fetched keys");
        body["token_endpoint_auth_method"] = json!("private_key_jwt");
        async move {
            admin
                .send(reqwest::Method::POST, "/admin/v1/projects", Some(body))
                .await
        }
    };
    let (status, created) = register(service(format!("{base}/jwks.json"))).await;
    assert_eq!(status, 201, "{created}");
    let client_id = created["client_id"].as_str().unwrap().to_string();
    let token_url = provider.url("/token");
    let grant = [("grant_type", "client_credentials")];
    for _ in 0..3 {
        let assertion = key.assertion(&client_id, &provider.issuer);
        let ok = post(
            &token_url,
            &authenticated(&client_id, &assertion, &grant),
            None,
        )
        .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the key set is kept");

    // More than 64 KiB: not read to the end, and no way in.
    let (status, created) = register(service(format!("{base}/huge.json"))).await;
    assert_eq!(status, 201, "{created}");
    let big_id = created["client_id"].as_str().unwrap().to_string();
    let assertion = key.assertion(&big_id, &provider.issuer);
    let refused = post(
        &token_url,
        &authenticated(&big_id, &assertion, &grant),
        None,
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["error"], "invalid_client");

    // A private address (cloud metadata, say) is refused at registration.
    let (status, body) = register(service("https://169.254.169.254/keys".into())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("jwks_uri"), "{body}");
    provider.stop().await;
}

#[tokio::test]
async fn the_admin_api_takes_a_dpop_bound_token_only_with_a_proof_by_its_key() {
    let provider = Provider::start(Backend::Embedded).await;
    let key = ClientKey::new();
    let client_id = keyed_service(&provider, &key, &["admin"], json!({"profile": "fapi2"})).await;
    let token_url = provider.url("/token");
    let assertion = key.assertion(&client_id, &provider.issuer);
    let minted = post(
        &token_url,
        &authenticated(
            &client_id,
            &assertion,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        ),
        Some(&key.proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(minted.body["token_type"], "DPoP", "{}", minted.body);
    let token = minted.body["access_token"].as_str().unwrap().to_string();
    let projects = provider.url("/admin/v1/projects");
    let get = |scheme: &'static str, proof: Option<String>| {
        let mut req = reqwest::Client::new()
            .get(&projects)
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let proof = key.proof("GET", &projects, Some(&token), None);
    assert_eq!(get("DPoP", Some(proof.clone())).await, 200);
    // The same proof again, the token as Bearer, no proof, another key's.
    assert_eq!(get("DPoP", Some(proof)).await, 401);
    assert_eq!(get("Bearer", None).await, 401);
    assert_eq!(get("DPoP", None).await, 401);
    let thief = ClientKey::new().proof("GET", &projects, Some(&token), None);
    assert_eq!(get("DPoP", Some(thief)).await, 401);
    provider.stop().await;
}
