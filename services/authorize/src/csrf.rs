//! The login form's CSRF token, bound to the pending request AND to the
//! browser the form was shown in.
//!
//! Matching the token against the pending request alone does not stop login
//! CSRF: an attacker can start their own authorization request, read its
//! token, and make a victim's browser post the attacker's credentials,
//! leaving the victim in an IdP session as the attacker (RFC 6749 §10.12,
//! RFC 9700 §4.4.1.8 on login CSRF). So the token is `nonce.tag` with
//! `tag = SHA-256(binding, nonce)`, where `binding` is a random value in the
//! `SameSite=Strict` login cookie ([`crate::cookie::login_binding`]): a
//! cross-site post carries no binding, and no attacker knows a victim's.
//! One binding serves every tab, so parallel logins do not clobber each other.

use inkan_keys::secret::{generate_token, sha256_b64};
use subtle::ConstantTimeEq;

/// A fresh token for a pending request shown to the browser holding `binding`.
pub fn issue(binding: &str) -> String {
    let nonce = generate_token(32);
    let tag = tag(binding, &nonce);
    format!("{nonce}.{tag}")
}

/// Whether `presented` is the pending request's token (`expected`) and was
/// issued to the browser holding `binding`. Both comparisons are constant-time.
pub fn verify(expected: &str, presented: &str, binding: Option<&str>) -> bool {
    let same: bool = expected.as_bytes().ct_eq(presented.as_bytes()).into();
    let bound: bool = match (binding, expected.split_once('.')) {
        (Some(binding), Some((nonce, tag_value))) => tag(binding, nonce)
            .as_bytes()
            .ct_eq(tag_value.as_bytes())
            .into(),
        _ => false,
    };
    same & bound
}

fn tag(binding: &str, nonce: &str) -> String {
    sha256_b64(&format!("inkan/login-csrf/v1:{binding}:{nonce}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_with_its_binding_only() {
        let token = issue("browser-a");
        assert!(verify(&token, &token, Some("browser-a")));
        assert!(!verify(&token, &token, Some("browser-b")));
        assert!(!verify(&token, &token, None));
    }

    #[test]
    fn a_different_token_does_not_verify() {
        let token = issue("browser-a");
        let other = issue("browser-a");
        assert!(!verify(&token, &other, Some("browser-a")));
        assert!(!verify(&token, "", Some("browser-a")));
        assert!(!verify("no-dot", "no-dot", Some("browser-a")));
    }
}
