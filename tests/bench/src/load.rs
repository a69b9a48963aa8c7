//! Driving load: closed loop (N connections, each sending back to back for
//! a fixed time) and open loop (a fixed schedule at a given rate, whatever
//! the responses do), with latency percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::routes::Routes;
use crate::scenarios::Plan;

/// Latency percentiles, milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From latencies in microseconds (sorted in place).
    pub fn from_micros(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i] as f64 / 1000.0
        };
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: samples[samples.len() - 1] as f64 / 1000.0,
        }
    }
}

/// What the connections of one run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latency of every successful request, microseconds.
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Open loop only: how late requests started after their slot, microseconds.
    pub start_lag_us: Vec<u64>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.latencies_us.extend(other.latencies_us);
        self.start_lag_us.extend(other.start_lag_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn record(&mut self, result: Result<(), String>, us: u64) {
        match result {
            Ok(()) => self.latencies_us.push(us),
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }
}

/// N connections, each sending back to back until `until`. A request still
/// in flight at `until` is awaited (bounded by the client's timeout) and counted.
pub async fn closed_loop(
    http: &reqwest::Client,
    routes: &Routes,
    plan: &Plan,
    connections: usize,
    until: Instant,
) -> Outcome {
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (http, routes, plan) = (http.clone(), routes.clone(), plan.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            // Connections start at different offsets of the variant lists.
            let mut i = c * 7919;
            while Instant::now() < until {
                let t0 = Instant::now();
                let result = plan.step(&http, &routes, c, i).await;
                out.record(result, t0.elapsed().as_micros() as u64);
                i += 1;
            }
            out
        }));
    }
    join(tasks).await
}

/// Sends at `rate` requests per second for `duration` on a fixed schedule
/// (request k is due at start + k / rate), on at most `connections`
/// concurrent connections. Latency is measured from when a request was
/// sent; how late each one started after its slot is recorded apart
/// (large values mean the connections could not keep up with the schedule).
/// Bounded: no request starts after twice `duration`.
pub async fn open_loop(
    http: &reqwest::Client,
    routes: &Routes,
    plan: &Plan,
    connections: usize,
    rate: f64,
    duration: Duration,
) -> Outcome {
    let total = (rate * duration.as_secs_f64()).floor().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let next = Arc::new(AtomicU64::new(0));
    let start = tokio::time::Instant::now();
    let give_up = start + duration * 2;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (http, routes, plan, next) = (http.clone(), routes.clone(), plan.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total || tokio::time::Instant::now() > give_up {
                    break;
                }
                let due = start + interval.mul_f64(k as f64);
                tokio::time::sleep_until(due).await;
                let t0 = tokio::time::Instant::now();
                out.start_lag_us
                    .push(t0.saturating_duration_since(due).as_micros() as u64);
                let result = plan.step(&http, &routes, c, k as usize).await;
                out.record(result, t0.elapsed().as_micros() as u64);
            }
            out
        }));
    }
    join(tasks).await
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Outcome {
    let mut all = Outcome::default();
    for t in tasks {
        match t.await {
            Ok(o) => all.merge(o),
            Err(e) => {
                all.errors += 1;
                all.first_error
                    .get_or_insert_with(|| format!("a connection task failed: {e}"));
            }
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let l = Latency::from_micros(&mut v);
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Latency::from_micros(&mut []).max, 0.0);
    }
}
