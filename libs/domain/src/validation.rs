//! Input rules shared by the aggregates: redirect URIs, scopes, emails,
//! names, passwords (length and the common-password blocklist in
//! `data/common-passwords.txt`, NIST SP 800-63B-4 §3.1.1.2).

use std::collections::HashSet;
use std::sync::LazyLock;

use url::{Host, Url};

/// Whether `host` is a loopback host, where plain `http` is acceptable
/// (RFC 8252 §7.3; OAuth 2.0 Security BCP, RFC 9700 §2.6).
pub fn is_loopback_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks one redirect (or post-logout redirect) URI at registration.
///
/// Rules: absolute, no fragment (RFC 6749 §3.1.2), no userinfo; `https`
/// anywhere; `http` only on a loopback host; a private-use scheme
/// (`com.example.app:/cb`, RFC 8252 §7.1) only for native apps.
pub fn check_redirect_uri(uri: &str, allow_custom_scheme: bool) -> Result<(), String> {
    if uri.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    let parsed = Url::parse(uri).map_err(|_| "must be an absolute URI".to_string())?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err("must not contain a fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not contain user information".into());
    }
    // Redirect URIs are compared exactly (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1):
    // a wildcard host would match an attacker's subdomain, so one is
    // refused at registration rather than treated as a literal.
    if parsed.host_str().is_some_and(|h| h.contains('*')) {
        return Err("must not use a wildcard host; register each redirect URI exactly".into());
    }
    match parsed.scheme() {
        "https" => {
            if parsed.host().is_none() {
                return Err("must have a host".into());
            }
            Ok(())
        }
        "http" => {
            if is_loopback_host(parsed.host()) {
                Ok(())
            } else {
                Err("http is only allowed for loopback hosts (127.0.0.1, [::1], localhost)".into())
            }
        }
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
            Err(format!("scheme {:?} is not allowed", parsed.scheme()))
        }
        scheme if allow_custom_scheme => {
            // RFC 8252 §7.1: private-use schemes are reverse domain names.
            if scheme.contains('.') {
                Ok(())
            } else {
                Err("a native app's private-use scheme must be a reverse domain name (e.g. com.example.app)".into())
            }
        }
        _ => Err("must use https (http only for loopback hosts)".into()),
    }
}

/// A scope token per RFC 6749 §3.3: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A pragmatic email syntax check: one `@`, a non-empty local part, a
/// domain with a dot or `localhost`, no whitespace or control characters, at most 254 bytes.
pub fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("is required".into());
    }
    if email.len() > 254 {
        return Err("must be at most 254 characters".into());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".into());
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must be an email address".into());
    };
    if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
        return Err("must be an email address".into());
    }
    if local.contains('@') && !(local.starts_with('"') && local.ends_with('"')) {
        return Err("must be an email address".into());
    }
    Ok(())
}

/// The form used for uniqueness: emails are unique case-insensitively.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A display name: optional, at most 200 characters, no control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.chars().count() > 200 {
        return Err("must be at most 200 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// NIST SP 800-63B-4 §3.1.1.2: a minimum length, no composition rules, at least
/// 64 characters accepted (we accept up to 256), all printable Unicode and spaces allowed,
/// and no value from the blocklist of common or breached passwords ([`common_password`]).
pub fn check_password(password: &str, min_chars: usize) -> Result<(), String> {
    let count = password.chars().count();
    if count < min_chars {
        return Err(format!("must be at least {min_chars} characters"));
    }
    if count > 256 {
        return Err("must be at most 256 characters".into());
    }
    if password.chars().any(|c| c.is_control()) {
        return Err("must not contain control characters".into());
    }
    if common_password(password) {
        return Err(TOO_COMMON.into());
    }
    Ok(())
}

/// [`check_password`] plus the context-specific words of NIST SP 800-63B-4
/// §3.1.1.2: the password may not be the account's email address or its
/// local part (compared case-insensitively, surrounding spaces ignored).
pub fn check_password_for_email(
    password: &str,
    min_chars: usize,
    email: Option<&str>,
) -> Result<(), String> {
    check_password(password, min_chars)?;
    if let Some(email) = email.map(email_key).filter(|e| !e.is_empty()) {
        let candidate = password.trim().to_lowercase();
        let local = email.rsplit_once('@').map_or(email.as_str(), |(l, _)| l);
        if candidate == email || candidate == local {
            return Err("must not be your email address".into());
        }
    }
    Ok(())
}

const TOO_COMMON: &str = "is too common; choose another";

/// The blocklist, shipped with the crate (`data/common-passwords.txt`, one
/// lower-case entry a line, `#` comments). A `HashSet` over the embedded
/// text rather than a Bloom filter: ~10k entries are ~110 KB in the binary,
/// the set is built once on first use, and lookups have no false positives
/// (a Bloom filter would only pay off for lists of millions of entries).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether `password` is on the common/breached-password blocklist
/// (NIST SP 800-63B-4 §3.1.1.2), compared case-insensitively.
pub fn common_password(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_follow_registration_rules() {
        assert!(check_redirect_uri("https://app.example.com/cb", false).is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:3000/cb", false).is_ok());
        assert!(check_redirect_uri("http://[::1]/cb", false).is_ok());
        assert!(check_redirect_uri("http://localhost/cb", false).is_ok());
        assert!(check_redirect_uri("http://app.example.com/cb", false).is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#x", false).is_err());
        assert!(check_redirect_uri("/relative", false).is_err());
        assert!(check_redirect_uri("https://user:pw@app.example.com/cb", false).is_err());
        assert!(check_redirect_uri("com.example.app:/cb", true).is_ok());
        assert!(check_redirect_uri("com.example.app:/cb", false).is_err());
        assert!(check_redirect_uri("myapp:/cb", true).is_err());
        assert!(check_redirect_uri("javascript:alert(1)", true).is_err());
    }

    #[test]
    fn wildcard_redirect_hosts_are_refused() {
        for uri in [
            "https://*.example.com/cb",
            "https://app.*.example.com/cb",
            "https://*/cb",
            "https://%2A.example.com/cb",
            "http://*.localhost/cb",
        ] {
            let err = check_redirect_uri(uri, true).unwrap_err();
            assert!(err.contains("wildcard"), "{uri}: {err}");
        }
        // A `*` outside the host is just a character of the path or query.
        assert!(check_redirect_uri("https://app.example.com/cb*", false).is_ok());
    }

    #[test]
    fn scope_tokens_exclude_spaces_quotes_and_backslashes() {
        assert!(is_scope_token("openid"));
        assert!(is_scope_token("read:all"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token("a b"));
        assert!(!is_scope_token("a\"b"));
        assert!(!is_scope_token("a\\b"));
    }

    #[test]
    fn emails_are_checked_and_keyed_case_insensitively() {
        assert!(check_email("ada@example.com").is_ok());
        assert!(check_email("ada example.com").is_err());
        assert!(check_email("@example.com").is_err());
        assert!(check_email("ada@").is_err());
        assert_eq!(email_key(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn passwords_need_length_not_composition() {
        assert!(check_password("correct horse battery staple", 15).is_ok());
        assert!(check_password("short", 15).is_err());
        assert!(check_password(&"x".repeat(64), 15).is_ok());
        assert!(check_password(&"x".repeat(257), 15).is_err());
    }

    #[test]
    fn common_passwords_are_rejected_case_insensitively() {
        for p in [
            "password",
            "123456",
            "qwerty123",
            "iloveyou",
            "Summer2024",
            "passwordpassword",
            "1234567890123456",
            "QwertyuiopAsdfgh",
        ] {
            assert!(common_password(p), "{p} should be on the list");
        }
        assert!(!common_password("correct horse battery staple"));
        assert!(!common_password("# common and breached passwords"));
        assert_eq!(
            check_password("passwordpassword", 15).unwrap_err(),
            "is too common; choose another"
        );
        assert_eq!(
            check_password("1234567890123456", 15).unwrap_err(),
            "is too common; choose another"
        );
    }

    #[test]
    fn password_may_not_be_the_email_or_its_local_part() {
        let email = Some("Adalovelace.Countess@example.com");
        assert!(check_password_for_email("adalovelace.countess", 15, email).is_err());
        assert!(check_password_for_email("ADALOVELACE.COUNTESS@EXAMPLE.COM", 15, email).is_err());
        assert!(check_password_for_email("correct horse battery staple", 15, email).is_ok());
        assert!(check_password_for_email("correct horse battery staple", 15, None).is_ok());
    }
}
