//! The crate's single error type.
//!
//! Messages are written for operators and logs: they never contain key
//! material, secrets, passwords or the raw configuration value that failed to
//! parse. Token-verification failures are split into distinct variants so
//! callers can map them to the right OAuth error (e.g. `invalid_grant` for an
//! expired assertion versus `invalid_client` for an unknown key) without
//! parsing strings.

/// Every failure `inkan-keys` can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The configured key-encryption key is not base64 of exactly 32 bytes.
    /// The message never echoes the configured value.
    #[error("invalid key-encryption key: {0}")]
    InvalidKek(&'static str),

    /// Authenticated decryption failed: wrong KEK, wrong associated data, or a
    /// truncated/corrupted blob. Deliberately undifferentiated.
    #[error("decryption failed (wrong key, wrong associated data or corrupted data)")]
    Decrypt,

    /// Key material could not be parsed or is unacceptable (wrong type, too
    /// small, kid mismatch, ...).
    #[error("invalid key: {0}")]
    InvalidKey(String),

    /// The underlying library failed to generate a key pair.
    #[error("key generation failed")]
    Generate,

    /// A JWS could not be produced.
    #[error("signing failed: {0}")]
    Sign(String),

    /// Password hashing failed (only possible with unusable parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),

    /// An algorithm name that is not one of `RS256`, `ES256`, `EdDSA`.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),

    /// The token is not a well-formed compact JWS/JWT (bad base64, bad JSON,
    /// `alg: none`, unknown `alg`, unsupported `crit` header, ...).
    #[error("malformed token: {0}")]
    MalformedToken(String),

    /// No key in the key set matches the token's `kid` (or the token has no
    /// `kid` and the key set does not hold exactly one usable key).
    #[error("no usable verification key matches the token")]
    UnknownKey,

    /// The token's `alg` header differs from the algorithm bound to the
    /// matching key (algorithm-confusion attempt or misconfigured signer).
    #[error("token algorithm {token} is not allowed for the key (expects {key})")]
    AlgorithmMismatch {
        /// The `alg` claimed by the token header.
        token: String,
        /// The algorithm of the matching key.
        key: String,
    },

    /// The signature does not verify under the matching key.
    #[error("invalid token signature")]
    InvalidSignature,

    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,

    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,

    /// `iss` is missing or differs from the expected issuer.
    #[error("token issuer mismatch")]
    Issuer,

    /// `aud` is missing or does not contain the expected audience.
    #[error("token audience mismatch")]
    Audience,

    /// The `typ` header differs from the expected token type.
    #[error("unexpected token type")]
    Type,

    /// Any other claim problem (missing required claim, claim of the wrong
    /// JSON type, ...).
    #[error("invalid token: {0}")]
    InvalidToken(String),
}
