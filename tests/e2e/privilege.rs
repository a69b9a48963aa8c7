//! Who gets to administer the provider, tried from the outside: an end user
//! signing in through an app must never come out with admin rights, and a
//! machine's admin token is only as good as its project's current scope.
//! Also: discovery advertises exactly the scopes and claims Inkan emits.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::provider::*;

async fn admin_projects_with(p: &Provider, token: &str) -> u16 {
    reqwest::Client::new()
        .get(p.url("/admin/v1/projects"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_end_user_can_never_obtain_an_admin_token() {
    let p = Provider::start(Backend::Embedded).await;
    // The app cannot register the scope...
    let (status, body) = p
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(
                json!({"name": "Shop", "app_type": "web", "redirect_uris": [CALLBACK],
                        "scopes": ["openid", "admin"]}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "scopes[1]");

    // ...and asking for it in a login gets a token without it, which the
    // admin API refuses.
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let r = Agent::new()
        .sign_in(
            &p,
            &code_params(&rp, &ch, "openid admin"),
            "ada@example.com",
        )
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    let (status, tokens) = exchange(&p, &rp, &r.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid");
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(admin_projects_with(&p, at).await, 403);
    p.stop().await;
}

#[tokio::test]
async fn an_admin_token_dies_with_its_projects_admin_scope() {
    let p = Provider::start(Backend::Embedded).await;
    let admin = p.inkan.admin();
    let (status, ops) = admin
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Ops", "app_type": "service", "scopes": ["admin", "reports"]})),
        )
        .await;
    assert_eq!(status, 201, "{ops}");
    let rp = Rp::from_created(&ops);
    let (status, body) = client_credentials(&p, &rp, Some("admin")).await;
    assert_eq!(status, 200, "{body}");
    let minted_before = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(admin_projects_with(&p, &minted_before).await, 200);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let shouted = reqwest::Client::new()
        .get(p.url("/admin/v1/projects"))
        .header("authorization", format!("BEARER {minted_before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(shouted.status(), 200);

    let (status, body) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/admin/v1/projects/{}", ops["id"].as_str().unwrap()),
            Some(json!({"scopes": ["reports"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        admin_projects_with(&p, &minted_before).await,
        403,
        "a token minted before the project lost the scope is refused"
    );
    let (status, body) = client_credentials(&p, &rp, Some("admin")).await;
    assert_eq!(status, 400, "the scope can no longer be requested: {body}");
    assert_eq!(body["error"], "invalid_scope");
    p.stop().await;
}

#[tokio::test]
async fn discovery_advertises_exactly_the_scopes_and_claims_that_are_emitted() {
    let p = Provider::start(Backend::Embedded).await;
    let doc: Value = reqwest::get(p.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = |field: &str| -> BTreeSet<String> {
        doc[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let scopes = listed("scopes_supported");
    assert!(!scopes.contains("admin"), "{scopes:?}");
    assert!(scopes.contains("openid"));

    // Every scope and the legacy names on; custom claims off (they are the
    // operator's own, not Inkan's to advertise).
    let rp = p.web_rp(json!({"custom_claims": false})).await;
    p.user("ada@example.com").await;
    let ch = challenge();
    let scope = scopes.iter().cloned().collect::<Vec<_>>().join(" ");
    let r = Agent::new()
        .sign_in(&p, &code_params(&rp, &ch, &scope), "ada@example.com")
        .await;
    assert_eq!(r.status, 303, "{r:?}");
    let (status, tokens) = exchange(&p, &rp, &r.params["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = verify_jwt(&p, tokens["id_token"].as_str().unwrap(), &rp.client_id).await;
    let userinfo: Value = reqwest::Client::new()
        .get(p.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut emitted = BTreeSet::new();
    for claims in [&id_token, &userinfo] {
        emitted.extend(claims.as_object().unwrap().keys().cloned());
    }
    assert_eq!(listed("claims_supported"), emitted);
    p.stop().await;
}
