//! `/end_session`: OpenID Connect RP-Initiated Logout 1.0.

use axum::http::StatusCode;
use inkan_keys::signing::{Algorithm, SigningKey};

use crate::helpers::*;

fn logout_query(pairs: &[(&str, &str)]) -> String {
    format!("/end_session?{}", form_encode(pairs))
}

async fn still_logged_in(app: &TestApp, cookie: &str) -> bool {
    let r = app.authorize(WEB_CLIENT, "&prompt=none", &[cookie]).await;
    r.redirect_params().get("code").is_some()
}

fn assert_logged_out_page(r: &TestResponse) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.location().is_none());
    assert!(r.body.contains("logged out"), "{}", r.body);
    assert_eq!(r.headers["x-frame-options"], "DENY");
    let clear = r.set_cookie("__Host-inkan_session").unwrap();
    assert!(clear.contains("Max-Age=0"), "{clear}");
}

#[tokio::test]
async fn end_session_with_a_valid_hint_and_registered_uri_redirects_with_state_and_ends_the_session(
) {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let hint = app.id_token(WEB_CLIENT);
    let r = app
        .get(
            &logout_query(&[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", WEB_LOGOUT),
                ("state", "bye 1"),
            ]),
            &[cookie.as_str()],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        Some(format!("{WEB_LOGOUT}?state=bye+1").as_str())
    );
    let clear = r.set_cookie("__Host-inkan_session").unwrap();
    assert!(
        clear.contains("Max-Age=0") && clear.contains("Secure"),
        "{clear}"
    );
    assert!(!still_logged_in(&app, &cookie).await);
}

#[tokio::test]
async fn end_session_by_post_with_client_id_works_like_get() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let body = form_encode(&[
        ("client_id", WEB_CLIENT),
        ("post_logout_redirect_uri", WEB_LOGOUT),
    ]);
    let r = app
        .post_form("/end_session", &body, &[cookie.as_str()])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some(WEB_LOGOUT));
    assert!(!still_logged_in(&app, &cookie).await);
}

#[tokio::test]
async fn unregistered_post_logout_redirect_uri_is_not_followed() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let hint = app.id_token(WEB_CLIENT);
    for uri in ["https://evil.example/", SPA_LOGOUT, WEB_REDIRECT] {
        let r = app
            .get(
                &logout_query(&[("id_token_hint", &hint), ("post_logout_redirect_uri", uri)]),
                &[cookie.as_str()],
            )
            .await;
        assert_logged_out_page(&r);
    }
    assert!(!still_logged_in(&app, &cookie).await);
}

#[tokio::test]
async fn post_logout_redirect_uri_with_an_added_query_is_not_followed() {
    let app = spawn_app().await;
    let hint = app.id_token(WEB_CLIENT);
    let added = format!("{WEB_LOGOUT}?next=https://evil.example");
    let r = app
        .get(
            &logout_query(&[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", &added),
            ]),
            &[],
        )
        .await;
    assert_logged_out_page(&r);
}

#[tokio::test]
async fn post_logout_redirect_uri_without_hint_or_client_is_not_followed() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let r = app
        .get(
            &logout_query(&[("post_logout_redirect_uri", WEB_LOGOUT), ("state", "s")]),
            &[cookie.as_str()],
        )
        .await;
    assert_logged_out_page(&r);
    assert!(!still_logged_in(&app, &cookie).await);
}

#[tokio::test]
async fn hint_signed_by_another_key_is_refused_and_the_session_survives() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let forged = sign(&other, &app.id_token_claims(WEB_CLIENT));
    let r = app
        .get(
            &logout_query(&[
                ("id_token_hint", &forged),
                ("post_logout_redirect_uri", WEB_LOGOUT),
            ]),
            &[cookie.as_str()],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
    assert!(r.set_cookies().is_empty());
    assert!(still_logged_in(&app, &cookie).await);
}

#[tokio::test]
async fn modified_hint_is_refused() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let hint = app.id_token(WEB_CLIENT);
    let parts: Vec<&str> = hint.split('.').collect();
    // Same header and signature, claims for another client.
    let mut claims = app.id_token_claims(WEB_CLIENT);
    claims["aud"] = SPA_CLIENT.into();
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let modified = format!("{}.{payload}.{}", parts[0], parts[2]);
    for bad in [
        modified.as_str(),
        "not-a-jwt",
        "a.b.c",
        "%%%.!!!.???",
        &"x".repeat(10_000),
    ] {
        let r = app
            .get(
                &logout_query(&[
                    ("id_token_hint", bad),
                    ("post_logout_redirect_uri", SPA_LOGOUT),
                ]),
                &[cookie.as_str()],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.location().is_none());
    }
    assert!(still_logged_in(&app, &cookie).await);
}

#[tokio::test]
async fn hint_from_another_issuer_is_refused() {
    let app = spawn_app().await;
    let mut claims = app.id_token_claims(WEB_CLIENT);
    claims["iss"] = "https://other.example".into();
    let hint = sign(&app.key, &claims);
    let r = app
        .get(&logout_query(&[("id_token_hint", &hint)]), &[])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn client_id_disagreeing_with_the_hint_is_refused() {
    let app = spawn_app().await;
    let hint = app.id_token(WEB_CLIENT);
    let r = app
        .get(
            &logout_query(&[
                ("id_token_hint", &hint),
                ("client_id", SPA_CLIENT),
                ("post_logout_redirect_uri", SPA_LOGOUT),
            ]),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn end_session_without_params_logs_out_and_shows_a_page() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let r = app.get("/end_session", &[cookie.as_str()]).await;
    assert_logged_out_page(&r);
    assert!(!still_logged_in(&app, &cookie).await);

    let r = app.get("/end_session?state=only", &[]).await;
    assert_logged_out_page(&r);
}

#[tokio::test]
async fn dev_mode_logout_clears_the_unprefixed_cookie() {
    let app = spawn_dev_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    assert!(cookie.starts_with("inkan_session="));
    let r = app.get("/end_session", &[cookie.as_str()]).await;
    let clear = r.set_cookie("inkan_session").unwrap();
    assert!(
        clear.contains("Max-Age=0") && !clear.contains("Secure"),
        "{clear}"
    );
}
