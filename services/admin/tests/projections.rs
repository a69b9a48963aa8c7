//! The checkpointed read models seen from the admin: a restart resumes from
//! the tables (it does not replay the log), two admins on one store stay
//! coherent, identities beyond the cache are read from the tables, and a
//! rebuild reproduces what the projector wrote.

use std::sync::Arc;

use inkan_admin::projections::{self, Projections};
use inkan_admin::{commands, AdminState, KeyPolicy};
use inkan_domain::identity::{Identity, IdentityCommand, ProfileInput};
use inkan_eventstore::{EventStore, PgEventStore, SqliteEventStore};
use inkan_keys::kek::Kek;
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::secret::SecretHasher;
use inkan_readmodel::{Changes, Committed, ReadModels};
use inkan_testkit::PgSchema;
use uuid::Uuid;

fn admin_on(store: Arc<dyn EventStore>) -> AdminState {
    AdminState::new(
        "https://id.example.com".into(),
        store,
        Kek::generate().0,
        KeyPolicy::default(),
        SecretHasher::new([7u8; 32]),
        PasswordHasher::new(PasswordParams::fast_for_tests()),
        15,
    )
}

async fn register(admin: &AdminState, email: &str) -> Uuid {
    let id = Uuid::now_v7();
    commands::execute::<Identity>(
        admin,
        "test",
        id,
        IdentityCommand::Register {
            input: ProfileInput {
                email: Some(email.into()),
                ..ProfileInput::default()
            },
            password_hash: None,
        },
    )
    .await
    .unwrap();
    id
}

async fn rename(admin: &AdminState, id: Uuid, first_name: &str) {
    commands::execute::<Identity>(
        admin,
        "test",
        id,
        IdentityCommand::UpdateProfile {
            input: ProfileInput {
                first_name: Some(first_name.into()),
                ..ProfileInput::default()
            },
        },
    )
    .await
    .unwrap();
}

async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn EventStore> {
    let store = SqliteEventStore::open(&dir.path().join("events.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

#[tokio::test]
async fn a_restarted_admin_resumes_from_the_checkpoint_instead_of_replaying_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let first = admin_on(store.clone());
    let id = register(&first, "ada@example.com").await;
    let head = store.head().await.unwrap();
    assert_eq!(store.read_models().checkpoint().await.unwrap(), head);

    // Mark the tables so a replay would be visible: the row says "Marked",
    // which no event says. A restart that replayed the log would overwrite it.
    let mut marked = first.projections.identity(id).await.unwrap().unwrap();
    marked.state.profile.as_mut().unwrap().first_name = Some("Marked".into());
    let changes = Changes {
        identities: vec![marked],
        ..Changes::default()
    };
    assert_eq!(
        store
            .read_models()
            .commit(head, head, &changes)
            .await
            .unwrap(),
        Committed::Done
    );

    let second = Projections::new(store.clone());
    assert_eq!(second.catch_up().await.unwrap(), head);
    let seen = second.identity(id).await.unwrap().unwrap();
    assert_eq!(
        seen.state.profile.unwrap().first_name.as_deref(),
        Some("Marked")
    );

    // New events still apply on top of the checkpointed state.
    rename(&first, id, "Ada").await;
    second.catch_up().await.unwrap();
    let seen = second.identity(id).await.unwrap().unwrap();
    assert_eq!(
        seen.state.profile.unwrap().first_name.as_deref(),
        Some("Ada")
    );
    assert_eq!(seen.version, 2);
}

#[tokio::test]
async fn two_admins_on_one_postgres_schema_both_see_every_write() {
    let schema = PgSchema::create("adm_rm").await;
    let connect = || async {
        let store = PgEventStore::connect(&schema.url, &schema.name, 3)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Arc::new(store) as Arc<dyn EventStore>
    };
    let (a, b) = (admin_on(connect().await), admin_on(connect().await));
    // Interleaved writes: each admin projects some batches and follows the other's.
    let mut ids = Vec::new();
    for n in 0..6 {
        let admin = if n % 2 == 0 { &a } else { &b };
        ids.push(register(admin, &format!("u{n}@example.com")).await);
    }
    rename(&b, ids[0], "Renamed").await;
    let head = a.store.head().await.unwrap();
    for admin in [&a, &b] {
        assert_eq!(admin.projections.catch_up().await.unwrap(), head);
        for (n, id) in ids.iter().enumerate() {
            let entry = admin.projections.identity(*id).await.unwrap().unwrap();
            assert_eq!(
                entry.state.profile.as_ref().unwrap().email,
                format!("u{n}@example.com")
            );
        }
        let first = admin.projections.identity(ids[0]).await.unwrap().unwrap();
        assert_eq!(
            first.state.profile.unwrap().first_name.as_deref(),
            Some("Renamed")
        );
        let (page, total) = admin.projections.identities_page(0, 100).await.unwrap();
        assert_eq!(total, 6);
        assert_eq!(page.len(), 6);
    }
    assert_eq!(a.store.read_models().checkpoint().await.unwrap(), head);
}

#[tokio::test]
async fn identities_beyond_the_cache_are_read_from_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let writer = admin_on(store.clone());
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(register(&writer, &format!("u{n}@example.com")).await);
    }
    // A reader whose cache holds one identity still finds all of them.
    let reader = Projections::with_sizes(store.clone(), 2, 1);
    reader.catch_up().await.unwrap();
    for (n, id) in ids.iter().enumerate() {
        let email = format!("U{n}@Example.com");
        let by_email = reader.identity_by_email(&email).await.unwrap().unwrap();
        assert_eq!(by_email.state.id, *id);
        assert_eq!(reader.identity(*id).await.unwrap().unwrap().state.id, *id);
    }
    // Changes made elsewhere reach it (the cache is kept coherent).
    rename(&writer, ids[4], "Changed").await;
    commands::execute::<Identity>(
        &writer,
        "test",
        ids[3],
        IdentityCommand::Delete { logouts: vec![] },
    )
    .await
    .unwrap();
    reader.catch_up().await.unwrap();
    let changed = reader.identity(ids[4]).await.unwrap().unwrap();
    assert_eq!(
        changed.state.profile.unwrap().first_name.as_deref(),
        Some("Changed")
    );
    assert_eq!(reader.identity(ids[3]).await.unwrap(), None);
    assert_eq!(
        reader.identity_by_email("u3@example.com").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_rebuild_reproduces_the_projected_tables() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let admin = admin_on(store.clone());
    let a = register(&admin, "a@example.com").await;
    let b = register(&admin, "b@example.com").await;
    rename(&admin, a, "Ada").await;
    commands::execute::<Identity>(
        &admin,
        "test",
        b,
        IdentityCommand::Delete { logouts: vec![] },
    )
    .await
    .unwrap();
    let tables = store.read_models();
    let before = tables.list_identities(0, 100).await.unwrap();

    let report = projections::rebuild(store.clone()).await.unwrap();
    assert_eq!(report.events, store.head().await.unwrap());
    assert_eq!(report.identities, 1);
    assert_eq!(tables.list_identities(0, 100).await.unwrap(), before);
    assert_eq!(tables.checkpoint().await.unwrap(), report.events);

    // The running admin notices the reset-and-rebuild and keeps answering.
    rename(&admin, a, "Ada Lovelace").await;
    let seen = admin.projections.identity(a).await.unwrap().unwrap();
    assert_eq!(
        seen.state.profile.unwrap().first_name.as_deref(),
        Some("Ada Lovelace")
    );
}
