//! Human passwords, hashed with argon2id.
//!
//! Unlike client secrets, user passwords are low-entropy and chosen by
//! humans, so they get a deliberately slow, memory-hard hash (argon2id, the
//! OWASP recommendation) with a random per-password salt, stored as a PHC
//! string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) that carries its
//! own parameters. That lets [`PasswordHasher::needs_rehash`] detect hashes
//! made with older, weaker settings so they can be upgraded at next login.
//!
//! # Blocking
//!
//! Every hash or verify burns tens of milliseconds of CPU by design. This
//! crate is synchronous; async callers **must** run [`PasswordHasher::hash`],
//! [`PasswordHasher::verify`] and [`PasswordHasher::verify_dummy`] on
//! `tokio::task::spawn_blocking`, never directly on a runtime worker.

use argon2::password_hash::SaltString;
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    ARGON2ID_IDENT,
};
use serde::{Deserialize, Serialize};

use crate::error::KeyError;

/// Upper bounds on parameters accepted from a *stored* PHC string. They keep
/// a corrupted or hostile row from making one verification allocate
/// gigabytes or spin for minutes; legitimate hashes are far below them.
const MAX_STORED_MEMORY_KIB: u32 = 4 * 1024 * 1024; // 4 GiB
const MAX_STORED_ITERATIONS: u32 = 1_000;
const MAX_STORED_PARALLELISM: u32 = 1_024;

/// Salt length in bytes (argon2's recommended 16).
const SALT_LEN: usize = argon2::RECOMMENDED_SALT_LEN;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordParams {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes over memory.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// OWASP Password Storage Cheat Sheet's argon2id baseline:
    /// m = 19 MiB (19456 KiB), t = 2, p = 1.
    fn default() -> Self {
        PasswordParams {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordParams {
    /// The cheapest valid argon2id parameters (m = 8 KiB, t = 1, p = 1).
    ///
    /// **Tests only.** Tests across the workspace use this so that creating
    /// users and logging in stay fast; it offers no real protection.
    pub fn fast_for_tests() -> Self {
        PasswordParams {
            memory_kib: Params::MIN_M_COST,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// Raises any value below argon2's minimums to the minimum (and memory to
    /// at least 8 KiB per lane), so the result is always valid.
    fn clamped(self) -> Self {
        let parallelism = self
            .parallelism
            .clamp(Params::MIN_P_COST, Params::MAX_P_COST);
        let memory_kib = self.memory_kib.max(Params::MIN_M_COST).max(parallelism * 8);
        let iterations = self.iterations.max(Params::MIN_T_COST);
        PasswordParams {
            memory_kib,
            iterations,
            parallelism,
        }
    }
}

/// argon2id password hasher with fixed cost parameters.
///
/// All methods are CPU-heavy and synchronous: call them from
/// `tokio::task::spawn_blocking` (see the module docs).
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    params: PasswordParams,
    /// Hash of a random password under `params`, used by `verify_dummy`.
    dummy_phc: Option<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Creates a hasher. Values below argon2's minimums (t = 0, p = 0,
    /// m < 8·p KiB) are raised to the minimum rather than rejected, so this
    /// never fails; [`PasswordHasher::params`] shows the effective values.
    ///
    /// Computes one dummy hash up front (see [`PasswordHasher::verify_dummy`]),
    /// so construction costs one hash.
    pub fn new(params: PasswordParams) -> Self {
        let params = params.clamped();
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        // Fallback is unreachable after clamping, but keeps `new` panic-free.
        .unwrap_or_default();
        let mut hasher = PasswordHasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params),
            params,
            dummy_phc: None,
        };
        hasher.dummy_phc = hasher.hash(&crate::secret::generate_token(32)).ok();
        hasher
    }

    /// The effective (clamped) parameters new hashes are made with.
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    /// Hashes `password` with a fresh random 128-bit salt and returns the
    /// PHC string to store.
    pub fn hash(&self, password: &str) -> Result<String, KeyError> {
        let mut salt_bytes = [0u8; SALT_LEN];
        crate::fill_random(&mut salt_bytes);
        let salt =
            SaltString::encode_b64(&salt_bytes).map_err(|e| KeyError::Hash(e.to_string()))?;
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| KeyError::Hash(e.to_string()))
    }

    /// Checks `password` against a stored PHC string, using the parameters
    /// recorded in that string (so old hashes keep verifying after the
    /// configured parameters change).
    ///
    /// Returns `false` for a wrong password and for any malformed, non-argon2
    /// or absurdly expensive PHC string; never panics.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        if !stored_params_within_limits(&hash) {
            return false;
        }
        self.argon2
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    }

    /// Whether a stored hash should be replaced by a fresh [`hash`] after a
    /// successful login: it is not argon2id v19, or any of its parameters
    /// is weaker than the current ones. Unparseable strings also return
    /// `true`.
    ///
    /// [`hash`]: PasswordHasher::hash
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return true;
        };
        if hash.algorithm != ARGON2ID_IDENT || hash.version != Some(Version::V0x13.into()) {
            return true;
        }
        if !stored_params_within_limits(&hash) {
            return true;
        }
        let Ok(stored) = Params::try_from(&hash) else {
            return true;
        };
        stored.m_cost() < self.params.memory_kib
            || stored.t_cost() < self.params.iterations
            || stored.p_cost() < self.params.parallelism
    }

    /// Spends the same time as verifying a wrong password, then returns
    /// `false`.
    ///
    /// Call it when the login name is unknown, so that "no such user" and
    /// "wrong password" are indistinguishable by response time (user
    /// enumeration). It verifies against a dummy hash computed once in
    /// [`PasswordHasher::new`] with the current parameters.
    pub fn verify_dummy(&self, password: &str) -> bool {
        match &self.dummy_phc {
            Some(phc) => {
                std::hint::black_box(self.verify(password, phc));
            }
            None => {
                // Unreachable in practice (the dummy hash cannot fail with
                // clamped params); hashing costs the same as verifying.
                let _ = std::hint::black_box(self.hash(password));
            }
        }
        false
    }
}

/// Rejects stored parameters that are out of range *before* argon2 sees
/// them: argon2's own validation multiplies `p * 8` and could overflow, and
/// huge `m` would attempt a giant allocation.
fn stored_params_within_limits(hash: &PasswordHash<'_>) -> bool {
    let get = |name: &str| hash.params.get_decimal(name);
    matches!(
        (get("m"), get("t"), get("p")),
        (Some(m), Some(t), Some(p))
            if m <= MAX_STORED_MEMORY_KIB
                && t <= MAX_STORED_ITERATIONS
                && (1..=MAX_STORED_PARALLELISM).contains(&p)
    )
}
