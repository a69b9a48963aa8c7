//! Time as the services see it. Production reads the system clock; tests
//! move a [`ManualClock`] to check expiry and schedules without waiting.
//!
//! Its own crate, below every service (the admin included) and free of any
//! other dependency, so a handler never reads the system time directly and a
//! test can stand in for it anywhere.
//!
//! # Layout
//! - [`Clock`]: the trait handlers are given (`Arc<dyn Clock>` in their state).
//! - [`SystemClock`]: the real one; [`ManualClock`]: moves only when told.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;

    /// The current time as a timestamp (event times, key schedules). The
    /// default is [`Clock::now`] to the second; the system clock is precise.
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.now()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that starts at the system time and moves only when told to.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock(AtomicI64::new(SystemClock.now()))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_agrees_with_its_timestamp() {
        let clock = ManualClock::new();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(90);
        assert_eq!(clock.now(), start + 90);
        assert_eq!(clock.now_utc().unix_timestamp(), start + 90);
    }

    #[test]
    fn the_system_clock_and_its_timestamp_agree() {
        let (secs, at) = (SystemClock.now(), SystemClock.now_utc());
        assert!((at.unix_timestamp() - secs).abs() <= 1);
    }
}
