//! Scope values (RFC 6749 §3.3): a set of case-sensitive tokens sent as one
//! space-delimited string.
//!
//! Parsing choices:
//! - tokens are split on the space character (`%x20`) only, and empty tokens
//!   (from leading, trailing or doubled spaces) are skipped: harmless, and
//!   some clients send `"openid "`;
//! - any other character outside `%x21 / %x23-5B / %x5D-7E` — tabs, line
//!   breaks, `"`, `\`, non-ASCII — makes the whole value `invalid_scope`;
//! - a value with no token at all is `invalid_scope` (an omitted `scope`
//!   never reaches the parser: [`crate::Params`] treats empty as absent);
//! - the order of first appearance is kept and repeats are dropped, so the
//!   string written back is stable.

use std::fmt;

use crate::error::{quoted, OAuthError};

/// Scopes a user flow (authorization code, and the refresh tokens it leads
/// to) never grants, whatever the client registered: `admin` opens the admin
/// API and belongs to machine clients alone (client credentials of a
/// `service` project). Kept here as well as in the domain's registration
/// rules so a project registered before those rules cannot hand it to a user.
pub const MACHINE_ONLY_SCOPES: [&str; 1] = ["admin"];

/// Whether `token` is in [`MACHINE_ONLY_SCOPES`].
pub fn is_machine_only(token: &str) -> bool {
    MACHINE_ONLY_SCOPES.contains(&token)
}

/// An ordered set of scope tokens, each satisfying [`is_scope_token`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

/// Whether `token` is a scope token: `1*( %x21 / %x23-5B / %x5D-7E )`
/// (RFC 6749 §3.3).
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(is_scope_byte)
}

fn is_scope_byte(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

impl Scopes {
    /// Parses a `scope` parameter; see the module doc for the rules.
    pub fn parse(value: &str) -> Result<Scopes, OAuthError> {
        let mut scopes = Scopes::default();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !is_scope_token(token) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {} contains a character not allowed by RFC 6749 section 3.3",
                    quoted(token)
                )));
            }
            scopes.insert(token);
        }
        if scopes.is_empty() {
            return Err(OAuthError::invalid_scope("scope has no scope token"));
        }
        Ok(scopes)
    }

    /// Builds a set from tokens known to be valid (configuration, stored
    /// grants); returns `None` if one is not a scope token.
    pub fn from_tokens<S: AsRef<str>>(tokens: &[S]) -> Option<Scopes> {
        let mut scopes = Scopes::default();
        for token in tokens {
            if !is_scope_token(token.as_ref()) {
                return None;
            }
            scopes.insert(token.as_ref());
        }
        Some(scopes)
    }

    fn insert(&mut self, token: &str) {
        if !self.contains(token) {
            self.0.push(token.to_owned());
        }
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    /// The tokens of `self` that are also in `allowed`, in `self`'s order.
    pub fn intersect<S: AsRef<str>>(&self, allowed: &[S]) -> Scopes {
        Scopes(
            self.0
                .iter()
                .filter(|t| allowed.iter().any(|a| a.as_ref() == t.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// Whether every token of `self` is in `other` (e.g. a refresh request's
    /// scope within the original grant, RFC 6749 §6).
    pub fn is_subset_of<S: AsRef<str>>(&self, other: &[S]) -> bool {
        self.0
            .iter()
            .all(|t| other.iter().any(|o| o.as_ref() == t.as_str()))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The tokens joined by single spaces, as sent in a `scope` parameter.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Scopes::parse(&s).map_err(|e| serde::de::Error::custom(e.description))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn tokens_keep_first_order_without_repeats() {
        let s = Scopes::parse("openid email openid profile").unwrap();
        assert_eq!(s.as_slice(), ["openid", "email", "profile"]);
        assert_eq!(s.to_string(), "openid email profile");
    }

    #[test]
    fn extra_spaces_are_tolerated() {
        let s = Scopes::parse(" openid  email ").unwrap();
        assert_eq!(s.to_string(), "openid email");
    }

    #[test]
    fn tabs_and_newlines_are_invalid_scope() {
        for bad in [
            "openid\temail",
            "openid\nemail",
            "openid \"x\"",
            "a\\b",
            "é",
        ] {
            let err = Scopes::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidScope, "{bad:?}");
        }
    }

    #[test]
    fn a_value_of_only_spaces_is_invalid_scope() {
        assert_eq!(
            Scopes::parse("   ").unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn tokens_are_case_sensitive() {
        let s = Scopes::parse("OpenID").unwrap();
        assert!(!s.contains("openid"));
    }

    #[test]
    fn intersect_keeps_only_allowed_tokens() {
        let s = Scopes::parse("openid email admin").unwrap();
        let allowed = ["email", "openid"];
        assert_eq!(s.intersect(&allowed).to_string(), "openid email");
        assert!(!s.is_subset_of(&allowed));
        assert!(s.intersect(&allowed).is_subset_of(&allowed));
        assert!(s.is_subset_of(s.as_slice()));
    }

    #[test]
    fn serializes_as_one_string() {
        let s = Scopes::parse("openid email").unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json, serde_json::json!("openid email"));
        assert_eq!(serde_json::from_value::<Scopes>(json).unwrap(), s);
    }

    #[test]
    fn from_tokens_refuses_invalid_tokens() {
        assert!(Scopes::from_tokens(&["openid", "bad token"]).is_none());
        assert_eq!(Scopes::from_tokens(&["openid", "openid"]).unwrap().len(), 1);
    }
}
