//! `inkan-keys`: all the cryptography Inkan needs, CPU-only and free of I/O.
//!
//! Everything here is synchronous. Cheap operations (HMAC, AES-GCM, ECDSA
//! and Ed25519 signing) are fine to call from async code; argon2 password
//! hashing is deliberately slow and must go through
//! `tokio::task::spawn_blocking` (see [`password`]). RSA key *generation*
//! also takes tens of milliseconds and belongs there too.
//!
//! All primitives come from `aws-lc-rs` (AES-GCM, HKDF, HMAC, SHA-256,
//! RSA/ECDSA/Ed25519) except argon2 (the `argon2` crate) and JWT claim
//! validation (the `jsonwebtoken` crate, itself on `aws-lc-rs`).
//!
//! # Layout
//!
//! * [`error`] — [`KeyError`], the crate's general error type ([`dpop`] and
//!   [`assertion`] have their own, whose messages are OAuth error
//!   descriptions).
//! * [`kek`] — [`Kek`], the key-encryption key from configuration: AES-256-GCM
//!   sealing of stored secrets and HKDF derivation of other keys.
//! * [`secret`] — client-secret generation and HMAC-SHA256 hashing
//!   ([`SecretHasher`]), random opaque tokens, SHA-256 lookup hashes.
//! * [`password`] — argon2id password hashing ([`PasswordHasher`]).
//! * [`signing`] — JWS signing keys ([`SigningKey`]), compact JWT signing,
//!   JWK export and thumbprints, and JWT verification ([`Verifier`],
//!   [`verify_jwt`]).
//! * [`dpop`] — DPoP proof verification (RFC 9449) and stateless server
//!   nonces ([`dpop::NonceSource`]).
//! * [`assertion`] — `private_key_jwt` client assertions (RFC 7523, OpenID
//!   Connect Core §9).

pub mod assertion;
pub mod dpop;
pub mod error;
pub mod kek;
pub mod password;
pub mod secret;
pub mod signing;

pub use error::KeyError;
pub use kek::Kek;
pub use password::{PasswordHasher, PasswordParams};
pub use secret::{generate_secret, generate_token, sha256_b64, SecretHasher};
pub use signing::{jwk_thumbprint, verify_jwt, Algorithm, SigningKey, Verifier, VerifyOptions};

/// Fills `buf` from the thread-local CSPRNG (`rand::rng()`: ChaCha12 seeded
/// and periodically reseeded from the operating system).
pub(crate) fn fill_random(buf: &mut [u8]) {
    use rand::RngCore as _;
    rand::rng().fill_bytes(buf);
}
