//! Proof Key for Code Exchange (RFC 7636), S256 only.
//!
//! The `plain` method is refused: it protects nothing once the authorization
//! request leaks, and RFC 9700 §2.1.1 says servers should not support it.

use aws_lc_rs::{constant_time, digest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::{quoted, OAuthError};

/// The only accepted `code_challenge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChallengeMethod {
    S256,
}

impl CodeChallengeMethod {
    /// Parses `code_challenge_method`; `None` means the parameter was absent,
    /// which RFC 7636 §4.3 defines as `plain` — and so is refused too.
    pub fn parse(method: Option<&str>) -> Result<Self, OAuthError> {
        match method.unwrap_or("plain") {
            "S256" => Ok(Self::S256),
            // RFC 9700 §2.1.1.
            "plain" => Err(OAuthError::invalid_request(
                "code_challenge_method plain is not supported, use S256",
            )),
            other => Err(OAuthError::invalid_request(format!(
                "unsupported code_challenge_method {}",
                quoted(other)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
        }
    }
}

/// The S256 challenge for `verifier`: `BASE64URL-ENCODE(SHA256(ASCII(verifier)))`
/// (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// Whether `verifier` hashes to `challenge` (RFC 7636 §4.6), compared in
/// constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    constant_time::verify_slices_are_equal(
        s256_challenge(verifier).as_bytes(),
        challenge.as_bytes(),
    )
    .is_ok()
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`,
/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
pub fn check_verifier_syntax(verifier: &str) -> Result<(), OAuthError> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if !(43..=128).contains(&verifier.len()) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters",
        ));
    }
    if !verifier.bytes().all(unreserved) {
        return Err(OAuthError::invalid_request(
            "code_verifier may only contain A-Z a-z 0-9 - . _ ~",
        ));
    }
    Ok(())
}

/// An S256 challenge is a base64url SHA-256 digest without padding: exactly
/// 43 characters (RFC 7636 §4.2) that decode to 32 bytes.
pub fn check_challenge_syntax(challenge: &str) -> Result<(), OAuthError> {
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        // Rejects a last character with non-zero trailing bits.
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|digest| digest.len() == 32);
    if well_formed {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "code_challenge must be a 43-character base64url SHA-256 digest",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const APPENDIX_B_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const APPENDIX_B_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        assert_eq!(s256_challenge(APPENDIX_B_VERIFIER), APPENDIX_B_CHALLENGE);
        assert!(verify_s256(APPENDIX_B_VERIFIER, APPENDIX_B_CHALLENGE));
        assert!(check_verifier_syntax(APPENDIX_B_VERIFIER).is_ok());
        assert!(check_challenge_syntax(APPENDIX_B_CHALLENGE).is_ok());
    }

    #[test]
    fn wrong_verifier_does_not_verify() {
        assert!(!verify_s256(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            APPENDIX_B_CHALLENGE
        ));
        assert!(!verify_s256(APPENDIX_B_VERIFIER, ""));
        assert!(!verify_s256(APPENDIX_B_VERIFIER, APPENDIX_B_VERIFIER));
    }

    #[test]
    fn plain_pkce_is_rejected() {
        let err = CodeChallengeMethod::parse(Some("plain")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("plain is not supported"));
    }

    #[test]
    fn absent_method_means_plain_and_is_rejected() {
        let err = CodeChallengeMethod::parse(None).unwrap_err();
        assert!(err.description.contains("plain is not supported"));
    }

    #[test]
    fn method_names_are_case_sensitive() {
        assert_eq!(
            CodeChallengeMethod::parse(Some("S256")),
            Ok(CodeChallengeMethod::S256)
        );
        assert!(CodeChallengeMethod::parse(Some("s256")).is_err());
    }

    #[test]
    fn verifier_length_and_alphabet_are_checked() {
        assert!(check_verifier_syntax(&"a".repeat(42)).is_err());
        assert!(check_verifier_syntax(&"a".repeat(43)).is_ok());
        assert!(check_verifier_syntax(&"a".repeat(128)).is_ok());
        assert!(check_verifier_syntax(&"a".repeat(129)).is_err());
        assert!(check_verifier_syntax(&format!("{}+", "a".repeat(42))).is_err());
        assert!(check_verifier_syntax(&format!("{}é", "a".repeat(42))).is_err());
        assert!(check_verifier_syntax(&format!("{}-._~", "a".repeat(40))).is_ok());
    }

    #[test]
    fn challenge_must_be_a_base64url_digest() {
        assert!(check_challenge_syntax(&"A".repeat(43)).is_ok());
        assert!(check_challenge_syntax(&"A".repeat(42)).is_err());
        assert!(check_challenge_syntax(&"A".repeat(44)).is_err());
        assert!(check_challenge_syntax(&format!("{}=", "A".repeat(42))).is_err());
        assert!(check_challenge_syntax(&format!("{}+", "A".repeat(42))).is_err());
        // 'B' leaves a non-zero bit after the 256th.
        assert!(check_challenge_syntax(&format!("{}B", "A".repeat(42))).is_err());
    }
}
