//! Client secrets, opaque tokens and lookup hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use inkan_keys::{generate_secret, generate_token, sha256_b64, Kek, SecretHasher};

fn hasher() -> SecretHasher {
    let (kek, _) = Kek::generate();
    SecretHasher::new(kek.derive("inkan/client-secret-pepper/v1"))
}

#[test]
fn a_generated_secret_is_256_random_bits_in_unpadded_base64url() {
    let secret = generate_secret();
    assert_eq!(secret.len(), 43);
    assert_eq!(URL_SAFE_NO_PAD.decode(&secret).unwrap().len(), 32);
    assert_ne!(secret, generate_secret());
}

#[test]
fn a_generated_token_has_the_requested_number_of_random_bytes() {
    for n in [16usize, 24, 32] {
        let token = generate_token(n);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), n);
        assert!(!token.contains('='));
    }
}

#[test]
fn a_hashed_secret_verifies() {
    let hasher = hasher();
    let secret = generate_secret();
    let stored = hasher.hash(&secret);
    assert!(stored.starts_with("hmac-sha256$"));
    assert!(hasher.verify(&secret, &stored));
}

#[test]
fn a_hashed_secret_rejects_any_other_secret() {
    let hasher = hasher();
    let stored = hasher.hash(&generate_secret());
    assert!(!hasher.verify(&generate_secret(), &stored));
    assert!(!hasher.verify("", &stored));
}

#[test]
fn hashes_differ_under_different_keys() {
    let a = SecretHasher::new([1; 32]);
    let b = SecretHasher::new([2; 32]);
    let secret = generate_secret();
    assert_ne!(a.hash(&secret), b.hash(&secret));
    assert!(!b.verify(&secret, &a.hash(&secret)));
}

#[test]
fn hashing_is_deterministic_under_one_key() {
    let hasher = SecretHasher::new([9; 32]);
    assert_eq!(hasher.hash("s"), hasher.hash("s"));
}

#[test]
fn malformed_stored_values_never_verify() {
    let hasher = hasher();
    let secret = generate_secret();
    let stored = hasher.hash(&secret);
    let tag = stored.trim_start_matches("hmac-sha256$");
    for bad in [
        "",
        tag,
        "hmac-sha256$",
        "hmac-sha256$***",
        &format!("bcrypt${tag}"),
        &stored[..stored.len() - 2],
    ] {
        assert!(!hasher.verify(&secret, bad), "{bad:?}");
    }
}

#[test]
fn sha256_b64_is_the_unpadded_base64url_sha256() {
    // SHA-256("abc") = ba7816bf...15ad
    assert_eq!(
        sha256_b64("abc"),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
}

#[test]
fn debug_output_of_the_hasher_hides_the_key() {
    assert_eq!(
        format!("{:?}", SecretHasher::new([3; 32])),
        "SecretHasher(<redacted>)"
    );
}
