//! Redirect URIs at the authorization endpoint: matching the requested one
//! against the client's registrations, and adding response parameters to it.
//!
//! Matching is simple string comparison (RFC 9700 §2.1, OIDC Core §3.1.2.1):
//! no normalisation, no case folding, no prefix or wildcard matching. The one
//! exception is RFC 8252 §7.3: a native app listening on a loopback IP
//! literal (`http://127.0.0.1` or `http://[::1]`) gets whatever port the OS
//! gave it, so the port of such a URI may differ from the registered one;
//! everything else must still be identical. `localhost` gets no exception
//! (RFC 8252 §8.3 advises against it): it must match exactly.

use url::form_urlencoded;

/// Whether `requested` is one of `registered`.
pub fn matches_registered(requested: &str, registered: &[String]) -> bool {
    registered
        .iter()
        .any(|r| r == requested || loopback_equal_but_port(requested, r))
}

/// RFC 8252 §7.3: two loopback redirect URIs that differ at most in the port.
fn loopback_equal_but_port(a: &str, b: &str) -> bool {
    match (split_loopback_port(a), split_loopback_port(b)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// Splits `http://127.0.0.1:8080/cb?x` into (`http://127.0.0.1`, `/cb?x`),
/// dropping the port. `None` unless `uri` is an `http` URI on a loopback IP
/// literal whose port (if any) is a valid port number and whose authority
/// ends right after it.
fn split_loopback_port(uri: &str) -> Option<(&str, &str)> {
    const HOSTS: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];
    let host = HOSTS.into_iter().find(|h| uri.starts_with(h))?;
    let after_host = &uri[host.len()..];
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            port_and_rest[..digits].parse::<u16>().ok()?;
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    // The authority must end here: `http://127.0.0.1.evil.example/` or
    // `http://127.0.0.1:80@evil.example/` are not loopback URIs.
    if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') {
        Some((host, rest))
    } else {
        None
    }
}

/// Adds `params` to the query of `uri`, keeping any query it already has
/// (RFC 6749 §3.1.2: it "MUST be retained when adding additional query
/// parameters") and leaving the rest of the URI byte for byte as registered.
/// Names and values are `application/x-www-form-urlencoded` (RFC 6749
/// Appendix B). A fragment, which a registered redirect URI should not have
/// (RFC 6749 §3.1.2), stays after the query.
pub fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return uri.to_owned();
    }
    let (base, fragment) = match uri.find('#') {
        Some(i) => uri.split_at(i),
        None => (uri, ""),
    };
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut out = String::with_capacity(uri.len() + encoded.len() + 1);
    out.push_str(base);
    if !base.contains('?') {
        out.push('?');
    } else if !(base.ends_with('?') || base.ends_with('&')) {
        out.push('&');
    }
    out.push_str(&encoded);
    out.push_str(fragment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_string_matches() {
        let r = reg(&["https://app.example/cb"]);
        assert!(matches_registered("https://app.example/cb", &r));
    }

    #[test]
    fn near_misses_do_not_match() {
        let r = reg(&["https://app.example/cb"]);
        for uri in [
            "https://app.example/cb/",
            "https://app.example/CB",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example:443/cb",
            "https://app.example/cb#f",
            "http://app.example/cb",
            "https://app.example/cb/../cb",
            "https://app.example/c%62",
        ] {
            assert!(!matches_registered(uri, &r), "{uri}");
        }
    }

    #[test]
    fn loopback_ip_port_may_vary() {
        let r = reg(&["http://127.0.0.1:8080/callback", "http://[::1]/cb"]);
        assert!(matches_registered("http://127.0.0.1:51234/callback", &r));
        assert!(matches_registered("http://127.0.0.1/callback", &r));
        assert!(matches_registered("http://[::1]:9999/cb", &r));
    }

    #[test]
    fn loopback_path_host_and_scheme_must_still_match() {
        let r = reg(&["http://127.0.0.1:8080/callback"]);
        for uri in [
            "http://127.0.0.1:8080/other",
            "http://127.0.0.1:8080/callback?x",
            "http://[::1]:8080/callback",
            "https://127.0.0.1:8080/callback",
            "http://127.0.0.2:8080/callback",
            "http://127.0.0.1:70000/callback",
            "http://127.0.0.1:/callback",
            "http://localhost:8080/callback",
            "http://127.0.0.1:8080@evil.example/callback",
            "http://127.0.0.1.evil.example/callback",
        ] {
            assert!(!matches_registered(uri, &r), "{uri}");
        }
    }

    #[test]
    fn localhost_port_may_not_vary() {
        let r = reg(&["http://localhost:8080/cb"]);
        assert!(matches_registered("http://localhost:8080/cb", &r));
        assert!(!matches_registered("http://localhost:8081/cb", &r));
    }

    #[test]
    fn append_query_adds_a_query() {
        assert_eq!(
            append_query(
                "https://app.example/cb",
                &[("code", "a b&c"), ("state", "x=y")]
            ),
            "https://app.example/cb?code=a+b%26c&state=x%3Dy"
        );
    }

    #[test]
    fn append_query_keeps_an_existing_query() {
        assert_eq!(
            append_query("https://app.example/cb?tenant=1", &[("code", "c")]),
            "https://app.example/cb?tenant=1&code=c"
        );
        assert_eq!(
            append_query("https://app.example/cb?", &[("code", "c")]),
            "https://app.example/cb?code=c"
        );
        assert_eq!(
            append_query("com.example.app:/cb?a=1&", &[("code", "c")]),
            "com.example.app:/cb?a=1&code=c"
        );
    }

    #[test]
    fn append_query_puts_the_query_before_a_fragment() {
        assert_eq!(
            append_query("https://app.example/cb#x", &[("code", "c")]),
            "https://app.example/cb?code=c#x"
        );
    }
}
