//! One-time-code second factors as the admin keeps them: the TOTP secret
//! sealed under the key-encryption key (AES-256-GCM, bound to the identity
//! so a sealed secret copied onto another identity does not open), and the
//! recovery codes as keyed hashes (HMAC under the KEK-derived pepper, bound
//! to the identity the same way).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use inkan_keys::kek::Kek;
use inkan_keys::secret::SecretHasher;
use inkan_otp::Secret;
use uuid::Uuid;

fn aad(identity: Uuid) -> Vec<u8> {
    format!("inkan/totp-secret/v1:{identity}").into_bytes()
}

/// `secret` sealed for `identity`, as the enrolment event stores it.
pub fn seal(kek: &Kek, identity: Uuid, secret: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(kek.encrypt(secret.as_bytes(), &aad(identity)))
}

/// The secret a [`seal`] holds; `None` if it does not open (another KEK,
/// another identity, a damaged value).
pub fn open(kek: &Kek, identity: Uuid, sealed: &str) -> Option<Secret> {
    let blob = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let bytes = zeroize::Zeroizing::new(kek.decrypt(&blob, &aad(identity)).ok()?);
    Secret::from_bytes(&bytes).ok()
}

/// The stored form of a recovery code (already normalised) of `identity`.
pub fn recovery_hash(hasher: &SecretHasher, identity: Uuid, code: &str) -> String {
    hasher.hash(&format!("inkan/recovery-code/v1:{identity}:{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_identity_and_kek() {
        let (kek, _) = Kek::generate();
        let (other_kek, _) = Kek::generate();
        let ada = Uuid::new_v4();
        let secret = Secret::generate();
        let sealed = seal(&kek, ada, &secret);
        assert_eq!(open(&kek, ada, &sealed), Some(secret));
        assert_eq!(open(&kek, Uuid::new_v4(), &sealed), None);
        assert_eq!(open(&other_kek, ada, &sealed), None);
        assert_eq!(open(&kek, ada, "not base64!"), None);
    }

    #[test]
    fn recovery_hashes_differ_per_identity() {
        let hasher = SecretHasher::new([7; 32]);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            recovery_hash(&hasher, a, "abcde-fghij"),
            recovery_hash(&hasher, a, "abcde-fghij")
        );
        assert_ne!(
            recovery_hash(&hasher, a, "abcde-fghij"),
            recovery_hash(&hasher, b, "abcde-fghij")
        );
    }
}
