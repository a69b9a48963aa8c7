//! One contract for [`KvStore`], run against both implementations.
//!
//! Each contract is a plain async fn over `Arc<dyn KvStore>`; the
//! `contract!` macro turns it into one test per backend. Every Redis test uses
//! its own key prefix (removed afterwards, even if the test fails), so tests
//! run in parallel against the shared local Redis.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use inkan_kv::{KvError, KvStore, MemoryKv, RedisKv};
use inkan_testkit::{redis_cleanup, redis_url, unique_name, wait_for};

type Kv = Arc<dyn KvStore>;

/// Generous bound for a short TTL to be observed as expired.
const EXPIRY_WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- fixtures

fn memory_store() -> Kv {
    Arc::new(MemoryKv::new())
}

/// Deletes a Redis test prefix when dropped, so failing tests clean up too.
struct RedisPrefix(String);

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let prefix = self.0.clone();
        // Drop runs inside the test's runtime: clean up on a fresh thread with its own runtime.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime")
                .block_on(redis_cleanup(&prefix));
        })
        .join();
    }
}

async fn redis_connect(prefix: &str) -> Kv {
    let kv = RedisKv::connect(&redis_url(), &format!("{prefix}:"))
        .await
        .expect("connect");
    kv.ping()
        .await
        .expect("tests need Redis at 127.0.0.1:6379 (see .ci/run)");
    Arc::new(kv)
}

/// `n` separately connected Redis stores sharing one fresh prefix, as `n`
/// replicas of a service would be.
async fn redis_replicas(n: usize) -> (Vec<Kv>, RedisPrefix) {
    let prefix = unique_name("kv");
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(redis_connect(&prefix).await);
    }
    (stores, RedisPrefix(prefix))
}

async fn redis_store() -> (Kv, RedisPrefix) {
    let (mut stores, guard) = redis_replicas(1).await;
    (stores.remove(0), guard)
}

/// One test per backend for a contract fn taking a single store.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$name(super::memory_store()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn redis() {
                let (kv, _cleanup) = super::redis_store().await;
                super::$name(kv).await;
            }
        }
    };
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, KvError>) {
    assert!(
        matches!(result, Err(KvError::Invalid(_))),
        "expected Invalid, got {result:?}"
    );
}

async fn members(kv: &Kv, key: &str) -> BTreeSet<String> {
    kv.set_members(key).await.unwrap().into_iter().collect()
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- contracts

contract!(put_then_get_returns_value_and_get_does_not_consume);
async fn put_then_get_returns_value_and_get_does_not_consume(kv: Kv) {
    let ttl = Duration::from_secs(60);
    assert_eq!(kv.get("a").await.unwrap(), None);
    kv.put("a", b"one", ttl).await.unwrap();
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));

    // put replaces the value and its TTL.
    kv.put("a", b"two", Duration::from_secs(600)).await.unwrap();
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"two"[..]));
    let left = kv.ttl("a").await.unwrap().expect("ttl of a live key");
    assert!(left > ttl && left <= Duration::from_secs(600), "{left:?}");

    // Empty values are values, not absence.
    kv.put("empty", b"", ttl).await.unwrap();
    assert_eq!(kv.get("empty").await.unwrap(), Some(Vec::new()));
    assert_eq!(kv.ttl("missing").await.unwrap(), None);
}

contract!(take_returns_value_once_then_none);
async fn take_returns_value_once_then_none(kv: Kv) {
    kv.put("code", b"secret", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        kv.take("code").await.unwrap().as_deref(),
        Some(&b"secret"[..])
    );
    assert_eq!(kv.take("code").await.unwrap(), None);
    assert_eq!(kv.get("code").await.unwrap(), None);
    assert_eq!(kv.take("never-written").await.unwrap(), None);
}

/// 16 tasks race to take the same key, 20 rounds, spread over `stores`
/// (replicas sharing one namespace): exactly one wins each round.
async fn concurrent_takes_of_one_key_yield_exactly_one_value(stores: Vec<Kv>) {
    const TASKS: usize = 16;
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        let key = format!("race{round}");
        stores[0]
            .put(
                &key,
                format!("v{round}").as_bytes(),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let kv = stores[i % stores.len()].clone();
                let barrier = barrier.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    kv.take(&key).await.unwrap()
                })
            })
            .collect();
        let results = futures::future::join_all(tasks).await;
        let winners: Vec<Vec<u8>> = results
            .into_iter()
            .filter_map(|r| r.expect("task"))
            .collect();
        assert_eq!(
            winners,
            vec![format!("v{round}").into_bytes()],
            "round {round}"
        );
    }
}

mod concurrent_takes_of_one_key_yield_exactly_one_value {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory() {
        // Clones share state, like handlers of one process.
        let kv = super::memory_store();
        super::concurrent_takes_of_one_key_yield_exactly_one_value(vec![kv.clone(), kv]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis() {
        let (kv, _cleanup) = super::redis_store().await;
        super::concurrent_takes_of_one_key_yield_exactly_one_value(vec![kv]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_across_two_replicas() {
        let (stores, _cleanup) = super::redis_replicas(2).await;
        super::concurrent_takes_of_one_key_yield_exactly_one_value(stores).await;
    }
}

contract!(put_if_absent_does_not_overwrite);
async fn put_if_absent_does_not_overwrite(kv: Kv) {
    let ttl = Duration::from_secs(60);
    assert!(kv.put_if_absent("k", b"first", ttl).await.unwrap());
    assert!(!kv.put_if_absent("k", b"second", ttl).await.unwrap());
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"first"[..]));
    kv.take("k").await.unwrap();
    assert!(kv.put_if_absent("k", b"third", ttl).await.unwrap());
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"third"[..]));

    // A set occupies its key too.
    kv.set_add("s", "m", ttl).await.unwrap();
    assert!(!kv.put_if_absent("s", b"x", ttl).await.unwrap());
    assert_eq!(members(&kv, "s").await, set_of(&["m"]));
}

contract!(values_expire_after_their_ttl);
async fn values_expire_after_their_ttl(kv: Kv) {
    let short = Duration::from_millis(200);
    let long = Duration::from_secs(60);
    kv.put("value", b"v", short).await.unwrap();
    assert!(kv.put_if_absent("nx", b"v", short).await.unwrap());
    kv.set_add("set", "m", short).await.unwrap();
    kv.incr("counter", short).await.unwrap();
    kv.put("keeper", b"k", long).await.unwrap();

    let expired = wait_for(EXPIRY_WAIT, || {
        let kv = kv.clone();
        async move {
            let gone = kv.get("value").await.unwrap().is_none()
                && kv.get("nx").await.unwrap().is_none()
                && kv.set_members("set").await.unwrap().is_empty()
                && kv.get("counter").await.unwrap().is_none();
            gone.then_some(())
        }
    })
    .await;
    assert!(expired.is_some(), "short-TTL keys did not expire");

    // Expired keys are gone for every operation...
    assert_eq!(kv.take("value").await.unwrap(), None);
    assert_eq!(kv.ttl("value").await.unwrap(), None);
    assert!(!kv.delete("set").await.unwrap());
    assert!(!kv.set_remove("set", "m").await.unwrap());
    // ...and can be written afresh.
    assert!(kv.put_if_absent("nx", b"again", long).await.unwrap());
    assert_eq!(kv.incr("counter", long).await.unwrap(), 1);
    // A long-TTL neighbour is untouched.
    assert_eq!(kv.get("keeper").await.unwrap().as_deref(), Some(&b"k"[..]));
}

contract!(delete_removes_values_and_sets);
async fn delete_removes_values_and_sets(kv: Kv) {
    let ttl = Duration::from_secs(60);
    kv.put("v", b"x", ttl).await.unwrap();
    kv.set_add("s", "a", ttl).await.unwrap();
    kv.incr("c", ttl).await.unwrap();

    assert!(kv.delete("v").await.unwrap());
    assert!(kv.delete("s").await.unwrap());
    assert!(kv.delete("c").await.unwrap());
    assert_eq!(kv.get("v").await.unwrap(), None);
    assert!(kv.set_members("s").await.unwrap().is_empty());
    assert_eq!(kv.incr("c", ttl).await.unwrap(), 1);

    assert!(!kv.delete("v").await.unwrap());
    assert!(!kv.delete("never-written").await.unwrap());
}

contract!(set_add_members_remove_round_trip);
async fn set_add_members_remove_round_trip(kv: Kv) {
    let ttl = Duration::from_secs(60);
    assert!(kv.set_members("s").await.unwrap().is_empty());
    kv.set_add("s", "a", ttl).await.unwrap();
    kv.set_add("s", "b", ttl).await.unwrap();
    kv.set_add("s", "a", ttl).await.unwrap();
    assert_eq!(members(&kv, "s").await, set_of(&["a", "b"]));

    assert!(kv.set_remove("s", "a").await.unwrap());
    assert!(!kv.set_remove("s", "a").await.unwrap());
    assert!(!kv.set_remove("never-written", "a").await.unwrap());
    assert_eq!(members(&kv, "s").await, set_of(&["b"]));

    // Removing the last member removes the key.
    assert!(kv.set_remove("s", "b").await.unwrap());
    assert_eq!(kv.ttl("s").await.unwrap(), None);
    assert!(!kv.delete("s").await.unwrap());

    // Each add (re)sets the set's TTL.
    kv.set_add("t", "a", Duration::from_secs(5)).await.unwrap();
    let first = kv.ttl("t").await.unwrap().expect("ttl");
    assert!(first <= Duration::from_secs(5), "{first:?}");
    kv.set_add("t", "b", Duration::from_secs(600))
        .await
        .unwrap();
    let second = kv.ttl("t").await.unwrap().expect("ttl");
    assert!(second > Duration::from_secs(60), "{second:?}");
    kv.set_add("t", "c", Duration::from_secs(5)).await.unwrap();
    let third = kv.ttl("t").await.unwrap().expect("ttl");
    assert!(third <= Duration::from_secs(5), "{third:?}");
    assert_eq!(members(&kv, "t").await, set_of(&["a", "b", "c"]));
}

contract!(get_many_reads_each_key_in_order);
async fn get_many_reads_each_key_in_order(kv: Kv) {
    let minute = Duration::from_secs(60);
    assert!(kv.get_many(&[]).await.unwrap().is_empty());
    kv.put("one", b"1", minute).await.unwrap();
    kv.put("three", b"3", minute).await.unwrap();
    assert_eq!(
        kv.get_many(&["one", "two", "three", "one"]).await.unwrap(),
        vec![
            Some(b"1".to_vec()),
            None,
            Some(b"3".to_vec()),
            Some(b"1".to_vec())
        ]
    );
}

contract!(incr_many_counts_each_key_in_one_call);
async fn incr_many_counts_each_key_in_one_call(kv: Kv) {
    let minute = Duration::from_secs(60);
    assert_eq!(kv.incr_many(&[], minute).await.unwrap(), Vec::<i64>::new());
    assert_eq!(kv.incr("b", minute).await.unwrap(), 1);
    assert_eq!(kv.incr_many(&["a", "b"], minute).await.unwrap(), vec![1, 2]);
    assert_eq!(
        kv.incr_many(&["a", "b", "a"], Duration::from_secs(3600))
            .await
            .unwrap(),
        vec![2, 3, 3]
    );
    // Each key keeps the TTL of its first increment.
    for key in ["a", "b"] {
        let left = kv.ttl(key).await.unwrap().expect("ttl");
        assert!(
            left <= minute && left > Duration::from_secs(30),
            "{key}: {left:?}"
        );
    }
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"3"[..]));
    // A key holding something that is not a counter fails the call.
    kv.put("text", b"not a number", minute).await.unwrap();
    assert!(kv.incr_many(&["c", "text"], minute).await.is_err());
}

contract!(incr_counts_and_keeps_first_ttl);
async fn incr_counts_and_keeps_first_ttl(kv: Kv) {
    let minute = Duration::from_secs(60);
    let hour = Duration::from_secs(3600);
    assert_eq!(kv.incr("hits", minute).await.unwrap(), 1);
    assert_eq!(kv.incr("hits", hour).await.unwrap(), 2);
    assert_eq!(kv.incr("hits", hour).await.unwrap(), 3);
    let left = kv.ttl("hits").await.unwrap().expect("ttl");
    assert!(left <= minute && left > Duration::from_secs(30), "{left:?}");
    // Counters are readable values (decimal text).
    assert_eq!(kv.get("hits").await.unwrap().as_deref(), Some(&b"3"[..]));

    // The first TTL wins even when later calls ask for longer: the window ends.
    let short = Duration::from_millis(300);
    assert_eq!(kv.incr("window", short).await.unwrap(), 1);
    assert_eq!(kv.incr("window", hour).await.unwrap(), 2);
    let reset = wait_for(EXPIRY_WAIT, || {
        let kv = kv.clone();
        async move { kv.get("window").await.unwrap().is_none().then_some(()) }
    })
    .await;
    assert!(reset.is_some(), "counter kept a later, longer TTL");
    assert_eq!(kv.incr("window", hour).await.unwrap(), 1);

    // incr continues a counter written with put, keeping put's TTL.
    kv.put("n", b"41", minute).await.unwrap();
    assert_eq!(kv.incr("n", hour).await.unwrap(), 42);
    assert!(kv.ttl("n").await.unwrap().expect("ttl") <= minute);
}

contract!(zero_ttl_is_rejected);
async fn zero_ttl_is_rejected(kv: Kv) {
    let zero = Duration::ZERO;
    assert_invalid(kv.put("k", b"v", zero).await);
    assert_invalid(kv.put_if_absent("k", b"v", zero).await);
    assert_invalid(kv.set_add("s", "m", zero).await);
    assert_invalid(kv.incr("c", zero).await);
    // Nothing was written.
    assert_eq!(kv.get("k").await.unwrap(), None);
    assert!(kv.set_members("s").await.unwrap().is_empty());
    assert_eq!(kv.get("c").await.unwrap(), None);

    // A rejected write leaves an existing value and its TTL alone.
    kv.put("k", b"v", Duration::from_secs(60)).await.unwrap();
    assert_invalid(kv.put("k", b"w", zero).await);
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));

    // Absurdly long TTLs are rejected too; sub-millisecond ones round up.
    assert_invalid(kv.put("k", b"v", inkan_kv::MAX_TTL * 2).await);
    kv.put("tiny", b"v", Duration::from_micros(10))
        .await
        .unwrap();
}

contract!(binary_values_round_trip);
async fn binary_values_round_trip(kv: Kv) {
    let mut value: Vec<u8> = (0..=255u8).collect();
    value.extend_from_slice(&[0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);
    assert!(std::str::from_utf8(&value).is_err());
    let ttl = Duration::from_secs(60);

    kv.put("bin", &value, ttl).await.unwrap();
    assert_eq!(kv.get("bin").await.unwrap(), Some(value.clone()));
    assert_eq!(kv.take("bin").await.unwrap(), Some(value.clone()));
    assert!(kv.put_if_absent("bin", &value, ttl).await.unwrap());
    assert_eq!(kv.get("bin").await.unwrap(), Some(value));
}

contract!(operations_on_the_wrong_kind_of_value_are_invalid);
async fn operations_on_the_wrong_kind_of_value_are_invalid(kv: Kv) {
    let ttl = Duration::from_secs(60);
    kv.put("v", b"not a number", Duration::from_secs(5))
        .await
        .unwrap();
    kv.set_add("s", "m", ttl).await.unwrap();

    assert_invalid(kv.set_add("v", "m", ttl).await);
    assert_invalid(kv.set_members("v").await);
    assert_invalid(kv.set_remove("v", "m").await);
    assert_invalid(kv.incr("v", ttl).await);
    assert_invalid(kv.get("s").await);
    assert_invalid(kv.take("s").await);
    assert_invalid(kv.incr("s", ttl).await);

    // The failed calls changed nothing, not even the TTL.
    assert_eq!(
        kv.get("v").await.unwrap().as_deref(),
        Some(&b"not a number"[..])
    );
    assert!(kv.ttl("v").await.unwrap().expect("ttl") <= Duration::from_secs(5));
    assert_eq!(members(&kv, "s").await, set_of(&["m"]));

    // put replaces whatever kind was there.
    kv.put("s", b"now a value", ttl).await.unwrap();
    assert_eq!(
        kv.get("s").await.unwrap().as_deref(),
        Some(&b"now a value"[..])
    );

    // Counter overflow is invalid, and leaves the counter as it was.
    kv.put("max", i64::MAX.to_string().as_bytes(), ttl)
        .await
        .unwrap();
    assert_invalid(kv.incr("max", ttl).await);
    assert_eq!(
        kv.get("max").await.unwrap(),
        Some(i64::MAX.to_string().into_bytes())
    );
}

contract!(ping_succeeds_when_reachable);
async fn ping_succeeds_when_reachable(kv: Kv) {
    kv.ping().await.unwrap();
}

// ---------------------------------------------------------------- Redis only

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_are_isolated_by_prefix() {
    let (a, _cleanup_a) = redis_store().await;
    let (b, _cleanup_b) = redis_store().await;
    let ttl = Duration::from_secs(60);

    a.put("shared", b"from a", ttl).await.unwrap();
    assert_eq!(b.get("shared").await.unwrap(), None);
    assert_eq!(b.take("shared").await.unwrap(), None);
    assert!(b.put_if_absent("shared", b"from b", ttl).await.unwrap());
    a.set_add("set", "a", ttl).await.unwrap();
    assert!(b.set_members("set").await.unwrap().is_empty());
    assert_eq!(a.incr("n", ttl).await.unwrap(), 1);
    assert_eq!(b.incr("n", ttl).await.unwrap(), 1);
    assert!(!b.delete("set").await.unwrap());

    assert_eq!(
        a.get("shared").await.unwrap().as_deref(),
        Some(&b"from a"[..])
    );
    assert_eq!(
        b.get("shared").await.unwrap().as_deref(),
        Some(&b"from b"[..])
    );
    assert_eq!(members(&a, "set").await, set_of(&["a"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_redis_reports_unavailable_not_panic() {
    let bound = Duration::from_secs(6);
    let connected = tokio::time::timeout(bound, RedisKv::connect("redis://127.0.0.1:1", "kv:"))
        .await
        .expect("connect must not hang");
    let kv = match connected {
        Ok(kv) => kv,
        Err(KvError::Unavailable(_)) => return,
        Err(other) => panic!("expected Ok or Unavailable, got {other:?}"),
    };

    let ttl = Duration::from_secs(60);
    let unavailable = |r: Result<(), KvError>| {
        assert!(
            matches!(r, Err(KvError::Unavailable(_))),
            "expected Unavailable, got {r:?}"
        );
    };
    let started = tokio::time::Instant::now();
    unavailable(kv.ping().await);
    unavailable(kv.get("k").await.map(drop));
    unavailable(kv.take("k").await.map(drop));
    unavailable(kv.put("k", b"secret-value", ttl).await);
    // After the reconnect backoff a fresh connection attempt is made; it fails too.
    tokio::time::sleep(inkan_kv::redis::RECONNECT_BACKOFF).await;
    let err = kv.put("k", b"secret-value", ttl).await.unwrap_err();
    assert!(matches!(err, KvError::Unavailable(_)), "{err:?}");
    assert!(
        !err.to_string().contains("secret-value"),
        "error leaks data: {err}"
    );
    unavailable(kv.incr("c", ttl).await.map(drop));
    assert!(
        started.elapsed() < bound + inkan_kv::redis::RECONNECT_BACKOFF,
        "calls took {:?}",
        started.elapsed()
    );
    // Invalid requests are still reported as such without reaching Redis.
    assert_invalid(kv.put("k", b"v", Duration::ZERO).await);
}

#[tokio::test]
async fn connect_rejects_a_malformed_url_without_echoing_it() {
    let err = RedisKv::connect("not a url :pw@", "kv:").await.unwrap_err();
    assert!(matches!(err, KvError::Invalid(_)), "{err:?}");
    assert!(!err.to_string().contains("pw"), "{err}");
}

/// A TCP forwarder to the test Redis that can be cut and restored, to
/// simulate Redis going away and coming back under a running store.
struct FlakyProxy {
    accept: tokio::task::JoinHandle<()>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl FlakyProxy {
    async fn start(port: u16) -> FlakyProxy {
        let upstream = redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind proxy port");
        let conns = Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let conns = conns.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let upstream = upstream.clone();
                    let conn = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    conns.lock().unwrap().push(conn);
                }
            }
        });
        FlakyProxy { accept, conns }
    }

    /// Stops listening and drops every forwarded connection.
    async fn cut(self) {
        self.accept.abort();
        let _ = self.accept.await;
        let conns: Vec<_> = self.conns.lock().unwrap().drain(..).collect();
        for conn in conns {
            conn.abort();
            let _ = conn.await;
        }
    }
}

async fn pings_ok(kv: &RedisKv) -> Option<()> {
    kv.ping().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_down_at_start_or_later_recovers_once_it_is_back() {
    let prefix = unique_name("kv");
    let _cleanup = RedisPrefix(prefix.clone());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let ttl = Duration::from_secs(60);

    // Down at start: connect still succeeds, calls report Unavailable.
    let kv = RedisKv::connect(&format!("redis://127.0.0.1:{port}"), &format!("{prefix}:"))
        .await
        .expect("connect succeeds while Redis is down");
    assert!(matches!(kv.ping().await, Err(KvError::Unavailable(_))));

    // Redis appears: the store connects lazily.
    let proxy = FlakyProxy::start(port).await;
    let up = wait_for(Duration::from_secs(10), || pings_ok(&kv)).await;
    assert!(up.is_some(), "store did not connect once Redis was up");
    kv.put("kept", b"v", ttl).await.unwrap();

    // Redis goes away under a connected store: calls fail fast, no hang.
    proxy.cut().await;
    let down = wait_for(Duration::from_secs(10), || {
        let kv = kv.clone();
        async move {
            let started = tokio::time::Instant::now();
            let result = kv.get("kept").await;
            assert!(started.elapsed() < Duration::from_secs(6), "call hung");
            matches!(result, Err(KvError::Unavailable(_))).then_some(())
        }
    })
    .await;
    assert!(down.is_some(), "calls kept succeeding with Redis gone");

    // And it comes back: the manager reconnects by itself.
    let proxy = FlakyProxy::start(port).await;
    let back = wait_for(Duration::from_secs(10), || pings_ok(&kv)).await;
    assert!(back.is_some(), "store did not reconnect");
    assert_eq!(kv.get("kept").await.unwrap().as_deref(), Some(&b"v"[..]));
    proxy.cut().await;
}

contract!(advance_stores_only_a_larger_counter);
async fn advance_stores_only_a_larger_counter(kv: Kv) {
    let minute = Duration::from_secs(60);
    assert!(kv.advance("count", 5, minute).await.unwrap());
    assert_eq!(kv.get("count").await.unwrap().as_deref(), Some(&b"5"[..]));
    // Equal or smaller: refused, the stored value and its TTL unchanged.
    assert!(!kv
        .advance("count", 5, Duration::from_secs(3600))
        .await
        .unwrap());
    assert!(!kv.advance("count", -1, minute).await.unwrap());
    let left = kv.ttl("count").await.unwrap().expect("ttl");
    assert!(left <= minute, "{left:?}");
    // Larger: stored with the new TTL.
    assert!(kv
        .advance("count", 6, Duration::from_secs(3600))
        .await
        .unwrap());
    assert_eq!(kv.get("count").await.unwrap().as_deref(), Some(&b"6"[..]));
    let left = kv.ttl("count").await.unwrap().expect("ttl");
    assert!(left > minute, "{left:?}");
    // Zero counts as a value (an authenticator's first use).
    assert!(kv.advance("zero", 0, minute).await.unwrap());
    assert!(!kv.advance("zero", 0, minute).await.unwrap());
    // Not a counter, or a set: invalid, never overwritten.
    kv.put("text", b"abc", minute).await.unwrap();
    assert_invalid(kv.advance("text", 9, minute).await);
    assert_eq!(kv.get("text").await.unwrap().as_deref(), Some(&b"abc"[..]));
    kv.set_add("set", "m", minute).await.unwrap();
    assert_invalid(kv.advance("set", 9, minute).await);
    assert_invalid(kv.advance("count", 9, Duration::ZERO).await);
}

/// 16 tasks spread over `stores` race to advance one counter to the same
/// value, 20 rounds: exactly one wins each round (a replayed TOTP step or
/// signature counter is accepted once, whichever replica sees it first).
async fn concurrent_advances_to_one_value_have_one_winner(stores: Vec<Kv>) {
    const TASKS: usize = 16;
    const ROUNDS: i64 = 20;
    for round in 0..ROUNDS {
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let kv = stores[i % stores.len()].clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    kv.advance("step", round, Duration::from_secs(60))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let wins = futures::future::join_all(tasks)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().expect("task"))
            .count();
        assert_eq!(wins, 1, "round {round}");
    }
}

mod concurrent_advances_to_one_value_have_one_winner {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory() {
        let kv = super::memory_store();
        super::concurrent_advances_to_one_value_have_one_winner(vec![kv.clone(), kv]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn redis_across_two_replicas() {
        let (stores, _cleanup) = super::redis_replicas(2).await;
        super::concurrent_advances_to_one_value_have_one_winner(stores).await;
    }
}
