//! The foundation's promises, checked on the real binary: data survives
//! restarts on both store configurations, and every committed event reaches
//! the bus in order even when the process died between commit and publish.

use std::time::Duration;

use futures::StreamExt;
use inkan_bus::{EventBus, NatsBus, NatsBusConfig};
use inkan_testkit::{
    nats_delete_stream, nats_url, redis_cleanup, redis_url, unique_name, PgSchema,
};

use crate::helpers::{Inkan, Options};

async fn create_then_check_after_restart(options: Options) {
    let first = Inkan::start(&options);
    let admin = first.admin();
    let project = admin.create_project().await;
    let identity = admin.create_identity("ada@example.com").await;
    assert!(project["client_secret"]
        .as_str()
        .is_some_and(|s| s.len() >= 43));
    first.stop();

    let second = Inkan::start(&options);
    let admin = second.admin();
    let (status, got) = admin
        .get(&format!(
            "/admin/v1/projects/{}",
            project["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["client_id"], project["client_id"]);
    assert_eq!(got["redirect_uris"], project["redirect_uris"]);
    assert!(got.get("client_secret").is_none());
    let (status, got) = admin
        .get(&format!(
            "/admin/v1/identities/{}",
            identity["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["email"], "ada@example.com");
    assert_eq!(got["claims"]["tenant"], "acme");
    let (status, list) = admin
        .get("/admin/v1/identities?email=ADA@example.com")
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    second.stop();
}

#[tokio::test]
async fn embedded_provider_keeps_projects_and_identities_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    create_then_check_after_restart(Options {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
}

pub struct RealBackends {
    schema: PgSchema,
    redis_prefix: String,
    stream: String,
    subjects: String,
}

impl RealBackends {
    pub async fn new() -> RealBackends {
        RealBackends {
            schema: PgSchema::create("e2e").await,
            redis_prefix: format!("{}:", unique_name("e2e")),
            stream: unique_name("E2E").to_uppercase(),
            subjects: format!("t.{}", unique_name("e2e")),
        }
    }

    pub fn options(&self, nats: &str, data_dir: &std::path::Path) -> Options {
        Options {
            data_dir: Some(data_dir.to_path_buf()),
            env: vec![
                ("DATABASE_URL".into(), self.schema.url.clone()),
                ("INKAN_DATABASE_SCHEMA".into(), self.schema.name.clone()),
                ("INKAN_DATABASE_MAX_CONNECTIONS".into(), "3".into()),
                ("REDIS_URL".into(), redis_url()),
                ("INKAN_REDIS_PREFIX".into(), self.redis_prefix.clone()),
                ("NATS_URL".into(), nats.to_string()),
                ("INKAN_NATS_STREAM".into(), self.stream.clone()),
                ("INKAN_NATS_SUBJECT_PREFIX".into(), self.subjects.clone()),
                (
                    "INKAN_KEY_ENCRYPTION_KEY".into(),
                    "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=".into(),
                ),
            ],
            ..Default::default()
        }
    }

    pub async fn cleanup(self) {
        redis_cleanup(&self.redis_prefix).await;
        nats_delete_stream(&self.stream).await;
        drop(self.schema);
    }
}

#[tokio::test]
async fn provider_on_postgres_redis_and_nats_keeps_data_across_restart() {
    let backends = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    create_then_check_after_restart(backends.options(&nats_url(), dir.path())).await;
    backends.cleanup().await;
}

#[tokio::test]
async fn every_event_reaches_the_bus_in_order_after_a_kill_between_commit_and_publish() {
    let backends = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();

    // 1. The bus is unreachable: writes commit, publication cannot happen.
    //    Then the process is SIGKILLed, so nothing it held in memory survives.
    let offline = Inkan::start(&backends.options("nats://127.0.0.1:1", dir.path()));
    let admin = offline.admin();
    admin.create_project().await;
    admin.create_identity("grace@example.com").await;
    admin.create_identity("alan@example.com").await;
    offline.kill();

    // 2. A second process subscribes to the bus before the provider returns.
    let subscriber = NatsBus::connect(NatsBusConfig {
        url: nats_url(),
        stream: backends.stream.clone(),
        subject_prefix: backends.subjects.clone(),
    })
    .await
    .unwrap();

    // 3. Restarted with the bus reachable, the relay resumes from its cursor.
    let online = Inkan::start(&backends.options(&nats_url(), dir.path()));
    let admin = online.admin();
    admin.create_identity("edsger@example.com").await;
    let (_, events) = admin.get("/admin/v1/events?after=0&limit=1000").await;
    let committed: Vec<i64> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(committed, (1..=committed.len() as i64).collect::<Vec<_>>());
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.starts_with("identity.registered"))
            .count(),
        3
    );
    assert!(kinds.contains(&"project.registered.v5"));

    // The stream may not exist until the relay's first publish: retry subscribing, bounded.
    let mut stream = None;
    for _ in 0..250 {
        if let Ok(s) = subscriber.subscribe(0).await {
            stream = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let mut stream = stream.expect("subscribe to the bus");
    let mut seen = Vec::new();
    while seen.len() < committed.len() {
        let next = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("every committed event is published within 20 s")
            .expect("stream open")
            .expect("well-formed event");
        seen.push(next.position);
    }
    assert_eq!(seen, committed, "each event once, in log order");
    online.stop();
    backends.cleanup().await;
}
