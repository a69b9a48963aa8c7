//! Passkeys in a real browser: headless Chromium with a virtual
//! authenticator (the W3C WebAuthn WebDriver extension, WebAuthn Level 3
//! §11, which chromedriver implements), against the `inkan` binary with
//! its issuer on `http://localhost:PORT` (WebAuthn refuses IP addresses as
//! relying-party ids).
//!
//! The extension's commands go through fantoccini as custom commands
//! ([`Authenticator`]). The authenticator is a CTAP2 "internal" (platform)
//! one with resident keys and user verification that always consents and
//! verifies, so `navigator.credentials` calls complete without a prompt.

use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::{
    authorize_url, callback_server, chromedriver, headless, id_token_claims, next_callback,
    sign_in_with_password, sign_out,
};
use crate::provider::*;

/// One WebAuthn WebDriver extension command (WebAuthn Level 3 §11.3–§11.9).
#[derive(Debug)]
struct WebAuthnCommand {
    method: http::Method,
    /// The path after `/session/{id}/webauthn/`.
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/webauthn/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// A virtual authenticator in the browser session.
struct Authenticator {
    id: String,
}

impl Authenticator {
    /// Adds a platform authenticator that holds discoverable credentials and
    /// verifies its user (§11.3 Add Virtual Authenticator).
    async fn add(browser: &Client) -> Authenticator {
        let reply = browser
            .issue_cmd(WebAuthnCommand {
                method: http::Method::POST,
                path: "authenticator".into(),
                body: Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                })),
            })
            .await
            .expect("chromedriver adds a virtual authenticator");
        Authenticator {
            id: reply.as_str().expect("an authenticator id").to_owned(),
        }
    }

    /// §11.4 Remove Virtual Authenticator.
    async fn remove(self, browser: &Client) {
        browser
            .issue_cmd(WebAuthnCommand {
                method: http::Method::DELETE,
                path: format!("authenticator/{}", self.id),
                body: None,
            })
            .await
            .expect("chromedriver removes the authenticator");
    }

    /// §11.6 Get Credentials: what the authenticator holds.
    async fn credentials(&self, browser: &Client) -> Vec<Value> {
        let reply = browser
            .issue_cmd(WebAuthnCommand {
                method: http::Method::GET,
                path: format!("authenticator/{}/credentials", self.id),
                body: None,
            })
            .await
            .expect("chromedriver lists the credentials");
        reply.as_array().cloned().unwrap_or_default()
    }
}

/// Waits (bounded) until `script` returns a truthy value; returns it.
async fn until(browser: &Client, what: &str, script: &str) -> Value {
    for _ in 0..200 {
        if let Ok(v) = browser.execute(script, vec![]).await {
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out (10 s) waiting for {what}");
}

/// Page-side helpers for signing in by hand from a page of the issuer's
/// origin: a login page's `authz` and `csrf`, a ceremony's options and the
/// authenticator's assertion for them, the post of an assertion.
const BY_HAND: &str = r#"
const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
const loginPage = async (url) => {
  const page = await (await fetch(url)).text();
  const hidden = (name) => page.match(new RegExp(`name="${name}" value="([^"]*)"`))[1];
  return { authz: hidden("authz"), csrf: hidden("csrf") };
};
const ceremonyFor = async (login) =>
  (await fetch("/login/passkey/options", { method: "POST", body: new URLSearchParams(login) })).json();
const assertionFor = async (login) => {
  const challenge = await ceremonyFor(login);
  const pk = challenge.options.publicKey;
  const credential = await navigator.credentials.get({ publicKey: { ...pk, challenge: bytes(pk.challenge), allowCredentials: [] } });
  const r = credential.response;
  const answer = JSON.stringify({
    id: credential.id, rawId: b64u(credential.rawId), type: credential.type,
    response: { authenticatorData: b64u(r.authenticatorData), clientDataJSON: b64u(r.clientDataJSON), signature: b64u(r.signature), userHandle: b64u(r.userHandle) },
    extensions: {},
  });
  return { ceremony: challenge.ceremony, answer };
};
// [status, page]: status 0 is a redirect (the sign-in), 200 the login page again.
const post = async (login, ceremony, answer) => {
  const res = await fetch("/login/passkey", { method: "POST", redirect: "manual", body: new URLSearchParams({ ...login, ceremony, credential: answer }) });
  return [res.status, res.type === "opaqueredirect" ? "" : await res.text()];
};
"#;

/// Runs `body` after [`BY_HAND`] as an async script; its `return` value is the result.
fn by_hand(body: &str) -> String {
    format!("return (async () => {{ {BY_HAND} {body} }})();")
}

/// Signs in by hand and posts the same assertion again, as an attacker who
/// caught it would: with its finished ceremony, and with a fresh one (in a
/// new sign-in, `prompt=login`, since the first one consumed its request).
const REPLAY: &str = r#"
const [authorizeUrl, reloginUrl] = arguments;
const login = await loginPage(authorizeUrl);
const caught = await assertionFor(login);
const first = (await post(login, caught.ceremony, caught.answer))[0];
const again = await loginPage(reloginUrl);
const replayed = await post(again, caught.ceremony, caught.answer);
const fresh = await post(again, (await ceremonyFor(again)).ceremony, caught.answer);
return { first, again: replayed, fresh };
"#;

/// Signs in with the password on the login page at `url` and accepts the
/// offer to create a passkey (the page must have found that this browser
/// can create one).
async fn password_login_then_create_a_passkey(browser: &Client, url: &str) {
    browser.goto(url).await.unwrap();
    until(
        browser,
        "the page to detect the platform authenticator",
        "return document.getElementById('passkey-available').value",
    )
    .await;
    sign_in_with_password(browser, "ada@example.com").await;
    let create = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("passkey-create"))
        .await
        .expect("the passkey offer");
    create.click().await.unwrap();
}

#[tokio::test]
async fn a_user_creates_a_passkey_after_a_password_login_and_then_signs_in_with_it_alone() {
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    let (callback, mut rx) = callback_server().await;
    let p = Provider::start_on_localhost(Backend::Embedded).await;
    assert!(p.issuer.starts_with("http://localhost:"));
    let rp = p.web_rp(json!({"redirect_uris": [callback]})).await;
    let ada = p.user("ada@example.com").await;
    let (browser, _profile) = headless(driver_port).await;
    let authenticator = Authenticator::add(&browser).await;

    // 1. A password login; the page found that this browser can create a
    //    passkey, so the provider offers one before answering.
    password_login_then_create_a_passkey(
        &browser,
        &authorize_url(&p.issuer, &rp, &callback, "first"),
    )
    .await;
    let first = next_callback(&mut rx).await;
    assert_eq!(first["state"], "first");
    let claims = id_token_claims(&p.issuer, &rp, &callback, &first["code"]).await;
    assert_eq!(claims["sub"], ada);
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:inkan:acr:1fa");

    // The authenticator holds one discoverable credential for localhost,
    // whose user handle is the identity's id; the admin API lists it.
    let held = authenticator.credentials(&browser).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], true);
    assert_eq!(held[0]["rpId"], "localhost");
    let user_handle = held[0]["userHandle"].as_str().unwrap();
    use base64::Engine;
    let handle = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(user_handle.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(user_handle))
        .unwrap();
    assert_eq!(uuid::Uuid::from_slice(&handle).unwrap().to_string(), ada);
    let (status, listed) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}/passkeys"))
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["backup_eligible"], false);

    // 1b. Step-up: the password session does not answer a request for a
    //     phishing-resistant sign-in; the page asks for the passkey, and the
    //     new login reaches the level.
    browser
        .goto(&format!(
            "{}&acr_values=urn%3Ainkan%3Aacr%3Aphr",
            authorize_url(&p.issuer, &rp, &callback, "step-up")
        ))
        .await
        .unwrap();
    if let Ok(notice) = browser
        .wait()
        .at_most(Duration::from_secs(2))
        .for_element(Locator::Id("login-notice"))
        .await
    {
        // Autofill may sign in and leave the page before the text is read
        // (the element is then stale): the notice is checked when it is there.
        if let Ok(text) = notice.text().await {
            assert!(text.contains("stronger sign-in"), "{text}");
        }
        if let Ok(button) = browser
            .find(Locator::Css("#passkey-login:not([hidden])"))
            .await
        {
            let _ = button.click().await;
        }
    }
    let stepped = next_callback(&mut rx).await;
    assert_eq!(stepped["state"], "step-up");
    let claims = id_token_claims(&p.issuer, &rp, &callback, &stepped["code"]).await;
    assert_eq!(claims["acr"], "urn:inkan:acr:phr");
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    // The session now has the level: the same request is answered at once.
    browser
        .goto(&format!(
            "{}&acr_values=urn%3Ainkan%3Aacr%3Aphr&prompt=none",
            authorize_url(&p.issuer, &rp, &callback, "stepped")
        ))
        .await
        .unwrap();
    assert_eq!(next_callback(&mut rx).await["state"], "stepped");

    // 2. Signed out (no cookies), the passkey alone signs Ada in: no email,
    //    no password. (With an authenticator that always consents, the
    //    page's autofill request may complete before the button is pressed.)
    sign_out(&browser, &p.issuer).await;
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "second"))
        .await
        .unwrap();
    if let Ok(button) = browser
        .wait()
        .at_most(Duration::from_secs(2))
        .for_element(Locator::Css("#passkey-login:not([hidden])"))
        .await
    {
        let _ = button.click().await;
    }
    let second = next_callback(&mut rx).await;
    assert_eq!(second["state"], "second");
    let claims = id_token_claims(&p.issuer, &rp, &callback, &second["code"]).await;
    assert_eq!(claims["sub"], ada);
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    assert_eq!(claims["acr"], "urn:inkan:acr:phr");

    // 3. A real assertion, posted twice: the second post is refused (its
    //    ceremony is finished), and so is the same assertion with a new
    //    ceremony (another challenge). Driven by script from a page of the
    //    issuer's origin that runs no passkey script of its own.
    sign_out(&browser, &p.issuer).await;
    let outcome = browser
        .execute(
            &by_hand(REPLAY),
            vec![
                json!(authorize_url(&p.issuer, &rp, &callback, "replay")),
                json!(format!(
                    "{}&prompt=login",
                    authorize_url(&p.issuer, &rp, &callback, "replay")
                )),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        outcome["first"], 0,
        "the first post signs in (a redirect): {outcome}"
    );
    for attempt in ["again", "fresh"] {
        assert_eq!(outcome[attempt][0], 200, "{attempt}: {outcome}");
        assert!(
            outcome[attempt][1]
                .as_str()
                .unwrap()
                .contains("That passkey could not be used"),
            "{attempt}: {outcome}"
        );
    }

    // 4. A second authenticator, without the credential, cannot sign in.
    authenticator.remove(&browser).await;
    let other = Authenticator::add(&browser).await;
    sign_out(&browser, &p.issuer).await;
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "other"))
        .await
        .unwrap();
    until(
        &browser,
        "the passkey button",
        "const b = document.getElementById('passkey-login'); return b && !b.hidden",
    )
    .await;
    browser
        .find(Locator::Id("passkey-login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = until(
        &browser,
        "the passkey failure message",
        "const s = document.getElementById('passkey-status'); return s && !s.hidden && s.textContent",
    )
    .await;
    assert!(
        status.as_str().unwrap().contains("could not be used"),
        "{status}"
    );
    assert!(other.credentials(&browser).await.is_empty());
    assert!(
        rx.try_recv().is_err(),
        "no sign-in reached the relying party"
    );

    // 5. After a fresh password login, the account page lists the passkey
    //    and removes it.
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "password"))
        .await
        .unwrap();
    sign_in_with_password(&browser, "ada@example.com").await;
    assert_eq!(next_callback(&mut rx).await["state"], "password");
    browser.goto(&p.url("/account")).await.unwrap();
    let listed = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#passkeys .passkey-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.is_empty());
    browser
        .form(Locator::Css("#passkeys form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("no-passkeys"))
        .await
        .expect("the passkey is gone from the page");
    let (_, left) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}/passkeys"))
        .await;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(0), "{left}");

    // 6. The account page adds one again (the browser's other authenticator).
    browser
        .form(Locator::Id("passkey-add-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("passkey-create"))
        .await
        .expect("the passkey page")
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#passkeys .passkey-name"))
        .await
        .expect("back on the account page, the new passkey listed");
    assert_eq!(other.credentials(&browser).await.len(), 1);
    let (_, listed) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}/passkeys"))
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert!(
        rx.try_recv().is_err(),
        "the account page's passkey issues no code"
    );

    browser.close().await.unwrap();
    p.stop().await;
}

#[tokio::test]
async fn in_the_microservices_shape_a_passkey_ceremony_started_on_one_replica_finishes_on_another()
{
    use crate::cluster::Cluster;
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    let (callback, mut rx) = callback_server().await;
    let cluster = Cluster::start_replicas_on(
        &[
            "admin-a",
            "authorize-a",
            "authorize-b",
            "token-a",
            "userinfo-a",
        ],
        None,
        "localhost",
    )
    .await;
    let issuer = cluster.issuer.clone();
    let rp = cluster
        .register(json!({"name": "Shop", "app_type": "web", "redirect_uris": [callback]}))
        .await;
    let (status, _) = cluster
        .admin(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    let (browser, _profile) = headless(driver_port).await;
    let _authenticator = Authenticator::add(&browser).await;

    // Enrolment across replicas (the front sends each request to the next one).
    password_login_then_create_a_passkey(
        &browser,
        &authorize_url(&issuer, &rp, &callback, "enrol"),
    )
    .await;
    let enrolled = next_callback(&mut rx).await;
    let claims = id_token_claims(&issuer, &rp, &callback, &enrolled["code"]).await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    let replica_of = |path: &str| -> Vec<String> {
        cluster
            .served()
            .into_iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r)
            .collect()
    };
    let (options, finish) = (replica_of("/passkeys/options"), replica_of("/passkeys"));
    assert_eq!((options.len(), finish.len()), (1, 1));
    assert_ne!(
        options[0], finish[0],
        "registration started and finished on different replicas"
    );

    // A passkey sign-in whose options come from one replica and whose
    // answer goes to the other (driven by script, so no other request
    // reaches the authorize pool in between).
    sign_out(&browser, &issuer).await;
    let before = cluster.served().len();
    let outcome = browser
        .execute(
            &by_hand(SIGN_IN),
            vec![json!(authorize_url(&issuer, &rp, &callback, "across"))],
        )
        .await
        .unwrap();
    assert_eq!(outcome, 0, "the sign-in redirects to the relying party");
    let steps: Vec<(String, String)> = cluster.served()[before..]
        .iter()
        .filter(|(p, _)| p.starts_with("/login/passkey"))
        .cloned()
        .collect();
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_ne!(steps[0].1, steps[1].1, "{steps:?}");
    // The sign-in left a passkey session: a prompt=none request answers at once.
    browser
        .goto(&format!(
            "{}&prompt=none",
            authorize_url(&issuer, &rp, &callback, "sso")
        ))
        .await
        .unwrap();
    let sso = next_callback(&mut rx).await;
    assert_eq!(sso["state"], "sso");
    let claims = id_token_claims(&issuer, &rp, &callback, &sso["code"]).await;
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    browser.close().await.unwrap();
    cluster.stop().await;
}

/// Signs in by hand; the post's status (0: a redirect, the sign-in).
const SIGN_IN: &str = r#"
const [authorizeUrl] = arguments;
const login = await loginPage(authorizeUrl);
const { ceremony, answer } = await assertionFor(login);
return (await post(login, ceremony, answer))[0];
"#;
