//! The read-model store contract: every behaviour runs against Postgres (a
//! fresh schema per test) and SQLite (a file in a fresh temporary folder).

use std::sync::Arc;

use inkan_domain::identity::{Identity, IdentityCommand, ProfileInput};
use inkan_domain::project::{Project, ProjectCommand, ProjectInput};
use inkan_domain::signing_key::{KeyGenerated, SigningKey, SigningKeyCommand};
use inkan_domain::Aggregate;
use inkan_eventstore::{EventStore, PgEventStore, SqliteEventStore};
use inkan_readmodel::{Changes, Committed, Entry, ReadModelStore, ReadModels};
use inkan_testkit::PgSchema;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The store under test and what keeps its storage alive (dropped after it).
struct Harness {
    tables: Arc<dyn ReadModelStore>,
    _store: Arc<dyn EventStore>,
    _schema: Option<PgSchema>,
    _dir: Option<tempfile::TempDir>,
}

async fn pg() -> Harness {
    let schema = PgSchema::create("rm").await;
    let store = PgEventStore::connect(&schema.url, &schema.name, 4)
        .await
        .expect("connect to postgres");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn EventStore> = Arc::new(store);
    Harness {
        tables: store.read_models(),
        _store: store,
        _schema: Some(schema),
        _dir: None,
    }
}

async fn sqlite() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteEventStore::open(&dir.path().join("events.db"))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn EventStore> = Arc::new(store);
    Harness {
        tables: store.read_models(),
        _store: store,
        _schema: None,
        _dir: Some(dir),
    }
}

/// Runs one contract test against both backends.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn postgres() {
                super::$name(super::pg().await).await;
            }
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::sqlite().await).await;
            }
        }
    };
}

fn at(seconds: i64, nanos: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).unwrap()
        + time::Duration::nanoseconds(i64::from(nanos))
}

fn entry<A>(state: A, version: i64, created: OffsetDateTime) -> Entry<A> {
    Entry {
        state,
        version,
        created_at: created,
        updated_at: created + time::Duration::seconds(version),
    }
}

/// A project as the domain folds it (settings, client id and secret hash).
fn project(client_id: &str) -> Project {
    let id = Uuid::now_v7();
    let input: ProjectInput = serde_json::from_value(json!({
        "name": "Shop", "app_type": "web",
        "redirect_uris": ["https://shop.example.com/cb"],
        "scopes": ["openid", "email"]
    }))
    .unwrap();
    let mut state = Project::with_id(id);
    for e in state
        .decide(ProjectCommand::Register {
            client_id: client_id.into(),
            input,
            secret_hash: Some(format!("hash-of-{client_id}")),
        })
        .unwrap()
    {
        state.apply(&e);
    }
    state
}

fn identity(email: &str) -> Identity {
    let mut state = Identity::with_id(Uuid::now_v7());
    for e in state
        .decide(IdentityCommand::Register {
            input: ProfileInput {
                email: Some(email.into()),
                first_name: Some("Ada".into()),
                claims: Some(json!({"team": "engines"})),
                ..ProfileInput::default()
            },
            password_hash: Some(format!("$argon2id$for-{email}")),
        })
        .unwrap()
    {
        state.apply(&e);
    }
    state
}

fn signing_key() -> SigningKey {
    let mut state = SigningKey::with_id(Uuid::now_v7());
    for e in state
        .decide(SigningKeyCommand::Generate(KeyGenerated {
            kid: "k1".into(),
            alg: "ES256".into(),
            sealed_private_key: "c2VhbGVk".into(),
            public_jwk: json!({"kty": "EC", "kid": "k1"}),
            activate_after: at(600, 0),
        }))
        .unwrap()
    {
        state.apply(&e);
    }
    state
}

async fn empty_tables_are_at_position_zero(h: Harness) {
    assert_eq!(h.tables.checkpoint().await.unwrap(), 0);
    let snapshot = h.tables.snapshot().await.unwrap();
    assert_eq!(snapshot.position, 0);
    assert!(snapshot.projects.is_empty() && snapshot.signing_keys.is_empty());
    assert_eq!(h.tables.count_identities().await.unwrap(), 0);
    assert_eq!(h.tables.identity(Uuid::now_v7()).await.unwrap(), None);
}
contract!(empty_tables_are_at_position_zero);

async fn committed_rows_read_back_exactly_with_their_secrets(h: Harness) {
    let p = entry(project("shop"), 1, at(0, 123_456_789));
    let i = entry(identity("Ada@Example.com"), 2, at(1, 1));
    let k = entry(signing_key(), 1, at(2, 0));
    let changes = Changes {
        projects: vec![p.clone()],
        identities: vec![i.clone()],
        signing_keys: vec![k.clone()],
        ..Changes::default()
    };
    assert_eq!(
        h.tables.commit(0, 7, &changes).await.unwrap(),
        Committed::Done
    );
    let snapshot = h.tables.snapshot().await.unwrap();
    assert_eq!(snapshot.position, 7);
    assert_eq!(snapshot.projects, vec![p.clone()]);
    assert_eq!(
        snapshot.projects[0].state.secret_hash.as_deref(),
        Some("hash-of-shop"),
        "the secret hash the JSON skips survives in its own column"
    );
    assert_eq!(snapshot.signing_keys, vec![k]);
    let id = i.state.id;
    assert_eq!(h.tables.identity(id).await.unwrap(), Some(i.clone()));
    assert_eq!(
        h.tables
            .identity_by_email(" ada@EXAMPLE.com")
            .await
            .unwrap(),
        Some(i.clone()),
        "emails match case-insensitively"
    );
    assert_eq!(
        h.tables.identities(&[id, Uuid::now_v7()]).await.unwrap(),
        vec![i]
    );
    assert_eq!(h.tables.checkpoint().await.unwrap(), 7);
}
contract!(committed_rows_read_back_exactly_with_their_secrets);

async fn a_commit_replaces_and_deletes_rows(h: Harness) {
    let mut a = entry(identity("a@example.com"), 1, at(0, 0));
    let b = entry(identity("b@example.com"), 1, at(1, 0));
    let p = entry(project("shop"), 1, at(0, 0));
    let changes = Changes {
        projects: vec![p.clone()],
        identities: vec![a.clone(), b.clone()],
        ..Changes::default()
    };
    h.tables.commit(0, 3, &changes).await.unwrap();

    // `a` changes its email; `b` and the project are deleted.
    a.state.profile.as_mut().unwrap().email = "a2@example.com".into();
    a.version = 2;
    let changes = Changes {
        identities: vec![a.clone()],
        deleted_identities: vec![b.state.id],
        deleted_projects: vec![p.state.id],
        ..Changes::default()
    };
    assert_eq!(
        h.tables.commit(3, 6, &changes).await.unwrap(),
        Committed::Done
    );
    assert_eq!(h.tables.identity(b.state.id).await.unwrap(), None);
    assert_eq!(
        h.tables.identity_by_email("a@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        h.tables.identity_by_email("a2@example.com").await.unwrap(),
        Some(a)
    );
    assert!(h.tables.snapshot().await.unwrap().projects.is_empty());
    assert_eq!(h.tables.count_identities().await.unwrap(), 1);
}
contract!(a_commit_replaces_and_deletes_rows);

async fn a_commit_from_a_stale_position_writes_nothing(h: Harness) {
    let first = Changes {
        identities: vec![entry(identity("a@example.com"), 1, at(0, 0))],
        ..Changes::default()
    };
    h.tables.commit(0, 5, &first).await.unwrap();
    let late = Changes {
        identities: vec![entry(identity("late@example.com"), 1, at(1, 0))],
        ..Changes::default()
    };
    assert_eq!(
        h.tables.commit(2, 9, &late).await.unwrap(),
        Committed::Moved { checkpoint: 5 }
    );
    assert_eq!(h.tables.checkpoint().await.unwrap(), 5);
    assert_eq!(
        h.tables
            .identity_by_email("late@example.com")
            .await
            .unwrap(),
        None
    );
}
contract!(a_commit_from_a_stale_position_writes_nothing);

async fn of_two_racing_commits_from_one_position_exactly_one_lands(h: Harness) {
    let one = Changes {
        identities: vec![entry(identity("one@example.com"), 1, at(0, 0))],
        ..Changes::default()
    };
    let two = Changes {
        identities: vec![entry(identity("two@example.com"), 1, at(0, 0))],
        ..Changes::default()
    };
    let (a, b) = tokio::join!(h.tables.commit(0, 4, &one), h.tables.commit(0, 4, &two));
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|c| **c == Committed::Done).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&Committed::Moved { checkpoint: 4 }));
    assert_eq!(h.tables.count_identities().await.unwrap(), 1);
}
contract!(of_two_racing_commits_from_one_position_exactly_one_lands);

async fn identities_list_in_registration_order_by_pages(h: Harness) {
    // Registered in reverse id order within the same second: the time decides first.
    let mut all = Vec::new();
    for n in 0..5u32 {
        all.push(entry(
            identity(&format!("u{n}@example.com")),
            1,
            at(0, 1000 - n),
        ));
    }
    let changes = Changes {
        identities: all.clone(),
        ..Changes::default()
    };
    h.tables.commit(0, 5, &changes).await.unwrap();
    all.sort_by_key(|e| (e.created_at, e.state.id));
    assert_eq!(
        h.tables.list_identities(0, 2).await.unwrap(),
        all[..2].to_vec()
    );
    assert_eq!(
        h.tables.list_identities(2, 10).await.unwrap(),
        all[2..].to_vec()
    );
    assert!(h.tables.list_identities(5, 10).await.unwrap().is_empty());
    assert_eq!(h.tables.count_identities().await.unwrap(), 5);
}
contract!(identities_list_in_registration_order_by_pages);

async fn reset_empties_every_table_and_the_checkpoint(h: Harness) {
    let changes = Changes {
        projects: vec![entry(project("shop"), 1, at(0, 0))],
        identities: vec![entry(identity("a@example.com"), 1, at(0, 0))],
        signing_keys: vec![entry(signing_key(), 1, at(0, 0))],
        ..Changes::default()
    };
    h.tables.commit(0, 3, &changes).await.unwrap();
    h.tables.reset().await.unwrap();
    let snapshot = h.tables.snapshot().await.unwrap();
    assert_eq!(snapshot.position, 0);
    assert!(snapshot.projects.is_empty() && snapshot.signing_keys.is_empty());
    assert_eq!(h.tables.count_identities().await.unwrap(), 0);
    // A projector starting over from 0 can commit again.
    assert_eq!(
        h.tables.commit(0, 3, &changes).await.unwrap(),
        Committed::Done
    );
}
contract!(reset_empties_every_table_and_the_checkpoint);
