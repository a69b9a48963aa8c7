//! An independent, certified-style OIDC client library (`openidconnect`)
//! as the relying party: discovery → authorization request with PKCE, state
//! and nonce → the login form → code → token exchange → ID token validated
//! by the library against the JWKS → userinfo; then refresh, reuse of the
//! old refresh token (family revoked), and logout. Against both store setups.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::json;

use crate::provider::*;

async fn relying_party_logs_a_user_in_with_an_oidc_library(backend: Backend) {
    let p = Provider::start(backend).await;
    let rp = p.web_rp(json!({})).await;
    let sub = p.user("ada@example.com").await;
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The relying party knows only the issuer, its client id and secret.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(p.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.to_string()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: the login form, then the redirect back with the code.
    let agent = Agent::new();
    let page = agent.get(auth_url.as_str()).await.text().await.unwrap();
    let back = redirect(agent.login(&p, &page, "ada@example.com", PASSWORD).await);
    assert_eq!(back.status, 303);
    assert_eq!(&back.params["state"], csrf.secret());
    assert_eq!(back.params["iss"], p.issuer);

    let tokens = client
        .exchange_code(AuthorizationCode::new(back.params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the library validates the ID token");
    assert_eq!(claims.subject().as_str(), sub);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), sub);
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));

    // Refresh: a new token pair; the old refresh token is spent.
    let first = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let second = refreshed
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    assert_ne!(first.secret(), second.secret());
    let reuse = client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&http)
        .await;
    let err = format!("{:?}", reuse.expect_err("reuse is refused"));
    assert!(err.contains("invalid_grant"), "{err}");
    let after = client
        .exchange_refresh_token(&second)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "reuse revoked the whole family");

    // Logout: back to the registered URI, and the session is gone.
    let hint = id_token.to_string();
    let resp = agent
        .http
        .get(p.url("/end_session"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    let out = redirect(resp);
    assert!(out.location.starts_with(LOGGED_OUT));
    let ch = crate::provider::challenge();
    let mut params = code_params(&rp, &ch, "openid");
    params.push(("prompt", "none"));
    let r = redirect(agent.authorize(&p, &params).await);
    assert_eq!(r.params["error"], "login_required");
    p.stop().await;
}

#[tokio::test]
async fn relying_party_library_flow_on_embedded_stores() {
    relying_party_logs_a_user_in_with_an_oidc_library(Backend::Embedded).await;
}

#[tokio::test]
async fn relying_party_library_flow_on_postgres_redis_and_nats() {
    relying_party_logs_a_user_in_with_an_oidc_library(Backend::Real).await;
}

/// The text between `<code id="{id}">` and `</code>` in a page.
fn code_text(page: &str, id: &str) -> String {
    let marker = format!(r#"<code id="{id}">"#);
    let start = page.find(&marker).expect("the element") + marker.len();
    page[start..start + page[start..].find("</code>").unwrap()].to_string()
}

/// The library asks for `urn:inkan:acr:mfa` after a password login: the
/// session steps up through setting up a one-time code (no password asked
/// again), and the library reads `acr` and `amr` from the validated ID
/// tokens. Against Postgres, Redis and NATS.
#[tokio::test]
async fn relying_party_library_reads_acr_and_amr_through_a_step_up_to_two_factors() {
    use openidconnect::AuthenticationContextClass;
    let p = Provider::start(Backend::Real).await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(p.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let supported: Vec<String> = metadata
        .acr_values_supported()
        .expect("acr_values_supported")
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        supported,
        [
            "urn:inkan:acr:1fa",
            "urn:inkan:acr:mfa",
            "urn:inkan:acr:phr"
        ]
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.to_string()).unwrap());
    let agent = Agent::new();

    // Signs in through `answer` (the page /authorize shows → the redirect
    // back) and returns the ID token's acr and amr, validated by the library.
    let sign_in = |acr: Option<&'static str>| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        if let Some(acr) = acr {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.into()));
        }
        let (url, _, nonce) = request.url();
        (url, verifier, nonce)
    };
    let claims_of = |code: String, verifier, nonce: Nonce| {
        let client = &client;
        let http = &http;
        async move {
            let tokens = client
                .exchange_code(AuthorizationCode::new(code))
                .unwrap()
                .set_pkce_verifier(verifier)
                .request_async(http)
                .await
                .expect("token exchange");
            let claims = tokens
                .id_token()
                .expect("an ID token")
                .claims(&client.id_token_verifier(), &nonce)
                .expect("the library validates the ID token")
                .clone();
            let acr = claims.auth_context_ref().map(|a| a.to_string());
            let amr: Vec<String> = claims
                .auth_method_refs()
                .map(|m| m.iter().map(|m| m.to_string()).collect())
                .unwrap_or_default();
            (acr, amr)
        }
    };

    // 1. A password: one factor.
    let (url, verifier, nonce) = sign_in(None);
    let page = agent.get(url.as_str()).await.text().await.unwrap();
    let back = redirect(agent.login(&p, &page, "ada@example.com", PASSWORD).await);
    let (acr, amr) = claims_of(back.params["code"].clone(), verifier, nonce).await;
    assert_eq!(acr.as_deref(), Some("urn:inkan:acr:1fa"));
    assert_eq!(amr, ["pwd"]);

    // 2. Two factors asked for: the session's user sets up a code (the
    //    set-up page, not the password form), sees the recovery codes, and
    //    is sent back with a code whose ID token has two factors.
    let (url, verifier, nonce) = sign_in(Some("urn:inkan:acr:mfa"));
    let page = agent.get(url.as_str()).await.text().await.unwrap();
    assert!(page.contains(r#"id="totp-form""#), "{page}");
    assert!(!page.contains(r#"id="password-form""#));
    let secret = inkan_otp::Secret::from_base32(&code_text(&page, "totp-secret")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let codes_page = agent
        .http
        .post(p.url("/login/totp"))
        .form(&[
            ("authz", hidden(&page, "authz").unwrap()),
            ("csrf", hidden(&page, "csrf").unwrap()),
            ("code", secret.code_at(now)),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        codes_page.contains(r#"id="recovery-codes""#),
        "{codes_page}"
    );
    let back = redirect(
        agent
            .http
            .post(p.url("/login/continue"))
            .form(&[
                ("authz", hidden(&codes_page, "authz").unwrap()),
                ("csrf", hidden(&codes_page, "csrf").unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(back.status, 303);
    let (acr, amr) = claims_of(back.params["code"].clone(), verifier, nonce).await;
    assert_eq!(acr.as_deref(), Some("urn:inkan:acr:mfa"));
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    p.stop().await;
}
