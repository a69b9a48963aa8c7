//! Signing-key management: the first keys, rotation on request or on a
//! schedule, activation once the publication delay has passed, retirement of
//! the predecessor. Keys are events (see `inkan_domain::signing_key`); the
//! private half is sealed under the key-encryption key before it is stored.

use base64::Engine;
use inkan_domain::signing_key::{KeyGenerated, KeyStatus, SigningKey, SigningKeyCommand};
use inkan_keys::signing::{Algorithm, SigningKey as KeyPair};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commands::execute;
use crate::error::ApiError;
use crate::projections::Entry;
use crate::state::AdminState;

const ACTOR: &str = "system";

/// Generates a key for `alg`, sealed, to be activated after `delay`.
async fn generate(
    state: &AdminState,
    actor: &str,
    alg: Algorithm,
    delay: std::time::Duration,
) -> Result<Uuid, ApiError> {
    // RSA key generation takes tens of milliseconds: keep it off the async runtime.
    let pair = tokio::task::spawn_blocking(move || KeyPair::generate(alg))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = state.clock.now_utc();
    let generated = KeyGenerated {
        kid: pair.kid().to_string(),
        alg: alg.as_str().to_string(),
        sealed_private_key: base64::engine::general_purpose::STANDARD.encode(pair.seal(&state.kek)),
        public_jwk: pair.public_jwk(),
        activate_after: now + delay,
    };
    let id = Uuid::now_v7();
    execute::<SigningKey>(state, actor, id, SigningKeyCommand::Generate(generated)).await?;
    Ok(id)
}

/// On first start: one active key per algorithm, usable at once (no token
/// exists yet, so there is nothing a relying party could fail to verify).
pub async fn ensure_initial_keys(state: &AdminState) -> Result<(), ApiError> {
    let keys = state.projections.signing_keys();
    for alg in Algorithm::ALL {
        if keys.iter().any(|k| alg_of(k) == Some(alg)) {
            continue;
        }
        let id = generate(state, ACTOR, alg, std::time::Duration::ZERO).await?;
        execute::<SigningKey>(
            state,
            ACTOR,
            id,
            SigningKeyCommand::Activate {
                now: state.clock.now_utc(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Starts a rotation: a new key per algorithm (or just `alg`), published now,
/// signing after the activation delay. Returns the new keys' ids.
pub async fn rotate(
    state: &AdminState,
    actor: &str,
    alg: Option<Algorithm>,
) -> Result<Vec<Uuid>, ApiError> {
    let algs: Vec<Algorithm> = match alg {
        Some(a) => vec![a],
        None => Algorithm::ALL.to_vec(),
    };
    let mut ids = Vec::new();
    for alg in algs {
        ids.push(generate(state, actor, alg, state.key_policy.activation_delay).await?);
    }
    Ok(ids)
}

/// One pass of the key schedule at `now`: activate due keys (retiring the
/// key they replace), and start a rotation where the active key is too old.
pub async fn run_schedule(state: &AdminState, now: OffsetDateTime) -> Result<(), ApiError> {
    let keys = state.projections.signing_keys();
    for alg in Algorithm::ALL {
        let of_alg: Vec<&Entry<SigningKey>> =
            keys.iter().filter(|k| alg_of(k) == Some(alg)).collect();
        let due = of_alg
            .iter()
            .filter(|k| k.state.status == Some(KeyStatus::Pending))
            .filter(|k| {
                k.state
                    .key
                    .as_ref()
                    .is_some_and(|g| g.activate_after <= now)
            })
            .max_by_key(|k| (k.created_at, k.state.id));
        if let Some(next) = due {
            execute::<SigningKey>(
                state,
                ACTOR,
                next.state.id,
                SigningKeyCommand::Activate { now },
            )
            .await?;
            let publish_until = now + state.key_policy.retired_publication;
            for old in of_alg.iter().filter(|k| k.state.id != next.state.id) {
                let replaceable = matches!(old.state.status, Some(KeyStatus::Active))
                    || (old.state.status == Some(KeyStatus::Pending)
                        && old.created_at < next.created_at);
                if replaceable {
                    execute::<SigningKey>(
                        state,
                        ACTOR,
                        old.state.id,
                        SigningKeyCommand::Retire { now, publish_until },
                    )
                    .await?;
                }
            }
            continue;
        }
        if let Some(interval) = state.key_policy.rotation_interval {
            let pending = of_alg
                .iter()
                .any(|k| k.state.status == Some(KeyStatus::Pending));
            let stale = of_alg
                .iter()
                .filter(|k| k.state.status == Some(KeyStatus::Active))
                .all(|k| k.state.activated_at.is_some_and(|t| t + interval <= now));
            if !pending && stale && !of_alg.is_empty() {
                generate(state, ACTOR, alg, state.key_policy.activation_delay).await?;
            }
        }
    }
    Ok(())
}

/// The public JWK set (RFC 7517 §5) of every published key at `now`.
pub fn jwks(state: &AdminState, now: OffsetDateTime) -> serde_json::Value {
    serde_json::json!({ "keys": state.projections.published_jwks(now) })
}

fn alg_of(entry: &Entry<SigningKey>) -> Option<Algorithm> {
    entry.state.key.as_ref().and_then(|g| g.alg.parse().ok())
}
