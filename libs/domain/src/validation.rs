//! Input rules shared by the aggregates: redirect URIs, back-channel logout
//! URIs, scopes, emails, names, passwords (length and the common-password
//! blocklist in `data/common-passwords.txt`, NIST SP 800-63B-4 §3.1.1.2);
//! and the address classes an outbound HTTP client must not reach.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use url::Url;

/// Whether `host` (a URL's host as written: a name, an IPv4 address or a
/// bracketed IPv6 address) is a loopback host, where plain `http` is
/// acceptable (RFC 8252 §7.3; OAuth 2.0 Security BCP, RFC 9700 §2.6):
/// `localhost`, 127.0.0.0/8 or `::1` (also written as an IPv4-mapped address).
pub fn is_loopback_host(host: &str) -> bool {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match literal.parse::<IpAddr>() {
        Ok(ip) => is_loopback_ip(ip),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Whether `ip` is a loopback address: 127.0.0.0/8, `::1`, or an IPv6
/// address that carries a 127/8 address (`::ffff:127.0.0.1`). An
/// outbound client checks this beside [`is_private_network`], which leaves
/// loopback out, so a mapped address cannot slip past both.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || embedded_ipv4(v6).is_some_and(|v4| v4.is_loopback()),
    }
}

/// Whether an SSRF-safe outbound HTTP client must refuse to reach `ip`
/// unless the operator allows private networks: addresses that are not on
/// the public internet — this-network, private (RFC 1918), shared
/// (CGNAT, RFC 6598), link-local (where cloud metadata services answer,
/// 169.254.169.254), IETF protocol assignments, benchmarking, multicast,
/// reserved and broadcast; IPv6 unspecified, unique-local (RFC 4193),
/// link-local, the deprecated site-local and multicast. An IPv6 address
/// that carries an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, RFC 6052) is classified by it.
///
/// Loopback is not counted: callers allow or refuse it on its own
/// ([`is_loopback_ip`]).
pub fn is_private_network(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_ipv4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => is_private_ipv4(v4),
            None => {
                let first = v6.segments()[0];
                v6.is_unspecified()
                    || first & 0xfe00 == 0xfc00 // fc00::/7 unique-local
                    || first & 0xffc0 == 0xfe80 // fe80::/10 link-local
                    || first & 0xffc0 == 0xfec0 // fec0::/10 site-local (deprecated)
                    || first & 0xff00 == 0xff00 // ff00::/8 multicast
            }
        },
    }
}

fn is_private_ipv4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // 0.0.0.0/8 "this network"
        || a == 10 // 10.0.0.0/8
        || (a == 100 && b & 0xc0 == 64) // 100.64.0.0/10 shared (CGNAT)
        || (a == 169 && b == 254) // 169.254.0.0/16 link-local, cloud metadata
        || (a == 172 && b & 0xf0 == 16) // 172.16.0.0/12
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24 IETF protocol assignments
        || (a == 192 && b == 168) // 192.168.0.0/16
        || (a == 198 && b & 0xfe == 18) // 198.18.0.0/15 benchmarking
        || a & 0xf0 == 224 // 224.0.0.0/4 multicast
        || a >= 240 // 240.0.0.0/4 reserved, and 255.255.255.255 broadcast
}

/// The IPv4 address an IPv6 address carries, if it is IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-compatible (`::/96`, but not `::` or `::1`) or
/// NAT64's well-known prefix (`64:ff9b::/96`, RFC 6052 §2.1).
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s[..6] {
        [0, 0, 0, 0, 0, 0] if !ip.is_unspecified() && !ip.is_loopback() => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0] => Some(low),
        _ => None,
    }
}

/// Checks a relying party's `backchannel_logout_uri` (OpenID Back-Channel
/// Logout 1.0 §2.2), where Inkan posts logout tokens from its servers:
/// absolute, at most 2000 characters, `https` (`http` only on a loopback
/// host, for development), no user information, no fragment ("MUST NOT
/// include a fragment component"); a query is allowed. Whether the host
/// resolves to a private network is the sender's check, at send time.
pub fn check_backchannel_logout_uri(uri: &str) -> Result<(), &'static str> {
    if uri.chars().count() > 2000 {
        return Err("must be at most 2000 characters");
    }
    // The URL parser would drop tabs and newlines silently: refuse them.
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let Ok(url) = Url::parse(uri) else {
        return Err("must be an absolute https URL");
    };
    // OpenID Back-Channel Logout 1.0 §2.2
    if url.fragment().is_some() || uri.contains('#') {
        return Err("must not include a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information");
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err("must be an absolute https URL");
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(host) => Ok(()),
        _ => Err("must use https (http only for loopback hosts)"),
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
            if parsed.host_str().is_some_and(is_loopback_host) {
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

    #[test]
    fn private_networks_are_classified_and_loopback_is_left_to_the_caller() {
        for (ip, private, loopback) in [
            // IPv4: public
            ("93.184.215.14", false, false),
            ("8.8.8.8", false, false),
            ("100.63.255.255", false, false),
            ("100.128.0.0", false, false),
            ("172.15.255.255", false, false),
            ("172.32.0.0", false, false),
            ("192.0.1.1", false, false),
            ("192.169.0.1", false, false),
            ("198.17.255.255", false, false),
            ("198.20.0.0", false, false),
            ("223.255.255.255", false, false),
            // IPv4: loopback is not private
            ("127.0.0.1", false, true),
            ("127.255.255.254", false, true),
            // IPv4: private
            ("0.0.0.0", true, false),
            ("0.1.2.3", true, false),
            ("10.0.0.1", true, false),
            ("10.255.255.255", true, false),
            ("100.64.0.1", true, false),
            ("100.127.255.255", true, false),
            ("169.254.169.254", true, false),
            ("172.16.0.1", true, false),
            ("172.31.255.255", true, false),
            ("192.0.0.8", true, false),
            ("192.168.1.1", true, false),
            ("198.18.0.1", true, false),
            ("198.19.255.255", true, false),
            ("224.0.0.1", true, false),
            ("239.255.255.250", true, false),
            ("240.0.0.1", true, false),
            ("255.255.255.255", true, false),
            // IPv6
            ("2606:2800:220:1:248:1893:25c8:1946", false, false),
            ("::1", false, true),
            ("::", true, false),
            ("fc00::1", true, false),
            ("fd12:3456:789a::1", true, false),
            ("fe80::1", true, false),
            ("febf::1", true, false),
            ("fec0::1", true, false),
            ("ff02::1", true, false),
            ("fbff::1", false, false),
            // IPv6 carrying IPv4: classified by it
            ("::ffff:10.0.0.1", true, false),
            ("::ffff:169.254.169.254", true, false),
            ("::ffff:8.8.8.8", false, false),
            ("::ffff:127.0.0.1", false, true),
            ("::10.0.0.1", true, false),
            ("::127.0.0.1", false, true),
            ("64:ff9b::a9fe:a9fe", true, false),
            ("64:ff9b::808:808", false, false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(is_private_network(ip), private, "{ip} private");
            assert_eq!(is_loopback_ip(ip), loopback, "{ip} loopback");
        }
    }

    #[test]
    fn loopback_hosts_are_localhost_and_loopback_literals() {
        for (host, loopback) in [
            ("localhost", true),
            ("LOCALHOST", true),
            ("127.0.0.1", true),
            ("127.1.2.3", true),
            ("[::1]", true),
            ("::1", true),
            ("[::ffff:7f00:1]", true),
            ("localhost.example.com", false),
            ("example.com", false),
            ("10.0.0.1", false),
            ("[::2]", false),
            ("", false),
        ] {
            assert_eq!(is_loopback_host(host), loopback, "{host}");
        }
    }

    #[test]
    fn backchannel_logout_uris_are_https_without_a_fragment() {
        for (uri, ok) in [
            ("https://rp.example.com/backchannel", true),
            ("https://rp.example.com:8443/logout?tenant=eu&x=1", true),
            ("http://localhost:3000/logout", true),
            ("http://127.0.0.1/logout", true),
            ("http://[::1]:8080/logout", true),
            ("http://rp.example.com/logout", false),
            ("https://rp.example.com/logout#frag", false),
            ("https://rp.example.com/logout#", false),
            ("https://user:pw@rp.example.com/logout", false),
            ("https://user@rp.example.com/logout", false),
            ("/logout", false),
            ("rp.example.com/logout", false),
            ("javascript:alert(1)", false),
            ("ftp://rp.example.com/logout", false),
            ("https://rp.example.com/log out", false),
            ("https://rp.example.com/log\nout", false),
            ("https://rp.example.com/log\tout", false),
            ("https://rp.example.com/log\u{7}out", false),
        ] {
            assert_eq!(check_backchannel_logout_uri(uri).is_ok(), ok, "{uri:?}");
        }
        let long = format!("https://rp.example.com/{}", "a".repeat(2000));
        assert_eq!(
            check_backchannel_logout_uri(&long),
            Err("must be at most 2000 characters")
        );
        assert_eq!(
            check_backchannel_logout_uri("https://rp.example.com/#x"),
            Err("must not include a fragment")
        );
    }
}
