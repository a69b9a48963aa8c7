//! A strictly parsed `application/x-www-form-urlencoded` query string or
//! request body, as every OAuth endpoint receives its parameters.
//!
//! Rules (all failures are `invalid_request`):
//! - at most [`MAX_INPUT_BYTES`] of input and [`MAX_PARAMS`] parameters, so a
//!   request cannot make the parser do unbounded work;
//! - a parameter with an empty value counts as absent (RFC 6749 §3.1), and so
//!   does one with an empty name;
//! - a parameter present twice is refused (RFC 6749 §3.1). Absent means
//!   absent: `scope=&scope=openid` has one `scope`;
//! - names and values must be UTF-8 once percent-decoded (no lossy decoding:
//!   a replacement character could hide what the client sent).
//!
//! Decoding follows the WHATWG URL standard's form parser: `+` is a space, a
//! `%` not followed by two hex digits is kept as it is.

use std::collections::BTreeMap;

use crate::error::{quoted, OAuthError};

/// The largest accepted query string or body, in bytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// The most `name=value` pairs accepted in one query string or body.
pub const MAX_PARAMS: usize = 100;

/// The parameters of one request, each at most once, none empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Parses a raw query string (without `?`) or form body.
    pub fn parse(input: &[u8]) -> Result<Params, OAuthError> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(OAuthError::invalid_request(format!(
                "request parameters exceed {MAX_INPUT_BYTES} bytes"
            )));
        }
        let pairs = input.split(|&b| b == b'&').filter(|p| !p.is_empty());
        if pairs.clone().count() > MAX_PARAMS {
            return Err(OAuthError::invalid_request(format!(
                "more than {MAX_PARAMS} request parameters"
            )));
        }
        let mut values = BTreeMap::new();
        for pair in pairs {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            // RFC 6749 §3.1: "Parameters sent without a value MUST be treated
            // as if they were omitted from the request."
            if name.is_empty() || value.is_empty() {
                continue;
            }
            // RFC 6749 §3.1: "Request and response parameters MUST NOT be
            // included more than once."
            if values.contains_key(&name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {} is repeated",
                    quoted(&name)
                )));
            }
            values.insert(name, value);
        }
        Ok(Params { values })
    }

    /// The value of `name`, if present (and so non-empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("missing required parameter {}", quoted(name)))
        })
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// All parameters, ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Decodes one form-encoded name or value, refusing invalid UTF-8.
pub(crate) fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    String::from_utf8(decode_bytes(raw))
        .map_err(|_| OAuthError::invalid_request("request parameters are not valid UTF-8"))
}

/// `+` to space and `%XX` to its byte; a malformed escape stays literal.
fn decode_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|&b| hex(b));
                let lo = raw.get(i + 2).and_then(|&b| hex(b));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn values_are_percent_and_plus_decoded() {
        let p =
            Params::parse(b"redirect_uri=https%3A%2F%2Fa.example%2Fcb&scope=openid+email").unwrap();
        assert_eq!(p.get("redirect_uri"), Some("https://a.example/cb"));
        assert_eq!(p.get("scope"), Some("openid email"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let err = Params::parse(b"state=a&client_id=c&state=b").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("'state'"), "{}", err.description);
    }

    #[test]
    fn repetition_is_detected_after_decoding() {
        assert!(Params::parse(b"state=a&st%61te=b").is_err());
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p = Params::parse(b"state=&nonce&scope=&scope=openid&=x").unwrap();
        assert_eq!(p.get("state"), None);
        assert_eq!(p.get("nonce"), None);
        assert_eq!(p.get("scope"), Some("openid"));
        assert!(p.require("state").is_err());
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn empty_input_has_no_parameters() {
        assert!(Params::parse(b"").unwrap().is_empty());
        assert!(Params::parse(b"&&&").unwrap().is_empty());
    }

    #[test]
    fn invalid_utf8_is_invalid_request() {
        let err = Params::parse(b"state=%FF%FE").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(Params::parse(b"state=\xff").is_err());
    }

    #[test]
    fn malformed_escapes_stay_literal() {
        let p = Params::parse(b"a=100%&b=%zz&c=%4").unwrap();
        assert_eq!(p.get("a"), Some("100%"));
        assert_eq!(p.get("b"), Some("%zz"));
        assert_eq!(p.get("c"), Some("%4"));
    }

    #[test]
    fn a_hundred_parameters_are_accepted_but_not_more() {
        let body = |n: usize| {
            (0..n)
                .map(|i| format!("p{i}=v"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(Params::parse(body(100).as_bytes()).unwrap().len(), 100);
        assert!(Params::parse(body(101).as_bytes()).is_err());
    }

    #[test]
    fn input_over_64_kib_is_rejected() {
        let ok = format!("a={}", "x".repeat(MAX_INPUT_BYTES - 2));
        assert!(Params::parse(ok.as_bytes()).is_ok());
        let big = format!("a={}", "x".repeat(MAX_INPUT_BYTES - 1));
        assert!(Params::parse(big.as_bytes()).is_err());
    }

    #[test]
    fn value_may_contain_equals_signs() {
        let p = Params::parse(b"code=abc==").unwrap();
        assert_eq!(p.get("code"), Some("abc=="));
    }
}
