//! The admin's read models: every project and identity, folded from the log
//! with the aggregates' own `apply`, rebuilt at start and kept current by
//! tailing the log.
//!
//! Reads that must see a write wait until the projection reached the write's
//! position ([`Projections::wait_for`]), so a `201` is never followed by a `404`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use inkan_domain::envelope::RecordedEvent;
use inkan_domain::identity::{Identity, IdentityEvent};
use inkan_domain::project::{Project, ProjectEvent};
use inkan_domain::signing_key::{SigningKey, SigningKeyEvent};
use inkan_domain::validation::email_key;
use inkan_domain::{Aggregate, DomainEvent};
use inkan_eventstore::{EventStore, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

/// A read-model entry: the aggregate plus bookkeeping the API shows.
#[derive(Debug, Clone)]
pub struct Entry<A> {
    pub state: A,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct ReadModel {
    position: i64,
    projects: HashMap<Uuid, Entry<Project>>,
    by_client_id: HashMap<String, Uuid>,
    identities: HashMap<Uuid, Entry<Identity>>,
    by_email: HashMap<String, Uuid>,
    keys: HashMap<Uuid, Entry<SigningKey>>,
}

pub struct Projections {
    store: Arc<dyn EventStore>,
    model: RwLock<ReadModel>,
    /// One catch-up at a time; others wait and then find the work done.
    catching_up: tokio::sync::Mutex<()>,
}

impl Projections {
    pub fn new(store: Arc<dyn EventStore>) -> Projections {
        Projections {
            store,
            model: RwLock::new(ReadModel::default()),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }

    /// The log position the read models reflect.
    pub fn position(&self) -> i64 {
        self.read().position
    }

    /// Applies every event committed since the last catch-up.
    pub async fn catch_up(&self) -> Result<i64, StoreError> {
        let _guard = self.catching_up.lock().await;
        loop {
            let after = self.position();
            let events = self.store.read_all(after, 512).await?;
            if events.is_empty() {
                return Ok(after);
            }
            let mut model = self.write();
            for event in &events {
                if event.position <= model.position {
                    continue;
                }
                model.apply(event);
                model.position = event.position;
            }
        }
    }

    /// Returns once the read models include `position` (catching up if needed).
    pub async fn wait_for(&self, position: i64) -> Result<(), StoreError> {
        if self.position() >= position {
            return Ok(());
        }
        self.catch_up().await.map(|_| ())
    }

    pub fn project(&self, id: Uuid) -> Option<Entry<Project>> {
        self.read().projects.get(&id).cloned()
    }

    pub fn project_by_client_id(&self, client_id: &str) -> Option<Entry<Project>> {
        let model = self.read();
        let id = model.by_client_id.get(client_id)?;
        model.projects.get(id).cloned()
    }

    /// Projects in registration order.
    pub fn projects(&self) -> Vec<Entry<Project>> {
        let mut all: Vec<_> = self.read().projects.values().cloned().collect();
        all.sort_by_key(|e| (e.created_at, e.state.id));
        all
    }

    pub fn identity(&self, id: Uuid) -> Option<Entry<Identity>> {
        self.read().identities.get(&id).cloned()
    }

    pub fn identity_by_email(&self, email: &str) -> Option<Entry<Identity>> {
        let model = self.read();
        let id = model.by_email.get(&email_key(email))?;
        model.identities.get(id).cloned()
    }

    /// Identities in registration order.
    pub fn identities(&self) -> Vec<Entry<Identity>> {
        let mut all: Vec<_> = self.read().identities.values().cloned().collect();
        all.sort_by_key(|e| (e.created_at, e.state.id));
        all
    }

    /// The public JWKs of every key published at `now` (pending, active, or
    /// retired within its publication window).
    pub fn published_jwks(&self, now: OffsetDateTime) -> Vec<serde_json::Value> {
        self.signing_keys()
            .into_iter()
            .filter(|k| k.state.is_published(now))
            .filter_map(|k| k.state.key.map(|g| g.public_jwk))
            .collect()
    }

    /// Every signing key ever generated, oldest first.
    pub fn signing_keys(&self) -> Vec<Entry<SigningKey>> {
        let mut all: Vec<_> = self.read().keys.values().cloned().collect();
        all.sort_by_key(|e| (e.created_at, e.state.id));
        all
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ReadModel> {
        // A panic while holding the lock cannot leave a half-applied event
        // (apply only replaces whole entries), so a poisoned lock is still usable.
        self.model.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ReadModel> {
        self.model.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl ReadModel {
    fn apply(&mut self, event: &RecordedEvent) {
        match event.stream_type.as_str() {
            Project::STREAM_TYPE => match ProjectEvent::decode(&event.event_type, &event.payload) {
                Ok(e) => {
                    let entry = upsert(&mut self.projects, event, Project::with_id);
                    entry.state.apply(&e);
                    let (exists, client_id) = (entry.state.exists(), entry.state.client_id.clone());
                    if exists {
                        self.by_client_id.insert(client_id, event.stream_id);
                    } else {
                        self.projects.remove(&event.stream_id);
                        self.by_client_id.remove(&client_id);
                    }
                }
                Err(e) => {
                    tracing::error!(position = event.position, error = %e, "skipping undecodable project event")
                }
            },
            Identity::STREAM_TYPE => match IdentityEvent::decode(&event.event_type, &event.payload)
            {
                Ok(e) => {
                    let entry = upsert(&mut self.identities, event, Identity::with_id);
                    let old_key = entry.state.profile.as_ref().map(|p| email_key(&p.email));
                    entry.state.apply(&e);
                    let exists = entry.state.exists();
                    let new_key = entry.state.profile.as_ref().map(|p| email_key(&p.email));
                    if let Some(old) = old_key {
                        self.by_email.remove(&old);
                    }
                    if exists {
                        if let Some(new) = new_key {
                            self.by_email.insert(new, event.stream_id);
                        }
                    } else {
                        self.identities.remove(&event.stream_id);
                    }
                }
                Err(e) => {
                    tracing::error!(position = event.position, error = %e, "skipping undecodable identity event")
                }
            },
            SigningKey::STREAM_TYPE => {
                match SigningKeyEvent::decode(&event.event_type, &event.payload) {
                    Ok(e) => upsert(&mut self.keys, event, SigningKey::with_id)
                        .state
                        .apply(&e),
                    Err(e) => {
                        tracing::error!(position = event.position, error = %e, "skipping undecodable key event")
                    }
                }
            }
            _ => {}
        }
    }
}

fn upsert<'a, A>(
    map: &'a mut HashMap<Uuid, Entry<A>>,
    event: &RecordedEvent,
    new: fn(Uuid) -> A,
) -> &'a mut Entry<A> {
    let entry = map.entry(event.stream_id).or_insert_with(|| Entry {
        state: new(event.stream_id),
        version: 0,
        created_at: event.metadata.occurred_at,
        updated_at: event.metadata.occurred_at,
    });
    entry.version = event.version;
    entry.updated_at = event.metadata.occurred_at;
    entry
}
