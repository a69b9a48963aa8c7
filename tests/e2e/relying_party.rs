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
