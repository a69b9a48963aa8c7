//! `inkan-egress`: where Inkan's outbound requests to URLs a client
//! registered may go — logout tokens (back-channel logout) and client key
//! sets (`jwks_uri`). The guard against server-side request forgery: a
//! relying party's URI is checked when it is registered, but a host name can
//! resolve anywhere at request time (DNS rebinding), so the HTTP client
//! resolves through [`GuardedResolver`], which drops every address the
//! [`Policy`] refuses — the connection can only be made to an address that
//! was checked. URIs naming an address directly are checked by
//! [`Policy::check_url`] before the request is made (no resolver runs for
//! them). Clients built by [`client`] never follow redirects.

use std::net::{IpAddr, SocketAddr};

use inkan_domain::validation::{is_loopback_host, is_loopback_ip, is_private_network};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which addresses an outbound request may reach.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Private, link-local and other non-public ranges (the operator's
    /// `INKAN_*_ALLOW_PRIVATE_NETWORKS` settings).
    pub private_networks: bool,
    /// This host's loopback addresses: for a development issuer on
    /// loopback, or when private networks are allowed.
    pub loopback: bool,
}

impl Policy {
    /// The operator's policy (whether private networks are allowed) for
    /// `issuer`: loopback targets only for an issuer on loopback
    /// (development), or with private networks.
    pub fn for_issuer(issuer: &url::Url, private_networks: bool) -> Policy {
        Policy {
            private_networks,
            loopback: issuer.host_str().is_some_and(is_loopback_host),
        }
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        if is_loopback_ip(ip) {
            return self.loopback || self.private_networks;
        }
        !is_private_network(ip) || self.private_networks
    }

    /// A URI's scheme and, when it names an address, the address.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        match url.scheme() {
            "https" | "http" => {}
            other => return Err(Refused(format!("the {other} scheme is not allowed"))),
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            // `localhost` is refused by name; other names when resolved.
            Some(url::Host::Domain(name)) if is_loopback_host(name) => {
                IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            }
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(Refused("the URI names no host".into())),
        };
        if self.allows(ip) {
            Ok(())
        } else {
            Err(Refused(format!("{ip} is in a network Inkan may not reach")))
        }
    }
}

/// A target the policy refuses; retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves with the system resolver and keeps only allowed addresses.
pub struct GuardedResolver(pub Policy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = Box::new(Refused(format!(
                    "{host} resolves only to addresses Inkan may not reach"
                )));
                return Err(refused);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client for requests to client-registered URLs: resolves through
/// [`GuardedResolver`], follows no redirect (it could point anywhere the
/// policy forbids), and gives up after `timeout` (connect and whole request).
pub fn client(
    policy: Policy,
    timeout: std::time::Duration,
    user_agent: &str,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .dns_resolver(std::sync::Arc::new(GuardedResolver(policy)))
        .user_agent(user_agent)
        .build()
}

/// Whether an HTTP error was the resolver's refusal (somewhere in its chain).
pub fn is_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<Refused>() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_private_addresses_need_the_operators_leave() {
        let strict = Policy::default();
        let dev = Policy {
            loopback: true,
            private_networks: false,
        };
        let open = Policy {
            loopback: false,
            private_networks: true,
        };
        let cases: [(&str, bool, bool, bool); 6] = [
            ("93.184.215.14", true, true, true),
            ("127.0.0.1", false, true, true),
            ("::ffff:127.0.0.1", false, true, true),
            ("10.1.2.3", false, false, true),
            ("169.254.169.254", false, false, true),
            ("fd00::1", false, false, true),
        ];
        for (ip, s, d, o) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(strict.allows(ip), s, "{ip} strict");
            assert_eq!(dev.allows(ip), d, "{ip} dev");
            assert_eq!(open.allows(ip), o, "{ip} open");
        }
    }

    #[test]
    fn a_uri_naming_a_refused_address_is_refused_before_any_request() {
        let strict = Policy::default();
        for uri in [
            "http://127.0.0.1:8080/logout",
            "https://[::1]/logout",
            "https://10.0.0.1/logout",
        ] {
            assert!(
                strict.check_url(&url::Url::parse(uri).unwrap()).is_err(),
                "{uri}"
            );
        }
        assert!(strict
            .check_url(&url::Url::parse("https://rp.example/logout").unwrap())
            .is_ok());
        assert!(strict
            .check_url(&url::Url::parse("ftp://rp.example/logout").unwrap())
            .is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        let strict = GuardedResolver(Policy::default());
        let err = strict
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost resolves to loopback only");
        assert!(is_refusal(&*err));
        let dev = GuardedResolver(Policy {
            loopback: true,
            private_networks: false,
        });
        let addrs: Vec<SocketAddr> = dev
            .resolve("localhost".parse().unwrap())
            .await
            .expect("loopback is allowed here")
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
