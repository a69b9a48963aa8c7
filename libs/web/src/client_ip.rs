//! Who is asking: the client's IP address, for throttling (rate limits and
//! login back-off key on it).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName};

/// The client's address: from `trusted_header` when configured and
/// readable (its FIRST address, as a proxy writing `X-Forwarded-For`
/// places the client there), else the TCP peer (`ConnectInfo`, present
/// when the server runs `into_make_service_with_connect_info`). `None` when
/// neither is known (in-process tests).
///
/// The header is only trustworthy behind a proxy that overwrites it; a
/// client reaching the server directly could otherwise pick its own key.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &Extensions,
    trusted_header: Option<&HeaderName>,
) -> Option<IpAddr> {
    trusted_header
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|first| parse_address(first.trim()))
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        })
}

/// `192.0.2.1`, `2001:db8::1`, `192.0.2.1:443` or `[2001:db8::1]:443`.
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_peer(addr: &str) -> Extensions {
        let mut e = Extensions::new();
        e.insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
        e
    }

    #[test]
    fn the_peer_address_is_used_when_no_header_is_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let ip = client_ip(&headers, &with_peer("192.0.2.1:5000"), None);
        assert_eq!(ip, Some("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn a_trusted_header_gives_its_first_address_and_falls_back_to_the_peer() {
        let name = HeaderName::from_static("x-forwarded-for");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.1"),
        );
        let peer = with_peer("10.0.0.2:5000");
        assert_eq!(
            client_ip(&headers, &peer, Some(&name)),
            Some("203.0.113.9".parse().unwrap())
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(
            client_ip(&headers, &peer, Some(&name)),
            Some("10.0.0.2".parse().unwrap())
        );
        assert_eq!(client_ip(&HeaderMap::new(), &Extensions::new(), None), None);
    }
}
