//! The caching directory serves repeat lookups from memory and drops what a
//! bus event says changed, so every replica sees admin changes promptly.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inkan_bus::{EventBus, MemoryBus};
use inkan_directory::cache::{CacheLifetimes, CachedDirectory};
use inkan_directory::{Directory, Identity, Project, StoredKey};
use inkan_domain::envelope::{Metadata, RecordedEvent};
use inkan_testkit::directory::{identity, project, FakeDirectory};
use tokio_util::sync::CancellationToken;

/// Counts the lookups that reach the admin service.
struct Counting {
    inner: FakeDirectory,
    calls: AtomicUsize,
    auth_calls: AtomicUsize,
}

#[async_trait]
impl Directory for Counting {
    async fn resolve_project(&self, client_id: &str) -> inkan_directory::Result<Option<Project>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.resolve_project(client_id).await
    }
    async fn authenticate_client(
        &self,
        id: &str,
        secret: &str,
    ) -> inkan_directory::Result<Option<Project>> {
        self.auth_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.authenticate_client(id, secret).await
    }
    async fn verify_password(
        &self,
        email: &str,
        password: &str,
    ) -> inkan_directory::Result<Option<Identity>> {
        self.inner.verify_password(email, password).await
    }
    async fn get_identity(&self, id: &str) -> inkan_directory::Result<Option<Identity>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get_identity(id).await
    }
    async fn signing_keys(&self) -> inkan_directory::Result<Vec<StoredKey>> {
        self.inner.signing_keys().await
    }
    async fn passkeys(
        &self,
        identity_id: &str,
    ) -> inkan_directory::Result<Option<Vec<inkan_directory::StoredPasskey>>> {
        self.inner.passkeys(identity_id).await
    }
    async fn register_passkey(
        &self,
        request: inkan_directory::NewPasskey,
    ) -> inkan_directory::Result<inkan_directory::PasskeyRegistration> {
        self.inner.register_passkey(request).await
    }
    async fn enrol_totp(
        &self,
        identity_id: &str,
        secret: Vec<u8>,
    ) -> inkan_directory::Result<inkan_directory::TotpEnrolment> {
        self.inner.enrol_totp(identity_id, secret).await
    }
    async fn verify_second_factor(
        &self,
        identity_id: &str,
        code: &str,
    ) -> inkan_directory::Result<inkan_directory::SecondFactor> {
        self.inner.verify_second_factor(identity_id, code).await
    }
    async fn request_link(
        &self,
        request: inkan_directory::LinkRequest,
    ) -> inkan_directory::Result<inkan_directory::LinkRequested> {
        self.inner.request_link(request).await
    }
    async fn redeem_link(
        &self,
        request: inkan_directory::LinkRedemption,
    ) -> inkan_directory::Result<inkan_directory::LinkRedeemed> {
        self.inner.redeem_link(request).await
    }
    async fn sign_up(
        &self,
        request: inkan_directory::SignUpRequest,
    ) -> inkan_directory::Result<inkan_directory::SignedUp> {
        self.inner.sign_up(request).await
    }
    async fn update_names(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
    ) -> inkan_directory::Result<inkan_directory::NamesUpdated> {
        self.inner.update_names(identity_id, first, last).await
    }
    async fn change_password(
        &self,
        identity_id: &str,
        current: &str,
        new: &str,
    ) -> inkan_directory::Result<inkan_directory::PasswordChange> {
        self.inner.change_password(identity_id, current, new).await
    }
    async fn remove_credential(
        &self,
        identity_id: &str,
        passkey: Option<&str>,
    ) -> inkan_directory::Result<bool> {
        self.inner.remove_credential(identity_id, passkey).await
    }

    async fn sign_out(
        &self,
        identity_id: &str,
        handles: &[String],
        reason: &str,
    ) -> inkan_directory::Result<inkan_directory::SignedOut> {
        self.inner.sign_out(identity_id, handles, reason).await
    }
}

fn event(position: i64, stream_type: &str, stream_id: uuid::Uuid) -> RecordedEvent {
    RecordedEvent {
        position,
        id: uuid::Uuid::new_v4(),
        stream_id,
        stream_type: stream_type.into(),
        version: 1,
        event_type: format!("{stream_type}.updated.v1"),
        payload: serde_json::json!({}),
        metadata: Metadata {
            actor: "test".into(),
            trace_id: None,
            occurred_at: time::OffsetDateTime::now_utc(),
        },
    }
}

/// A counting directory over `fake`, a cache in front of it, and the cache
/// following an in-memory bus (connected before this returns).
async fn following(
    fake: FakeDirectory,
) -> (
    Arc<Counting>,
    Arc<CachedDirectory>,
    Arc<MemoryBus>,
    CancellationToken,
) {
    let counting = Arc::new(Counting {
        inner: fake,
        calls: AtomicUsize::new(0),
        auth_calls: AtomicUsize::new(0),
    });
    let cache = Arc::new(CachedDirectory::new(
        counting.clone(),
        CacheLifetimes::default(),
    ));
    let bus = Arc::new(MemoryBus::new());
    let stop = CancellationToken::new();
    tokio::spawn(
        cache
            .clone()
            .follow(bus.clone() as Arc<dyn EventBus>, stop.clone()),
    );
    inkan_testkit::wait_for(Duration::from_secs(5), || async {
        (cache.health()["event_bus"] == "connected").then_some(())
    })
    .await
    .expect("the cache follows the bus");
    (counting, cache, bus, stop)
}

#[tokio::test]
async fn repeat_lookups_are_served_from_memory_until_an_event_invalidates_them() {
    let fake = FakeDirectory::new();
    fake.add_project(
        project("shop", "web", &["https://shop.example.com/cb"]),
        Some("s"),
    );
    let user = identity("ada@example.com");
    fake.add_identity(user.clone(), None);
    let (counting, cache, bus, stop) = following(fake).await;

    cache.resolve_project("shop").await.unwrap().unwrap();
    cache.resolve_project("shop").await.unwrap().unwrap();
    cache.get_identity(&user.id).await.unwrap().unwrap();
    cache.get_identity(&user.id).await.unwrap().unwrap();
    assert_eq!(
        counting.calls.load(Ordering::SeqCst),
        2,
        "one lookup each, then memory"
    );

    // A project changed in admin: the next lookup goes back to admin.
    counting.inner.remove_project("shop");
    bus.publish(&event(1, "project", uuid::Uuid::new_v4()))
        .await
        .unwrap();
    let gone = inkan_testkit::wait_for(Duration::from_secs(5), || async {
        cache
            .resolve_project("shop")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "the change reached the cache");

    // An identity event drops that identity only.
    counting.inner.remove_identity(&user.id);
    let id = uuid::Uuid::parse_str(&user.id).unwrap();
    bus.publish(&event(2, "identity", id)).await.unwrap();
    let gone = inkan_testkit::wait_for(Duration::from_secs(5), || async {
        cache
            .get_identity(&user.id)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(gone.is_some());
    assert_eq!(cache.position(), 2);
    stop.cancel();
}

#[tokio::test]
async fn without_a_bus_entries_live_only_briefly_and_health_says_so() {
    let fake = FakeDirectory::new();
    fake.add_project(
        project("shop", "web", &["https://shop.example.com/cb"]),
        Some("s"),
    );
    let counting = Arc::new(Counting {
        inner: fake,
        calls: AtomicUsize::new(0),
        auth_calls: AtomicUsize::new(0),
    });
    let lifetimes = CacheLifetimes {
        connected: Duration::from_secs(300),
        disconnected: Duration::from_millis(50),
    };
    let cache = CachedDirectory::new(counting.clone(), lifetimes);
    assert_eq!(cache.health()["event_bus"], "disconnected");
    cache.resolve_project("shop").await.unwrap();
    let refetched = inkan_testkit::wait_for(Duration::from_secs(5), || async {
        cache.resolve_project("shop").await.unwrap();
        (counting.calls.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    assert!(
        refetched.is_some(),
        "a disconnected cache goes back to admin after its short lifetime"
    );
}

#[tokio::test]
async fn a_successful_client_authentication_is_remembered_until_the_project_changes() {
    let fake = FakeDirectory::new();
    fake.add_project(project("svc", "service", &[]), Some("first-secret"));
    let (counting, cache, bus, stop) = following(fake).await;
    let auth_calls = || counting.auth_calls.load(Ordering::SeqCst);

    for _ in 0..3 {
        let p = cache
            .authenticate_client("svc", "first-secret")
            .await
            .unwrap();
        assert_eq!(p.expect("authenticated").client_id, "svc");
    }
    assert_eq!(auth_calls(), 1, "one call to admin, then memory");

    // A wrong secret is never answered from memory, and not remembered.
    for _ in 0..2 {
        assert!(cache
            .authenticate_client("svc", "guess")
            .await
            .unwrap()
            .is_none());
    }
    assert!(cache
        .authenticate_client("svc", "first-secretX")
        .await
        .unwrap()
        .is_none());
    assert_eq!(auth_calls(), 4);

    // The secret is rotated in admin: once the event arrives, the old secret
    // goes back to admin (and fails) and the new one works.
    counting
        .inner
        .add_project(project("svc", "service", &[]), Some("second-secret"));
    bus.publish(&event(1, "project", uuid::Uuid::new_v4()))
        .await
        .unwrap();
    inkan_testkit::wait_for(Duration::from_secs(5), || async {
        (cache.position() >= 1).then_some(())
    })
    .await
    .expect("the event arrives");
    assert!(cache
        .authenticate_client("svc", "first-secret")
        .await
        .unwrap()
        .is_none());
    assert!(cache
        .authenticate_client("svc", "second-secret")
        .await
        .unwrap()
        .is_some());
    assert_eq!(auth_calls(), 6);
    stop.cancel();
}
