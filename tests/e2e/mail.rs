//! Mail Inkan sends, received by a real SMTP server on loopback (aiosmtpd):
//! a forgotten password reset from the mailed link in a real browser (the
//! old session and refresh token die), an address verified from its link,
//! reset answers that do not tell who has an account, and a mail that still
//! arrives when the mailer is killed between the commit and the send.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::{
    authorize_url, callback_server, chromedriver, free_port, headless, next_callback,
    sign_in_with_password,
};
use crate::helpers::{Inkan, Options};
use crate::provider::*;
use crate::smtp::SmtpSink;

const NEW_PASSWORD: &str = "a brand new passphrase, long enough";

async fn element(browser: &Client, id: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("#{id} on the page"))
}

async fn heading(browser: &Client) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The code's tokens at the token endpoint (the web RP's secret).
async fn tokens(p: &Provider, rp: &Rp, callback: &str, code: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(p.url("/token"))
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

async fn refresh(p: &Provider, rp: &Rp, refresh_token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn forgot_password_in_browser(
    p: &Provider,
    sink: &SmtpSink,
    rp: &Rp,
    callback: &str,
    driver_port: u16,
    rx: &mut crate::browser::Callbacks,
) {
    let ada = p.user("ada@example.com").await;
    // Browser A signs in and its app holds a refresh token.
    let (a, _a_profile) = headless(driver_port).await;
    a.goto(&authorize_url(&p.issuer, rp, callback, "a"))
        .await
        .unwrap();
    sign_in_with_password(&a, "ada@example.com").await;
    let first = next_callback(rx).await;
    let old = tokens(p, rp, callback, &first["code"]).await;
    let old_refresh = old["refresh_token"].as_str().unwrap().to_string();

    // Browser B forgot the password: the login page's link, the address,
    // the same answer as for anyone.
    let (b, _b_profile) = headless(driver_port).await;
    b.goto(&authorize_url(&p.issuer, rp, callback, "b"))
        .await
        .unwrap();
    element(&b, "forgot-password").await.click().await.unwrap();
    element(&b, "forgot-form").await;
    element(&b, "email")
        .await
        .send_keys("ada@example.com")
        .await
        .unwrap();
    b.form(Locator::Id("forgot-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    element(&b, "check-inbox").await;

    // The mail holds a link to the issuer; the link's page sets the password.
    let mail = sink
        .wait_for("ada@example.com", "Reset your password")
        .await;
    assert!(mail.from.contains("no-reply@"), "{mail:?}");
    let link = mail.link(&format!("{}/password/reset?token=", p.issuer));
    b.goto(&link).await.unwrap();
    element(&b, "password")
        .await
        .send_keys(NEW_PASSWORD)
        .await
        .unwrap();
    element(&b, "confirm")
        .await
        .send_keys(NEW_PASSWORD)
        .await
        .unwrap();
    b.form(Locator::Id("reset-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    assert_eq!(heading(&b).await, "Password changed");
    let notice = sink
        .wait_for("ada@example.com", "Your password was changed")
        .await;
    assert!(!notice.body.contains("token="), "the notice holds no link");

    // The old refresh token is dead, and so is browser A's session: the
    // next authorization request asks for a login again.
    let (status, body) = refresh(p, rp, &old_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    a.goto(&authorize_url(&p.issuer, rp, callback, "a-again"))
        .await
        .unwrap();
    element(&a, "password-form").await;
    assert!(rx.try_recv().is_err(), "no code without a new login");

    // The old password is refused; the new one signs in.
    let agent = Agent::new();
    let page = agent
        .get(&authorize_url(&p.issuer, rp, callback, "old-password"))
        .await
        .text()
        .await
        .unwrap();
    let refused = agent.login(p, &page, "ada@example.com", PASSWORD).await;
    assert_eq!(refused.status(), 200, "the form again");
    element(&a, "email")
        .await
        .send_keys("ada@example.com")
        .await
        .unwrap();
    element(&a, "password")
        .await
        .send_keys(NEW_PASSWORD)
        .await
        .unwrap();
    a.form(Locator::Id("password-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let again = next_callback(rx).await;
    assert_eq!(again["state"], "a-again");
    let fresh = tokens(p, rp, callback, &again["code"]).await;
    let claims = verify_at(
        &p.issuer,
        fresh["id_token"].as_str().unwrap(),
        &rp.client_id,
    )
    .await
    .1;
    assert_eq!(claims["sub"], ada);

    // The link worked once.
    b.goto(&link).await.unwrap();
    element(&b, "password")
        .await
        .send_keys("yet another long passphrase")
        .await
        .unwrap();
    element(&b, "confirm")
        .await
        .send_keys("yet another long passphrase")
        .await
        .unwrap();
    b.form(Locator::Id("reset-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    assert_eq!(heading(&b).await, "This link does not work");
    a.close().await.unwrap();
    b.close().await.unwrap();
}

async fn forgot_password(backend: Backend) {
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let (callback, mut rx) = callback_server().await;
    let p = Provider::start_with(backend, &[("INKAN_SMTP_URL", &sink.url())]).await;
    let rp = p.web_rp(json!({"redirect_uris": [callback]})).await;
    forgot_password_in_browser(&p, &sink, &rp, &callback, driver_port, &mut rx).await;
    p.stop().await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link_and_ends_every_session_on_the_embedded_stores(
) {
    forgot_password(Backend::Embedded).await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link_and_ends_every_session_on_postgres_redis_and_nats(
) {
    forgot_password(Backend::Real).await;
}

#[tokio::test]
async fn an_address_is_verified_from_its_mailed_link_once_and_opening_the_link_alone_changes_nothing(
) {
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let p = Provider::start_with(Backend::Embedded, &[("INKAN_SMTP_URL", &sink.url())]).await;
    let admin = p.inkan.admin();
    let (status, created) = admin
        .send(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "grace@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["email_verified"], false);
    let id = created["id"].as_str().unwrap();
    let path = format!("/admin/v1/identities/{id}/verification-email");
    let (status, _) = admin.send(reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 202);

    let mail = sink
        .wait_for("grace@example.com", "Confirm your email")
        .await;
    let link = mail.link(&format!("{}/email/verify?token=", p.issuer));
    let http = reqwest::Client::new();
    let page = http.get(&link).send().await.unwrap().text().await.unwrap();
    let token = hidden(&page, "token").expect("the page's form carries the token");
    let (_, identity) = admin.get(&format!("/admin/v1/identities/{id}")).await;
    assert_eq!(
        identity["email_verified"], false,
        "opening the link changes nothing"
    );

    let confirm = || async {
        let resp = http
            .post(p.url("/email/verify"))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    let (status, page) = confirm().await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Email address confirmed"), "{page}");
    let (_, identity) = admin.get(&format!("/admin/v1/identities/{id}")).await;
    assert_eq!(identity["email_verified"], true);
    let (status, page) = confirm().await;
    assert_eq!(status, 400);
    assert!(page.contains("This link does not work"), "{page}");
    // Verified, there is nothing more to send.
    let (status, _) = admin.send(reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 204);
    // A token that is not one is refused alike.
    let resp = http
        .post(p.url("/email/verify"))
        .form(&[("token", format!("{}x", token).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    p.stop().await;
}

/// The forgot-password answer for `email`, from a fresh user agent: its
/// status, its body without the request's own ids, and how long it took.
async fn ask_for_reset(p: &Provider, rp: &Rp, email: &str) -> (u16, String, Duration) {
    let agent = Agent::new();
    let login = agent
        .authorize(p, &code_params(rp, &challenge(), "openid"))
        .await
        .text()
        .await
        .unwrap();
    let authz = hidden(&login, "authz").unwrap();
    let csrf = hidden(&login, "csrf").unwrap();
    let form = [
        ("authz", authz.as_str()),
        ("csrf", csrf.as_str()),
        ("email", email),
    ];
    let start = agent
        .http
        .post(p.url("/password/forgot/start"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    let asked = std::time::Instant::now();
    let resp = agent
        .http
        .post(p.url("/password/forgot"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .unwrap()
        .replace(&authz, "AUTHZ")
        .replace(&csrf, "CSRF");
    (status, body, asked.elapsed())
}

#[tokio::test]
async fn reset_answers_are_the_same_for_known_and_unknown_addresses_and_limited_per_address() {
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let p = Provider::start_with(Backend::Embedded, &[("INKAN_SMTP_URL", &sink.url())]).await;
    let rp = p.web_rp(json!({})).await;
    let ada = p.user("ada@example.com").await;

    let known = ask_for_reset(&p, &rp, "ada@example.com").await;
    let unknown = ask_for_reset(&p, &rp, "nobody@example.com").await;
    assert_eq!(known.0, 200);
    assert_eq!(
        (known.0, &known.1),
        (unknown.0, &unknown.1),
        "one answer for both"
    );
    // Both wait out the same floor (the answer's timing is not the account's).
    for (_, _, took) in [&known, &unknown] {
        assert!(*took >= Duration::from_millis(300), "{took:?}");
    }
    sink.wait_for("ada@example.com", "Reset your password")
        .await;
    assert!(sink.mails_to("nobody@example.com", "").is_empty());

    // Three requests per address and hour: the fourth is answered alike
    // and issues no link (the identity's log shows three requests).
    for _ in 0..3 {
        let more = ask_for_reset(&p, &rp, "ADA@example.com").await;
        assert_eq!((more.0, &more.1), (known.0, &known.1));
    }
    let (status, events) = p.inkan.admin().get("/admin/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{events}");
    let requested = events["items"]
        .as_array()
        .expect("a list of events")
        .iter()
        .filter(|e| e["stream_id"] == ada.as_str())
        .filter(|e| e["event_type"] == "identity.password_reset_requested.v1")
        .count();
    assert_eq!(requested, 3, "{events}");
    p.stop().await;
}

/// Kills the provider while its mailer cannot reach the relay, after the
/// reset request was committed; the mail arrives once both are back.
async fn mail_survives_a_killed_mailer(backend: Backend) {
    if !SmtpSink::available() {
        return;
    }
    // The relay's port is reserved, but nobody listens yet.
    let smtp_port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let dir = tempfile::tempdir().unwrap();
    let real = match backend {
        Backend::Embedded => None,
        Backend::Real => Some(crate::storage::RealBackends::new().await),
    };
    let options = || {
        let mut options = match &real {
            Some(real) => real.options(&inkan_testkit::nats_url(), dir.path()),
            None => Options {
                data_dir: Some(dir.path().to_path_buf()),
                ..Default::default()
            },
        };
        options
            .env
            .push(("INKAN_SMTP_URL".into(), smtp_url.clone()));
        options
    };
    let (inkan, issuer) = Inkan::start_on_free_port(&options());
    let p = Provider::from_parts(inkan, issuer, tempfile::tempdir().unwrap(), None);
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let (status, body, _) = ask_for_reset(&p, &rp, "ada@example.com").await;
    assert_eq!(status, 200, "{body}");
    // The request is committed: the identity's log holds it.
    let (_, events) = p.inkan.admin().get("/admin/v1/events?limit=1000").await;
    assert!(events
        .to_string()
        .contains("identity.password_reset_requested.v1"));
    // SIGKILL while the mailer retries against the closed port.
    p.inkan.kill();

    let sink = SmtpSink::start_on(smtp_port);
    let (inkan, issuer) = Inkan::start_on_free_port(&options());
    let mails = sink
        .wait_for_n(
            "ada@example.com",
            "Reset your password",
            1,
            Duration::from_secs(60),
        )
        .await;
    assert!(mails[0]
        .body
        .contains(&format!("{issuer}/password/reset?token=")));
    inkan.stop();
    if let Some(real) = real {
        real.cleanup().await;
    }
}

#[tokio::test]
async fn a_mail_committed_before_the_mailer_was_killed_still_arrives_on_the_embedded_stores() {
    mail_survives_a_killed_mailer(Backend::Embedded).await;
}

#[tokio::test]
async fn a_mail_committed_before_the_mailer_was_killed_still_arrives_on_postgres_redis_and_nats() {
    mail_survives_a_killed_mailer(Backend::Real).await;
}
