//! Chooses each store from the settings: a backend URL selects the real
//! implementation, no URL the embedded one (data kept in the data folder).

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use inkan_bus::{DurableSource, EventBus, MemoryBus, NatsBus, NatsBusConfig};
use inkan_config::Settings;
use inkan_eventstore::{EventStore, PgEventStore, SqliteEventStore};
use inkan_keys::kek::Kek;
use inkan_kv::{KvStore, MemoryKv, RedisKv};
use inkan_relay::StoreConsumer;

pub struct Backends {
    /// Only the admin role touches the event store.
    pub store: Option<Arc<dyn EventStore>>,
    pub kv: Arc<dyn KvStore>,
    pub bus: Arc<dyn EventBus>,
    /// Where durable consumers (the mailer) read: JetStream with NATS, a
    /// cursor in the event store without (admin role only).
    pub durable: Option<Arc<dyn DurableSource>>,
}

pub async fn event_store(settings: &Settings) -> anyhow::Result<Arc<dyn EventStore>> {
    Ok(match &settings.database_url {
        Some(url) => Arc::new(
            PgEventStore::connect(
                url,
                &settings.database_schema,
                settings.database_max_connections,
            )
            .await
            .context("connecting to PostgreSQL")?,
        ),
        None => {
            ensure_data_dir(&settings.data_dir)?;
            let path = settings.data_dir.join("events.sqlite");
            Arc::new(
                SqliteEventStore::open(&path)
                    .await
                    .with_context(|| format!("opening {}", path.display()))?,
            )
        }
    })
}

pub async fn connect(settings: &Settings, with_store: bool) -> anyhow::Result<Backends> {
    let store = if with_store {
        Some(event_store(settings).await?)
    } else {
        None
    };
    let kv: Arc<dyn KvStore> = match &settings.redis_url {
        Some(url) => Arc::new(
            RedisKv::connect(url, &settings.redis_prefix)
                .await
                .context("connecting to Redis")?,
        ),
        None => Arc::new(MemoryKv::new()),
    };
    let (bus, durable): (Arc<dyn EventBus>, Option<Arc<dyn DurableSource>>) =
        match &settings.nats_url {
            Some(url) => {
                let nats = Arc::new(
                    NatsBus::connect(NatsBusConfig {
                        url: url.clone(),
                        stream: settings.nats_stream.clone(),
                        subject_prefix: settings.nats_subject_prefix.clone(),
                    })
                    .await
                    .context("connecting to NATS")?,
                );
                (nats.clone(), Some(nats))
            }
            None => (
                Arc::new(MemoryBus::new()),
                store
                    .clone()
                    .map(|s| Arc::new(StoreConsumer::new(s)) as Arc<dyn DurableSource>),
            ),
        };
    Ok(Backends {
        store,
        kv,
        bus,
        durable,
    })
}

/// The key-encryption key: from the settings, or (embedded event store only)
/// generated once into the data folder, readable by its owner only.
pub fn key_encryption_key(settings: &Settings) -> anyhow::Result<Kek> {
    if let Some(b64) = &settings.key_encryption_key {
        return Kek::from_base64(b64).context("INKAN_KEY_ENCRYPTION_KEY");
    }
    if settings.database_url.is_some() {
        bail!("INKAN_KEY_ENCRYPTION_KEY is required when DATABASE_URL is set (32 random bytes, base64; e.g. `openssl rand -base64 32`)");
    }
    ensure_data_dir(&settings.data_dir)?;
    let path = settings.data_dir.join("key-encryption-key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Kek::from_base64(text.trim())
            .with_context(|| format!("reading {}", path.display()));
    }
    let (kek, b64) = Kek::generate();
    write_private(&path, &b64).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a key-encryption key for the embedded stores");
    Ok(kek)
}

fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating data folder {}", dir.display()))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
