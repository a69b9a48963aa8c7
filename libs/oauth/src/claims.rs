//! Which identity claims a token or userinfo answer carries, by scope
//! (OIDC Core §5.4), plus the legacy claim names relying parties written
//! against Inkan's predecessor expect (`user_id`, `first_name`, `last_name`,
//! `verified`), which a project can switch off.

use serde_json::{json, Map, Value};

use crate::scope::Scopes;

/// The identity facts claims are built from.
#[derive(Debug, Clone, Default)]
pub struct IdentityFacts<'a> {
    /// The identity's UUID: `sub`.
    pub id: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    /// Custom claims (a JSON object), released with the `profile` scope.
    pub custom: Option<&'a Map<String, Value>>,
}

/// The user claims for `scopes`: `sub` always; `email`, `email_verified`
/// with `email`; `name`, `given_name`, `family_name` and custom claims with
/// `profile`. Absent values are omitted, never `null` (OIDC Core §5.3.2).
pub fn user_claims(
    identity: &IdentityFacts<'_>,
    scopes: &Scopes,
    compat: bool,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(identity.id));
    if compat {
        claims.insert("user_id".into(), json!(identity.id));
    }
    if scopes.contains("profile") {
        if let Some(custom) = identity.custom {
            for (k, v) in custom {
                claims.insert(k.clone(), v.clone());
            }
        }
        let name = [identity.first_name, identity.last_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            claims.insert("name".into(), json!(name));
        }
        if let Some(first) = identity.first_name {
            claims.insert("given_name".into(), json!(first));
            if compat {
                claims.insert("first_name".into(), json!(first));
            }
        }
        if let Some(last) = identity.last_name {
            claims.insert("family_name".into(), json!(last));
            if compat {
                claims.insert("last_name".into(), json!(last));
            }
        }
    }
    if scopes.contains("email") {
        claims.insert("email".into(), json!(identity.email));
        claims.insert("email_verified".into(), json!(identity.email_verified));
        if compat {
            claims.insert("verified".into(), json!(identity.email_verified));
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada<'a>(custom: &'a Map<String, Value>) -> IdentityFacts<'a> {
        IdentityFacts {
            id: "7c1d",
            email: "ada@example.com",
            email_verified: true,
            first_name: Some("Ada"),
            last_name: Some("Lovelace"),
            custom: Some(custom),
        }
    }

    #[test]
    fn openid_alone_releases_only_the_subject() {
        let custom = Map::new();
        let claims = user_claims(&ada(&custom), &Scopes::parse("openid").unwrap(), false);
        assert_eq!(Value::Object(claims), json!({"sub": "7c1d"}));
    }

    #[test]
    fn profile_and_email_release_their_claims_and_compat_names() {
        let mut custom = Map::new();
        custom.insert("tenant".into(), json!("acme"));
        let claims = user_claims(
            &ada(&custom),
            &Scopes::parse("openid profile email").unwrap(),
            true,
        );
        assert_eq!(
            Value::Object(claims),
            json!({
                "sub": "7c1d", "user_id": "7c1d",
                "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
                "first_name": "Ada", "last_name": "Lovelace", "tenant": "acme",
                "email": "ada@example.com", "email_verified": true, "verified": true
            })
        );
    }
}
