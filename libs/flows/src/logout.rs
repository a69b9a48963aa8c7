//! Back-channel logout deliveries that are settled: the deliverer marks
//! each (session, client) it delivered or gave up on, so `/end_session`
//! can wait (bounded) for a session's notices before it redirects.
//! Markers live ten minutes; losing them only cuts a wait short.

use inkan_keys::secret::sha256_b64;
use inkan_kv::KvStore;

use crate::{secs, Result};

/// How long a marker lives: longer than any wait for it.
pub const MARKER_SECONDS: i64 = 600;

fn key(sid: &str, client_id: &str) -> String {
    format!("bcl:{}", sha256_b64(&format!("{sid}\n{client_id}")))
}

/// The notice for `client_id` about session `sid` is settled (delivered,
/// or given up).
pub async fn mark_settled(kv: &dyn KvStore, sid: &str, client_id: &str) -> Result<()> {
    kv.put(&key(sid, client_id), b"1", secs(MARKER_SECONDS))
        .await?;
    Ok(())
}

/// Whether every notice, `(sid, client_id)`, is settled.
pub async fn all_settled(kv: &dyn KvStore, notices: &[(&str, &str)]) -> Result<bool> {
    if notices.is_empty() {
        return Ok(true);
    }
    let keys: Vec<String> = notices.iter().map(|(sid, c)| key(sid, c)).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok(kv.get_many(&refs).await?.iter().all(Option::is_some))
}
