//! Bare costs measured in the bench process, single thread, with the same
//! code and parameters the server uses (`inkan-keys`): one JWS signature
//! per algorithm (the key parsed once, as the server keeps it) and one
//! argon2id password verification at the server's parameters. The targets
//! of the RS256 and code-flow scenarios are stated relative to these.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use inkan_keys::password::{PasswordHasher, PasswordParams};
use inkan_keys::signing::{Algorithm, SigningKey};
use serde::Serialize;
use serde_json::json;

/// Bare costs, milliseconds of CPU per operation (single thread).
#[derive(Clone, Debug, Serialize)]
pub struct References {
    pub rs256_sign_ms: f64,
    pub es256_sign_ms: f64,
    pub eddsa_sign_ms: f64,
    /// argon2id verification at `PasswordParams::default()` (what `inkan serve` uses).
    pub argon2id_verify_ms: f64,
    pub argon2id_params: PasswordParams,
}

impl References {
    /// The bare signature cost of `alg` ("RS256", "ES256", "EdDSA").
    pub fn sign_ms(&self, alg: &str) -> Option<f64> {
        match alg {
            "RS256" => Some(self.rs256_sign_ms),
            "ES256" => Some(self.es256_sign_ms),
            "EdDSA" => Some(self.eddsa_sign_ms),
            _ => None,
        }
    }
}

/// CPU time (user + system) of the calling thread, in clock ticks.
fn thread_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Runs `op` repeatedly for about `budget` (at least `min_iterations`
/// times) and returns the mean cost per call in ms: the thread's CPU time
/// when `/proc/thread-self/stat` counted at least 20 ticks (so other load
/// on the machine does not inflate it), else the wall time.
fn per_call(
    budget: Duration,
    min_iterations: u32,
    mut op: impl FnMut() -> Result<()>,
) -> Result<f64> {
    op()?; // warm-up
    let (ticks_per_s, _) = crate::procfs::clock_ticks();
    let cpu0 = thread_ticks();
    let start = Instant::now();
    let mut n = 0u32;
    while n < min_iterations || start.elapsed() < budget {
        op()?;
        n += 1;
    }
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    let cpu_ms = match (cpu0, thread_ticks()) {
        (Some(a), Some(b)) if b.saturating_sub(a) >= 20 => {
            Some(b.saturating_sub(a) as f64 * 1000.0 / ticks_per_s as f64)
        }
        _ => None,
    };
    Ok(cpu_ms.unwrap_or(wall_ms) / f64::from(n))
}

fn sign_cost(alg: Algorithm, budget: Duration) -> Result<f64> {
    let key = SigningKey::generate(alg).context("generate a signing key")?;
    // A token of the size the token endpoint signs (RFC 9068 claims).
    let claims = json!({
        "iss": "http://127.0.0.1:8080", "sub": "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "aud": "bench-client-id-0123456789", "client_id": "bench-client-id-0123456789",
        "iat": 1_764_000_000, "exp": 1_764_003_600, "jti": "AbCdEfGhIjKlMnOpQrStUv",
        "scope": "bench:read",
    });
    per_call(budget, 10, || {
        std::hint::black_box(key.sign_jwt("at+jwt", &claims)?);
        Ok(())
    })
}

fn argon2_cost(budget: Duration) -> Result<(f64, PasswordParams)> {
    let hasher = PasswordHasher::new(PasswordParams::default());
    let password = "bench-reference-password-0123456789";
    let phc = hasher.hash(password).context("hash a password")?;
    let ms = per_call(budget, 3, || {
        anyhow::ensure!(std::hint::black_box(hasher.verify(password, &phc)));
        Ok(())
    })?;
    Ok((ms, hasher.params()))
}

/// Measures every reference for about `budget` each, on a blocking thread.
pub async fn measure(budget: Duration) -> Result<References> {
    tokio::task::spawn_blocking(move || {
        let (argon2id_verify_ms, argon2id_params) = argon2_cost(budget)?;
        Ok(References {
            rs256_sign_ms: sign_cost(Algorithm::RS256, budget)?,
            es256_sign_ms: sign_cost(Algorithm::ES256, budget)?,
            eddsa_sign_ms: sign_cost(Algorithm::EdDSA, budget)?,
            argon2id_verify_ms,
            argon2id_params,
        })
    })
    .await?
}
