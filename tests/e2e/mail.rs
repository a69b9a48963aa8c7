//! Mail Inkan sends, received by a real SMTP server on loopback (aiosmtpd):
//! a forgotten password reset from the mailed link in a real browser (the
//! old session and refresh token die), an address verified from its link,
//! reset answers that do not tell who has an account, and a mail that still
//! arrives when the mailer is killed between the commit and the send.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{
    authorize_url, callback_server, chromedriver, code_tokens, element, fill, free_port, headless,
    next_callback, sign_in_with_password, submit, wait_for_text,
};
use crate::helpers::{Inkan, Options};
use crate::provider::*;
use crate::smtp::SmtpSink;

const NEW_PASSWORD: &str = "a brand new passphrase, long enough";

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
    let old = code_tokens(&p.issuer, rp, callback, &first["code"]).await;
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
    wait_for_text(&b, "h1", "Password changed").await;
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
    let fresh = code_tokens(&p.issuer, rp, callback, &again["code"]).await;
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
    wait_for_text(&b, "h1", "This link does not work").await;
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

/// A fresh user agent at `rp`'s login page, with the page's request id and CSRF token.
async fn fresh_login_form(p: &Provider, rp: &Rp) -> (Agent, String, String) {
    let agent = Agent::new();
    let login = agent
        .authorize(p, &code_params(rp, &challenge(), "openid"))
        .await
        .text()
        .await
        .unwrap();
    let authz = hidden(&login, "authz").unwrap();
    let csrf = hidden(&login, "csrf").unwrap();
    (agent, authz, csrf)
}

/// The forgot-password answer for `email`, from a fresh user agent: its
/// status, its body without the request's own ids, and how long it took.
async fn ask_for_reset(p: &Provider, rp: &Rp, email: &str) -> (u16, String, Duration) {
    let (agent, authz, csrf) = fresh_login_form(p, rp).await;
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

async fn sign_up_in_browser(backend: Backend) {
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let (callback, mut rx) = callback_server().await;
    let p = Provider::start_with(backend, &[("INKAN_SMTP_URL", &sink.url())]).await;
    let rp = p
        .web_rp(json!({
            "redirect_uris": [callback],
            "allow_signup": true,
            "require_verified_email": true,
            "name": "Shop",
            "logo_uri": "https://cdn.example.com/shop.svg",
            "primary_color": "#0f766e",
        }))
        .await;
    let (browser, _profile) = headless(driver_port).await;

    // The login page offers an account; the form creates it and says to
    // check the inbox (nobody is signed in yet).
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "signup"))
        .await
        .unwrap();
    // The project's branding: its logo and colour on the login page.
    let logo = element(&browser, "brand-logo").await;
    assert_eq!(
        logo.attr("src").await.unwrap().as_deref(),
        Some("https://cdn.example.com/shop.svg")
    );
    assert_eq!(logo.attr("alt").await.unwrap().as_deref(), Some("Shop"));
    let color = element(&browser, "create-account")
        .await
        .css_value("color")
        .await
        .unwrap();
    assert_eq!(
        color, "rgba(15, 118, 110, 1)",
        "the secondary button takes the colour"
    );
    element(&browser, "create-account")
        .await
        .click()
        .await
        .unwrap();
    element(&browser, "signup-form").await;
    assert!(
        browser.find(Locator::Id("brand-logo")).await.is_ok(),
        "the sign-up page is branded too"
    );
    fill(&browser, "first_name", "Grace").await;
    fill(&browser, "email", "grace@example.com").await;
    fill(&browser, "password", NEW_PASSWORD).await;
    fill(&browser, "confirm", NEW_PASSWORD).await;
    submit(&browser, "signup-form").await;
    element(&browser, "check-inbox").await;
    let mail = sink
        .wait_for("grace@example.com", "Confirm your email")
        .await;

    // Signing in before confirming is held at the verification page.
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "early"))
        .await
        .unwrap();
    fill(&browser, "email", "grace@example.com").await;
    fill(&browser, "password", NEW_PASSWORD).await;
    submit(&browser, "password-form").await;
    element(&browser, "verify-first").await;
    assert!(
        rx.try_recv().is_err(),
        "no code before the address is confirmed"
    );

    // The link confirms the address; the login goes through after that.
    let link = mail.link(&format!("{}/email/verify?token=", p.issuer));
    browser.goto(&link).await.unwrap();
    submit(&browser, "verify-form").await;
    wait_for_text(&browser, "h1", "Email address confirmed").await;
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "confirmed"))
        .await
        .unwrap();
    fill(&browser, "email", "grace@example.com").await;
    fill(&browser, "password", NEW_PASSWORD).await;
    submit(&browser, "password-form").await;
    let done = next_callback(&mut rx).await;
    assert_eq!(done["state"], "confirmed");
    let tokens = code_tokens(&p.issuer, &rp, &callback, &done["code"]).await;
    let claims = verify_at(
        &p.issuer,
        tokens["id_token"].as_str().unwrap(),
        &rp.client_id,
    )
    .await
    .1;
    assert_eq!(claims["email"], "grace@example.com");
    assert_eq!(claims["email_verified"], true);
    browser.close().await.unwrap();
    p.stop().await;
}

#[tokio::test]
async fn sign_up_mails_a_verification_link_and_the_login_waits_for_it_on_the_embedded_stores() {
    sign_up_in_browser(Backend::Embedded).await;
}

#[tokio::test]
async fn sign_up_mails_a_verification_link_and_the_login_waits_for_it_on_postgres_redis_and_nats() {
    sign_up_in_browser(Backend::Real).await;
}

/// A sign-up from a fresh user agent: status, body without the request's
/// own ids, and how long the answer took.
async fn sign_up_over_http(p: &Provider, rp: &Rp, email: &str) -> (u16, String, Duration) {
    let (agent, authz, csrf) = fresh_login_form(p, rp).await;
    let asked = std::time::Instant::now();
    let resp = agent
        .http
        .post(p.url("/signup"))
        .form(&[
            ("authz", authz.as_str()),
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ])
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
async fn sign_up_answers_alike_for_a_taken_address_and_mails_its_owner_instead() {
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let p = Provider::start_with(Backend::Embedded, &[("INKAN_SMTP_URL", &sink.url())]).await;
    let rp = p.web_rp(json!({"allow_signup": true})).await;
    let ada = p.user("ada@example.com").await;

    let taken = sign_up_over_http(&p, &rp, "Ada@Example.com").await;
    let fresh = sign_up_over_http(&p, &rp, "new@example.com").await;
    assert_eq!(taken.0, 200, "{}", taken.1);
    assert_eq!(
        (taken.0, &taken.1),
        (fresh.0, &fresh.1),
        "one answer for both"
    );
    for (_, _, took) in [&taken, &fresh] {
        assert!(*took >= Duration::from_millis(500), "{took:?}");
    }
    // The owner hears of it, with a reset link; the account is unchanged.
    let note = sink
        .wait_for("ada@example.com", "You already have an account")
        .await;
    assert!(note
        .body
        .contains(&format!("{}/password/reset?token=", p.issuer)));
    sink.wait_for("new@example.com", "Confirm your email").await;
    let (_, identity) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}"))
        .await;
    assert_eq!(
        identity["first_name"], "Ada",
        "the account is as it was: {identity}"
    );
    let agent = Agent::new();
    let login = agent
        .sign_in(
            &p,
            &code_params(&rp, &challenge(), "openid"),
            "ada@example.com",
        )
        .await;
    assert!(
        login.params.contains_key("code"),
        "the old password still works: {login:?}"
    );

    // A project without sign-up has none.
    let closed = p.web_rp(json!({})).await;
    let (status, body, _) = sign_up_over_http(&p, &closed, "other@example.com").await;
    assert_eq!(status, 404, "{body}");
    p.stop().await;
}

#[tokio::test]
async fn pages_and_mails_speak_the_language_of_ui_locales_then_accept_language_and_operators_add_languages(
) {
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let locales = tempfile::tempdir().unwrap();
    std::fs::create_dir(locales.path().join("fr")).unwrap();
    std::fs::write(
        locales.path().join("fr/inkan.ftl"),
        "login-heading = Connexion\nmail-reset-subject = Réinitialisez votre mot de passe\n",
    )
    .unwrap();
    let dir = locales.path().to_str().unwrap().to_string();
    let p = Provider::start_with(
        Backend::Embedded,
        &[("INKAN_SMTP_URL", &sink.url()), ("INKAN_LOCALES_DIR", &dir)],
    )
    .await;
    let rp = p.web_rp(json!({"name": "Shop"})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let page =
        |agent: &Agent, extra: &'static [(&'static str, &'static str)], lang: &'static str| {
            let mut params = code_params(&rp, &ch, "openid");
            params.extend_from_slice(extra);
            let request = agent
                .http
                .get(p.url("/authorize"))
                .query(&params)
                .header("accept-language", lang);
            async move { request.send().await.unwrap().text().await.unwrap() }
        };

    // Accept-Language alone.
    let german = page(&Agent::new(), &[], "de-DE,de;q=0.9,en;q=0.5").await;
    assert!(german.contains(r#"<html lang="de">"#), "{german}");
    assert!(german.contains("<h1>Anmelden</h1>") && german.contains("Bei Shop anmelden"));
    // ui_locales before Accept-Language (OIDC Core §3.1.2.1); a language an
    // operator added from a folder; English when nothing matches.
    let agent = Agent::new();
    let ui = page(&agent, &[("ui_locales", "de en")], "fr").await;
    assert!(ui.contains("<h1>Anmelden</h1>"), "{ui}");
    let french = page(&Agent::new(), &[("ui_locales", "fr")], "de").await;
    assert!(french.contains("<h1>Connexion</h1>"), "{french}");
    assert!(
        french.contains("Forgot password?"),
        "missing messages come from English"
    );
    let english = page(&Agent::new(), &[], "ja").await;
    assert!(english.contains("<h1>Sign in</h1>"), "{english}");
    // Error pages and the account page speak it too.
    let http = reqwest::Client::new();
    let error = http
        .get(p.url("/authorize?client_id=nobody&response_type=code"))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("Unbekannte Anwendung"), "{error}");
    let account = http
        .get(p.url("/account"))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("<h1>Anmelden</h1>"), "{account}");

    // The later pages of a ui_locales login follow it (its cookie), and the
    // mail is written in it.
    let authz = hidden(&ui, "authz").unwrap();
    let csrf = hidden(&ui, "csrf").unwrap();
    let form = [
        ("authz", authz.as_str()),
        ("csrf", csrf.as_str()),
        ("email", "ada@example.com"),
    ];
    let answer = agent
        .http
        .post(p.url("/password/forgot"))
        .header("accept-language", "en")
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answer.contains("Sehen Sie in Ihr Postfach"), "{answer}");
    let mail = sink
        .wait_for("ada@example.com", "Setzen Sie Ihr Passwort zurück")
        .await;
    assert!(mail.body.starts_with("Hallo,"), "{}", mail.body);
    assert!(mail.body.contains("innerhalb von 30 Minuten"));
    p.stop().await;
}

/// In the microservices shape (two admins sharing the mailer's JetStream
/// consumer, two authorize replicas), a reset requested on one replica is
/// mailed once, its link works on the other, and the old session and
/// refresh token die everywhere.
#[tokio::test]
async fn in_the_microservices_shape_a_reset_is_mailed_once_and_its_link_works_on_any_replica() {
    if !SmtpSink::available() {
        return;
    }
    let sink = SmtpSink::start();
    let url = sink.url();
    let cluster = crate::cluster::Cluster::start_replicas_with(
        &[
            "admin-a",
            "admin-b",
            "authorize-a",
            "authorize-b",
            "token-a",
            "token-b",
        ],
        None,
        "127.0.0.1",
        &[("INKAN_SMTP_URL", &url)],
    )
    .await;
    let (rp, _) = cluster.shop(&["openid", "offline_access"]).await;
    let front = crate::cluster::as_provider(&cluster);
    let ch = challenge();
    let params = code_params(&rp, &ch, "openid offline_access");

    // A signed-in browser whose app holds a refresh token.
    let old = Agent::new();
    let signed_in = crate::cluster::login(&old, &front, &params).await;
    let (status, tokens) = crate::cluster::redeem(&front, &rp, &signed_in.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let old_refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // The reset, asked on whichever authorize replica the front picks.
    let agent = Agent::new();
    let login = agent
        .http
        .get(format!("{}/authorize", cluster.issuer))
        .query(&params)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("authz", hidden(&login, "authz").unwrap()),
        ("csrf", hidden(&login, "csrf").unwrap()),
        ("email", "ada@example.com".to_string()),
    ];
    let answer = agent
        .http
        .post(format!("{}/password/forgot", cluster.issuer))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let mail = sink
        .wait_for("ada@example.com", "Reset your password")
        .await;
    let link = mail.link(&format!("{}/password/reset?token=", cluster.issuer));
    let token = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // Redeemed twice at once (both replicas in turn): one success.
    let http = reqwest::Client::new();
    let post = || {
        http.post(format!("{}/password/reset", cluster.issuer))
            .form(&[
                ("token", token.as_str()),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ])
            .send()
    };
    let (a, b) = tokio::join!(post(), post());
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "the link works once");

    // The old refresh token and session are dead on every replica.
    let (status, body) = crate::cluster::token(
        &front,
        &rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &old_refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    for _ in 0..2 {
        let resp = old
            .http
            .get(format!("{}/authorize", cluster.issuer))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "a login page, not a code");
    }
    // Two admins, one consumer: the mail went out once (and the notice once).
    sink.wait_for("ada@example.com", "Your password was changed")
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sink.mails_to("ada@example.com", "Reset your password")
            .len(),
        1
    );
    assert_eq!(
        sink.mails_to("ada@example.com", "Your password was changed")
            .len(),
        1
    );
    cluster.stop().await;
}
