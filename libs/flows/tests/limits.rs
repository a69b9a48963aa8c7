//! Rate limits and login throttling on both key-value stores; two handles
//! per store model two replicas sharing one budget.

use std::sync::Arc;

use inkan_flows::limits::{
    self, AccountKey, Decision, IpKey, LoginGate, RateLimit, IP_FAILURE_LIMIT, MAX_BACKOFF_SECONDS,
    MAX_CONSECUTIVE_FAILURES, SUSPENSION_SECONDS,
};
use inkan_kv::{KvStore, MemoryKv, RedisKv};
use inkan_testkit::{redis_cleanup, redis_url, unique_name};

/// A backend's name and two handles on it (two replicas).
type Replicas = (&'static str, Arc<dyn KvStore>, Arc<dyn KvStore>);

struct Stores {
    stores: Vec<Replicas>,
    prefix: String,
}

async fn stores() -> Stores {
    let prefix = format!("{}:", unique_name("limits"));
    let memory = MemoryKv::new();
    let a = RedisKv::connect(&redis_url(), &prefix).await.unwrap();
    let b = RedisKv::connect(&redis_url(), &prefix).await.unwrap();
    Stores {
        stores: vec![
            ("memory", Arc::new(memory.clone()), Arc::new(memory)),
            ("redis", Arc::new(a), Arc::new(b)),
        ],
        prefix,
    }
}

const NOW: i64 = 1_800_000_000;

fn ip(last: u8) -> IpKey {
    IpKey::for_ip(Some(std::net::IpAddr::from([192, 0, 2, last])))
}

#[tokio::test]
async fn a_counter_allows_the_limit_across_replicas_then_limits_with_a_retry_after() {
    let s = stores().await;
    let limit = RateLimit {
        limit: 3,
        window_seconds: 60,
    };
    for (name, a, b) in &s.stores {
        let key = unique_name("rate");
        for store in [a, b, a] {
            assert_eq!(
                limits::hit(store.as_ref(), &key, limit).await.unwrap(),
                Decision::Allowed,
                "{name}"
            );
        }
        let Decision::Limited {
            retry_after_seconds,
        } = limits::hit(b.as_ref(), &key, limit).await.unwrap()
        else {
            panic!("{name}: the fourth hit is limited");
        };
        assert!((1..=60).contains(&retry_after_seconds), "{name}");
        let other = unique_name("rate");
        assert_eq!(
            limits::hit(a.as_ref(), &other, limit).await.unwrap(),
            Decision::Allowed,
            "{name}: keys are independent"
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn hit_all_counts_each_budget_and_decides_each_on_its_own_limit() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let (address, client) = (unique_name("addr"), unique_name("client"));
        // The address allows 3 per window, the client 2: the third call
        // passes the address and is limited on the client only.
        for (i, store) in [a, b, a].into_iter().enumerate() {
            let decisions = limits::hit_all(store.as_ref(), &[(&address, 3), (&client, 2)], 60)
                .await
                .unwrap();
            assert_eq!(decisions[0], Decision::Allowed, "{name} call {i}");
            assert_eq!(
                decisions[1] == Decision::Allowed,
                i < 2,
                "{name} call {i}: {decisions:?}"
            );
        }
        let decisions = limits::hit_all(b.as_ref(), &[(&address, 3)], 60)
            .await
            .unwrap();
        let [Decision::Limited {
            retry_after_seconds,
        }] = decisions[..]
        else {
            panic!("{name}: the fourth hit passed: {decisions:?}");
        };
        assert!((1..=60).contains(&retry_after_seconds), "{name}");
        // The same counters as `hit`: one more single hit is over the limit too.
        let single = RateLimit {
            limit: 3,
            window_seconds: 60,
        };
        assert_ne!(
            limits::hit(a.as_ref(), &address, single).await.unwrap(),
            Decision::Allowed,
            "{name}"
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn five_failures_are_free_and_the_sixth_locks_the_account_until_the_back_off_passes() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let account = AccountKey::for_email(&format!("{}@example.com", unique_name("u")));
        let from = ip(1);
        for n in 1..=5 {
            assert_eq!(
                limits::login_allowed(a.as_ref(), &account, &from, NOW)
                    .await
                    .unwrap(),
                LoginGate::Open,
                "{name}: attempt {n}"
            );
            limits::record_login_failure(b.as_ref(), &account, &from, NOW)
                .await
                .unwrap();
        }
        assert_eq!(
            limits::login_allowed(a.as_ref(), &account, &from, NOW)
                .await
                .unwrap(),
            LoginGate::Open,
            "{name}: five failures are free"
        );
        let n = limits::record_login_failure(a.as_ref(), &account, &from, NOW)
            .await
            .unwrap();
        assert_eq!(n, 6, "{name}");
        assert_eq!(
            limits::login_allowed(b.as_ref(), &account, &from, NOW + 1)
                .await
                .unwrap(),
            LoginGate::AccountLocked {
                retry_after_seconds: 1
            },
            "{name}: 2 s after the sixth failure"
        );
        assert_eq!(
            limits::login_allowed(b.as_ref(), &account, &from, NOW + 2)
                .await
                .unwrap(),
            LoginGate::Open,
            "{name}: the lock is temporary"
        );
        let other = AccountKey::for_email(&format!("{}@example.com", unique_name("u")));
        assert_eq!(
            limits::login_allowed(a.as_ref(), &other, &from, NOW)
                .await
                .unwrap(),
            LoginGate::Open,
            "{name}: other accounts are not locked"
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn back_off_is_capped_at_fifteen_minutes_and_the_hundredth_failure_suspends() {
    let s = stores().await;
    for (name, a, _) in &s.stores {
        let account = AccountKey::for_email(&format!("{}@example.com", unique_name("u")));
        for i in 0..(MAX_CONSECUTIVE_FAILURES - 1) {
            // A fresh address each time, so the per-IP limit stays out of the way.
            let from = ip((i % 40) as u8);
            limits::record_login_failure(a.as_ref(), &account, &from, NOW)
                .await
                .unwrap();
        }
        let gate = limits::login_allowed(a.as_ref(), &account, &ip(200), NOW)
            .await
            .unwrap();
        assert_eq!(
            gate,
            LoginGate::AccountLocked {
                retry_after_seconds: MAX_BACKOFF_SECONDS as u32
            },
            "{name}: 99 failures"
        );
        let n = limits::record_login_failure(a.as_ref(), &account, &ip(201), NOW)
            .await
            .unwrap();
        assert_eq!(n, MAX_CONSECUTIVE_FAILURES, "{name}");
        let gate = limits::login_allowed(a.as_ref(), &account, &ip(200), NOW)
            .await
            .unwrap();
        assert_eq!(
            gate,
            LoginGate::AccountLocked {
                retry_after_seconds: SUSPENSION_SECONDS as u32
            },
            "{name}: suspended at 100"
        );
        assert_eq!(
            limits::login_allowed(a.as_ref(), &account, &ip(200), NOW + SUSPENSION_SECONDS)
                .await
                .unwrap(),
            LoginGate::Open,
            "{name}: even the suspension is temporary"
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn a_successful_login_resets_the_account_failures() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let account = AccountKey::for_email(&format!("{}@example.com", unique_name("u")));
        let from = ip(7);
        for _ in 0..8 {
            limits::record_login_failure(a.as_ref(), &account, &from, NOW)
                .await
                .unwrap();
        }
        assert!(matches!(
            limits::login_allowed(b.as_ref(), &account, &from, NOW)
                .await
                .unwrap(),
            LoginGate::AccountLocked { .. }
        ));
        limits::record_login_success(b.as_ref(), &account)
            .await
            .unwrap();
        assert_eq!(
            limits::login_allowed(a.as_ref(), &account, &from, NOW)
                .await
                .unwrap(),
            LoginGate::Open,
            "{name}"
        );
        assert_eq!(
            limits::record_login_failure(a.as_ref(), &account, &from, NOW)
                .await
                .unwrap(),
            1,
            "{name}: counting starts over"
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn an_address_with_too_many_failures_is_limited_for_every_account() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let from = ip(50);
        for _ in 0..IP_FAILURE_LIMIT {
            // Spraying: a different account each time.
            let account = AccountKey::for_email(&format!("{}@example.com", unique_name("u")));
            assert_eq!(
                limits::login_allowed(a.as_ref(), &account, &from, NOW)
                    .await
                    .unwrap(),
                LoginGate::Open,
                "{name}"
            );
            limits::record_login_failure(b.as_ref(), &account, &from, NOW)
                .await
                .unwrap();
        }
        let fresh = AccountKey::for_email(&format!("{}@example.com", unique_name("u")));
        let gate = limits::login_allowed(a.as_ref(), &fresh, &from, NOW)
            .await
            .unwrap();
        let LoginGate::IpLimited {
            retry_after_seconds,
        } = gate
        else {
            panic!("{name}: {gate:?}");
        };
        assert!((1..=15 * 60).contains(&retry_after_seconds), "{name}");
        assert_eq!(
            limits::login_allowed(a.as_ref(), &fresh, &ip(99), NOW)
                .await
                .unwrap(),
            LoginGate::Open,
            "{name}: other addresses are not limited"
        );
    }
    redis_cleanup(&s.prefix).await;
}
