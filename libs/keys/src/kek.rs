//! The key-encryption key (KEK).
//!
//! Inkan never stores private signing keys in plaintext: they are sealed
//! under a single 256-bit KEK that comes from configuration (an environment
//! variable or secret file), so a database dump alone does not reveal them.
//! Other long-lived secrets that must survive restarts but need not be stored
//! — the client-secret pepper, for example — are *derived* from the KEK with
//! HKDF, so operators manage exactly one secret.
//!
//! Blob format produced by [`Kek::encrypt`]:
//! `nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)`.
//! The nonce is random; with 96-bit random nonces a single KEK stays within
//! NIST's collision bound for well over 2^32 encryptions, far beyond the
//! number of keys Inkan ever seals.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::KeyError;

/// Length of a KEK in bytes (AES-256).
pub const KEK_LEN: usize = 32;

/// AES-GCM authentication tag length.
const TAG_LEN: usize = 16;

/// HKDF salt. Fixed and public by design (RFC 5869 §3.1 allows a constant
/// salt); it domain-separates Inkan's derived keys from any other use of the
/// same bytes. Changing it changes every derived key, so never change it.
const HKDF_SALT: &[u8] = b"inkan/kek/hkdf/v1";

/// The key-encryption key loaded from configuration.
///
/// Cheap to clone (the key schedule is shared). `Debug` never prints key
/// bytes.
#[derive(Clone)]
pub struct Kek {
    inner: Arc<Inner>,
}

struct Inner {
    aead: LessSafeKey,
    prk: hkdf::Prk,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

/// `hkdf::Prk::expand` needs the output length as a `KeyType`.
struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl Kek {
    /// Parses the KEK from configuration: standard or URL-safe base64, with
    /// or without padding, surrounding whitespace ignored, decoding to
    /// exactly 32 bytes.
    ///
    /// Errors are [`KeyError::InvalidKek`] and never echo the input, because
    /// the input is a secret that may end up in logs otherwise.
    pub fn from_base64(s: &str) -> Result<Kek, KeyError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(KeyError::InvalidKek("value is empty"));
        }
        let decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(s).ok().map(Zeroizing::new))
            .ok_or(KeyError::InvalidKek("value is not valid base64"))?;
        if decoded.len() != KEK_LEN {
            return Err(KeyError::InvalidKek(
                "value must decode to exactly 32 bytes (256 bits)",
            ));
        }
        Self::from_bytes(&decoded)
    }

    /// Generates a fresh random KEK and returns it together with its
    /// standard-base64 encoding (what an operator puts into configuration).
    pub fn generate() -> (Kek, String) {
        let mut bytes = Zeroizing::new([0u8; KEK_LEN]);
        crate::fill_random(bytes.as_mut());
        let encoded = STANDARD.encode(bytes.as_ref());
        // Proven invariant: `bytes` is exactly KEK_LEN long, the only input
        // `from_bytes` rejects is a wrong length.
        let kek = Self::from_bytes(bytes.as_ref()).expect("a 32-byte key is always a valid KEK");
        (kek, encoded)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Kek, KeyError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| {
            KeyError::InvalidKek("value must decode to exactly 32 bytes (256 bits)")
        })?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(bytes);
        Ok(Kek {
            inner: Arc::new(Inner {
                aead: LessSafeKey::new(unbound),
                prk,
            }),
        })
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random nonce.
    ///
    /// `aad` is authenticated but not encrypted: bind the ciphertext to its
    /// context (e.g. the key id) so a blob cannot be swapped into another row.
    ///
    /// # Panics
    /// Only if `plaintext` exceeds AES-GCM's per-message limit (~64 GiB),
    /// which no caller can reach with in-memory key material.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::fill_random(&mut nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.inner
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            // Invariant: sealing only fails for messages above the GCM limit
            // of 2^36 - 32 bytes (see `# Panics`).
            .expect("AES-GCM plaintext within the per-message length limit");
        out.extend_from_slice(&body);
        out
    }

    /// Decrypts a blob produced by [`Kek::encrypt`] with the same `aad`.
    ///
    /// Any failure — wrong KEK, wrong `aad`, truncated or modified blob — is
    /// reported as the same [`KeyError::Decrypt`].
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Decrypt)?;
        let mut buf = ciphertext.to_vec();
        let plaintext = self
            .inner
            .aead
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| KeyError::Decrypt)?;
        Ok(plaintext.to_vec())
    }

    /// Derives a 256-bit key for `purpose` with HKDF-SHA256 (the KEK as
    /// input keying material, `purpose` as `info`).
    ///
    /// Different purposes give independent keys, and none of them reveals the
    /// KEK. Use stable, descriptive purpose strings such as
    /// `"inkan/client-secret-pepper/v1"`: changing the string changes the key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        let info = [purpose.as_bytes()];
        // Invariant: HKDF-Expand only fails when asked for more than
        // 255 * HashLen (8160) bytes; we always ask for 32.
        self.inner
            .prk
            .expand(&info, Len32)
            .and_then(|okm| okm.fill(&mut out))
            .expect("HKDF-SHA256 can always expand to 32 bytes");
        out
    }
}
