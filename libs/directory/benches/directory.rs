//! Micro-benchmarks of the per-request reads the token, authorize and
//! userinfo services make before any protocol work:
//! `cargo bench -p inkan-directory`.
//!
//! - `keyring/current_signer`: [`KeyRing::current`] (an `Arc` clone under a
//!   read lock) and [`KeySet::signer`], the key lookup before every mint;
//! - `cache/resolve_project_hit`, `cache/get_identity_hit`: a
//!   [`CachedDirectory`] hit (lock, lifetime check, clone of the record,
//!   hit counter and Prometheus metric), what `/userinfo` and the code and
//!   refresh grants pay per request once the cache is warm.
//!
//! [`KeySet::signer`]: inkan_directory::KeySet::signer

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use inkan_directory::cache::{CacheLifetimes, CachedDirectory};
use inkan_directory::{Directory, KeyRing};
use inkan_keys::signing::Algorithm;
use inkan_testkit::directory::{identity, project, FakeDirectory};

fn reads(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let fake = Arc::new(FakeDirectory::new());
    let ring: Arc<KeyRing> = rt.block_on(fake.keyring());
    c.bench_function("keyring/current_signer", |b| {
        b.iter(|| {
            let keys = ring.current();
            keys.signer(black_box(Algorithm::ES256)).cloned()
        })
    });

    let web = project("web", "web", &["https://shop.example.com/callback"]);
    let user = identity("ada@example.com");
    fake.add_project(web.clone(), None);
    fake.add_identity(user.clone(), None);
    // Without a bus subscription the cache uses its "disconnected" lifetime;
    // make it as long as the connected one so every lookup below is a hit.
    let lifetimes = CacheLifetimes {
        connected: Duration::from_secs(300),
        disconnected: Duration::from_secs(300),
    };
    let cache = CachedDirectory::new(fake.clone(), lifetimes);
    rt.block_on(async {
        assert!(cache.resolve_project("web").await.expect("read").is_some());
        assert!(cache.get_identity(&user.id).await.expect("read").is_some());
    });
    c.bench_function("cache/resolve_project_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { cache.resolve_project(black_box("web")).await })
    });
    c.bench_function("cache/get_identity_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { cache.get_identity(black_box(&user.id)).await })
    });
    assert_eq!(cache.health()["misses"].as_i64(), Some(2));
}

criterion_group!(benches, reads);
criterion_main!(benches);
