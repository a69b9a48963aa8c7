//! The token request (RFC 6749 §3.2), one variant per supported grant.
//! Client authentication is read separately by [`crate::client_auth`].
//!
//! Supported: `authorization_code` (§4.1.3, with PKCE per RFC 7636 §4.5),
//! `refresh_token` (§6), `client_credentials` (§4.4). The password grant and
//! anything else are `unsupported_grant_type` (RFC 9700 §2.4 forbids the
//! password grant). A missing `grant_type` or required parameter is
//! `invalid_request`.

use crate::error::{quoted, ErrorCode, OAuthError};
use crate::params::Params;
use crate::pkce;
use crate::scope::Scopes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3. The service checks `redirect_uri` against the one in
    /// the authorization request (required there if it was sent there) and
    /// `code_verifier` against the stored challenge.
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        /// Syntax-checked (RFC 7636 §4.1).
        code_verifier: Option<String>,
    },
    /// RFC 6749 §6. `scope` absent means "as originally granted"; present,
    /// it must be a subset of the original grant (the service checks).
    RefreshToken {
        refresh_token: String,
        scope: Option<Scopes>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials { scope: Option<Scopes> },
}

impl TokenRequest {
    pub fn parse(params: &Params) -> Result<TokenRequest, OAuthError> {
        let scope = || params.get("scope").map(Scopes::parse).transpose();
        match params.require("grant_type")? {
            "authorization_code" => {
                let code_verifier = params.get("code_verifier");
                if let Some(verifier) = code_verifier {
                    pkce::check_verifier_syntax(verifier)?;
                }
                Ok(TokenRequest::AuthorizationCode {
                    code: params.require("code")?.to_owned(),
                    redirect_uri: params.get("redirect_uri").map(str::to_owned),
                    code_verifier: code_verifier.map(str::to_owned),
                })
            }
            "refresh_token" => Ok(TokenRequest::RefreshToken {
                refresh_token: params.require("refresh_token")?.to_owned(),
                scope: scope()?,
            }),
            "client_credentials" => Ok(TokenRequest::ClientCredentials { scope: scope()? }),
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {} is not supported", quoted(other)),
            )),
        }
    }

    /// The `grant_type` value of this request.
    pub fn grant_type(&self) -> &'static str {
        match self {
            TokenRequest::AuthorizationCode { .. } => "authorization_code",
            TokenRequest::RefreshToken { .. } => "refresh_token",
            TokenRequest::ClientCredentials { .. } => "client_credentials",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn parse(body: &str) -> Result<TokenRequest, OAuthError> {
        TokenRequest::parse(&Params::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn authorization_code_grant_parses() {
        let r = parse(&format!(
            "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier={VERIFIER}"
        ))
        .unwrap();
        assert_eq!(
            r,
            TokenRequest::AuthorizationCode {
                code: "abc".into(),
                redirect_uri: Some("https://a.example/cb".into()),
                code_verifier: Some(VERIFIER.into()),
            }
        );
        assert_eq!(r.grant_type(), "authorization_code");
    }

    #[test]
    fn code_is_required() {
        let err = parse("grant_type=authorization_code").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.description.contains("'code'"));
    }

    #[test]
    fn malformed_code_verifier_is_invalid_request() {
        let err = parse("grant_type=authorization_code&code=abc&code_verifier=short").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn refresh_token_grant_parses_with_optional_scope() {
        assert_eq!(
            parse("grant_type=refresh_token&refresh_token=rt").unwrap(),
            TokenRequest::RefreshToken {
                refresh_token: "rt".into(),
                scope: None
            }
        );
        let r = parse("grant_type=refresh_token&refresh_token=rt&scope=openid+email").unwrap();
        let TokenRequest::RefreshToken {
            scope: Some(scope), ..
        } = r
        else {
            panic!("expected a refresh request with scope, got {r:?}");
        };
        assert_eq!(scope.to_string(), "openid email");
        assert_eq!(
            parse("grant_type=refresh_token").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn client_credentials_grant_parses() {
        assert_eq!(
            parse("grant_type=client_credentials").unwrap(),
            TokenRequest::ClientCredentials { scope: None }
        );
        assert_eq!(
            parse("grant_type=client_credentials&scope=a%09b")
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn password_grant_is_unsupported() {
        let err = parse("grant_type=password&username=u&password=p").unwrap_err();
        assert_eq!(err.code, ErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn other_grants_are_unsupported() {
        for grant in [
            "implicit",
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
            "CODE",
        ] {
            assert_eq!(
                parse(&format!("grant_type={grant}")).unwrap_err().code,
                ErrorCode::UnsupportedGrantType,
                "{grant}"
            );
        }
    }

    #[test]
    fn missing_grant_type_is_invalid_request() {
        assert_eq!(
            parse("code=abc").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }
}
