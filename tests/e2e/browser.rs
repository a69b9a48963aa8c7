//! The login flow in a real headless browser (Debian's Chromium, driven
//! over WebDriver by `fantoccini`) against the login page as rendered: the
//! user types into the form and submits it; the relying party's loopback
//! callback receives the code.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::provider::*;

pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver, or explains how to get it. CI (`CI` set) requires it.
pub fn chromedriver() -> Option<(Driver, u16)> {
    let installed = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs chromium and chromium-driver (.ci/run installs them)"
        );
        eprintln!("skipping the browser test: install Debian's chromium and chromium-driver (as .ci/run does)");
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Some((Driver(child), port))
}

/// Redirects the browser reaches: the query of each `GET /callback`.
pub type Callbacks = tokio::sync::mpsc::Receiver<std::collections::HashMap<String, String>>;

/// The relying party's callback: a loopback server that hands over each
/// query it receives. Returns its URL.
pub async fn callback_server() -> (String, Callbacks) {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::collections::HashMap<String, String>>(4);
    let callback = axum::Router::new().route(
        "/callback",
        get(
            move |Query(q): Query<std::collections::HashMap<String, String>>| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(q).await;
                    "signed in"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, callback).await });
    (callback_url, rx)
}

/// Types `email` and the suite's password into the login page on screen and submits it.
pub async fn sign_in_with_password(browser: &fantoccini::Client, email: &str) {
    browser
        .find(Locator::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .form(Locator::Id("password-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
}

/// A headless Debian Chromium session through the chromedriver on
/// `driver_port`, with a fresh profile (kept as long as the returned dir).
pub async fn headless(driver_port: u16) -> (fantoccini::Client, tempfile::TempDir) {
    // Several TLS backends are linked into the test binary; pick one for fantoccini's client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    let profile = tempfile::tempdir().unwrap();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    // chromedriver needs a moment to listen: retry the session (bounded).
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(c) => return (c, profile),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no WebDriver session within 10 s");
}

#[tokio::test]
async fn a_user_logs_in_through_the_rendered_login_page_in_a_headless_browser() {
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    let (callback_url, mut rx) = callback_server().await;

    let p = Provider::start(Backend::Embedded).await;
    let rp = p.web_rp(json!({"redirect_uris": [callback_url]})).await;
    p.user("ada@example.com").await;

    let (browser, _profile) = headless(driver_port).await;

    let ch = challenge();
    let mut url = url::Url::parse(&p.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", callback_url.as_str()),
        ("scope", "openid email"),
        ("state", "browser-state"),
        ("nonce", "browser-nonce"),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    browser.goto(url.as_str()).await.unwrap();
    sign_in_with_password(&browser, "ada@example.com").await;

    let query = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the browser reaches the callback within 20 s")
        .unwrap();
    assert_eq!(query["state"], "browser-state");
    assert_eq!(query["iss"], p.issuer);
    let resp = reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", callback_url.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tokens: serde_json::Value = resp.json().await.unwrap();
    let claims = verify_jwt(&p, tokens["id_token"].as_str().unwrap(), &rp.client_id).await;
    assert_eq!(claims["nonce"], "browser-nonce");
    browser.close().await.unwrap();
    p.stop().await;
}

/// The relying party's next callback (bounded: 20 s).
pub async fn next_callback(rx: &mut Callbacks) -> std::collections::HashMap<String, String> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the browser reaches the callback within 20 s")
        .expect("the callback server runs")
}

/// Forgets the browser's session: WebDriver deletes the cookies of the
/// current page's origin, so the issuer's is visited first (one of its
/// static files, which runs nothing).
pub async fn sign_out(browser: &fantoccini::Client, issuer: &str) {
    browser
        .goto(&format!("{issuer}/static/passkey.js"))
        .await
        .unwrap();
    browser.delete_all_cookies().await.unwrap();
}

/// A code-flow request of `rp` (PKCE S256 with the suite's verifier) to the callback.
pub fn authorize_url(issuer: &str, rp: &Rp, callback: &str, state: &str) -> String {
    let ch = challenge();
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", callback),
        ("scope", "openid email"),
        ("state", state),
        ("code_challenge", ch.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    url.to_string()
}

/// The token response for a code the callback received (the web RP's
/// secret, the suite's PKCE verifier).
pub async fn code_tokens(issuer: &str, rp: &Rp, callback: &str, code: &str) -> serde_json::Value {
    let resp = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", callback),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The ID token's claims for a code the callback received.
pub async fn id_token_claims(
    issuer: &str,
    rp: &Rp,
    callback: &str,
    code: &str,
) -> serde_json::Value {
    let tokens = code_tokens(issuer, rp, callback, code).await;
    verify_at(issuer, tokens["id_token"].as_str().unwrap(), &rp.client_id)
        .await
        .1
}

/// The element with this id, once the page shows it (at most 10 s).
pub async fn element(browser: &fantoccini::Client, id: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("#{id} on the page"))
}

/// Types `value` into the (cleared) field `id`.
pub async fn fill(browser: &fantoccini::Client, id: &str, value: &str) {
    let input = element(browser, id).await;
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Submits the form `id`.
pub async fn submit(browser: &fantoccini::Client, form: &str) {
    browser
        .form(Locator::Id(form))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
}

/// Waits (at most 10 s) until the text at `css` contains `expected`: a
/// form's post leaves the old page on screen for a moment.
pub async fn wait_for_text(browser: &fantoccini::Client, css: &str, expected: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(e) = browser.find(Locator::Css(css)).await {
            if let Ok(text) = e.text().await {
                if text.contains(expected) {
                    return;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} says {last:?}, not {expected:?}");
}
