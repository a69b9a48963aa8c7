//! The OpenID Foundation's conformance plans, mirrored as tests: one test
//! per module of `oidcc-basic-certification-test-plan`, of
//! `oidcc-config-certification-test-plan`, and of the RP-initiated logout
//! plan, each named after its module and run against the embedded stores
//! (`conformance::embedded::…`) and the real PostgreSQL/Redis/NATS
//! (`conformance::real::…`).

use serde_json::{json, Value};

use crate::provider::*;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $( #[tokio::test] async fn $name() { super::$name(super::Backend::Embedded).await } )*
        }
        mod real {
            $( #[tokio::test] async fn $name() { super::$name(super::Backend::Real).await } )*
        }
    };
}

conformance!(
    oidcc_server,
    oidcc_response_type_missing,
    oidcc_idtoken_signature,
    oidcc_userinfo_get,
    oidcc_userinfo_post_header,
    oidcc_userinfo_post_body,
    oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
    oidcc_scope_profile,
    oidcc_scope_email,
    oidcc_scope_all,
    oidcc_alternate_happy_flow,
    oidcc_display_page,
    oidcc_display_popup,
    oidcc_prompt_login,
    oidcc_prompt_none_not_logged_in,
    oidcc_prompt_none_logged_in,
    oidcc_max_age_1,
    oidcc_max_age_10000,
    oidcc_ensure_request_with_unknown_parameter_succeeds,
    oidcc_id_token_hint,
    oidcc_login_hint,
    oidcc_ui_locales,
    oidcc_claims_locales,
    oidcc_ensure_request_with_acr_values_succeeds,
    oidcc_codereuse,
    oidcc_ensure_registered_redirect_uri,
    oidcc_ensure_post_request_succeeds,
    oidcc_server_client_secret_post,
    oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
    oidcc_claims_essential,
    oidcc_refresh_token,
    oidcc_ensure_request_with_valid_pkce_succeeds,
    oidcc_discovery_endpoint_verification,
    oidcc_rp_initiated_logout,
    oidcc_rp_initiated_logout_bad_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_modified_id_token_hint,
    oidcc_rp_initiated_logout_no_id_token_hint,
    oidcc_rp_initiated_logout_no_params,
    oidcc_rp_initiated_logout_only_state,
);

/// A provider, one web RP and one user, logged in through the form; returns the token response.
struct Signed {
    p: Provider,
    rp: Rp,
    sub: String,
    agent: Agent,
    tokens: Value,
}

async fn signed_in(backend: Backend, scope: &str, extra: &[(&str, &str)]) -> Signed {
    let p = Provider::start(backend).await;
    let rp = p.web_rp(json!({})).await;
    let sub = p.user("ada@example.com").await;
    let agent = Agent::new();
    let ch = challenge();
    let mut params = code_params(&rp, &ch, scope);
    params.extend_from_slice(extra);
    let r = agent.sign_in(&p, &params, "ada@example.com").await;
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.params["state"], "st4te");
    assert_eq!(r.params["iss"], p.issuer);
    let (status, tokens) = exchange(&p, &rp, &r.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    Signed {
        p,
        rp,
        sub,
        agent,
        tokens,
    }
}

async fn id_claims(s: &Signed) -> Value {
    verify_jwt(
        &s.p,
        s.tokens["id_token"].as_str().unwrap(),
        &s.rp.client_id,
    )
    .await
}

async fn userinfo(p: &Provider, token: &str, how: &str) -> (u16, Value) {
    let http = reqwest::Client::new();
    let resp = match how {
        "get" => http.get(p.url("/userinfo")).bearer_auth(token).send().await,
        "post_header" => {
            http.post(p.url("/userinfo"))
                .bearer_auth(token)
                .send()
                .await
        }
        _ => {
            http.post(p.url("/userinfo"))
                .form(&[("access_token", token)])
                .send()
                .await
        }
    }
    .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn oidcc_server(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let claims = id_claims(&s).await;
    assert_eq!(claims["sub"], s.sub.as_str());
    assert_eq!(claims["nonce"], "n0nce");
    assert!(claims["auth_time"].as_i64().is_some());
    assert!(claims["at_hash"].as_str().is_some());
    s.p.stop().await;
}

async fn oidcc_response_type_missing(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    let r = redirect(
        Agent::new()
            .authorize(
                &p,
                &[
                    ("client_id", &rp.client_id),
                    ("redirect_uri", CALLBACK),
                    ("scope", "openid"),
                    ("state", "s"),
                ],
            )
            .await,
    );
    assert_eq!(r.params["error"], "invalid_request");
    assert_eq!(r.params["state"], "s");
    assert_eq!(r.params["iss"], p.issuer);
    p.stop().await;
}

async fn oidcc_idtoken_signature(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let header = jsonwebtoken::decode_header(s.tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "RS256 by default"
    );
    id_claims(&s).await;
    // A modified token does not verify.
    let mut forged = s.tokens["id_token"].as_str().unwrap().to_string();
    forged.insert(forged.len() - 5, 'A');
    forged.truncate(forged.len() - 1);
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(s.p.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[&s.rp.client_id]);
    assert!(jsonwebtoken::decode::<Value>(&forged, &key, &v).is_err());
    s.p.stop().await;
}

async fn userinfo_case(b: Backend, how: &str) {
    let s = signed_in(b, "openid email", &[]).await;
    let (status, info) = userinfo(&s.p, s.tokens["access_token"].as_str().unwrap(), how).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], s.sub.as_str());
    assert_eq!(info["email"], "ada@example.com");
    let (status, _) = userinfo(&s.p, "not-a-token", how).await;
    assert_eq!(status, 401);
    s.p.stop().await;
}

async fn oidcc_userinfo_get(b: Backend) {
    userinfo_case(b, "get").await
}

async fn oidcc_userinfo_post_header(b: Backend) {
    userinfo_case(b, "post_header").await
}

async fn oidcc_userinfo_post_body(b: Backend) {
    userinfo_case(b, "post_body").await
}

async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let params: Vec<_> = code_params(&rp, &ch, "openid")
        .into_iter()
        .filter(|(k, _)| *k != "nonce")
        .collect();
    let r = Agent::new().sign_in(&p, &params, "ada@example.com").await;
    let (status, tokens) = exchange(&p, &rp, &r.params["code"]).await;
    assert_eq!(status, 200);
    let claims = verify_jwt(&p, tokens["id_token"].as_str().unwrap(), &rp.client_id).await;
    assert!(claims.get("nonce").is_none());
    p.stop().await;
}

async fn scope_case(b: Backend, scope: &str, present: &[&str], absent: &[&str]) {
    let s = signed_in(b, scope, &[]).await;
    let (_, info) = userinfo(&s.p, s.tokens["access_token"].as_str().unwrap(), "get").await;
    let claims = id_claims(&s).await;
    for c in present {
        assert!(info.get(*c).is_some(), "userinfo lacks {c}: {info}");
        assert!(claims.get(*c).is_some(), "ID token lacks {c}: {claims}");
    }
    for c in absent {
        assert!(info.get(*c).is_none(), "userinfo has {c}: {info}");
    }
    s.p.stop().await;
}

async fn oidcc_scope_profile(b: Backend) {
    scope_case(
        b,
        "openid profile",
        &["name", "given_name", "family_name"],
        &["email"],
    )
    .await
}

async fn oidcc_scope_email(b: Backend) {
    scope_case(
        b,
        "openid email",
        &["email", "email_verified"],
        &["given_name"],
    )
    .await
}

async fn oidcc_scope_all(b: Backend) {
    scope_case(
        b,
        "openid profile email",
        &[
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
        ],
        &[],
    )
    .await
}

async fn oidcc_alternate_happy_flow(b: Backend) {
    // A second client with different settings, in one browser session.
    let s = signed_in(b, "openid", &[]).await;
    let rp2 = s.p.web_rp(json!({"token_endpoint_auth_method": "client_secret_post", "id_token_signed_response_alg": "EdDSA"})).await;
    let ch = challenge();
    let r = s
        .agent
        .sign_in(
            &s.p,
            &code_params(&rp2, &ch, "openid email"),
            "ada@example.com",
        )
        .await;
    assert_eq!(
        r.status, 303,
        "single sign-on: no form for the second client"
    );
    let resp = reqwest::Client::new()
        .post(s.p.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", r.params["code"].as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
            ("client_id", rp2.client_id.as_str()),
            ("client_secret", rp2.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let tokens: Value = resp.json().await.unwrap();
    let claims = verify_jwt(&s.p, tokens["id_token"].as_str().unwrap(), &rp2.client_id).await;
    assert_eq!(
        claims["sub"],
        s.sub.as_str(),
        "the same user at both clients"
    );
    s.p.stop().await;
}

async fn oidcc_display_page(b: Backend) {
    signed_in(b, "openid", &[("display", "page")])
        .await
        .p
        .stop()
        .await
}

async fn oidcc_display_popup(b: Backend) {
    signed_in(b, "openid", &[("display", "popup")])
        .await
        .p
        .stop()
        .await
}

async fn oidcc_prompt_login(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let ch = challenge();
    let mut params = code_params(&s.rp, &ch, "openid");
    params.push(("prompt", "login"));
    let resp = s.agent.authorize(&s.p, &params).await;
    assert_eq!(
        resp.status(),
        200,
        "prompt=login shows the form despite the session"
    );
    let page = resp.text().await.unwrap();
    assert!(hidden(&page, "csrf").is_some());
    s.p.stop().await;
}

async fn oidcc_prompt_none_not_logged_in(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    let ch = challenge();
    let mut params = code_params(&rp, &ch, "openid");
    params.push(("prompt", "none"));
    let r = redirect(Agent::new().authorize(&p, &params).await);
    assert_eq!(r.params["error"], "login_required");
    assert_eq!(r.params["state"], "st4te");
    assert_eq!(r.params["iss"], p.issuer);
    p.stop().await;
}

async fn oidcc_prompt_none_logged_in(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let ch = challenge();
    let mut params = code_params(&s.rp, &ch, "openid");
    params.push(("prompt", "none"));
    let r = redirect(s.agent.authorize(&s.p, &params).await);
    assert!(r.params.contains_key("code"), "{r:?}");
    let (status, _) = exchange(&s.p, &s.rp, &r.params["code"]).await;
    assert_eq!(status, 200);
    s.p.stop().await;
}

async fn oidcc_max_age_1(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let auth_time = id_claims(&s).await["auth_time"].as_i64().unwrap();
    // Wait (bounded) until more than one second has passed since the login.
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let waited = inkan_testkit::wait_for(std::time::Duration::from_secs(5), || async {
        (now() > auth_time + 1).then_some(())
    })
    .await;
    assert!(waited.is_some());
    let ch = challenge();
    let mut params = code_params(&s.rp, &ch, "openid");
    params.push(("max_age", "1"));
    let resp = s.agent.authorize(&s.p, &params).await;
    assert_eq!(resp.status(), 200, "max_age exceeded: log in again");
    let page = resp.text().await.unwrap();
    let r = redirect(
        s.agent
            .login(&s.p, &page, "ada@example.com", PASSWORD)
            .await,
    );
    let (_, tokens) = exchange(&s.p, &s.rp, &r.params["code"]).await;
    let claims = verify_jwt(&s.p, tokens["id_token"].as_str().unwrap(), &s.rp.client_id).await;
    assert!(claims["auth_time"].as_i64().unwrap() > auth_time);
    s.p.stop().await;
}

async fn oidcc_max_age_10000(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let auth_time = id_claims(&s).await["auth_time"].clone();
    let ch = challenge();
    let mut params = code_params(&s.rp, &ch, "openid");
    params.push(("max_age", "10000"));
    let r = redirect(s.agent.authorize(&s.p, &params).await);
    let (_, tokens) = exchange(&s.p, &s.rp, &r.params["code"]).await;
    let claims = verify_jwt(&s.p, tokens["id_token"].as_str().unwrap(), &s.rp.client_id).await;
    assert_eq!(claims["auth_time"], auth_time);
    s.p.stop().await;
}

async fn oidcc_ensure_request_with_unknown_parameter_succeeds(b: Backend) {
    signed_in(b, "openid", &[("extra_parameter", "ignored")])
        .await
        .p
        .stop()
        .await
}

async fn oidcc_id_token_hint(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    let ch = challenge();
    let mut params = code_params(&s.rp, &ch, "openid");
    let hint = s.tokens["id_token"].as_str().unwrap().to_string();
    params.push(("prompt", "none"));
    params.push(("id_token_hint", &hint));
    let r = redirect(s.agent.authorize(&s.p, &params).await);
    let (_, tokens) = exchange(&s.p, &s.rp, &r.params["code"]).await;
    let claims = verify_jwt(&s.p, tokens["id_token"].as_str().unwrap(), &s.rp.client_id).await;
    assert_eq!(claims["sub"], s.sub.as_str());
    s.p.stop().await;
}

async fn oidcc_login_hint(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    let ch = challenge();
    let mut params = code_params(&rp, &ch, "openid");
    params.push(("login_hint", "grace@example.com"));
    let page = Agent::new()
        .authorize(&p, &params)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("value=\"grace@example.com\""),
        "the email field is pre-filled"
    );
    p.stop().await;
}

async fn oidcc_ui_locales(b: Backend) {
    signed_in(b, "openid", &[("ui_locales", "se")])
        .await
        .p
        .stop()
        .await
}

async fn oidcc_claims_locales(b: Backend) {
    signed_in(b, "openid", &[("claims_locales", "se")])
        .await
        .p
        .stop()
        .await
}

async fn oidcc_ensure_request_with_acr_values_succeeds(b: Backend) {
    signed_in(b, "openid", &[("acr_values", "1 2")])
        .await
        .p
        .stop()
        .await
}

async fn oidcc_codereuse(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let r = Agent::new()
        .sign_in(&p, &code_params(&rp, &ch, "openid"), "ada@example.com")
        .await;
    let (status, first) = exchange(&p, &rp, &r.params["code"]).await;
    assert_eq!(status, 200);
    let (status, second) = exchange(&p, &rp, &r.params["code"]).await;
    assert_eq!(status, 400);
    assert_eq!(second["error"], "invalid_grant");
    // The tokens issued from the code are revoked too.
    let (status, _) = userinfo(&p, first["access_token"].as_str().unwrap(), "get").await;
    assert_eq!(status, 401);
    p.stop().await;
}

async fn oidcc_ensure_registered_redirect_uri(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    let resp = Agent::new()
        .authorize(
            &p,
            &[
                ("response_type", "code"),
                ("client_id", &rp.client_id),
                ("redirect_uri", "https://evil.example.com/cb"),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(
        resp.headers().get("location").is_none(),
        "never redirect to an unregistered URI"
    );
    p.stop().await;
}

async fn oidcc_ensure_post_request_succeeds(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let agent = Agent::new();
    let ch = challenge();
    let resp = agent
        .http
        .post(p.url("/authorize"))
        .form(&code_params(&rp, &ch, "openid"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let r = redirect(agent.login(&p, &page, "ada@example.com", PASSWORD).await);
    assert_eq!(exchange(&p, &rp, &r.params["code"]).await.0, 200);
    p.stop().await;
}

async fn oidcc_server_client_secret_post(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p
        .web_rp(json!({"token_endpoint_auth_method": "client_secret_post"}))
        .await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let r = Agent::new()
        .sign_in(&p, &code_params(&rp, &ch, "openid"), "ada@example.com")
        .await;
    let resp = reqwest::Client::new()
        .post(p.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", r.params["code"].as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
            ("client_id", rp.client_id.as_str()),
            ("client_secret", rp.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    p.stop().await;
}

async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(b: Backend) {
    let p = Provider::start(b).await;
    let rp = p.web_rp(json!({})).await;
    let ch = challenge();
    let mut params = code_params(&rp, &ch, "openid");
    params.push(("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9."));
    let r = redirect(Agent::new().authorize(&p, &params).await);
    assert_eq!(r.params["error"], "request_not_supported");
    assert_eq!(r.params["iss"], p.issuer);
    p.stop().await;
}

async fn oidcc_claims_essential(b: Backend) {
    // The claims parameter is not supported (claims_parameter_supported: false) and is ignored.
    let claims = r#"{"userinfo":{"name":{"essential":true}}}"#;
    let s = signed_in(b, "openid profile", &[("claims", claims)]).await;
    let (status, info) = userinfo(&s.p, s.tokens["access_token"].as_str().unwrap(), "get").await;
    assert_eq!(status, 200);
    assert_eq!(info["name"], "Ada Lovelace");
    s.p.stop().await;
}

async fn oidcc_refresh_token(b: Backend) {
    let s = signed_in(b, "openid offline_access", &[]).await;
    let http = reqwest::Client::new();
    let refresh = |token: String| {
        let http = http.clone();
        let url = s.p.url("/token");
        let rp = s.rp.clone();
        async move {
            let resp = http
                .post(url)
                .basic_auth(&rp.client_id, rp.secret.as_deref())
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let first = s.tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, second) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{second}");
    let claims = verify_jwt(&s.p, second["id_token"].as_str().unwrap(), &s.rp.client_id).await;
    assert_eq!(claims["sub"], s.sub.as_str());
    // The used token is spent; presenting it again revokes the family.
    let (status, err) = refresh(first).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(second["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(status, 400);
    s.p.stop().await;
}

async fn oidcc_ensure_request_with_valid_pkce_succeeds(b: Backend) {
    let s = signed_in(b, "openid", &[]).await;
    assert!(s.tokens["access_token"].as_str().is_some());
    s.p.stop().await;
}

async fn oidcc_discovery_endpoint_verification(b: Backend) {
    let p = Provider::start(b).await;
    let doc: Value = reqwest::get(p.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["issuer"], p.issuer,
        "issuer matches the URL the document was fetched from"
    );
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "scopes_supported",
        "response_types_supported",
        "grant_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "token_endpoint_auth_methods_supported",
        "claims_supported",
        "code_challenge_methods_supported",
    ] {
        assert!(doc.get(field).is_some(), "{field} missing");
    }
    assert!(doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("RS256")));
    assert!(doc["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("openid")));
    let jwks: Value = reqwest::get(doc["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["alg"] == "RS256" && k["use"] == "sig"));
    p.stop().await;
}

/// A signed-in session and its ID token, for the logout modules.
async fn logout_case(b: Backend) -> Signed {
    signed_in(b, "openid", &[]).await
}

async fn is_logged_in(s: &Signed) -> bool {
    let ch = challenge();
    let mut params = code_params(&s.rp, &ch, "openid");
    params.push(("prompt", "none"));
    let r = redirect(s.agent.authorize(&s.p, &params).await);
    r.params.contains_key("code")
}

async fn end_session(s: &Signed, params: &[(&str, &str)]) -> reqwest::Response {
    s.agent
        .http
        .get(s.p.url("/end_session"))
        .query(params)
        .send()
        .await
        .unwrap()
}

async fn oidcc_rp_initiated_logout(b: Backend) {
    let s = logout_case(b).await;
    assert!(is_logged_in(&s).await);
    let hint = s.tokens["id_token"].as_str().unwrap().to_string();
    let r = redirect(
        end_session(
            &s,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "bye"),
            ],
        )
        .await,
    );
    assert_eq!(r.status, 303);
    assert!(r.location.starts_with(LOGGED_OUT));
    assert_eq!(r.params["state"], "bye");
    assert!(!is_logged_in(&s).await, "the session ended");
    s.p.stop().await;
}

async fn no_redirect_case(b: Backend, uri: &str) {
    let s = logout_case(b).await;
    let hint = s.tokens["id_token"].as_str().unwrap().to_string();
    let resp = end_session(
        &s,
        &[("id_token_hint", &hint), ("post_logout_redirect_uri", uri)],
    )
    .await;
    assert!(
        resp.headers().get("location").is_none(),
        "no redirect to {uri}"
    );
    s.p.stop().await;
}

async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(b: Backend) {
    no_redirect_case(b, "https://evil.example.com/").await
}

async fn oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(b: Backend) {
    no_redirect_case(b, &format!("{LOGGED_OUT}?extra=1")).await
}

async fn oidcc_rp_initiated_logout_modified_id_token_hint(b: Backend) {
    let s = logout_case(b).await;
    let mut hint = s.tokens["id_token"].as_str().unwrap().to_string();
    let dot = hint.find('.').unwrap();
    hint.replace_range(dot + 1..dot + 3, "ab");
    let resp = end_session(
        &s,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await;
    assert!(resp.headers().get("location").is_none());
    s.p.stop().await;
}

async fn oidcc_rp_initiated_logout_no_id_token_hint(b: Backend) {
    let s = logout_case(b).await;
    let resp = end_session(&s, &[("post_logout_redirect_uri", LOGGED_OUT)]).await;
    assert!(
        resp.headers().get("location").is_none(),
        "no client to check the URI against"
    );
    s.p.stop().await;
}

async fn oidcc_rp_initiated_logout_no_params(b: Backend) {
    let s = logout_case(b).await;
    let resp = end_session(&s, &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(!is_logged_in(&s).await);
    s.p.stop().await;
}

async fn oidcc_rp_initiated_logout_only_state(b: Backend) {
    let s = logout_case(b).await;
    let resp = end_session(&s, &[("state", "x")]).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("location").is_none());
    assert!(!is_logged_in(&s).await);
    s.p.stop().await;
}
