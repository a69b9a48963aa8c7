//! Ending sessions from the admin side (issue #14): what each ending
//! commits to the log for back-channel logout, and what it ends in the
//! key-value store. Driven through the gRPC service the login services
//! call (`SignOut`, `RedeemLink`) and the REST API, on the embedded stores.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use inkan_admin::grpc::AdminGrpc;
use inkan_admin::AdminState;
use inkan_flows::refresh::{self, RefreshToken};
use inkan_flows::revocation::is_family_revoked;
use inkan_flows::session::{self, Lifetimes, Session};
use inkan_keys::password::PasswordParams;
use inkan_kv::{KvStore, MemoryKv};
use inkan_mailer::TokenOpener;
use inkan_proto::admin::v1 as pb;
use inkan_proto::admin::v1::admin_internal_server::AdminInternal;
use serde_json::{json, Value};
use uuid::Uuid;

mod common;

use common::{admin_state, basic, memory_store, ADMIN};

struct TestApp {
    state: AdminState,
    kv: Arc<dyn KvStore>,
}

async fn spawn_app() -> TestApp {
    let mut state = admin_state(memory_store().await, PasswordParams::fast_for_tests()).await;
    let kv: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    state.kv = kv.clone();
    state.mail = true;
    TestApp { state, kv }
}

impl TestApp {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let auth = Some(basic(ADMIN.0, ADMIN.1));
        common::send(&self.state, method, path, auth, body).await
    }

    /// A web project; with a back-channel logout URI when `backchannel`.
    async fn project(&self, backchannel: bool) -> String {
        let mut body = json!({
            "name": "App", "app_type": "web",
            "redirect_uris": ["https://app.example.com/cb"],
            "scopes": ["openid", "offline_access"],
        });
        if backchannel {
            body["backchannel_logout_uri"] = json!("https://app.example.com/backchannel");
        }
        let (status, created) = self
            .call(Method::POST, "/admin/v1/projects", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["client_id"].as_str().unwrap().to_string()
    }

    async fn identity(&self, email: &str) -> Uuid {
        let (status, created) = self
            .call(
                Method::POST,
                "/admin/v1/identities",
                Some(json!({"email": email, "password": "correct horse battery staple"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().parse().unwrap()
    }

    /// A session of `identity` that issued to `clients`, with one refresh
    /// family per client (`scope`); returns its handle and the families.
    async fn session(
        &self,
        identity: Uuid,
        clients: &[&str],
        scope: &str,
    ) -> (String, Vec<String>) {
        let kv = &*self.kv;
        let lifetimes = Lifetimes::default();
        let sid = session::create(
            kv,
            &Session::new(identity.to_string(), 1_800_000_000, vec!["pwd".into()]),
            lifetimes,
        )
        .await
        .unwrap();
        let handle = session::handle(&sid);
        let mut families = Vec::new();
        for client in clients {
            session::add_client(kv, &handle, client, lifetimes)
                .await
                .unwrap();
            let record = RefreshToken {
                family: format!("fam-{}", Uuid::new_v4()),
                generation: 0,
                client_id: client.to_string(),
                identity_id: identity.to_string(),
                scope: scope.into(),
                auth_time: 1_800_000_000,
                amr: vec!["pwd".into()],
                expires_at: i64::MAX / 2,
                epoch: 0,
                session: Some(handle.clone()),
                jkt: None,
            };
            refresh::record_family(kv, &record, 1_800_000_000)
                .await
                .unwrap();
            families.push(record.family);
        }
        (handle, families)
    }

    /// The identity's events of `event_type`, payloads in log order.
    async fn events(&self, identity: Uuid, event_type: &str) -> Vec<Value> {
        self.state
            .store
            .read_stream(identity)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .map(|e| e.payload)
            .collect()
    }

    fn grpc(&self) -> AdminGrpc {
        AdminGrpc::in_process(self.state.clone())
    }
}

const NOTICE: &str = "identity.backchannel_logout_requested.v1";

#[tokio::test]
async fn a_sign_out_ends_the_named_sessions_and_records_a_notice_per_client_that_wants_one() {
    let app = spawn_app().await;
    let told = app.project(true).await;
    let silent = app.project(false).await;
    let ada = app.identity("ada@example.com").await;
    let bob = app.identity("bob@example.com").await;
    let (mine, families) = app.session(ada, &[&told, &silent], "openid").await;
    let (kept, _) = app.session(ada, &[&told], "openid").await;
    let (offline, offline_families) = app.session(ada, &[&told], "openid offline_access").await;
    let (bobs, _) = app.session(bob, &[&told], "openid").await;

    // The login services may not claim an admin's reasons.
    let refused = app
        .grpc()
        .sign_out(tonic::Request::new(pb::SignOutRequest {
            identity_id: ada.to_string(),
            session_handles: vec![mine.clone()],
            reason: "revoked".into(),
        }))
        .await
        .expect_err("an admin's reason is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        session::is_live(&*app.kv, &mine).await.unwrap(),
        "nothing ended"
    );

    // Bob's handle named with Ada's id is skipped.
    let reply = app
        .grpc()
        .sign_out(tonic::Request::new(pb::SignOutRequest {
            identity_id: ada.to_string(),
            session_handles: vec![mine.clone(), offline.clone(), bobs.clone()],
            reason: "logout".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.ended, 2);
    let notices = app.events(ada, NOTICE).await;
    let sids: Vec<&str> = notices.iter().map(|n| n["sid"].as_str().unwrap()).collect();
    assert_eq!(
        sids,
        vec![session::sid_of(&mine), session::sid_of(&offline)],
        "one notice per ended session for the one client that wants it"
    );
    assert!(notices
        .iter()
        .all(|n| n["client_id"] == told.as_str() && n["reason"] == "logout"));
    assert!(app.events(bob, NOTICE).await.is_empty());

    assert!(!session::is_live(&*app.kv, &mine).await.unwrap());
    assert!(!session::is_live(&*app.kv, &offline).await.unwrap());
    assert!(session::is_live(&*app.kv, &kept).await.unwrap());
    assert!(session::is_live(&*app.kv, &bobs).await.unwrap());
    // The session's families end with it, except the offline one (OIDC Core §11).
    for family in &families {
        assert!(is_family_revoked(&*app.kv, family).await.unwrap());
    }
    assert!(!is_family_revoked(&*app.kv, &offline_families[0])
        .await
        .unwrap());
}

#[tokio::test]
async fn an_admins_revocation_ends_offline_grants_too_and_a_session_ends_once() {
    let app = spawn_app().await;
    let told = app.project(true).await;
    let ada = app.identity("ada@example.com").await;
    let (handle, families) = app.session(ada, &[&told], "openid offline_access").await;
    let sid = session::sid_of(&handle);
    let (status, listed) = app
        .call(
            Method::GET,
            &format!("/admin/v1/identities/{ada}/sessions"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["sid"], sid.as_str());
    assert!(
        !listed.to_string().contains(&handle),
        "the handle never leaves"
    );

    let path = format!("/admin/v1/identities/{ada}/sessions/{sid}");
    let (status, _) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(is_family_revoked(&*app.kv, &families[0]).await.unwrap());
    let (status, _) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let notices = app.events(ada, NOTICE).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["reason"], "revoked");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/admin/v1/identities/{}/sessions/x", Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deletion_commits_its_notices_in_the_same_append_and_ends_every_session() {
    let app = spawn_app().await;
    let told = app.project(true).await;
    let ada = app.identity("ada@example.com").await;
    let (one, _) = app.session(ada, &[&told], "openid").await;
    let (two, _) = app.session(ada, &[&told], "openid").await;
    let (status, _) = app
        .call(Method::DELETE, &format!("/admin/v1/identities/{ada}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let log = app.state.store.read_stream(ada).await.unwrap();
    let tail: Vec<&str> = log
        .iter()
        .rev()
        .take(3)
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(tail, vec![NOTICE, NOTICE, "identity.deleted.v1"]);
    assert!(log
        .iter()
        .rev()
        .take(2)
        .all(|e| e.payload["reason"] == "deleted"));
    assert!(!session::is_live(&*app.kv, &one).await.unwrap());
    assert!(!session::is_live(&*app.kv, &two).await.unwrap());
}

#[tokio::test]
async fn a_password_reset_tells_the_apps_of_every_session_it_ends() {
    let app = spawn_app().await;
    let told = app.project(true).await;
    let ada = app.identity("ada@example.com").await;
    let (handle, families) = app.session(ada, &[&told], "openid offline_access").await;
    app.grpc()
        .request_link(tonic::Request::new(pb::RequestLinkRequest {
            purpose: pb::LinkPurpose::ResetPassword as i32,
            identity_id: String::new(),
            email: "ada@example.com".into(),
            locale: "en".into(),
            client_id: None,
        }))
        .await
        .unwrap();
    let requested = app
        .events(ada, "identity.password_reset_requested.v1")
        .await;
    let token = inkan_admin::links::Opener(app.state.kek.clone())
        .open(ada, requested[0]["sealed_token"].as_str().unwrap())
        .expect("the mailer opens the link's token");
    app.grpc()
        .redeem_link(tonic::Request::new(pb::RedeemLinkRequest {
            purpose: pb::LinkPurpose::ResetPassword as i32,
            token: token.to_string(),
            new_password: "an entirely new passphrase here".into(),
            locale: "en".into(),
        }))
        .await
        .unwrap();
    let notices = app.events(ada, NOTICE).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["reason"], "password_reset");
    assert_eq!(notices[0]["sid"], session::sid_of(&handle).as_str());
    assert!(!session::is_live(&*app.kv, &handle).await.unwrap());
    assert!(is_family_revoked(&*app.kv, &families[0]).await.unwrap());
}
