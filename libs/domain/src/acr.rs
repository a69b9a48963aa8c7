//! Authentication context classes (`acr`, OIDC Core §2) and the methods
//! behind them (`amr`, RFC 8176): what Inkan means by each level, and which
//! level a login reached.
//!
//! Three levels, each satisfying the ones below it:
//! - [`Acr::OneFactor`] — one factor (a password);
//! - [`Acr::MultiFactor`] — two factors (a password and a one-time code, or
//!   a passkey: possession of the key plus the user verification the
//!   authenticator performed);
//! - [`Acr::PhishingResistant`] — a passkey: the signature is bound to the
//!   issuer's origin, so a look-alike site cannot relay it (NIST SP
//!   800-63B-4 §3.2.5, verifier impersonation resistance).

use serde::{Deserialize, Serialize};

/// One level of assurance, ordered: a higher level satisfies a lower one.
/// Serialised as its URN (a project's `default_acr_values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Acr {
    #[serde(rename = "urn:inkan:acr:1fa")]
    OneFactor,
    #[serde(rename = "urn:inkan:acr:mfa")]
    MultiFactor,
    #[serde(rename = "urn:inkan:acr:phr")]
    PhishingResistant,
}

impl Acr {
    /// Every level, lowest first (the order of `acr_values_supported`).
    pub const ALL: [Acr; 3] = [Acr::OneFactor, Acr::MultiFactor, Acr::PhishingResistant];

    /// The value in `acr` claims, `acr_values` and discovery.
    pub fn as_str(self) -> &'static str {
        match self {
            Acr::OneFactor => "urn:inkan:acr:1fa",
            Acr::MultiFactor => "urn:inkan:acr:mfa",
            Acr::PhishingResistant => "urn:inkan:acr:phr",
        }
    }

    pub fn parse(value: &str) -> Option<Acr> {
        Acr::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// The level a request's `acr_values` asks for: OIDC Core §3.1.2.1
    /// lists acceptable values "in order of preference", so any of them
    /// will do and the lowest known one is what a session must reach.
    /// Values this OP does not know are ignored; `None` if none is known.
    pub fn requested(acr_values: Option<&str>) -> Option<Acr> {
        acr_values?.split(' ').filter_map(Acr::parse).min()
    }

    /// The level a login with these RFC 8176 methods reached: a passkey
    /// (`hwk`/`swk` with `user` verification) is phishing-resistant;
    /// anything with `mfa` is multi-factor; the rest is one factor.
    pub fn of_amr(amr: &[String]) -> Acr {
        let has = |m: &str| amr.iter().any(|a| a == m);
        if used_passkey(amr) && has("user") {
            Acr::PhishingResistant
        } else if has("mfa") {
            Acr::MultiFactor
        } else {
            Acr::OneFactor
        }
    }
}

/// Whether a login with these RFC 8176 methods used a passkey (a hardware-
/// or software-secured key, `hwk`/`swk`).
pub fn used_passkey(amr: &[String]) -> bool {
    amr.iter().any(|a| a == "hwk" || a == "swk")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_login_reaches_the_level_of_its_methods() {
        assert_eq!(Acr::of_amr(&amr(&["pwd"])), Acr::OneFactor);
        assert_eq!(Acr::of_amr(&amr(&["pwd", "otp", "mfa"])), Acr::MultiFactor);
        assert_eq!(
            Acr::of_amr(&amr(&["hwk", "user", "mfa"])),
            Acr::PhishingResistant
        );
        assert_eq!(
            Acr::of_amr(&amr(&["swk", "user", "mfa"])),
            Acr::PhishingResistant
        );
        // A key without user verification is not a passkey login.
        assert_eq!(Acr::of_amr(&amr(&["hwk"])), Acr::OneFactor);
        assert_eq!(Acr::of_amr(&[]), Acr::OneFactor);
    }

    #[test]
    fn a_request_asks_for_the_lowest_level_it_accepts() {
        assert_eq!(Acr::requested(None), None);
        assert_eq!(Acr::requested(Some("")), None);
        assert_eq!(Acr::requested(Some("urn:other:gold")), None);
        assert_eq!(
            Acr::requested(Some("urn:inkan:acr:phr")),
            Some(Acr::PhishingResistant)
        );
        assert_eq!(
            Acr::requested(Some("urn:inkan:acr:phr urn:other urn:inkan:acr:mfa")),
            Some(Acr::MultiFactor)
        );
    }

    #[test]
    fn levels_are_ordered_and_round_trip() {
        assert!(Acr::OneFactor < Acr::MultiFactor);
        assert!(Acr::MultiFactor < Acr::PhishingResistant);
        for level in Acr::ALL {
            assert_eq!(Acr::parse(level.as_str()), Some(level));
        }
        assert_eq!(Acr::parse("urn:inkan:acr:9fa"), None);
        assert_eq!(Acr::parse(""), None);
    }
}
