//! Key-encryption key: parsing, AES-256-GCM sealing, HKDF derivation.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use inkan_keys::{Kek, KeyError};

#[test]
fn a_blob_encrypted_under_the_kek_decrypts_back_to_the_plaintext() {
    let (kek, _) = Kek::generate();
    let blob = kek.encrypt(b"private key bytes", b"kid-1");
    assert_eq!(kek.decrypt(&blob, b"kid-1").unwrap(), b"private key bytes");
}

#[test]
fn encrypting_twice_uses_a_fresh_nonce_each_time() {
    let (kek, _) = Kek::generate();
    let a = kek.encrypt(b"same", b"");
    let b = kek.encrypt(b"same", b"");
    assert_ne!(a, b);
    assert_eq!(a.len(), 12 + 4 + 16, "nonce || ciphertext || tag");
}

#[test]
fn the_generated_base64_parses_back_to_the_same_kek() {
    let (kek, encoded) = Kek::generate();
    let parsed = Kek::from_base64(&encoded).unwrap();
    let blob = kek.encrypt(b"hello", b"aad");
    assert_eq!(parsed.decrypt(&blob, b"aad").unwrap(), b"hello");
    assert_eq!(kek.derive("p"), parsed.derive("p"));
}

#[test]
fn url_safe_base64_without_padding_and_surrounding_whitespace_are_accepted() {
    let bytes = [0xfbu8; 32]; // encodes with '+' / '-' characters
    let standard = Kek::from_base64(&format!("  {}\n", STANDARD.encode(bytes))).unwrap();
    let url = Kek::from_base64(&URL_SAFE_NO_PAD.encode(bytes)).unwrap();
    assert_eq!(standard.derive("x"), url.derive("x"));
}

#[test]
fn decrypting_with_a_different_kek_fails() {
    let (kek, _) = Kek::generate();
    let (other, _) = Kek::generate();
    let blob = kek.encrypt(b"secret", b"aad");
    assert_eq!(other.decrypt(&blob, b"aad"), Err(KeyError::Decrypt));
}

#[test]
fn decrypting_with_different_associated_data_fails() {
    let (kek, _) = Kek::generate();
    let blob = kek.encrypt(b"secret", b"kid-1");
    assert_eq!(kek.decrypt(&blob, b"kid-2"), Err(KeyError::Decrypt));
}

#[test]
fn a_tampered_or_truncated_blob_fails_to_decrypt() {
    let (kek, _) = Kek::generate();
    let mut blob = kek.encrypt(b"secret", b"");
    let last = blob.len() - 1;
    blob[last] ^= 1;
    assert_eq!(kek.decrypt(&blob, b""), Err(KeyError::Decrypt));
    assert_eq!(kek.decrypt(&blob[..10], b""), Err(KeyError::Decrypt));
    assert_eq!(kek.decrypt(&[], b""), Err(KeyError::Decrypt));
}

#[test]
fn a_kek_that_is_not_base64_is_rejected_without_echoing_it() {
    let input = "not base64 at all!!";
    let err = Kek::from_base64(input).unwrap_err();
    assert!(matches!(err, KeyError::InvalidKek(_)));
    assert!(!err.to_string().contains(input));
}

#[test]
fn a_kek_of_the_wrong_length_is_rejected_without_echoing_it() {
    for len in [0usize, 16, 31, 33, 64] {
        let encoded = STANDARD.encode(vec![7u8; len]);
        let err = Kek::from_base64(&encoded).unwrap_err();
        assert!(matches!(err, KeyError::InvalidKek(_)), "length {len}");
        if !encoded.is_empty() {
            assert!(!err.to_string().contains(&encoded));
        }
    }
}

#[test]
fn debug_output_does_not_contain_key_material() {
    let (kek, encoded) = Kek::generate();
    let debug = format!("{kek:?}");
    assert!(!debug.contains(&encoded));
    assert_eq!(debug, "Kek(<redacted>)");
}

#[test]
fn derived_keys_are_deterministic_and_differ_per_purpose_and_per_kek() {
    let (kek, _) = Kek::generate();
    let (other, _) = Kek::generate();
    assert_eq!(kek.derive("pepper"), kek.derive("pepper"));
    assert_ne!(kek.derive("pepper"), kek.derive("other"));
    assert_ne!(kek.derive("pepper"), other.derive("pepper"));
}
