//! Startup refuses settings that are only safe on a developer's machine.
//!
//! Checked before anything is connected or served, so a misconfigured
//! production deployment fails loudly instead of running insecurely:
//!
//! - The issuer must use `https` unless its host is loopback (`127.0.0.0/8`,
//!   `::1`, `localhost`): tokens, codes and cookies would otherwise cross the
//!   network in clear (OIDC Core §3.1.2.1, RFC 9700 §2.6, RFC 8252 §7.3).
//! - The bootstrap admin client secret must not be the well-known
//!   development value from `docker-compose.yml` (or any value containing
//!   `change-me`) unless the issuer is loopback: a published secret is no
//!   secret (NIST SP 800-63B-4 §3.1.1.2, "commonly-used, expected values").
//!
//! The other startup refusals live where their settings are used: a
//! malformed `INKAN_KEY_ENCRYPTION_KEY` and a missing one with
//! `DATABASE_URL` in [`crate::backends::key_encryption_key`]; a bootstrap
//! secret shorter than 32 characters in `serve::bootstrap`.

use std::net::IpAddr;

use inkan_config::Settings;

/// The bootstrap admin secret `docker-compose.yml` uses by default.
const COMPOSE_DEV_SECRET: &str = "change-me-change-me-change-me-change-me";

/// Refuses to start with unsafe settings; the error names the setting.
pub fn refuse_unsafe_settings(settings: &Settings) -> anyhow::Result<()> {
    check(
        settings.issuer.scheme(),
        settings.issuer.host_str(),
        settings.bootstrap_admin_client_secret.as_deref(),
    )
    .map_err(anyhow::Error::msg)
}

/// The pure check behind [`refuse_unsafe_settings`]: the issuer's scheme and
/// host (as `Url::host_str` gives it, IPv6 in brackets), and the configured
/// bootstrap admin client secret.
fn check(
    issuer_scheme: &str,
    issuer_host: Option<&str>,
    bootstrap_secret: Option<&str>,
) -> Result<(), String> {
    let loopback = issuer_host.is_some_and(is_loopback);
    if issuer_scheme != "https" && !loopback {
        return Err(format!(
            "INKAN_ISSUER must use https unless its host is loopback (127.0.0.1, [::1], localhost); \
             got {issuer_scheme}://{}",
            issuer_host.unwrap_or("")
        ));
    }
    if let Some(secret) = bootstrap_secret {
        let well_known =
            secret == COMPOSE_DEV_SECRET || secret.to_ascii_lowercase().contains("change-me");
        if well_known && !loopback {
            return Err(
                "INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET is a well-known development value (it contains \
                 \"change-me\"); set a random secret of at least 32 characters \
                 (e.g. `openssl rand -base64 32`)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// `127.0.0.0/8`, `::1` (bracketed or not) and `localhost`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "r4nd0m-0p3r4t0r-s3cr3t-0f-32-ch4rs-at-least";

    #[test]
    fn plain_http_is_refused_on_a_public_issuer() {
        let err = check("http", Some("id.example.com"), None).unwrap_err();
        assert!(err.contains("INKAN_ISSUER"), "{err}");
        assert!(check("https", Some("id.example.com"), None).is_ok());
    }

    #[test]
    fn plain_http_is_allowed_on_loopback_issuers() {
        for host in ["127.0.0.1", "127.1.2.3", "[::1]", "localhost", "LOCALHOST"] {
            assert!(check("http", Some(host), Some(STRONG)).is_ok(), "{host}");
        }
        for host in ["128.0.0.1", "[::2]", "localhost.example.com", "10.0.0.1"] {
            assert!(check("http", Some(host), None).is_err(), "{host}");
        }
    }

    #[test]
    fn the_compose_secret_is_refused_unless_the_issuer_is_loopback() {
        let err = check("https", Some("id.example.com"), Some(COMPOSE_DEV_SECRET)).unwrap_err();
        assert!(err.contains("INKAN_BOOTSTRAP_ADMIN_CLIENT_SECRET"), "{err}");
        let other = "please-CHANGE-ME-before-going-to-production";
        assert!(check("https", Some("id.example.com"), Some(other)).is_err());
        assert!(check("http", Some("127.0.0.1"), Some(COMPOSE_DEV_SECRET)).is_ok());
        assert!(check("https", Some("id.example.com"), Some(STRONG)).is_ok());
    }
}
