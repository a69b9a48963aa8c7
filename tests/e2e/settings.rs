//! What a project's settings change for its relying party, and the
//! relying-party configuration Inkan prints for it.

use serde_json::{json, Value};

use crate::helpers::{ADMIN_ID, ADMIN_SECRET};
use crate::provider::*;

fn inkan(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_inkan"))
        .args(args)
        .env_remove("INKAN_ADMIN_CLIENT_SECRET")
        .output()
        .expect("run inkan");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn inkan_projects_show_prints_what_a_relying_party_needs() {
    let p = Provider::start(Backend::Embedded).await;
    let (_, spa) = p
        .inkan
        .admin()
        .send(
            reqwest::Method::POST,
            "/admin/v1/projects",
            Some(json!({"name": "Blog", "app_type": "spa", "redirect_uris": ["https://blog.example.com/cb"]})),
        )
        .await;
    let client_id = spa["client_id"].as_str().unwrap();
    let base = p.issuer.clone();
    let common = [
        "--url",
        base.as_str(),
        "--client-id",
        ADMIN_ID,
        "--client-secret",
        ADMIN_SECRET,
    ];

    let mut args = vec!["projects", "show", client_id];
    args.extend_from_slice(&common);
    let (ok, table) = inkan(&args);
    assert!(ok, "{table}");
    for expected in [
        p.issuer.as_str(),
        "/.well-known/openid-configuration",
        client_id,
        "public",
        "none",
        "required (code_challenge_method S256)",
        "https://blog.example.com/cb",
    ] {
        assert!(
            table.contains(expected),
            "{expected:?} missing from:\n{table}"
        );
    }

    let id = spa["id"].as_str().unwrap();
    let mut args = vec!["projects", "show", id, "--json"];
    args.extend_from_slice(&common);
    let (ok, json_out) = inkan(&args);
    assert!(ok);
    let config: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(config["issuer"], p.issuer);
    assert_eq!(config["token_endpoint"], format!("{}/token", p.issuer));
    assert_eq!(config["token_endpoint_auth_method"], "none");
    assert_eq!(config["pkce"]["required"], true);

    let mut args = vec!["projects", "show", "no-such-client"];
    args.extend_from_slice(&common);
    assert!(!inkan(&args).0);
    p.stop().await;
}

#[tokio::test]
async fn unknown_scopes_are_dropped_or_refused_per_project() {
    let p = Provider::start(Backend::Embedded).await;
    p.user("ada@example.com").await;
    let lenient = p.web_rp(json!({})).await;
    let strict = p.web_rp(json!({"reject_unknown_scopes": true})).await;
    let ch = challenge();

    let r = Agent::new()
        .sign_in(
            &p,
            &code_params(&lenient, &ch, "openid email unknown:thing"),
            "ada@example.com",
        )
        .await;
    let (status, tokens) = exchange(&p, &lenient, &r.params["code"]).await;
    assert_eq!(status, 200);
    assert_eq!(
        tokens["scope"], "openid email",
        "the unknown scope was dropped"
    );

    let r = redirect(
        Agent::new()
            .authorize(&p, &code_params(&strict, &ch, "openid email unknown:thing"))
            .await,
    );
    assert_eq!(r.params["error"], "invalid_scope");
    p.stop().await;
}

#[tokio::test]
async fn compatibility_and_custom_claims_can_be_switched_off_per_project() {
    let p = Provider::start(Backend::Embedded).await;
    p.user("ada@example.com").await;
    let plain = p
        .web_rp(json!({"compat_claims": false, "custom_claims": false}))
        .await;
    let full = p.web_rp(json!({})).await;
    let ch = challenge();
    for (rp, expect_extras) in [(&full, true), (&plain, false)] {
        let r = Agent::new()
            .sign_in(
                &p,
                &code_params(rp, &ch, "openid profile email"),
                "ada@example.com",
            )
            .await;
        let (_, tokens) = exchange(&p, rp, &r.params["code"]).await;
        let claims = verify_jwt(&p, tokens["id_token"].as_str().unwrap(), &rp.client_id).await;
        assert_eq!(claims["given_name"], "Ada");
        for extra in ["user_id", "first_name", "verified", "tenant"] {
            assert_eq!(
                claims.get(extra).is_some(),
                expect_extras,
                "{extra} in {claims}"
            );
        }
    }
    p.stop().await;
}
