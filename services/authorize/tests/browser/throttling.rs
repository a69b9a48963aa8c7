//! Login throttling (NIST SP 800-63B §5.2.2, OWASP Authentication Cheat
//! Sheet): back-off per account, a cap per client address, and throttled
//! attempts that look exactly like wrong passwords.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use inkan_authorize::routes::login::LOGIN_FAILED;

use crate::helpers::*;

/// Posts credentials as if from client address `ip` (the test app trusts
/// `X-Forwarded-For`).
async fn submit_from(
    app: &TestApp,
    form: &LoginForm,
    email: &str,
    password: &str,
    ip: &str,
) -> TestResponse {
    let body = form_encode(&[
        ("authz", &form.authz),
        ("csrf", &form.csrf),
        ("email", email),
        ("password", password),
    ]);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, form.binding.as_str())
        .header("x-forwarded-for", ip)
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

fn is_generic_failure(r: &TestResponse) -> bool {
    r.is_login_form() && r.body.contains(&inkan_authorize::i18n::t(LOGIN_FAILED))
}

#[tokio::test]
async fn six_wrong_passwords_lock_the_account_even_for_the_right_password_until_the_back_off_passes(
) {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    for _ in 0..6 {
        let r = app.submit(&form, EMAIL, "wrong password", &[]).await;
        assert!(is_generic_failure(&r), "{} {}", r.status, r.body);
    }
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert!(is_generic_failure(&r), "locked: {} {}", r.status, r.body);

    // Six failures lock for 2 s; attempts during the lock do not extend it.
    app.clock.advance(2);
    let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn a_locked_account_and_an_unknown_email_get_byte_identical_pages() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    for _ in 0..6 {
        app.submit(&form, EMAIL, "wrong password", &[]).await;
    }
    // Same length as EMAIL, no account.
    let unknown = "eve@example.com";
    assert_eq!(unknown.len(), EMAIL.len());
    let locked = app.submit(&form, EMAIL, PASSWORD, &[]).await;
    let nobody = app.submit(&form, unknown, "wrong password", &[]).await;
    assert!(is_generic_failure(&locked), "{}", locked.body);
    assert_eq!(locked.status, nobody.status);
    assert_eq!(
        locked.headers.get(header::CONTENT_TYPE),
        nobody.headers.get(header::CONTENT_TYPE)
    );
    assert_eq!(
        locked.body.replace(EMAIL, "EMAIL"),
        nobody.body.replace(unknown, "EMAIL")
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_account_back_off() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let form = app.start_login(WEB_CLIENT).await;
        for _ in 0..5 {
            app.submit(&form, EMAIL, "wrong password", &[]).await;
        }
        // Five failures are free: without the reset, the second round's
        // five would make ten and lock the account.
        let r = app.submit(&form, EMAIL, PASSWORD, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
}

#[tokio::test]
async fn too_many_failures_from_one_address_refuse_every_account_from_it() {
    let app = spawn_app().await;
    let form = app.start_login(WEB_CLIENT).await;
    let sprayer = "203.0.113.7";
    for i in 0..inkan_flows::limits::IP_FAILURE_LIMIT {
        let r = submit_from(
            &app,
            &form,
            &format!("user{i}@example.com"),
            "Winter2026!",
            sprayer,
        )
        .await;
        assert!(is_generic_failure(&r), "{}", r.body);
    }
    let r = submit_from(&app, &form, EMAIL, PASSWORD, sprayer).await;
    assert!(is_generic_failure(&r), "the address is limited: {}", r.body);

    let r = submit_from(&app, &form, EMAIL, PASSWORD, "198.51.100.1").await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "other addresses are not: {}",
        r.body
    );
}
