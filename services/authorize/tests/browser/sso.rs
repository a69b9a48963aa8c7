//! Single sign-on: what a live session answers, and when it does not.

use axum::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn second_authorize_with_the_session_cookie_skips_the_form() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let r = app.authorize(WEB_CLIENT, "", &[cookie.as_str()]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = r.redirect_params();
    assert_eq!(p.get("state"), Some("st-1"));
    assert_eq!(p.get("iss"), Some(ISSUER));
    let record = redeem_code(&app, p.get("code").unwrap()).await.unwrap();
    assert_eq!(record.identity_id, IDENTITY_ID);
}

#[tokio::test]
async fn sso_also_answers_a_second_project() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let login_time = app.clock.now();
    app.clock.advance(30);
    let r = app.authorize(SPA_CLIENT, "", &[cookie.as_str()]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with(SPA_REDIRECT));
    let record = redeem_code(&app, r.redirect_params().get("code").unwrap())
        .await
        .unwrap();
    assert_eq!(record.client_id, SPA_CLIENT);
    assert_eq!(record.auth_time, login_time, "auth_time is the login's");
    assert_eq!(record.requested_at, login_time + 30);
}

#[tokio::test]
async fn prompt_none_with_a_session_gives_a_code() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let r = app
        .authorize(WEB_CLIENT, "&prompt=none", &[cookie.as_str()])
        .await;
    assert!(r.redirect_params().get("code").is_some());
}

#[tokio::test]
async fn prompt_consent_with_a_session_gives_a_code() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let r = app
        .authorize(WEB_CLIENT, "&prompt=consent", &[cookie.as_str()])
        .await;
    assert!(r.redirect_params().get("code").is_some());
}

#[tokio::test]
async fn prompt_login_with_a_session_shows_the_form() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    for prompt in ["login", "select_account"] {
        let r = app
            .authorize(WEB_CLIENT, &format!("&prompt={prompt}"), &[cookie.as_str()])
            .await;
        assert!(r.is_login_form(), "{prompt}: {}", r.status);
    }
}

#[tokio::test]
async fn max_age_exceeded_shows_the_form() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    app.clock.advance(61);
    let r = app
        .authorize(WEB_CLIENT, "&max_age=60", &[cookie.as_str()])
        .await;
    assert!(r.is_login_form());
    let r = app
        .authorize(WEB_CLIENT, "&max_age=60&prompt=none", &[cookie.as_str()])
        .await;
    assert_eq!(r.redirect_params().get("error"), Some("login_required"));
}

#[tokio::test]
async fn max_age_not_exceeded_gives_a_code() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    app.clock.advance(60);
    let r = app
        .authorize(WEB_CLIENT, "&max_age=60", &[cookie.as_str()])
        .await;
    assert!(r.redirect_params().get("code").is_some());
}

#[tokio::test]
async fn max_age_zero_always_shows_the_form() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let r = app
        .authorize(WEB_CLIENT, "&max_age=0", &[cookie.as_str()])
        .await;
    assert!(r.is_login_form());
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_not_used() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    app.clock.advance(app.sessions.absolute_seconds + 1);
    let r = app
        .authorize(WEB_CLIENT, "&prompt=none", &[cookie.as_str()])
        .await;
    assert_eq!(r.redirect_params().get("error"), Some("login_required"));
}

#[tokio::test]
async fn an_id_token_hint_for_the_session_user_gives_a_code() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let hint = app.id_token(WEB_CLIENT);
    let r = app
        .authorize(
            WEB_CLIENT,
            &format!("&prompt=none&id_token_hint={hint}"),
            &[cookie.as_str()],
        )
        .await;
    assert!(r.redirect_params().get("code").is_some());
}

#[tokio::test]
async fn an_id_token_hint_for_another_user_is_login_required() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let mut claims = app.id_token_claims(WEB_CLIENT);
    claims["sub"] = "someone-else".into();
    let hint = sign(&app.key, &claims);
    let r = app
        .authorize(
            WEB_CLIENT,
            &format!("&prompt=none&id_token_hint={hint}"),
            &[cookie.as_str()],
        )
        .await;
    assert_eq!(r.redirect_params().get("error"), Some("login_required"));
}

#[tokio::test]
async fn a_forged_id_token_hint_at_authorize_is_invalid_request() {
    let app = spawn_app().await;
    let other =
        inkan_keys::signing::SigningKey::generate(inkan_keys::signing::Algorithm::ES256).unwrap();
    let hint = sign(&other, &app.id_token_claims(WEB_CLIENT));
    let r = app
        .authorize(WEB_CLIENT, &format!("&id_token_hint={hint}"), &[])
        .await;
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("invalid_request"));
    assert_eq!(p.get("iss"), Some(ISSUER));
}

#[tokio::test]
async fn a_password_session_does_not_answer_a_request_for_a_phishing_resistant_sign_in() {
    let app = spawn_app().await;
    let (cookie, _) = app.log_in(WEB_CLIENT).await;
    let phr = "&acr_values=urn%3Ainkan%3Aacr%3Aphr";
    let r = app.authorize(WEB_CLIENT, phr, &[cookie.as_str()]).await;
    assert!(r.is_login_form(), "{}", r.body);
    assert!(r.body.contains("asks for a stronger sign-in"), "{}", r.body);
    // The level the password reached is enough for a one-factor request.
    let one = "&acr_values=urn%3Ainkan%3Aacr%3A1fa";
    let r = app.authorize(WEB_CLIENT, one, &[cookie.as_str()]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // prompt=none cannot step up.
    let r = app
        .authorize(
            WEB_CLIENT,
            &format!("{phr}&prompt=none"),
            &[cookie.as_str()],
        )
        .await;
    assert_eq!(r.redirect_params().get("error"), Some("login_required"));
}
