//! Throttling, in the key-value store so every replica sees the same
//! counters: fixed-window request rate limits, and login throttling per
//! account and per client IP.
//!
//! Login throttling follows NIST SP 800-63B §5.2.2 ("Rate Limiting
//! (Throttling)") and the OWASP Authentication Cheat Sheet ("Login
//! Throttling", "Account Lockout"):
//! - per account: [`FREE_FAILURES`] consecutive failures are free; each
//!   further one locks the account for `2^(n - FREE_FAILURES)` seconds,
//!   capped at [`MAX_BACKOFF_SECONDS`]; at [`MAX_CONSECUTIVE_FAILURES`] the
//!   account is suspended for [`SUSPENSION_SECONDS`] (800-63B: no more than
//!   100 consecutive failed attempts). Every lock is temporary, so an
//!   attacker cannot lock a user out for good; a success resets the count.
//! - per client IP: more than [`IP_FAILURE_LIMIT`] failures in
//!   [`IP_WINDOW_SECONDS`] refuse further attempts from that address until
//!   the window ends (password spraying across many accounts).
//!
//! Lock expiry is decided by comparing the stored time of the last failure
//! with the caller's `now` (the services' clock), not by key TTLs alone, so
//! tests can move a manual clock past a lock. TTLs only bound how long the
//! store remembers.
//!
//! Keys live under `limit:`; they hold hashes, never an email or an address
//! in clear.

use std::net::IpAddr;
use std::time::Duration;

use inkan_keys::secret::sha256_b64;
use inkan_kv::KvStore;

use crate::Result;

/// A fixed-window rate limit: at most `limit` hits per `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub window_seconds: u32,
}

/// Whether a hit is within its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit until the window ends (at least one second away).
    Limited {
        retry_after_seconds: u32,
    },
}

/// Counts one hit on `key` in the current window (the window starts with the
/// first hit and lasts `limit.window_seconds`). Counters are atomic in the
/// store, so replicas share one budget.
pub async fn hit(kv: &dyn KvStore, key: &str, limit: RateLimit) -> Result<Decision> {
    let key = format!("limit:rate:{key}");
    let window = Duration::from_secs(u64::from(limit.window_seconds.max(1)));
    let count = kv.incr(&key, window).await?;
    if count <= i64::from(limit.limit) {
        return Ok(Decision::Allowed);
    }
    Ok(Decision::Limited {
        retry_after_seconds: retry_after(kv.ttl(&key).await?, limit.window_seconds),
    })
}

/// [`hit`] on several counters that share one window length, in one store
/// call (one round trip on Redis): a token request's per-address and
/// per-client budgets. Decisions come back in the order of `keys`.
pub async fn hit_all(
    kv: &dyn KvStore,
    keys: &[(&str, u32)],
    window_seconds: u32,
) -> Result<Vec<Decision>> {
    let full: Vec<String> = keys
        .iter()
        .map(|(k, _)| format!("limit:rate:{k}"))
        .collect();
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    let window = Duration::from_secs(u64::from(window_seconds.max(1)));
    let counts = kv.incr_many(&refs, window).await?;
    let mut out = Vec::with_capacity(keys.len());
    for ((key, (_, limit)), count) in full.iter().zip(keys).zip(counts) {
        out.push(if count <= i64::from(*limit) {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after_seconds: retry_after(kv.ttl(key).await?, window_seconds),
            }
        });
    }
    Ok(out)
}

/// Whole seconds until a key expires, at least 1; `fallback` if it has no TTL.
fn retry_after(ttl: Option<Duration>, fallback: u32) -> u32 {
    let secs = match ttl {
        Some(d) if d != Duration::MAX => d.as_secs() + u64::from(d.subsec_nanos() > 0),
        _ => u64::from(fallback),
    };
    u32::try_from(secs).unwrap_or(u32::MAX).max(1)
}

/// Consecutive failures per account that cost nothing.
pub const FREE_FAILURES: u32 = 5;
/// Longest back-off lock between two attempts (OWASP: lockouts are short).
pub const MAX_BACKOFF_SECONDS: i64 = 15 * 60;
/// NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 100;
/// How long an account that reached [`MAX_CONSECUTIVE_FAILURES`] is
/// suspended after each further failure. Temporary: it then gets one more
/// attempt, and a success resets everything.
pub const SUSPENSION_SECONDS: i64 = 24 * 3600;
/// How long the store remembers an account's failures without any new one.
pub const FAILURE_MEMORY_SECONDS: u64 = 7 * 24 * 3600;
/// Failed logins allowed from one client IP per window.
pub const IP_FAILURE_LIMIT: u32 = 50;
/// The per-IP failure window.
pub const IP_WINDOW_SECONDS: u32 = 15 * 60;

/// An account's throttling key: the hash of its lowercased email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountKey(String);

impl AccountKey {
    pub fn for_email(email: &str) -> AccountKey {
        AccountKey(sha256_b64(&email.trim().to_lowercase()))
    }

    /// The key that throttles guessing an identity's second factor (its
    /// one-time and recovery codes), apart from its password's.
    pub fn for_second_factor(identity_id: &str) -> AccountKey {
        AccountKey(sha256_b64(&format!("second-factor:{identity_id}")))
    }
}

/// A client address's throttling key: the hash of the address (IPv6: of its
/// /64, which one host typically holds whole). `None` (address unknown)
/// shares one bucket, so a misconfigured proxy fails closed rather than
/// unthrottled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpKey(String);

impl IpKey {
    pub fn for_ip(ip: Option<IpAddr>) -> IpKey {
        let text = match ip {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            None => "unknown".to_owned(),
        };
        IpKey(sha256_b64(&text))
    }

    /// The key for rate limits keyed by client address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// May a login attempt be checked at all?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginGate {
    Open,
    /// The account is in back-off or suspended.
    AccountLocked {
        retry_after_seconds: u32,
    },
    /// Too many failures from this client address.
    IpLimited {
        retry_after_seconds: u32,
    },
}

fn failures_key(account: &AccountKey) -> String {
    format!("limit:login:acct:{}:n", account.0)
}

fn last_failure_key(account: &AccountKey) -> String {
    format!("limit:login:acct:{}:at", account.0)
}

fn ip_failures_key(ip: &IpKey) -> String {
    format!("limit:login:ip:{}", ip.0)
}

/// How long an account with `failures` consecutive failures is locked
/// after its last one.
pub fn lock_seconds(failures: u32) -> i64 {
    if failures >= MAX_CONSECUTIVE_FAILURES {
        SUSPENSION_SECONDS
    } else if failures <= FREE_FAILURES {
        0
    } else {
        // 2^10 > 900 already: capping the exponent keeps the shift in range.
        let exponent = (failures - FREE_FAILURES).min(20);
        (1i64 << exponent).min(MAX_BACKOFF_SECONDS)
    }
}

async fn read_number(kv: &dyn KvStore, key: &str) -> Result<i64> {
    Ok(kv
        .get(key)
        .await?
        .and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse().ok())
        .unwrap_or(0))
}

/// Checks both the account and the client address before a password is
/// verified. A closed gate must be answered exactly like a wrong password
/// (OWASP: no account enumeration through lockout messages).
pub async fn login_allowed(
    kv: &dyn KvStore,
    account: &AccountKey,
    ip: &IpKey,
    now: i64,
) -> Result<LoginGate> {
    let ip_key = ip_failures_key(ip);
    if read_number(kv, &ip_key).await? >= i64::from(IP_FAILURE_LIMIT) {
        return Ok(LoginGate::IpLimited {
            retry_after_seconds: retry_after(kv.ttl(&ip_key).await?, IP_WINDOW_SECONDS),
        });
    }
    let failures = read_number(kv, &failures_key(account)).await?;
    let failures = u32::try_from(failures.max(0)).unwrap_or(u32::MAX);
    let lock = lock_seconds(failures);
    if lock > 0 {
        let last = read_number(kv, &last_failure_key(account)).await?;
        let left = last + lock - now;
        if left > 0 {
            return Ok(LoginGate::AccountLocked {
                retry_after_seconds: u32::try_from(left).unwrap_or(u32::MAX),
            });
        }
    }
    Ok(LoginGate::Open)
}

/// Records a failed attempt (wrong password or unknown email) against the
/// account and the client address; returns the account's consecutive
/// failure count.
pub async fn record_login_failure(
    kv: &dyn KvStore,
    account: &AccountKey,
    ip: &IpKey,
    now: i64,
) -> Result<u32> {
    let memory = Duration::from_secs(FAILURE_MEMORY_SECONDS);
    let failures = kv.incr(&failures_key(account), memory).await?;
    kv.put(
        &last_failure_key(account),
        now.to_string().as_bytes(),
        memory,
    )
    .await?;
    kv.incr(
        &ip_failures_key(ip),
        Duration::from_secs(u64::from(IP_WINDOW_SECONDS)),
    )
    .await?;
    Ok(u32::try_from(failures.max(0)).unwrap_or(u32::MAX))
}

/// A successful login resets the account's failures (not the address's:
/// one valid account must not launder a spraying address).
pub async fn record_login_success(kv: &dyn KvStore, account: &AccountKey) -> Result<()> {
    kv.delete(&failures_key(account)).await?;
    kv.delete(&last_failure_key(account)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_lock_doubles_up_to_fifteen_minutes() {
        assert_eq!(lock_seconds(0), 0);
        assert_eq!(lock_seconds(5), 0);
        assert_eq!(lock_seconds(6), 2);
        assert_eq!(lock_seconds(7), 4);
        assert_eq!(lock_seconds(14), 512);
        assert_eq!(lock_seconds(15), MAX_BACKOFF_SECONDS);
        assert_eq!(lock_seconds(99), MAX_BACKOFF_SECONDS);
        assert_eq!(lock_seconds(100), SUSPENSION_SECONDS);
        assert_eq!(lock_seconds(u32::MAX), SUSPENSION_SECONDS);
    }

    #[test]
    fn account_keys_ignore_case_and_never_hold_the_email() {
        let a = AccountKey::for_email("Ada@Example.com");
        assert_eq!(a, AccountKey::for_email("ada@example.com"));
        assert!(!failures_key(&a).contains("ada"));
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_share_a_key() {
        let a = IpKey::for_ip(Some("2001:db8:1:2::1".parse().unwrap()));
        let b = IpKey::for_ip(Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        let c = IpKey::for_ip(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
