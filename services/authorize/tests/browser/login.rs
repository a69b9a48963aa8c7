//! `POST /login`: credentials, CSRF, the session cookie and the code.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn successful_login_redirects_303_with_code_state_iss_and_a_secure_session_cookie() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "never 307: {}", r.body);
    assert!(r
        .location()
        .unwrap()
        .starts_with(&format!("{WEB_REDIRECT}?")));
    let p = r.redirect_params();
    assert!(p.get("code").is_some_and(|c| c.len() >= 43));
    assert_eq!(p.get("state"), Some("st-1"));
    assert_eq!(p.get("iss"), Some(ISSUER));
    assert_eq!(r.headers["cache-control"], "no-store");

    let cookie = r.set_cookie("__Host-inkan_session").unwrap();
    let max_age = format!("Max-Age={}", app.sessions.absolute_seconds);
    for flag in [
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        max_age.as_str(),
    ] {
        assert!(cookie.split("; ").any(|a| a == flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn dev_mode_session_cookie_is_not_secure_and_has_no_host_prefix() {
    let app = spawn_dev_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    assert!(form.binding.starts_with("inkan_login="));
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.set_cookie("__Host-inkan_session").is_none());
    let cookie = r.set_cookie("inkan_session").unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
}

#[tokio::test]
async fn issued_code_is_redeemable_exactly_once_with_identity_nonce_and_challenge() {
    let app = spawn_app().await;
    let started = app.clock.now();
    let (_, r) = app.log_in(SPA_CLIENT).await;
    let code = r.redirect_params().get("code").unwrap().to_owned();

    let record = redeem_code(&app, &code).await.expect("the code");
    assert_eq!(record.client_id, SPA_CLIENT);
    assert_eq!(record.redirect_uri, SPA_REDIRECT);
    assert_eq!(record.identity_id, IDENTITY_ID);
    assert_eq!(record.nonce.as_deref(), Some("n-1"));
    assert_eq!(record.code_challenge, Some(challenge()));
    assert_eq!(record.scope, "openid email");
    assert_eq!(record.amr, vec!["pwd".to_owned()]);
    assert_eq!(record.auth_time, started);
    assert_eq!(record.requested_at, started);
    assert_eq!(record.expires_at, started + inkan_flows::code::TTL_SECONDS);

    assert!(redeem_code(&app, &code).await.is_none(), "only once");
}

#[tokio::test]
async fn unknown_scopes_are_dropped_from_the_code() {
    let app = spawn_app().await;
    let q = query(WEB_CLIENT, &[("scope", Some("openid admin email"))]);
    let page = app.get(&format!("/authorize?{q}"), &[]).await;
    let form = LoginForm {
        authz: page.hidden("authz"),
        csrf: page.hidden("csrf"),
        binding: page.cookie_pair("__Host-inkan_login").unwrap(),
    };
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    let code = r.redirect_params().get("code").unwrap().to_owned();
    let record = redeem_code(&app, &code).await.unwrap();
    assert_eq!(record.scope, "openid email");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_give_the_same_generic_page() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    let wrong = app.submit(&form, EMAIL, "not the password", &[]).await;
    let unknown = app.submit(&form, "nobody@example.com", PASSWORD, &[]).await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("Incorrect email or password"), "{}", r.body);
        assert!(r.is_login_form());
        assert!(r.location().is_none());
        assert!(r.set_cookie("__Host-inkan_session").is_none());
        assert_eq!(r.hidden("authz"), form.authz);
        assert_eq!(r.hidden("csrf"), form.csrf);
        assert_eq!(r.headers["x-frame-options"], "DENY");
    }
    let without_email = |body: &str, email: &str| body.replace(email, "EMAIL");
    assert_eq!(
        without_email(&wrong.body, EMAIL),
        without_email(&unknown.body, "nobody@example.com")
    );
    // The form still works after failures.
    let ok = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_csrf_is_forbidden_and_issues_no_code() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    let forged = LoginForm {
        csrf: "forged".into(),
        authz: form.authz.clone(),
        binding: form.binding.clone(),
    };
    let r = app.submit(&forged, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.location().is_none());
    assert!(r.set_cookies().is_empty());
    // Nothing changed: the real form still works.
    let ok = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_without_the_browser_binding_cookie_is_forbidden() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    // Another browser (an attacker replaying their own form into a victim's
    // browser, login CSRF) has no or another binding cookie.
    let other_browser = app.start_login(WEB_CLIENT).await;
    for binding in ["", other_browser.binding.as_str()] {
        let replayed = LoginForm {
            authz: form.authz.clone(),
            csrf: form.csrf.clone(),
            binding: binding.to_owned(),
        };
        let r = app.submit(&replayed, EMAIL, PASSWORD, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "binding {binding:?}");
        assert!(r.location().is_none());
    }
}

#[tokio::test]
async fn one_browser_can_have_several_login_forms_open() {
    let app = spawn_app().await;
    let first = app.start_login(WEB_CLIENT).await;
    let page = app
        .authorize(SPA_CLIENT, "", &[first.binding.as_str()])
        .await;
    assert_eq!(
        page.cookie_pair("__Host-inkan_login").as_deref(),
        Some(first.binding.as_str()),
        "the binding is kept"
    );
    let r = app.submit(&first, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unknown_or_expired_login_request_gets_an_error_page() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    let unknown = LoginForm {
        authz: "does-not-exist".into(),
        csrf: form.csrf.clone(),
        binding: form.binding.clone(),
    };
    let r = app.submit(&unknown, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("expired"), "{}", r.body);
    assert!(r.location().is_none());

    // Expiry: the store dropped the pending request.
    use inkan_kv::KvStore;
    assert!(app
        .kv
        .delete(&format!("authz:{}", form.authz))
        .await
        .unwrap());
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("expired"));
}

#[tokio::test]
async fn the_same_form_cannot_be_posted_twice() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    let first = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert!(second.location().is_none());
}

#[tokio::test]
async fn login_replaces_an_existing_session() {
    let app = spawn_app().await;
    let (old, _) = app.log_in(WEB_CLIENT).await;
    let form = app.start_login(WEB_CLIENT).await;
    let r = app.submit(&form, EMAIL, PASSWORD, &[old.as_str()]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let new = r.cookie_pair("__Host-inkan_session").unwrap();
    assert_ne!(new, old, "a new session id (no fixation)");
    // The old session is over; the new one answers.
    let with_old = app
        .authorize(WEB_CLIENT, "&prompt=none", &[old.as_str()])
        .await;
    assert_eq!(
        with_old.redirect_params().get("error"),
        Some("login_required")
    );
    let with_new = app
        .authorize(WEB_CLIENT, "&prompt=none", &[new.as_str()])
        .await;
    assert!(with_new.redirect_params().get("code").is_some());
}

#[tokio::test]
async fn store_outage_at_login_is_a_503_page_and_no_code() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    app.kv.down.store(true, Ordering::SeqCst);
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers["retry-after"], "5");
    assert!(r.location().is_none());
    assert!(r.set_cookies().is_empty());
}

#[tokio::test]
async fn directory_outage_at_login_is_a_503_page() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    app.directory.down.store(true, Ordering::SeqCst);
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers.contains_key("retry-after"));
    // The pending request survives the outage.
    app.directory.down.store(false, Ordering::SeqCst);
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_json_login_post_is_refused() {
    let app = spawn_app().await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}
