//! The two cookies this service sets, and a parser for the `Cookie` header
//! that accepts only what this service could have set.
//!
//! - The IdP session (`__Host-inkan_session`): the opaque session id,
//!   `SameSite=Lax` so it reaches `/authorize` on the top-level navigation
//!   from a relying party.
//! - The login binding (`__Host-inkan_login`): a random value tying login
//!   forms to the browser they were shown in (see [`crate::csrf`]),
//!   `SameSite=Strict` so a cross-site form post never carries it.
//!
//! Both are `HttpOnly; Path=/`. With `secure_cookies` they are also
//! `Secure` and use the `__Host-` prefix (RFC 6265bis §4.1.3.2: no `Domain`,
//! `Path=/`, `Secure`, so no sibling host can set or shadow them). On
//! plain-http loopback development the prefix is impossible (it requires
//! `Secure`), so the names lose it.

use axum::http::header::{InvalidHeaderValue, COOKIE};
use axum::http::{HeaderMap, HeaderValue};

/// The session cookie's name over HTTPS.
pub const SESSION_SECURE: &str = "__Host-inkan_session";
/// The session cookie's name on plain-http development.
pub const SESSION_DEV: &str = "inkan_session";
/// The login-binding cookie's name over HTTPS.
pub const LOGIN_SECURE: &str = "__Host-inkan_login";
/// The login-binding cookie's name on plain-http development.
pub const LOGIN_DEV: &str = "inkan_login";

/// The longest cookie value accepted (ours are 43 characters).
const MAX_VALUE_LEN: usize = 128;

/// The session cookie's name.
pub fn session_name(secure: bool) -> &'static str {
    if secure {
        SESSION_SECURE
    } else {
        SESSION_DEV
    }
}

/// The login-binding cookie's name.
pub fn login_name(secure: bool) -> &'static str {
    if secure {
        LOGIN_SECURE
    } else {
        LOGIN_DEV
    }
}

/// The first well-formed value of cookie `name` in the request's `Cookie`
/// headers. Works on raw bytes (a non-ASCII header is not an error) and
/// accepts only base64url tokens of at most 128 characters, the only values
/// this service sets; anything else is as if absent.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|h| h.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            (pair[..eq].trim_ascii() == name.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
        })
        .find(|value| is_token(value))
        .and_then(|value| std::str::from_utf8(value).ok().map(str::to_owned))
}

/// base64url without padding, 1 to 128 characters.
fn is_token(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_VALUE_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// A `Set-Cookie` value for the session cookie, living `max_age` seconds.
pub fn session(secure: bool, sid: &str, max_age: i64) -> Result<HeaderValue, InvalidHeaderValue> {
    build(session_name(secure), sid, max_age, "Lax", secure)
}

/// A `Set-Cookie` value deleting the session cookie (logout).
pub fn clear_session(secure: bool) -> Result<HeaderValue, InvalidHeaderValue> {
    build(session_name(secure), "", 0, "Lax", secure)
}

/// A `Set-Cookie` value for the login-binding cookie.
pub fn login_binding(
    secure: bool,
    value: &str,
    max_age: i64,
) -> Result<HeaderValue, InvalidHeaderValue> {
    build(login_name(secure), value, max_age, "Strict", secure)
}

fn build(
    name: &str,
    value: &str,
    max_age: i64,
    same_site: &str,
    secure: bool,
) -> Result<HeaderValue, InvalidHeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite={same_site}{secure}",
        max_age.max(0)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_the_named_cookie_among_others() {
        let h = headers(&[b"a=1; __Host-inkan_session=abc_-9; b=2"]);
        assert_eq!(read(&h, SESSION_SECURE).as_deref(), Some("abc_-9"));
        assert_eq!(read(&h, SESSION_DEV), None);
    }

    #[test]
    fn reads_across_several_cookie_headers() {
        let h = headers(&[b"a=1", b"inkan_session=xyz"]);
        assert_eq!(read(&h, SESSION_DEV).as_deref(), Some("xyz"));
    }

    #[test]
    fn hostile_values_count_as_absent() {
        let long = format!("inkan_session={}", "a".repeat(129));
        for raw in [
            &b"inkan_session=\xff\xfe"[..],
            b"inkan_session=",
            b"inkan_session",
            b"inkan_session=a b",
            b"inkan_session=\"quoted\"",
            b"inkan_session=a;b",
            b";;;==;",
            long.as_bytes(),
        ] {
            let h = headers(&[raw]);
            let value = read(&h, SESSION_DEV);
            assert!(value.is_none() || value.as_deref() == Some("a"), "{raw:?}");
        }
    }

    #[test]
    fn a_malformed_duplicate_does_not_hide_a_good_value() {
        let h = headers(&[b"inkan_session=%%%; inkan_session=good"]);
        assert_eq!(read(&h, SESSION_DEV).as_deref(), Some("good"));
    }

    #[test]
    fn secure_cookies_carry_the_host_prefix_and_secure() {
        let v = session(true, "sid", 60).unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "__Host-inkan_session=sid; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let dev = clear_session(false).unwrap();
        assert_eq!(
            dev.to_str().unwrap(),
            "inkan_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }
}
