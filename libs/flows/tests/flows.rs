//! The one-time guarantees of codes and refresh tokens, on both key-value
//! stores, including replicas racing.

use std::sync::Arc;

use inkan_flows::code::{self, AuthorizationCode};
use inkan_flows::refresh::{self, Redeemed, RefreshToken};
use inkan_flows::revocation::is_family_revoked;
use inkan_flows::session::{self, Lifetimes, Session};
use inkan_kv::{KvStore, MemoryKv, RedisKv};
use inkan_testkit::{redis_cleanup, redis_url, unique_name};

/// A backend's name and two handles on the same data.
type Replicas = (&'static str, Arc<dyn KvStore>, Arc<dyn KvStore>);

struct Stores {
    stores: Vec<Replicas>,
    prefix: String,
}

/// Each backend twice: two handles model two replicas (shared state).
async fn stores() -> Stores {
    let prefix = format!("{}:", unique_name("flows"));
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

fn code_record(now: i64) -> AuthorizationCode {
    AuthorizationCode {
        client_id: "c".into(),
        redirect_uri: "https://rp.example.com/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        identity_id: "u".into(),
        auth_time: now,
        amr: vec!["pwd".into()],
        requested_at: now,
        session: "s".into(),
        expires_at: now + 60,
        epoch: 0,
        dpop_jkt: None,
    }
}

fn refresh_record(now: i64) -> RefreshToken {
    RefreshToken {
        family: unique_name("fam"),
        generation: 0,
        client_id: "c".into(),
        identity_id: "u".into(),
        scope: "openid offline_access".into(),
        auth_time: now,
        amr: vec!["pwd".into()],
        expires_at: now + 3600,
        epoch: 0,
        session: None,
        jkt: None,
    }
}

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn a_code_is_redeemed_once_even_when_replicas_race() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        for _ in 0..10 {
            let value = code::issue(a.as_ref(), &code_record(NOW)).await.unwrap();
            let (x, y) = tokio::join!(
                code::redeem(a.as_ref(), &value),
                code::redeem(b.as_ref(), &value)
            );
            let outcomes = [x.unwrap(), y.unwrap()];
            let wins = outcomes
                .iter()
                .filter(|r| matches!(r, code::Redemption::Redeemed(_)))
                .count();
            assert_eq!(wins, 1, "{name}");
            let replay = code::Redemption::Replayed {
                family: code::family_of(&value),
            };
            assert!(outcomes.contains(&replay), "{name}");
        }
        assert_eq!(
            code::redeem(a.as_ref(), "never-issued").await.unwrap(),
            code::Redemption::Unknown
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn a_refresh_token_is_redeemed_once_and_reuse_revokes_its_family() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let record = refresh_record(NOW);
        let token = refresh::issue(a.as_ref(), &record, NOW).await.unwrap();
        let (x, y) = tokio::join!(
            refresh::redeem(a.as_ref(), &token, NOW, 0, None),
            refresh::redeem(b.as_ref(), &token, NOW, 0, None)
        );
        let outcomes = [x.unwrap(), y.unwrap()];
        let fresh = outcomes
            .iter()
            .filter(|o| matches!(o, Redeemed::Fresh(_)))
            .count();
        let reused = outcomes
            .iter()
            .filter(|o| matches!(o, Redeemed::Reused { .. }))
            .count();
        assert_eq!(
            (fresh, reused),
            (1, 1),
            "{name}: exactly one wins, the other is a reuse"
        );
        assert!(
            is_family_revoked(a.as_ref(), &record.family).await.unwrap(),
            "{name}"
        );
        // Any token of the family is now refused, including a fresh successor.
        let successor = refresh::issue(
            a.as_ref(),
            &RefreshToken {
                generation: 1,
                ..record.clone()
            },
            NOW,
        )
        .await
        .unwrap();
        assert!(
            matches!(
                refresh::redeem(b.as_ref(), &successor, NOW, 0, None)
                    .await
                    .unwrap(),
                Redeemed::Invalid
            ),
            "{name}"
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn within_the_retry_window_the_first_response_is_returned_again() {
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let record = refresh_record(NOW);
        let token = refresh::issue(a.as_ref(), &record, NOW).await.unwrap();
        let Redeemed::Fresh(r) = refresh::redeem(a.as_ref(), &token, NOW, 10, None)
            .await
            .unwrap()
        else {
            panic!("{name}: first redemption is fresh")
        };
        let response = serde_json::json!({"access_token": "at", "refresh_token": "next"});
        refresh::complete(a.as_ref(), &token, &r, NOW, NOW, &response, 10)
            .await
            .unwrap();
        match refresh::redeem(b.as_ref(), &token, NOW + 5, 10, None)
            .await
            .unwrap()
        {
            Redeemed::Replay(again) => assert_eq!(again, response, "{name}"),
            other => panic!("{name}: expected a replay, got {other:?}"),
        }
        assert!(!is_family_revoked(a.as_ref(), &record.family).await.unwrap());
        // After the window, the same presentation is a reuse.
        assert!(matches!(
            refresh::redeem(b.as_ref(), &token, NOW + 11, 10, None)
                .await
                .unwrap(),
            Redeemed::Reused { .. }
        ));
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn expired_and_unknown_refresh_tokens_are_invalid() {
    let s = stores().await;
    for (_, a, _) in &s.stores {
        let token = refresh::issue(a.as_ref(), &refresh_record(NOW), NOW)
            .await
            .unwrap();
        assert!(matches!(
            refresh::redeem(a.as_ref(), &token, NOW + 3600, 0, None)
                .await
                .unwrap(),
            Redeemed::Invalid
        ));
        assert!(matches!(
            refresh::redeem(a.as_ref(), "nope", NOW, 0, None)
                .await
                .unwrap(),
            Redeemed::Invalid
        ));
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn an_identitys_sessions_are_listed_most_recent_first_and_end_one_by_one() {
    let s = stores().await;
    let lifetimes = Lifetimes {
        idle_seconds: 600,
        absolute_seconds: 3600,
    };
    for (_, a, b) in &s.stores {
        let user = unique_name("user");
        let mut laptop = Session::new(user.as_str(), NOW, vec!["pwd".into()]);
        laptop.device = Some("Laptop".into());
        let mut phone = Session::new(user.as_str(), NOW + 5, vec!["pwd".into()]);
        phone.device = Some("Phone".into());
        let other = Session::new(unique_name("other"), NOW, vec!["pwd".into()]);
        let laptop_sid = session::create(a.as_ref(), &laptop, lifetimes)
            .await
            .unwrap();
        let phone_sid = session::create(b.as_ref(), &phone, lifetimes)
            .await
            .unwrap();
        let other_sid = session::create(a.as_ref(), &other, lifetimes)
            .await
            .unwrap();
        session::load(a.as_ref(), &laptop_sid, NOW + 20, lifetimes)
            .await
            .unwrap();
        let listed = session::list(b.as_ref(), &user).await.unwrap();
        let devices: Vec<_> = listed
            .iter()
            .map(|(_, s)| s.device.clone().unwrap())
            .collect();
        assert_eq!(devices, ["Laptop", "Phone"], "most recently used first");
        // Another identity's session cannot be ended through this one.
        let other_handle = session::handle(&other_sid);
        assert!(!session::end_handle(b.as_ref(), &user, &other_handle)
            .await
            .unwrap());
        assert!(session::is_live(a.as_ref(), &other_handle).await.unwrap());
        // Ending one (on either replica) leaves the other.
        let phone_handle = session::handle(&phone_sid);
        assert!(session::end_handle(a.as_ref(), &user, &phone_handle)
            .await
            .unwrap());
        assert_eq!(
            session::load(b.as_ref(), &phone_sid, NOW + 30, lifetimes)
                .await
                .unwrap(),
            None
        );
        let listed = session::list(a.as_ref(), &user).await.unwrap();
        assert_eq!(listed.len(), 1);
        // A session ended by logout drops out of the list too.
        session::end(b.as_ref(), &laptop_sid).await.unwrap();
        assert!(session::list(a.as_ref(), &user).await.unwrap().is_empty());
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn an_identitys_refresh_families_are_listed_newest_first_and_revoked_one_by_one() {
    let s = stores().await;
    for (_, a, b) in &s.stores {
        let user = unique_name("user");
        let mut first = refresh_record(NOW);
        first.identity_id = user.clone();
        first.client_id = "shop".into();
        let mut second = refresh_record(NOW);
        second.identity_id = user.clone();
        second.client_id = "wiki".into();
        refresh::record_family(a.as_ref(), &first, NOW)
            .await
            .unwrap();
        refresh::record_family(b.as_ref(), &second, NOW + 5)
            .await
            .unwrap();
        let listed = refresh::families(a.as_ref(), &user).await.unwrap();
        let apps: Vec<_> = listed.iter().map(|f| f.client_id.as_str()).collect();
        assert_eq!(apps, ["wiki", "shop"], "newest first");
        // Another identity's family is not this one's to revoke.
        assert!(
            !refresh::revoke_for(b.as_ref(), "someone-else", &first.family)
                .await
                .unwrap()
        );
        assert!(refresh::revoke_for(b.as_ref(), &user, &first.family)
            .await
            .unwrap());
        assert!(is_family_revoked(a.as_ref(), &first.family).await.unwrap());
        let listed = refresh::families(a.as_ref(), &user).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].client_id, "wiki");
        assert!(!refresh::revoke_for(a.as_ref(), &user, &first.family)
            .await
            .unwrap());
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_and_on_logout() {
    let s = stores().await;
    let lifetimes = Lifetimes {
        idle_seconds: 600,
        absolute_seconds: 3600,
    };
    for (_, a, _) in &s.stores {
        let sess = Session::new("u", NOW, vec!["pwd".into()]);
        let sid = session::create(a.as_ref(), &sess, lifetimes).await.unwrap();
        assert_eq!(
            session::load(a.as_ref(), &sid, NOW + 10, lifetimes)
                .await
                .unwrap(),
            Some(Session {
                last_seen: NOW + 10,
                ..sess.clone()
            }),
            "a load is a use"
        );
        assert!(session::is_live(a.as_ref(), &session::handle(&sid))
            .await
            .unwrap());
        assert_eq!(
            session::load(a.as_ref(), &sid, NOW + 3600, lifetimes)
                .await
                .unwrap(),
            None
        );
        let sid = session::create(a.as_ref(), &sess, lifetimes).await.unwrap();
        session::end(a.as_ref(), &sid).await.unwrap();
        assert_eq!(
            session::load(a.as_ref(), &sid, NOW, lifetimes)
                .await
                .unwrap(),
            None
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn a_webauthn_ceremony_finishes_once_and_only_for_its_request_and_browser() {
    use inkan_flows::ceremony::{self, binding_hash, Ceremony, Purpose};
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let started = Ceremony {
            purpose: Purpose::Register {
                identity_id: "u".into(),
            },
            authz: "authz-1".into(),
            binding: binding_hash("browser-a"),
            state: serde_json::json!({"challenge": "x"}),
        };
        let id = ceremony::start(a.as_ref(), &started).await.unwrap();
        let (x, y) = tokio::join!(
            ceremony::take(a.as_ref(), &id),
            ceremony::take(b.as_ref(), &id)
        );
        let taken: Vec<_> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
        assert_eq!(
            taken,
            vec![started.clone()],
            "{name}: exactly one replica takes it"
        );
        assert!(taken[0].belongs_to("authz-1", Some("browser-a")));
        assert!(!taken[0].belongs_to("authz-2", Some("browser-a")));
        assert!(!taken[0].belongs_to("authz-1", Some("browser-b")));
        assert!(!taken[0].belongs_to("authz-1", None));
        assert_eq!(ceremony::take(a.as_ref(), "").await.unwrap(), None);
        assert_eq!(
            ceremony::take(a.as_ref(), &"x".repeat(65)).await.unwrap(),
            None
        );
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn a_passkey_counter_must_move_forward_unless_the_authenticator_never_counts() {
    use inkan_flows::passkey::{last_used, record_use};
    let s = stores().await;
    for (name, a, b) in &s.stores {
        let counting = unique_name("counting");
        assert!(
            record_use(a.as_ref(), &counting, 1, NOW).await.unwrap(),
            "{name}"
        );
        assert_eq!(last_used(b.as_ref(), &counting).await.unwrap(), Some(NOW));
        // A replayed or cloned counter, on any replica: refused, last use unchanged.
        assert!(!record_use(b.as_ref(), &counting, 1, NOW + 5).await.unwrap());
        assert!(!record_use(b.as_ref(), &counting, 0, NOW + 5).await.unwrap());
        assert_eq!(last_used(a.as_ref(), &counting).await.unwrap(), Some(NOW));
        assert!(record_use(b.as_ref(), &counting, 7, NOW + 9).await.unwrap());
        // Two replicas racing with one counter value: one wins.
        let (x, y) = tokio::join!(
            record_use(a.as_ref(), &counting, 8, NOW + 10),
            record_use(b.as_ref(), &counting, 8, NOW + 10)
        );
        assert_eq!([x.unwrap(), y.unwrap()].iter().filter(|w| **w).count(), 1);

        let synced = unique_name("synced");
        for t in 0..3 {
            assert!(record_use(a.as_ref(), &synced, 0, NOW + t).await.unwrap());
        }
        assert_eq!(last_used(a.as_ref(), &synced).await.unwrap(), Some(NOW + 2));
        assert_eq!(last_used(a.as_ref(), "never-used").await.unwrap(), None);
    }
    redis_cleanup(&s.prefix).await;
}

#[tokio::test]
async fn a_bound_refresh_token_is_left_unredeemed_for_another_key() {
    let s = stores().await;
    for (name, a, _) in &s.stores {
        let mut record = refresh_record(NOW);
        record.jkt = Some("key-1".into());
        let token = refresh::issue(a.as_ref(), &record, NOW).await.unwrap();
        for other in [None, Some("key-2")] {
            assert!(
                matches!(
                    refresh::redeem(a.as_ref(), &token, NOW, 0, other)
                        .await
                        .unwrap(),
                    Redeemed::WrongKey
                ),
                "{name}"
            );
        }
        assert!(
            matches!(
                refresh::redeem(a.as_ref(), &token, NOW, 0, Some("key-1"))
                    .await
                    .unwrap(),
                Redeemed::Fresh(_)
            ),
            "{name}"
        );
    }
    redis_cleanup(&s.prefix).await;
}
