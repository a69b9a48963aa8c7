//! The claims of an access token as Inkan mints them: an RFC 9068 JWT
//! (`typ: at+jwt`) whose audience is the issuer itself (its userinfo
//! endpoint and admin API are the resource servers).
//!
//! One typed shape for both directions: the token service serializes it when
//! minting, and every resource endpoint (userinfo, introspection,
//! revocation, the admin API) reads a verified token's claims back into it,
//! so no endpoint reaches into a `serde_json::Value` by field name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scope::Scopes;

/// RFC 9068 §2.2 claims, plus Inkan's token family (`fid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The identity's id, or the client id for the client credentials grant (RFC 9068 §2.2).
    pub sub: String,
    /// The issuer: Inkan is the only resource server its tokens are for.
    pub aud: String,
    pub client_id: String,
    /// Space-separated, as granted (RFC 9068 §2.2.3); may be empty.
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// When the end user logged in; absent on client credentials tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The refresh-token family the token belongs to, if any: revoking the
    /// family revokes the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<String>,
    /// The key the token is bound to (RFC 9449 §6.1: `cnf.jkt`); a bound
    /// token is only accepted with a DPoP proof by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 §3.1 confirmation: here only the DPoP key's thumbprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 7638 SHA-256 thumbprint of the DPoP public key (RFC 9449 §6.1).
    pub jkt: String,
}

impl AccessClaims {
    /// Reads verified claims; an error if a required claim is missing or of
    /// the wrong type (such a token was not minted by Inkan).
    pub fn from_value(claims: Value) -> Result<AccessClaims, serde_json::Error> {
        serde_json::from_value(claims)
    }

    /// The claims as a JSON object, to sign.
    pub fn to_value(&self) -> Value {
        // A struct of strings and integers always serializes.
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Default::default()))
    }

    /// The granted scopes; `None` if the `scope` claim is not a valid scope list.
    pub fn scopes(&self) -> Option<Scopes> {
        Scopes::parse(&self.scope).ok()
    }

    /// The DPoP key's thumbprint the token is bound to, if any.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// A client credentials token: it speaks for the client itself (its
    /// subject is the client id, RFC 9068 §2.2) and no end user logged in
    /// (only a login sets `auth_time`).
    pub fn is_for_the_client_itself(&self) -> bool {
        self.sub == self.client_id && self.auth_time.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine() -> AccessClaims {
        AccessClaims {
            iss: "https://id.example.com".into(),
            sub: "ops".into(),
            aud: "https://id.example.com".into(),
            client_id: "ops".into(),
            scope: "admin reports".into(),
            exp: 1_700_003_600,
            iat: 1_700_000_000,
            jti: "j1".into(),
            auth_time: None,
            fid: None,
            cnf: None,
        }
    }

    #[test]
    fn claims_round_trip_and_absent_optionals_are_not_written() {
        let claims = machine();
        let value = claims.to_value();
        assert!(value.get("auth_time").is_none());
        assert!(value.get("fid").is_none());
        assert_eq!(value["client_id"], "ops");
        assert_eq!(AccessClaims::from_value(value).unwrap(), claims);

        let mut user = machine();
        user.sub = "0199-user".into();
        user.auth_time = Some(1_700_000_000);
        user.fid = Some("f1".into());
        assert_eq!(AccessClaims::from_value(user.to_value()).unwrap(), user);
    }

    #[test]
    fn claims_missing_a_required_field_or_of_the_wrong_type_are_refused() {
        let mut value = machine().to_value();
        value.as_object_mut().unwrap().remove("jti");
        assert!(AccessClaims::from_value(value).is_err());
        let mut value = machine().to_value();
        value["exp"] = json!("tomorrow");
        assert!(AccessClaims::from_value(value).is_err());
        assert!(AccessClaims::from_value(json!("not an object")).is_err());
    }

    #[test]
    fn only_tokens_without_an_end_user_speak_for_the_client_itself() {
        assert!(machine().is_for_the_client_itself());
        let mut user = machine();
        user.sub = "0199-user".into();
        assert!(!user.is_for_the_client_itself());
        let mut logged_in = machine();
        logged_in.auth_time = Some(1);
        assert!(!logged_in.is_for_the_client_itself());
    }

    #[test]
    fn scopes_are_matched_as_whole_tokens() {
        let claims = machine();
        assert!(claims.has_scope("admin"));
        assert!(!claims.has_scope("adm"));
        assert!(claims.scopes().unwrap().contains("reports"));
    }
}
