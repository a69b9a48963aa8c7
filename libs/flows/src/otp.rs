//! The one-time-code replay check (RFC 6238 §5.2: "the verifier MUST NOT
//! accept the second attempt of the same OTP after the successful
//! validation has been issued for the first OTP"): the last time step an
//! identity used is kept in the key-value store, and a code is accepted
//! only for a later step. Atomic across replicas (`KvStore::advance`): of
//! two logins racing with one code, one wins.

use inkan_kv::KvStore;

use crate::{secs, Result};

/// Long enough to outlive every step a code can still be valid for (the
/// step before, this one, the one after: 90 s), with room for clock skew
/// between replicas.
pub const STEP_TTL_SECONDS: i64 = 600;

fn step_key(identity_id: &str) -> String {
    format!("totp-step:{identity_id}")
}

/// Records that `identity_id` used the code of time step `step`; `false`
/// if that step or a later one was used already (the code must be refused).
pub async fn spend_step(kv: &dyn KvStore, identity_id: &str, step: i64) -> Result<bool> {
    Ok(kv
        .advance(&step_key(identity_id), step, secs(STEP_TTL_SECONDS))
        .await?)
}

/// Starts the record over for a newly set-up secret whose first code was
/// of time step `step`: steps used with a removed secret say nothing about
/// the new one, but the set-up code itself may not sign in again.
pub async fn restart(kv: &dyn KvStore, identity_id: &str, step: i64) -> Result<()> {
    kv.put(
        &step_key(identity_id),
        step.to_string().as_bytes(),
        secs(STEP_TTL_SECONDS),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use inkan_kv::MemoryKv;

    #[tokio::test]
    async fn a_step_is_spent_once_and_earlier_steps_are_refused_after_it() {
        let kv = MemoryKv::new();
        assert!(spend_step(&kv, "ada", 100).await.unwrap());
        assert!(!spend_step(&kv, "ada", 100).await.unwrap());
        assert!(!spend_step(&kv, "ada", 99).await.unwrap());
        assert!(spend_step(&kv, "ada", 101).await.unwrap());
        assert!(spend_step(&kv, "grace", 100).await.unwrap());
    }

    #[tokio::test]
    async fn a_new_secret_restarts_the_record_at_its_set_up_step() {
        let kv = MemoryKv::new();
        assert!(spend_step(&kv, "ada", 100).await.unwrap());
        restart(&kv, "ada", 90).await.unwrap();
        assert!(!spend_step(&kv, "ada", 90).await.unwrap());
        assert!(spend_step(&kv, "ada", 91).await.unwrap());
    }
}
