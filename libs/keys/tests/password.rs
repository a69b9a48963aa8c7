//! argon2id password hashing.

use inkan_keys::{PasswordHasher, PasswordParams};

fn fast() -> PasswordHasher {
    PasswordHasher::new(PasswordParams::fast_for_tests())
}

#[test]
fn the_default_parameters_are_the_owasp_argon2id_baseline() {
    assert_eq!(
        PasswordParams::default(),
        PasswordParams {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1
        }
    );
}

#[test]
fn a_hashed_password_verifies() {
    let hasher = fast();
    let phc = hasher.hash("correct horse battery staple").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$"));
    assert!(hasher.verify("correct horse battery staple", &phc));
}

#[test]
fn a_wrong_password_is_rejected() {
    let hasher = fast();
    let phc = hasher.hash("correct horse battery staple").unwrap();
    assert!(!hasher.verify("Correct horse battery staple", &phc));
    assert!(!hasher.verify("", &phc));
}

#[test]
fn each_hash_uses_a_fresh_salt() {
    let hasher = fast();
    assert_ne!(hasher.hash("pw").unwrap(), hasher.hash("pw").unwrap());
}

#[test]
fn the_default_parameters_hash_and_verify() {
    let hasher = PasswordHasher::new(PasswordParams::default());
    let phc = hasher.hash("pw").unwrap();
    assert!(phc.contains("m=19456,t=2,p=1"));
    assert!(hasher.verify("pw", &phc));
}

#[test]
fn a_malformed_phc_string_is_false_and_never_panics() {
    let hasher = fast();
    let good = hasher.hash("pw").unwrap();
    let huge_p = good.replace("p=1", "p=4294967295");
    let huge_m = good.replace("m=8", "m=4294967295");
    for bad in [
        "",
        "not a hash",
        "$argon2id$",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHQ$aGFzaA",
        "$2b$12$abcdefghijklmnopqrstuv",
        &good[..good.len() - 5],
        huge_p.as_str(),
        huge_m.as_str(),
    ] {
        assert!(!hasher.verify("pw", bad), "{bad:?}");
    }
}

#[test]
fn needs_rehash_is_true_when_parameters_are_raised() {
    let old = fast();
    let phc = old.hash("pw").unwrap();
    assert!(!old.needs_rehash(&phc));

    let raised = PasswordHasher::new(PasswordParams {
        iterations: 2,
        ..PasswordParams::fast_for_tests()
    });
    assert!(raised.needs_rehash(&phc));
    // ...and the old hash still verifies under the new hasher.
    assert!(raised.verify("pw", &phc));

    let more_memory = PasswordHasher::new(PasswordParams {
        memory_kib: 64,
        ..PasswordParams::fast_for_tests()
    });
    assert!(more_memory.needs_rehash(&phc));
}

#[test]
fn needs_rehash_is_false_when_parameters_are_lowered() {
    let strong = PasswordHasher::new(PasswordParams {
        memory_kib: 64,
        iterations: 2,
        parallelism: 1,
    });
    let phc = strong.hash("pw").unwrap();
    assert!(!fast().needs_rehash(&phc));
}

#[test]
fn needs_rehash_is_true_for_other_argon2_variants_and_garbage() {
    let hasher = fast();
    let phc = hasher
        .hash("pw")
        .unwrap()
        .replacen("argon2id", "argon2i", 1);
    assert!(hasher.needs_rehash(&phc));
    assert!(hasher.needs_rehash("garbage"));
}

#[test]
fn dummy_verification_always_returns_false() {
    let hasher = fast();
    assert!(!hasher.verify_dummy("pw"));
    assert!(!hasher.verify_dummy(""));
}

#[test]
fn invalid_parameters_are_raised_to_the_minimum() {
    let hasher = PasswordHasher::new(PasswordParams {
        memory_kib: 0,
        iterations: 0,
        parallelism: 0,
    });
    assert_eq!(hasher.params(), PasswordParams::fast_for_tests());
    let phc = hasher.hash("pw").unwrap();
    assert!(hasher.verify("pw", &phc));

    let four_lanes = PasswordHasher::new(PasswordParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 4,
    });
    assert_eq!(four_lanes.params().memory_kib, 32);
}
