//! `/authorize` before any login: what is shown, what is redirected.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn unknown_client_gets_an_error_page_and_no_redirect() {
    let app = spawn_app().await;
    let r = app.authorize("no-such-client", "", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
    assert!(r.body.contains("Unknown application"), "{}", r.body);
    assert_eq!(r.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn unregistered_redirect_uri_gets_an_error_page() {
    let app = spawn_app().await;
    for uri in [
        "https://evil.example/callback",
        "https://shop.example/callback/",
        "https://shop.example/callback?x=1",
    ] {
        let q = query(WEB_CLIENT, &[("redirect_uri", Some(uri))]);
        let r = app.get(&format!("/authorize?{q}"), &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.location().is_none(), "{uri}");
    }
}

#[tokio::test]
async fn missing_redirect_uri_gets_an_error_page() {
    let app = spawn_app().await;
    let q = query(WEB_CLIENT, &[("redirect_uri", None)]);
    let r = app.get(&format!("/authorize?{q}"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn repeated_parameter_gets_an_error_page_not_a_redirect() {
    let app = spawn_app().await;
    let q = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.example%2F",
        authorize_query(WEB_CLIENT)
    );
    let r = app.get(&format!("/authorize?{q}"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
    assert!(r.body.contains("repeated"), "{}", r.body);

    let q = format!("{}&state=again", authorize_query(WEB_CLIENT));
    let r = app.get(&format!("/authorize?{q}"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn invalid_utf8_and_huge_parameters_get_an_error_page() {
    let app = spawn_app().await;
    let r = app
        .get(
            &format!("/authorize?{}&x=%FF%FE", authorize_query(WEB_CLIENT)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
    let huge = "a".repeat(70 * 1024);
    let r = app
        .post_form(
            "/authorize",
            &format!("{}&x={huge}", authorize_query(WEB_CLIENT)),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.location().is_none());
}

#[tokio::test]
async fn response_type_token_is_redirected_as_unsupported_response_type_with_iss_and_state() {
    let app = spawn_app().await;
    let q = query(WEB_CLIENT, &[("response_type", Some("token"))]);
    let r = app.get(&format!("/authorize?{q}"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with(WEB_REDIRECT));
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("unsupported_response_type"));
    assert_eq!(p.get("state"), Some("st-1"));
    assert_eq!(p.get("iss"), Some(ISSUER));
    assert!(p.get("error_description").is_some());
    assert!(p.get("code").is_none());
}

#[tokio::test]
async fn scope_without_openid_is_redirected_as_invalid_scope() {
    let app = spawn_app().await;
    let q = query(WEB_CLIENT, &[("scope", Some("email profile"))]);
    let p = app
        .get(&format!("/authorize?{q}"), &[])
        .await
        .redirect_params();
    assert_eq!(p.get("error"), Some("invalid_scope"));
    assert_eq!(p.get("iss"), Some(ISSUER));
    assert_eq!(p.get("state"), Some("st-1"));
}

#[tokio::test]
async fn plain_pkce_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    let q = query(
        SPA_CLIENT,
        &[
            ("code_challenge", Some(VERIFIER)),
            ("code_challenge_method", Some("plain")),
        ],
    );
    let p = app
        .get(&format!("/authorize?{q}"), &[])
        .await
        .redirect_params();
    assert_eq!(p.get("error"), Some("invalid_request"));
    assert_eq!(p.get("iss"), Some(ISSUER));
}

#[tokio::test]
async fn public_client_without_pkce_is_redirected_as_invalid_request() {
    let app = spawn_app().await;
    let q = query(
        SPA_CLIENT,
        &[("code_challenge", None), ("code_challenge_method", None)],
    );
    let r = app.get(&format!("/authorize?{q}"), &[]).await;
    assert!(r.location().unwrap().starts_with(SPA_REDIRECT));
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("invalid_request"));
    assert!(p
        .get("error_description")
        .unwrap()
        .contains("code_challenge"));
}

#[tokio::test]
async fn request_parameter_is_redirected_as_request_not_supported() {
    let app = spawn_app().await;
    let r = app
        .authorize(WEB_CLIENT, "&request=eyJhbGciOiJub25lIn0.e30.", &[])
        .await;
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("request_not_supported"));
    assert_eq!(p.get("iss"), Some(ISSUER));
}

#[tokio::test]
async fn request_uri_is_redirected_as_request_uri_not_supported() {
    let app = spawn_app().await;
    let r = app
        .authorize(
            WEB_CLIENT,
            "&request_uri=https%3A%2F%2Fshop.example%2Freq",
            &[],
        )
        .await;
    assert_eq!(
        r.redirect_params().get("error"),
        Some("request_uri_not_supported")
    );
}

#[tokio::test]
async fn service_project_is_redirected_as_unauthorized_client() {
    let app = spawn_app().await;
    let r = app.authorize(SERVICE_CLIENT, "", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with(SERVICE_REDIRECT));
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("unauthorized_client"));
    assert_eq!(p.get("iss"), Some(ISSUER));
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let r = app
        .authorize(WEB_CLIENT, "&foo=bar&claims=%7B%7D&ui_locales=de", &[])
        .await;
    assert!(r.is_login_form(), "{} {}", r.status, r.body);
}

#[tokio::test]
async fn post_authorize_works_like_get() {
    let app = spawn_app().await;
    let r = app
        .post_form("/authorize", &authorize_query(WEB_CLIENT), &[])
        .await;
    assert!(r.is_login_form(), "{} {}", r.status, r.body);

    let body = query(WEB_CLIENT, &[("response_type", Some("token"))]);
    let p = app
        .post_form("/authorize", &body, &[])
        .await
        .redirect_params();
    assert_eq!(p.get("error"), Some("unsupported_response_type"));
    assert_eq!(p.get("iss"), Some(ISSUER));
}

#[tokio::test]
async fn login_page_has_the_form_fields_csrf_and_security_headers() {
    let app = spawn_app().await;
    let r = app.authorize(WEB_CLIENT, "", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert!(b.contains("<html lang=\"en\">"));
    assert!(b.contains("<h1>"));
    assert!(b.contains("Shop"), "project name shown");
    assert!(b.contains("<form method=\"post\" action=\"/login\""));
    assert!(b.contains("name=\"email\""));
    // Passkey autofill (conditional mediation) rides on the username field.
    assert!(b.contains("autocomplete=\"username webauthn\""));
    assert!(b.contains("name=\"password\""));
    assert!(b.contains("autocomplete=\"current-password\""));
    assert!(b.contains("<label for=\"email\">"));
    assert!(b.contains("<label for=\"password\">"));
    // One script, the issuer's own passkey file; nothing inline.
    assert_eq!(b.matches("<script").count(), 1);
    assert!(b.contains("<script src=\"/static/passkey.js\" defer></script>"));
    assert!(b.contains("id=\"passkey-login\""));
    assert!(r.hidden("authz").len() >= 22);
    assert!(r.hidden("csrf").len() >= 43);

    let h = &r.headers;
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert_eq!(script_src, "script-src 'self'", "no inline script: {csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");

    let binding = r.set_cookie("__Host-inkan_login").unwrap();
    for flag in [
        "Path=/",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Max-Age=600",
    ] {
        assert!(binding.contains(flag), "{binding}");
    }
}

#[tokio::test]
async fn login_page_escapes_a_hostile_login_hint() {
    let app = spawn_app().await;
    let hostile = "\"><script>alert(1)</script><input name=\"csrf";
    let r = app
        .authorize(
            WEB_CLIENT,
            &format!("&{}", form_encode(&[("login_hint", hostile)])),
            &[],
        )
        .await;
    assert!(r.is_login_form());
    assert!(!r.body.contains("<script>"), "{}", r.body);
    assert!(!r.body.contains(hostile));
    assert!(r.body.contains("&#60;script&#62;") || r.body.contains("&lt;script&gt;"));
    // The password form's and the passkey form's, and no injected third.
    assert_eq!(r.body.matches("name=\"csrf\"").count(), 2);
}

#[tokio::test]
async fn login_hint_prefills_the_email_field() {
    let app = spawn_app().await;
    let r = app
        .authorize(WEB_CLIENT, "&login_hint=ada%40example.com", &[])
        .await;
    assert!(
        r.body.contains("value=\"ada@example.com\"")
            || r.body.contains("value=\"ada&#64;example.com\""),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    let app = spawn_app().await;
    let r = app.authorize(WEB_CLIENT, "&prompt=none", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("login_required"));
    assert_eq!(p.get("state"), Some("st-1"));
    assert_eq!(p.get("iss"), Some(ISSUER));
}

#[tokio::test]
async fn hostile_cookie_headers_are_ignored() {
    let app = spawn_app().await;
    let long = format!("__Host-inkan_session={}", "A".repeat(100_000));
    let request = axum::http::Request::builder()
        .uri(format!("/authorize?{}", authorize_query(WEB_CLIENT)))
        .header(
            "cookie",
            axum::http::HeaderValue::from_bytes(b"__Host-inkan_session=\xff\xfe; =; ;;").unwrap(),
        )
        .header("cookie", long)
        .header("cookie", "__Host-inkan_session=not-a-real-session")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(request).await;
    assert!(r.is_login_form(), "{} {}", r.status, r.body);
}

#[tokio::test]
async fn directory_outage_is_a_503_page_with_retry_after() {
    let app = spawn_app().await;
    app.directory.down.store(true, Ordering::SeqCst);
    let r = app.authorize(WEB_CLIENT, "", &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers.contains_key("retry-after"));
    assert!(r.location().is_none());
}

#[tokio::test]
async fn store_outage_after_the_redirect_uri_is_trusted_is_temporarily_unavailable() {
    let app = spawn_app().await;
    app.kv.down.store(true, Ordering::SeqCst);
    let r = app.authorize(WEB_CLIENT, "", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = r.redirect_params();
    assert_eq!(p.get("error"), Some("temporarily_unavailable"));
    assert_eq!(p.get("iss"), Some(ISSUER));
    assert!(p.get("code").is_none());
}
