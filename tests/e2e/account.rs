//! The account page in a real browser: a user signed in at two browsers and
//! one app sees both sessions and the app, changes names and password, signs
//! the other browser out (its next request asks for a login), revokes the
//! app (its refresh token dies), and signs in to the page itself.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{
    authorize_url, callback_server, chromedriver, code_tokens, element, fill, headless,
    next_callback, sign_in_with_password, submit, wait_for_text,
};
use crate::provider::*;
use crate::smtp::SmtpSink;

async fn text(browser: &Client, id: &str) -> String {
    element(browser, id).await.text().await.unwrap()
}

async fn refresh_status(p: &Provider, rp: &Rp, token: &str) -> u16 {
    reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn account_page(backend: Backend) {
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
    let ada = p.user("ada@example.com").await;

    // Two browsers sign in to the app; the first one's app keeps a refresh token.
    let (a, _a_profile) = headless(driver_port).await;
    let (b, _b_profile) = headless(driver_port).await;
    a.goto(&authorize_url(&p.issuer, &rp, &callback, "a"))
        .await
        .unwrap();
    sign_in_with_password(&a, "ada@example.com").await;
    let code = next_callback(&mut rx).await;
    let app_tokens = code_tokens(&p.issuer, &rp, &callback, &code["code"]).await;
    let refresh_token = app_tokens["refresh_token"].as_str().unwrap().to_string();
    b.goto(&authorize_url(&p.issuer, &rp, &callback, "b"))
        .await
        .unwrap();
    sign_in_with_password(&b, "ada@example.com").await;
    next_callback(&mut rx).await;

    // The account page (the SSO session signs it in): both browsers, the app.
    a.goto(&p.url("/account")).await.unwrap();
    assert!(text(&a, "account-email").await.contains("ada@example.com"));
    let sessions = a.find_all(Locator::Css("#sessions li")).await.unwrap();
    assert_eq!(sessions.len(), 2, "both browsers are listed");
    let current = text(&a, "current-session").await;
    assert!(
        current.contains("this browser") && current.contains("127.0.0.1"),
        "{current}"
    );
    assert!(
        current.contains("HeadlessChrome") || current.contains("Chrome"),
        "{current}"
    );
    let apps = a.find_all(Locator::Css("#apps li")).await.unwrap();
    assert_eq!(apps.len(), 1);
    assert!(apps[0].text().await.unwrap().contains("Relying party"));

    // Names.
    fill(&a, "first_name", "Augusta").await;
    submit(&a, "names-form").await;
    wait_for_text(&a, "#account-notice", "names were saved").await;
    let (_, identity) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}"))
        .await;
    assert_eq!(identity["first_name"], "Augusta", "{identity}");

    // The password: the current one is required.
    fill(&a, "current", "not my password").await;
    fill(&a, "new-password", "an entirely new passphrase").await;
    fill(&a, "confirm", "an entirely new passphrase").await;
    submit(&a, "password-change-form").await;
    wait_for_text(&a, "#account-error", "current password is not right").await;
    fill(&a, "current", PASSWORD).await;
    fill(&a, "new-password", "an entirely new passphrase").await;
    fill(&a, "confirm", "an entirely new passphrase").await;
    submit(&a, "password-change-form").await;
    wait_for_text(&a, "#account-notice", "password was changed").await;

    // The address: a link to the new one, which moves the account there.
    fill(&a, "new-email", "augusta@example.com").await;
    submit(&a, "email-change-form").await;
    wait_for_text(&a, "#account-notice", "sent a link to the new address").await;
    let mail = sink
        .wait_for("augusta@example.com", "Confirm your new email address")
        .await;
    let link = mail.link(&format!("{}/email/change?token=", p.issuer));
    let (_, identity) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}"))
        .await;
    assert_eq!(
        identity["email"], "ada@example.com",
        "not before the link is followed"
    );
    a.goto(&link).await.unwrap();
    submit(&a, "verify-form").await;
    wait_for_text(&a, "h1", "Email address changed").await;
    let (_, identity) = p
        .inkan
        .admin()
        .get(&format!("/admin/v1/identities/{ada}"))
        .await;
    assert_eq!(identity["email"], "augusta@example.com", "{identity}");
    assert_eq!(identity["email_verified"], true);
    // The old address hears that the account moved away.
    let notice = sink
        .wait_for("ada@example.com", "Your account moved to another address")
        .await;
    assert!(
        notice.body.contains("augusta@example.com"),
        "{}",
        notice.body
    );
    a.goto(&p.url("/account")).await.unwrap();
    assert!(text(&a, "account-email")
        .await
        .contains("augusta@example.com"));

    // Sign the other browser out: its next request asks for a login.
    submit(&a, "end-others-form").await;
    wait_for_text(&a, "#account-notice", "Every other browser").await;
    assert_eq!(
        a.find_all(Locator::Css("#sessions li"))
            .await
            .unwrap()
            .len(),
        1
    );
    b.goto(&authorize_url(&p.issuer, &rp, &callback, "b-again"))
        .await
        .unwrap();
    element(&b, "password-form").await;
    assert!(rx.try_recv().is_err(), "no code for the signed-out browser");

    // Revoke the app: its refresh token dies.
    a.form(Locator::Css("#apps form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    wait_for_text(&a, "#account-notice", "revoked").await;
    assert_eq!(refresh_status(&p, &rp, &refresh_token).await, 400);
    element(&a, "no-apps").await;

    // Sign out here, then sign in to the page itself (new password).
    submit(&a, "sign-out-form").await;
    element(&a, "password-form").await;
    fill(&a, "email", "augusta@example.com").await;
    fill(&a, "password", "an entirely new passphrase").await;
    submit(&a, "password-form").await;
    wait_for_text(&a, "#account-email", "augusta@example.com").await;
    assert!(
        rx.try_recv().is_err(),
        "the account page's login issues no code"
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
    p.stop().await;
}

#[tokio::test]
async fn the_account_page_lists_and_ends_sessions_revokes_apps_and_changes_names_and_password_on_the_embedded_stores(
) {
    account_page(Backend::Embedded).await;
}

#[tokio::test]
async fn the_account_page_lists_and_ends_sessions_revokes_apps_and_changes_names_and_password_on_postgres_redis_and_nats(
) {
    account_page(Backend::Real).await;
}

#[tokio::test]
async fn account_forms_need_the_session_bound_token() {
    let p = Provider::start(Backend::Embedded).await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let agent = Agent::new();
    let signed_in = agent
        .sign_in(
            &p,
            &code_params(&rp, &challenge(), "openid"),
            "ada@example.com",
        )
        .await;
    assert!(signed_in.params.contains_key("code"));
    let page = agent.get(&p.url("/account")).await.text().await.unwrap();
    let token = hidden(&page, "token").expect("the forms carry a token");
    for bad in ["", "forged", &format!("{token}x")] {
        let resp = agent
            .http
            .post(p.url("/account/names"))
            .form(&[("token", bad), ("first_name", "Mallory")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "token {bad:?}");
    }
    // Without a session, a post changes nothing and goes to the login.
    let stranger = Agent::new();
    let resp = stranger
        .http
        .post(p.url("/account/names"))
        .form(&[("token", token.as_str()), ("first_name", "Mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let (_, identities) = p
        .inkan
        .admin()
        .get("/admin/v1/identities?email=ada@example.com")
        .await;
    assert!(!identities.to_string().contains("Mallory"), "{identities}");
    p.stop().await;
}
