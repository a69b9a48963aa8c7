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
//! - The key-encryption key must not be one published in this repository
//!   (the compose file's example, test and benchmark keys) unless the issuer
//!   is loopback: everyone who can read the repository could unseal the
//!   signing keys and forge client-secret hashes. A unit test scans the
//!   repository's deployment files, docs and tests for 32-byte base64 keys
//!   and fails when one is not on [`PUBLISHED_KEKS`].
//! - `INKAN_SMTP_URL` must not send a password without TLS to a relay that
//!   is not on loopback (`smtp://user:pass@host` without `?tls=required`):
//!   the relay's credentials (and every reset link) would cross the
//!   network in clear. The message never repeats the URL.
//!
//! The other startup refusals live where their settings are used: a
//! malformed `INKAN_KEY_ENCRYPTION_KEY` and a missing one with
//! `DATABASE_URL` in [`crate::backends::key_encryption_key`]; a bootstrap
//! secret shorter than 32 characters in `serve::bootstrap`.

use std::net::IpAddr;

use inkan_config::Settings;

/// The bootstrap admin secret `docker-compose.yml` uses by default.
const COMPOSE_DEV_SECRET: &str = "change-me-change-me-change-me-change-me";

/// Key-encryption keys that appear in this repository (compose example,
/// end-to-end tests, benchmarks): refused outside a loopback issuer.
const PUBLISHED_KEKS: [&str; 2] = [
    "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=",
    "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=",
];

/// Refuses to start with unsafe settings; the error names the setting.
pub fn refuse_unsafe_settings(settings: &Settings) -> anyhow::Result<()> {
    check(
        settings.issuer.scheme(),
        settings.issuer.host_str(),
        settings.bootstrap_admin_client_secret.as_deref(),
    )
    .and_then(|()| {
        check_kek(
            settings.issuer.host_str(),
            settings.key_encryption_key.as_deref(),
        )
    })
    .and_then(|()| check_smtp(settings.smtp_url.as_deref()))
    .map_err(anyhow::Error::msg)
}

/// Refuses SMTP credentials sent in clear to a relay off this host.
fn check_smtp(url: Option<&str>) -> Result<(), String> {
    let Some(url) = url else {
        return Ok(());
    };
    let Ok(parsed) = url::Url::parse(url) else {
        return Err("INKAN_SMTP_URL is not a URL (smtp://… or smtps://…)".into());
    };
    let tls = parsed.scheme() == "smtps"
        || parsed
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required");
    let credentials = !parsed.username().is_empty() || parsed.password().is_some();
    let local = parsed.host_str().is_some_and(is_loopback);
    if credentials && !tls && !local {
        return Err("INKAN_SMTP_URL sends a password without TLS to a relay off this host: use smtps://… or add ?tls=required".into());
    }
    Ok(())
}

/// Refuses a published key-encryption key unless the issuer is loopback.
fn check_kek(issuer_host: Option<&str>, kek: Option<&str>) -> Result<(), String> {
    let loopback = issuer_host.is_some_and(is_loopback);
    match kek.map(str::trim) {
        Some(kek) if PUBLISHED_KEKS.contains(&kek) && !loopback => Err(
            "INKAN_KEY_ENCRYPTION_KEY is a key published in Inkan's repository (an example or \
             test key); generate your own (`openssl rand -base64 32`) and keep it secret"
                .into(),
        ),
        _ => Ok(()),
    }
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
    fn smtp_passwords_travel_only_over_tls_or_to_loopback() {
        assert!(check_smtp(None).is_ok());
        assert!(check_smtp(Some("smtp://127.0.0.1:2525")).is_ok());
        assert!(check_smtp(Some("smtp://user:pw@localhost:25")).is_ok());
        assert!(check_smtp(Some("smtp://mail.example.com:25")).is_ok());
        assert!(check_smtp(Some("smtps://user:pw@mail.example.com")).is_ok());
        assert!(check_smtp(Some("smtp://user:pw@mail.example.com:587?tls=required")).is_ok());
        let refused = check_smtp(Some("smtp://user:hunter2@mail.example.com:587")).unwrap_err();
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(check_smtp(Some(
            "smtp://user:pw@mail.example.com:587?tls=opportunistic"
        ))
        .is_err());
        assert!(check_smtp(Some("not a url")).is_err());
    }

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
    fn published_key_encryption_keys_are_refused_unless_the_issuer_is_loopback() {
        for kek in PUBLISHED_KEKS {
            let err = check_kek(Some("id.example.com"), Some(kek)).unwrap_err();
            assert!(err.contains("INKAN_KEY_ENCRYPTION_KEY"), "{err}");
            assert!(check_kek(Some("id.example.com"), Some(&format!(" {kek}\n"))).is_err());
            assert!(check_kek(Some("127.0.0.1"), Some(kek)).is_ok());
            assert!(check_kek(Some("localhost"), Some(kek)).is_ok());
        }
        let own = "3Jx9y1m2Q8v0VnJ5d8f3pL7mQ2s1Hk4Zt6Wb9Yc0Xe8=";
        assert!(check_kek(Some("id.example.com"), Some(own)).is_ok());
        assert!(check_kek(Some("id.example.com"), None).is_ok());
    }

    /// Every 32-byte base64 key written anywhere a reader could copy it from
    /// (deployment files, docs, tests) must be on the refusal list.
    #[test]
    fn every_key_encryption_key_in_the_repository_is_refused() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut found = std::collections::BTreeSet::new();
        let mut pending = vec![
            root.join("docker-compose.yml"),
            root.join("README.md"),
            root.join("deploy"),
            root.join("docs"),
            root.join("tests"),
        ];
        let mut files = 0;
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    let entry = entry.unwrap().path();
                    if entry
                        .file_name()
                        .is_some_and(|n| n != "target" && n != "node_modules")
                    {
                        pending.push(entry);
                    }
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                files += 1;
                for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
                {
                    let body = token.trim_end_matches('=');
                    if token.len() == 44 && body.len() == 43 && !body.contains('=') {
                        found.insert(token.to_string());
                    }
                }
            }
        }
        assert!(files > 20, "the scan found the repository ({files} files)");
        assert!(
            found.contains(PUBLISHED_KEKS[0]),
            "the compose example key is found"
        );
        for kek in &found {
            assert!(
                PUBLISHED_KEKS.contains(&kek.as_str()),
                "{kek} is written in the repository but not refused by check_kek: add it to PUBLISHED_KEKS"
            );
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
