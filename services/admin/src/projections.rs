//! The admin's read models, checkpointed in the read-model tables beside the
//! log (`inkan_readmodel`) and kept current by tailing the log.
//!
//! - At start, the checkpoint, the projects and the signing keys are loaded
//!   from the tables in one snapshot, and only the events after the
//!   checkpoint are applied: a restart does not replay the log.
//! - Projects and signing keys (thousands at most) stay in memory.
//!   Identities (possibly millions) are read from the tables on demand
//!   through a bounded LRU cache that the projector keeps coherent: every
//!   identity a batch changes is replaced in (or removed from) the cache
//!   before the batch's position is published, and a table read that raced
//!   a batch does not enter the cache (an epoch counter).
//! - The projector folds a batch of events with the aggregates' own `apply`
//!   and commits the net changes with the new checkpoint in one transaction
//!   ([`ReadModelStore::commit`], a compare-and-set on the checkpoint). When
//!   another admin replica committed first, this one follows: it applies
//!   the events the tables already hold to its memory only.
//!
//! Reads that must see a write wait until the projection reached the write's
//! position ([`Projections::wait_for`]), so a `201` is never followed by a `404`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hashlink::LruCache;
use inkan_domain::envelope::RecordedEvent;
use inkan_domain::identity::Identity;
use inkan_domain::project::Project;
use inkan_domain::signing_key::SigningKey;
use inkan_domain::validation::email_key;
use inkan_domain::{Aggregate, DomainEvent};
use inkan_eventstore::{EventStore, StoreError};
use inkan_readmodel::{Changes, Committed, ReadModelStore, ReadModels};
use time::OffsetDateTime;
use uuid::Uuid;

pub use inkan_readmodel::Entry;

/// Events read per query while following the log.
const LIVE_BATCH: usize = 1_000;
/// Events read per query (and committed per transaction) by a rebuild.
pub const REBUILD_BATCH: usize = 20_000;
/// Identities kept in memory by default (a few KiB each).
pub const IDENTITY_CACHE: usize = 10_000;

#[derive(Debug, Default)]
struct Memory {
    /// Whether the snapshot has been loaded from the tables.
    loaded: bool,
    position: i64,
    projects: HashMap<Uuid, Entry<Project>>,
    by_client_id: HashMap<String, Uuid>,
    keys: HashMap<Uuid, Entry<SigningKey>>,
}

/// Recently used identities, by id, and which id an email led to.
struct IdentityCache {
    by_id: LruCache<Uuid, Entry<Identity>>,
    by_email: LruCache<String, Uuid>,
    /// Bumped by every batch the projector installs: a table read that
    /// started before a batch must not overwrite what the batch installed.
    epoch: u64,
    capacity: usize,
}

impl IdentityCache {
    fn new(capacity: usize) -> IdentityCache {
        IdentityCache {
            by_id: LruCache::new(capacity.max(1)),
            by_email: LruCache::new(capacity.max(1)),
            epoch: 0,
            capacity,
        }
    }

    fn put(&mut self, entry: &Entry<Identity>) {
        if self.capacity == 0 {
            return;
        }
        if let Some(p) = &entry.state.profile {
            self.by_email.insert(email_key(&p.email), entry.state.id);
        }
        self.by_id.insert(entry.state.id, entry.clone());
    }

    fn by_email(&mut self, email: &str) -> Option<Entry<Identity>> {
        let key = email_key(email);
        let id = *self.by_email.get(&key)?;
        let entry = self.by_id.get(&id)?;
        // The email map may be stale (the identity changed its email): trust
        // it only if the entry, which the projector keeps current, agrees.
        let agrees = entry
            .state
            .profile
            .as_ref()
            .is_some_and(|p| email_key(&p.email) == key);
        agrees.then(|| entry.clone())
    }

    fn clear(&mut self) {
        self.by_id.clear();
        self.by_email.clear();
        self.epoch += 1;
    }
}

/// The net effect of a batch, per aggregate (`None`: it no longer exists).
#[derive(Default)]
struct Fold {
    projects: HashMap<Uuid, Option<Entry<Project>>>,
    identities: HashMap<Uuid, Option<Entry<Identity>>>,
    keys: HashMap<Uuid, Option<Entry<SigningKey>>>,
}

impl Fold {
    fn changes(&self) -> Changes {
        let mut changes = Changes::default();
        for (id, slot) in &self.projects {
            match slot {
                Some(entry) => changes.projects.push(entry.clone()),
                None => changes.deleted_projects.push(*id),
            }
        }
        for (id, slot) in &self.identities {
            match slot {
                Some(entry) => changes.identities.push(entry.clone()),
                None => changes.deleted_identities.push(*id),
            }
        }
        changes.signing_keys = self.keys.values().flatten().cloned().collect();
        changes
    }
}

/// What [`rebuild`] did.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    /// Events applied (positions are gap-free, so this is the last position).
    pub events: i64,
    pub projects: usize,
    pub identities: u64,
    pub signing_keys: usize,
    pub elapsed: Duration,
}

impl RebuildReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub struct Projections {
    store: Arc<dyn EventStore>,
    tables: Arc<dyn ReadModelStore>,
    memory: RwLock<Memory>,
    cache: Mutex<IdentityCache>,
    /// One catch-up at a time; others wait and then find the work done.
    catching_up: tokio::sync::Mutex<()>,
    batch: usize,
}

impl Projections {
    pub fn new(store: Arc<dyn EventStore>) -> Projections {
        Projections::with_sizes(store, LIVE_BATCH, IDENTITY_CACHE)
    }

    /// Projections reading `batch` events per query and caching at most
    /// `cache` identities (0: none).
    pub fn with_sizes(store: Arc<dyn EventStore>, batch: usize, cache: usize) -> Projections {
        Projections {
            tables: store.read_models(),
            store,
            memory: RwLock::new(Memory::default()),
            cache: Mutex::new(IdentityCache::new(cache)),
            catching_up: tokio::sync::Mutex::new(()),
            batch: batch.max(1),
        }
    }

    /// The log position the read models reflect.
    pub fn position(&self) -> i64 {
        self.read().position
    }

    /// Loads the checkpointed tables (once), then applies every event
    /// committed since; returns the position reached.
    pub async fn catch_up(&self) -> Result<i64, StoreError> {
        let _guard = self.catching_up.lock().await;
        if !self.read().loaded {
            self.load().await?;
        }
        let mut prefetched: Option<Vec<RecordedEvent>> = None;
        loop {
            let after = self.position();
            let events = match prefetched.take() {
                Some(events) => events,
                None => self.store.read_all(after, self.batch).await?,
            };
            let Some(to) = events.last().map(|e| e.position) else {
                return Ok(after);
            };
            let fold = self.fold(&events).await?;
            let changes = fold.changes();
            // A full batch means more follow: read (and decode, on another
            // worker thread) the next one while this one is written, so a
            // rebuild's two halves overlap.
            let next = (events.len() == self.batch).then(|| {
                let store = self.store.clone();
                let batch = self.batch;
                tokio::spawn(async move { store.read_all(to, batch).await })
            });
            let committed = self.tables.commit(after, to, &changes).await?;
            match committed {
                Committed::Done => {
                    self.install(fold, to);
                    if let Some(next) = next {
                        let read = next.await.map_err(|e| {
                            StoreError::Unavailable(format!("reading the log: {e}"))
                        })?;
                        prefetched = Some(read?);
                    }
                }
                Committed::Moved { checkpoint } if checkpoint > after => {
                    // Another replica wrote these events: follow it in memory.
                    let upto = checkpoint.min(to);
                    let held: Vec<RecordedEvent> =
                        events.into_iter().filter(|e| e.position <= upto).collect();
                    let fold = self.fold(&held).await?;
                    self.install(fold, upto);
                }
                Committed::Moved { checkpoint } => {
                    // The tables are behind this process: a rebuild reset them.
                    tracing::info!(
                        checkpoint,
                        position = after,
                        "read-model tables were reset; reloading them"
                    );
                    self.load().await?;
                }
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

    /// An identity: from the cache, else from the tables.
    pub async fn identity(&self, id: Uuid) -> Result<Option<Entry<Identity>>, StoreError> {
        let epoch = {
            let mut cache = self.cache();
            if let Some(entry) = cache.by_id.get(&id) {
                return Ok(Some(entry.clone()));
            }
            cache.epoch
        };
        let found = self.tables.identity(id).await?;
        self.remember(epoch, found.as_ref());
        Ok(found)
    }

    /// The identity with this email (compared case-insensitively).
    pub async fn identity_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Entry<Identity>>, StoreError> {
        let epoch = {
            let mut cache = self.cache();
            if let Some(entry) = cache.by_email(email) {
                return Ok(Some(entry));
            }
            cache.epoch
        };
        let found = self.tables.identity_by_email(email).await?;
        self.remember(epoch, found.as_ref());
        Ok(found)
    }

    /// One page of identities in registration order, and how many there are.
    pub async fn identities_page(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Entry<Identity>>, u64), StoreError> {
        let items = self.tables.list_identities(offset, limit).await?;
        let total = self.tables.count_identities().await?;
        Ok((items, total))
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

    /// Replaces memory with the tables' snapshot and empties the cache.
    async fn load(&self) -> Result<(), StoreError> {
        let snapshot = self.tables.snapshot().await?;
        let mut memory = Memory {
            loaded: true,
            position: snapshot.position,
            ..Memory::default()
        };
        for entry in snapshot.projects {
            memory
                .by_client_id
                .insert(entry.state.client_id.clone(), entry.state.id);
            memory.projects.insert(entry.state.id, entry);
        }
        for entry in snapshot.signing_keys {
            memory.keys.insert(entry.state.id, entry);
        }
        self.cache().clear();
        *self.write() = memory;
        Ok(())
    }

    /// Folds `events` into the new states of the aggregates they touch,
    /// starting from the states at the current position.
    async fn fold(&self, events: &[RecordedEvent]) -> Result<Fold, StoreError> {
        let mut fold = Fold::default();
        // Identities whose first event here is not their registration need
        // their current state: from the cache, else from the tables (one query).
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        for e in events {
            if e.stream_type == Identity::STREAM_TYPE && seen.insert(e.stream_id) && e.version > 1 {
                wanted.push(e.stream_id);
            }
        }
        if !wanted.is_empty() {
            let mut missing = Vec::new();
            {
                let mut cache = self.cache();
                for id in wanted {
                    match cache.by_id.get(&id) {
                        Some(entry) => {
                            fold.identities.insert(id, Some(entry.clone()));
                        }
                        None => missing.push(id),
                    }
                }
            }
            for entry in self.tables.identities(&missing).await? {
                fold.identities.insert(entry.state.id, Some(entry));
            }
        }
        let memory = self.read();
        for event in events {
            let id = event.stream_id;
            match event.stream_type.as_str() {
                Project::STREAM_TYPE => {
                    let slot = fold
                        .projects
                        .entry(id)
                        .or_insert_with(|| memory.projects.get(&id).cloned());
                    apply(slot, event);
                }
                Identity::STREAM_TYPE => {
                    apply(fold.identities.entry(id).or_insert(None), event);
                }
                SigningKey::STREAM_TYPE => {
                    let slot = fold
                        .keys
                        .entry(id)
                        .or_insert_with(|| memory.keys.get(&id).cloned());
                    apply(slot, event);
                }
                _ => {}
            }
        }
        Ok(fold)
    }

    /// Makes a folded batch visible: cache first, then memory and position.
    fn install(&self, fold: Fold, position: i64) {
        {
            let mut cache = self.cache();
            for (id, slot) in &fold.identities {
                match slot {
                    Some(entry) => cache.put(entry),
                    None => {
                        cache.by_id.remove(id);
                    }
                }
            }
            cache.epoch += 1;
        }
        let mut memory = self.write();
        for (id, slot) in fold.projects {
            if let Some(old) = memory.projects.remove(&id) {
                memory.by_client_id.remove(&old.state.client_id);
            }
            if let Some(entry) = slot {
                memory
                    .by_client_id
                    .insert(entry.state.client_id.clone(), id);
                memory.projects.insert(id, entry);
            }
        }
        for (id, slot) in fold.keys {
            match slot {
                Some(entry) => memory.keys.insert(id, entry),
                None => memory.keys.remove(&id),
            };
        }
        memory.position = memory.position.max(position);
    }

    /// Caches what a table read found, unless a batch was installed meanwhile.
    fn remember(&self, epoch: u64, found: Option<&Entry<Identity>>) {
        if let Some(entry) = found {
            let mut cache = self.cache();
            if cache.epoch == epoch {
                cache.put(entry);
            }
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, IdentityCache> {
        // The cache holds whole entries only, so a poisoned lock is still usable.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Memory> {
        // A panic while holding the lock cannot leave a half-applied event
        // (apply only replaces whole entries), so a poisoned lock is still usable.
        self.memory.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Memory> {
        self.memory.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Applies one recorded event to an aggregate's slot (`None`: not existing).
/// Events the entry already includes (by version) are skipped, so a state
/// read from the tables ahead of this process's position is never applied twice.
fn apply<A: Aggregate>(slot: &mut Option<Entry<A>>, event: &RecordedEvent) {
    let decoded = match A::Event::decode(&event.event_type, &event.payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(position = event.position, stream_type = %event.stream_type, error = %e, "skipping undecodable event");
            return;
        }
    };
    let at = event.metadata.occurred_at;
    let entry = slot.get_or_insert_with(|| Entry {
        state: A::with_id(event.stream_id),
        version: 0,
        created_at: at,
        updated_at: at,
    });
    if event.version <= entry.version {
        return;
    }
    if event.version != entry.version + 1 {
        tracing::error!(
            position = event.position,
            stream = %event.stream_id,
            have = entry.version,
            event_version = event.version,
            "read model missed events of this aggregate; run `inkan projections rebuild`"
        );
    }
    entry.state.apply(&decoded);
    entry.version = event.version;
    entry.updated_at = at;
    if !entry.state.exists() {
        *slot = None;
    }
}

/// Empties the read-model tables and projects the whole log into them again,
/// in batches of [`REBUILD_BATCH`] events (one query to read, one transaction
/// to write each). Admin processes running meanwhile notice the reset and
/// reload; identity lookups they make before the rebuild is done may miss.
pub async fn rebuild(store: Arc<dyn EventStore>) -> Result<RebuildReport, StoreError> {
    let tables = store.read_models();
    let started = Instant::now();
    tables.reset().await?;
    let projections = Projections::with_sizes(store, REBUILD_BATCH, 0);
    let events = projections.catch_up().await?;
    let elapsed = started.elapsed();
    let identities = tables.count_identities().await?;
    let memory = projections.read();
    Ok(RebuildReport {
        events,
        projects: memory.projects.len(),
        identities,
        signing_keys: memory.keys.len(),
        elapsed,
    })
}
