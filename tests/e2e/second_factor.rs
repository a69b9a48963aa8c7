//! One-time codes (TOTP, RFC 6238) as a second factor, in a real browser
//! against the `inkan` binary: set-up with the QR page's key, codes
//! computed here from that key, a reused time step refused, recovery codes
//! that work once, step-up from a password session asking only for the
//! code, and per-project `login_methods` on the login page.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{
    authorize_url, callback_server, chromedriver, element, headless, id_token_claims,
    next_callback, sign_in_with_password, sign_out,
};
use crate::provider::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Types `code` into the code field of the page on screen and submits `form`.
async fn submit_code(browser: &Client, form: &str, code: &str) {
    let input = element(browser, "code").await;
    input.clear().await.unwrap();
    input.send_keys(code).await.unwrap();
    browser
        .form(Locator::Id(form))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
}

/// The message the code page shows after a refused code.
async fn code_error(browser: &Client) -> String {
    element(browser, "code-error").await.text().await.unwrap()
}

/// Sets up a one-time code on the set-up page on screen: reads the key,
/// submits its current code, reads the recovery codes and continues.
/// Returns the key and the recovery codes.
async fn set_up_code(browser: &Client) -> (inkan_otp::Secret, Vec<String>) {
    let key = element(browser, "totp-secret").await.text().await.unwrap();
    let svg = browser
        .find(Locator::Css("#totp-qr svg"))
        .await
        .expect("the QR code, rendered as SVG");
    assert!(svg.attr("viewBox").await.unwrap().is_some());
    let secret = inkan_otp::Secret::from_base32(&key).expect("the page's key is base32");
    submit_code(browser, "totp-form", &secret.code_at(now())).await;
    element(browser, "recovery-codes").await;
    let mut codes = Vec::new();
    for c in browser
        .find_all(Locator::Css("#recovery-codes code"))
        .await
        .unwrap()
    {
        codes.push(c.text().await.unwrap());
    }
    assert_eq!(codes.len(), 10, "{codes:?}");
    element(browser, "recovery-saved")
        .await
        .click()
        .await
        .unwrap();
    (secret, codes)
}

#[tokio::test]
async fn a_project_that_requires_two_factors_sets_up_a_code_then_asks_for_it_and_recovery_codes_work_once(
) {
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    let (callback, mut rx) = callback_server().await;
    let p = Provider::start(Backend::Embedded).await;
    let rp = p
        .web_rp(json!({"redirect_uris": [callback], "mfa": "required"}))
        .await;
    let ada = p.user("ada@example.com").await;
    let (browser, _profile) = headless(driver_port).await;
    let admin = p.inkan.admin();

    // 1. The first password login must set up a code: the QR page, the
    //    first code, the recovery codes once, then the application.
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "setup"))
        .await
        .unwrap();
    sign_in_with_password(&browser, "ada@example.com").await;
    let (secret, recovery) = set_up_code(&browser).await;
    let setup_step = now() / 30;
    let first = next_callback(&mut rx).await;
    assert_eq!(first["state"], "setup");
    let claims = id_token_claims(&p.issuer, &rp, &callback, &first["code"]).await;
    assert_eq!(claims["sub"], ada);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:inkan:acr:mfa");
    let (status, identity) = admin.get(&format!("/admin/v1/identities/{ada}")).await;
    assert_eq!(status, 200);
    assert_eq!(identity["totp"]["recovery_codes_left"], 10, "{identity}");
    assert!(
        !identity.to_string().contains(&secret.to_base32()),
        "the admin API never shows the secret"
    );

    // 2. The next login asks for the code after the password. The set-up
    //    code's time step is spent: its code is refused while still valid
    //    (RFC 6238 §5.2); a wrong code is refused; the next step's code works.
    sign_out(&browser, &p.issuer).await;
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "code"))
        .await
        .unwrap();
    sign_in_with_password(&browser, "ada@example.com").await;
    submit_code(&browser, "code-form", &secret.code_at(setup_step * 30)).await;
    let refused = code_error(&browser).await;
    if now() / 30 <= setup_step + 1 {
        assert!(refused.contains("used already"), "{refused}");
    }
    submit_code(&browser, "code-form", "000000x").await;
    crate::browser::wait_for_text(&browser, "#code-error", "not right").await;
    let next_step = (now() / 30).max(setup_step) + 1;
    submit_code(&browser, "code-form", &secret.code_at(next_step * 30)).await;
    let second = next_callback(&mut rx).await;
    assert_eq!(second["state"], "code");
    let claims = id_token_claims(&p.issuer, &rp, &callback, &second["code"]).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));

    // 3. A recovery code (typed in capitals, without its hyphen) signs in
    //    once; the same code is refused the next time.
    for (state, expect_ok) in [("recovery", true), ("recovery-again", false)] {
        sign_out(&browser, &p.issuer).await;
        browser
            .goto(&authorize_url(&p.issuer, &rp, &callback, state))
            .await
            .unwrap();
        sign_in_with_password(&browser, "ada@example.com").await;
        submit_code(
            &browser,
            "code-form",
            &recovery[3].replace('-', "").to_uppercase(),
        )
        .await;
        if expect_ok {
            let got = next_callback(&mut rx).await;
            assert_eq!(got["state"], state);
        } else {
            crate::browser::wait_for_text(&browser, "#code-error", "not right").await;
        }
    }
    let (_, identity) = admin.get(&format!("/admin/v1/identities/{ada}")).await;
    assert_eq!(identity["totp"]["recovery_codes_left"], 9, "{identity}");

    // 4. An admin removes the code (a lost phone): the next login sets up a new one.
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/identities/{ada}/totp"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    sign_out(&browser, &p.issuer).await;
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "again"))
        .await
        .unwrap();
    sign_in_with_password(&browser, "ada@example.com").await;
    let (new_secret, _) = set_up_code(&browser).await;
    assert_ne!(new_secret, secret);
    assert_eq!(next_callback(&mut rx).await["state"], "again");

    // 5. The user turns codes off on the account page (the session signed
    //    in moments ago, as removing a sign-in method needs).
    browser
        .goto(&format!("{}/account", p.issuer))
        .await
        .unwrap();
    assert_eq!(
        element(&browser, "totp-status").await.text().await.unwrap(),
        "Two-step codes: on"
    );
    browser
        .form(Locator::Id("totp-remove-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, identity) = admin.get(&format!("/admin/v1/identities/{ada}")).await;
        if identity["totp"].is_null() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "codes still on: {identity}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        element(&browser, "account-notice")
            .await
            .text()
            .await
            .unwrap(),
        "Two-step codes are off."
    );

    // 6. And on again, from the account page: the same set-up pages, then
    //    back to the page.
    browser
        .form(Locator::Id("totp-add-form"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let (third_secret, _) = set_up_code(&browser).await;
    assert_ne!(third_secret, new_secret);
    crate::browser::wait_for_text(&browser, "#totp-status", "on").await;
    let (_, identity) = admin.get(&format!("/admin/v1/identities/{ada}")).await;
    assert_eq!(identity["totp"]["recovery_codes_left"], 10, "{identity}");
    assert!(
        rx.try_recv().is_err(),
        "the account page's set-up issues no code"
    );
}

#[tokio::test]
async fn a_password_session_steps_up_to_two_factors_with_only_the_code() {
    let Some((_driver, driver_port)) = chromedriver() else {
        return;
    };
    let (callback, mut rx) = callback_server().await;
    let p = Provider::start(Backend::Embedded).await;
    let rp = p.web_rp(json!({"redirect_uris": [callback]})).await;
    p.user("ada@example.com").await;
    let (browser, _profile) = headless(driver_port).await;

    // A password alone: the project's second factor is optional and Ada has none.
    browser
        .goto(&authorize_url(&p.issuer, &rp, &callback, "one"))
        .await
        .unwrap();
    sign_in_with_password(&browser, "ada@example.com").await;
    let one = next_callback(&mut rx).await;
    let claims = id_token_claims(&p.issuer, &rp, &callback, &one["code"]).await;
    assert_eq!(claims["acr"], "urn:inkan:acr:1fa");

    // The application asks for two factors: the session goes straight to
    // setting up a code, with no password form.
    browser
        .goto(&format!(
            "{}{}",
            authorize_url(&p.issuer, &rp, &callback, "two"),
            "&acr_values=urn%3Ainkan%3Aacr%3Amfa"
        ))
        .await
        .unwrap();
    element(&browser, "totp-form").await;
    assert!(browser.find(Locator::Id("password-form")).await.is_err());
    let (secret, _) = set_up_code(&browser).await;
    let two = next_callback(&mut rx).await;
    assert_eq!(two["state"], "two");
    let claims = id_token_claims(&p.issuer, &rp, &callback, &two["code"]).await;
    assert_eq!(claims["acr"], "urn:inkan:acr:mfa");
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));

    // That session has two factors now: asked again, it answers at once.
    browser
        .goto(&format!(
            "{}{}",
            authorize_url(&p.issuer, &rp, &callback, "again"),
            "&acr_values=urn%3Ainkan%3Aacr%3Amfa&prompt=none"
        ))
        .await
        .unwrap();
    assert_eq!(next_callback(&mut rx).await["state"], "again");

    // A new password session of someone with a code: the code page after
    // the password, with a code of the next step (this one was spent).
    sign_out(&browser, &p.issuer).await;
    browser
        .goto(&format!(
            "{}{}",
            authorize_url(&p.issuer, &rp, &callback, "later"),
            "&acr_values=urn%3Ainkan%3Aacr%3Amfa"
        ))
        .await
        .unwrap();
    assert!(element(&browser, "login-notice")
        .await
        .text()
        .await
        .unwrap()
        .contains("two-step"));
    sign_in_with_password(&browser, "ada@example.com").await;
    submit_code(&browser, "code-form", &secret.code_at(now() + 30)).await;
    assert_eq!(next_callback(&mut rx).await["state"], "later");
}

/// The login page and `POST /login` of a project, read without a browser.
async fn login_page(p: &Provider, rp: &Rp) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .get(authorize_url(&p.issuer, rp, CALLBACK, "s"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn the_login_page_shows_the_methods_a_project_allows() {
    let p = Provider::start_on_localhost(Backend::Embedded).await;
    p.user("ada@example.com").await;
    let both = p.web_rp(json!({})).await;
    let page = login_page(&p, &both).await;
    assert!(page.contains(r#"id="password-form""#));
    assert!(page.contains(r#"id="passkey-login""#));

    let passwordless = p.web_rp(json!({"login_methods": ["passkey"]})).await;
    let page = login_page(&p, &passwordless).await;
    assert!(!page.contains(r#"id="password-form""#), "{page}");
    assert!(page.contains(r#"id="passkey-login""#));

    let password_only = p.web_rp(json!({"login_methods": ["password"]})).await;
    let page = login_page(&p, &password_only).await;
    assert!(page.contains(r#"id="password-form""#));
    assert!(!page.contains(r#"id="passkey-login""#), "{page}");

    // A password posted to the passwordless project anyway is refused.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(authorize_url(&p.issuer, &passwordless, CALLBACK, "s"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hidden = |name: &str| hidden(&page, name).unwrap();
    let resp = client
        .post(p.url("/login"))
        .form(&[
            ("authz", hidden("authz").as_str()),
            ("csrf", hidden("csrf").as_str()),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "no redirect: no sign-in");
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("does not accept passwords"));
}

/// The page a fresh browser (`agent`) gets after signing in with the
/// password at `issuer` for `rp`: the code form or the set-up page.
async fn after_password(agent: &Agent, issuer: &str, rp: &Rp, email: &str) -> String {
    let ch = challenge();
    let page = agent
        .http
        .get(format!("{issuer}/authorize"))
        .query(&code_params(rp, &ch, "openid"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    agent
        .http
        .post(format!("{issuer}/login"))
        .form(&[
            ("authz", hidden(&page, "authz").unwrap().as_str()),
            ("csrf", hidden(&page, "csrf").unwrap().as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Posts `code` to the second-step form of `page`.
async fn post_code(agent: &Agent, issuer: &str, page: &str, code: String) -> reqwest::Response {
    agent
        .http
        .post(format!("{issuer}/login/code"))
        .form(&[
            ("authz", hidden(page, "authz").unwrap()),
            ("csrf", hidden(page, "csrf").unwrap()),
            ("code", code),
        ])
        .send()
        .await
        .unwrap()
}

/// Sets up a code for `email` over plain HTTP (the pages as a script reads
/// them) through `rp`, a project that requires two factors; returns the secret.
async fn set_up_over_http(issuer: &str, rp: &Rp, email: &str) -> inkan_otp::Secret {
    let agent = Agent::new();
    let setup = after_password(&agent, issuer, rp, email).await;
    let marker = r#"<code id="totp-secret">"#;
    let start = setup.find(marker).expect("the set-up page") + marker.len();
    let key = &setup[start..start + setup[start..].find('<').unwrap()];
    let secret = inkan_otp::Secret::from_base32(key).unwrap();
    let codes = agent
        .http
        .post(format!("{issuer}/login/totp"))
        .form(&[
            ("authz", hidden(&setup, "authz").unwrap()),
            ("csrf", hidden(&setup, "csrf").unwrap()),
            ("code", secret.code_at(now())),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(codes.contains(r#"id="recovery-codes""#), "{codes}");
    secret
}

#[tokio::test]
async fn guessing_codes_is_throttled_so_even_the_right_code_is_refused_for_a_while() {
    let p = Provider::start(Backend::Embedded).await;
    let rp = p.web_rp(json!({"mfa": "required"})).await;
    p.user("ada@example.com").await;
    let secret = set_up_over_http(&p.issuer, &rp, "ada@example.com").await;

    let agent = Agent::new();
    let code_page = after_password(&agent, &p.issuer, &rp, "ada@example.com").await;
    assert!(code_page.contains(r#"id="code-form""#), "{code_page}");
    // Five wrong codes are free; the sixth locks the codes for 2 s
    // (doubling with each further failure). Attempts inside the lock are
    // answered like a wrong code without being checked.
    let right = secret.code_at(now() + 30);
    for i in 0..6 {
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
        let resp = post_code(&agent, &p.issuer, &code_page, wrong).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.text().await.unwrap().contains("not right"));
    }
    // Now even the right code gets the same answer, and no session.
    let resp = post_code(&agent, &p.issuer, &code_page, right).await;
    assert_eq!(resp.status(), 200, "throttled: no redirect");
    assert!(resp.text().await.unwrap().contains("not right"));
    let ch = challenge();
    let mut params = code_params(&rp, &ch, "openid");
    params.push(("prompt", "none"));
    let r = redirect(agent.authorize(&p, &params).await);
    assert_eq!(r.params["error"], "login_required");
}

/// Two authorize replicas behind a round-robin front: the set-up spans
/// them, and one code posted by two sign-ins at once, to the two replicas,
/// signs in once (the used-step record is shared in Redis).
#[tokio::test]
async fn in_the_microservices_shape_one_code_signs_in_once_however_the_replicas_race() {
    use crate::cluster::Cluster;
    let cluster = Cluster::start_replicas(
        &[
            "admin-a",
            "authorize-a",
            "authorize-b",
            "token-a",
            "userinfo-a",
        ],
        None,
    )
    .await;
    let issuer = cluster.issuer.clone();
    let rp = cluster
        .register(json!({
            "name": "Shop", "app_type": "web", "redirect_uris": [CALLBACK], "mfa": "required",
        }))
        .await;
    let (status, _) = cluster
        .admin(
            reqwest::Method::POST,
            "/admin/v1/identities",
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    let secret = set_up_over_http(&issuer, &rp, "ada@example.com").await;

    let (a, b) = (Agent::new(), Agent::new());
    let page_a = after_password(&a, &issuer, &rp, "ada@example.com").await;
    let page_b = after_password(&b, &issuer, &rp, "ada@example.com").await;
    assert!(page_a.contains(r#"id="code-form""#) && page_b.contains(r#"id="code-form""#));
    let code = secret.code_at(now() + 30);
    let (ra, rb) = tokio::join!(
        post_code(&a, &issuer, &page_a, code.clone()),
        post_code(&b, &issuer, &page_b, code)
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 303], "one sign-in, one refusal");
    let replicas: std::collections::HashSet<String> = cluster
        .served()
        .into_iter()
        .filter(|(path, _)| path == "/login/code")
        .map(|(_, replica)| replica)
        .collect();
    assert_eq!(replicas.len(), 2, "the two posts reached both replicas");
    cluster.stop().await;
}
