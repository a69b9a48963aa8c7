//! Client credentials at the token, introspection and revocation endpoints:
//! which method the client used and what it sent. Checking the secret is the
//! service's job (against a hash, in constant time).
//!
//! Rules:
//! - `Authorization: Basic` carries `urlencode(client_id):urlencode(secret)`
//!   in base64 (RFC 6749 §2.3.1); the scheme name is case-insensitive
//!   (RFC 9110 §11.1); padding may be omitted;
//! - `client_id` + `client_secret` in the body is `client_secret_post`;
//!   `client_id` alone is a public client (`none`, RFC 6749 §3.2.1);
//! - using two methods at once — Basic plus `client_secret` in the body — is
//!   `invalid_request` (RFC 6749 §2.3: "MUST NOT use more than one
//!   authentication method in each request"). A body `client_id` next to
//!   Basic is tolerated when it names the same client (many libraries send
//!   it), and `invalid_request` when it names another;
//! - a malformed or non-Basic `Authorization` header, an empty client id or
//!   secret, or no client id anywhere is `invalid_client`;
//! - `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//!   with a `client_assertion` is `private_key_jwt` (RFC 7523 §2.2, OIDC
//!   Core §9). The client is the assertion's `sub` (RFC 7523 §3 item 2),
//!   read here unverified only to find its keys; a body `client_id` must
//!   name the same client (RFC 7521 §4.2). Another assertion type is
//!   `invalid_client`; an assertion next to a secret or Basic is
//!   `invalid_request` (one method per request).

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use url::form_urlencoded;

use crate::error::OAuthError;
use crate::params::{self, Params};

/// How the client authenticated and what it sent. `Debug` hides secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`.
    Basic { id: String, secret: String },
    /// `client_secret_post`.
    Post { id: String, secret: String },
    /// A public client identifying itself with `client_id` only.
    None { id: String },
    /// `private_key_jwt`: a JWT the client signed, still to be verified.
    Assertion { id: String, assertion: String },
}

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl ClientAuth {
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::Basic { id, .. }
            | ClientAuth::Post { id, .. }
            | ClientAuth::None { id }
            | ClientAuth::Assertion { id, .. } => id,
        }
    }

    /// The secret, unless the client is public.
    pub fn secret(&self) -> Option<&str> {
        match self {
            ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. } => Some(secret),
            ClientAuth::None { .. } | ClientAuth::Assertion { .. } => None,
        }
    }

    /// The `token_endpoint_auth_method` name of the method used.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
            ClientAuth::None { .. } => "none",
            ClientAuth::Assertion { .. } => "private_key_jwt",
        }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct(match self {
            ClientAuth::Basic { .. } => "Basic",
            ClientAuth::Post { .. } => "Post",
            ClientAuth::None { .. } => "None",
            ClientAuth::Assertion { .. } => "Assertion",
        });
        s.field("id", &self.client_id());
        if self.secret().is_some() {
            s.field("secret", &"<redacted>");
        }
        s.finish()
    }
}

/// Reads the client's credentials from the `Authorization` header value (if
/// any) and the body parameters; see the module doc for the rules.
pub fn extract(
    authorization_header: Option<&str>,
    params: &Params,
) -> Result<ClientAuth, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    if params.contains("client_assertion") || params.contains("client_assertion_type") {
        if authorization_header.is_some() || body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "client authenticated with both a client assertion and a secret",
            ));
        }
        return assertion(params, body_id);
    }

    if let Some(header) = authorization_header {
        let (id, secret) = decode_basic(header)?;
        if id.is_empty() || secret.is_empty() {
            return Err(OAuthError::invalid_client(
                "Basic credentials need a client id and a secret",
            ));
        }
        // RFC 6749 §2.3: one authentication method per request.
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "client authenticated with both Basic and client_secret",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Basic credentials",
            ));
        }
        return Ok(ClientAuth::Basic { id, secret });
    }

    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(ClientAuth::Post {
            id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        (Some(id), None) => Ok(ClientAuth::None { id: id.to_owned() }),
        (None, _) => Err(OAuthError::invalid_client("no client authentication")),
    }
}

/// `private_key_jwt`: the assertion and the client it names.
fn assertion(params: &Params, body_id: Option<&str>) -> Result<ClientAuth, OAuthError> {
    if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
        return Err(OAuthError::invalid_client(
            "unsupported client_assertion_type: use urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let Some(assertion) = params.get("client_assertion").filter(|a| !a.is_empty()) else {
        return Err(OAuthError::invalid_client("client_assertion is missing"));
    };
    let claimed = claimed_subject(assertion)
        .ok_or_else(|| OAuthError::invalid_client("the client assertion is not a readable JWT"))?;
    if body_id.is_some_and(|b| b != claimed) {
        return Err(OAuthError::invalid_client(
            "client_id does not match the client assertion's subject",
        ));
    }
    Ok(ClientAuth::Assertion {
        id: claimed,
        assertion: assertion.to_owned(),
    })
}

/// The `sub` of a compact JWS's payload, unverified (RFC 7523 §3 item 2:
/// for client authentication it is the client id).
fn claimed_subject(jwt: &str) -> Option<String> {
    let mut parts = jwt.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("sub")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Lenient on padding: some clients omit the trailing `=`.
const BASIC_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes an `Authorization: Basic` header value into (client id, secret),
/// both form-url-decoded (RFC 6749 §2.3.1). Either may be empty; [`extract`]
/// refuses that. Any malformation is `invalid_client`.
pub fn decode_basic(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = || OAuthError::invalid_client("malformed Basic authorization header");
    let (scheme, credentials) = header.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "unsupported authorization scheme, use Basic",
        ));
    }
    let decoded = BASIC_ENGINE
        .decode(credentials.trim_matches(' '))
        .map_err(|_| malformed())?;
    // RFC 7617 §2: the user-id cannot contain ':', so the first one splits.
    // RFC 6749 §2.3.1 has the client encode both parts, so a ':' in either
    // arrives as %3A.
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(malformed)?;
    let id = params::decode(&decoded[..colon]).map_err(|_| malformed())?;
    let secret = params::decode(&decoded[colon + 1..]).map_err(|_| malformed())?;
    Ok((id, secret))
}

/// The `Authorization` header value a client sends for `client_secret_basic`
/// (RFC 6749 §2.3.1): for tests and Inkan's own clients.
pub fn basic_header(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn params(body: &str) -> Params {
        Params::parse(body.as_bytes()).unwrap()
    }

    fn err(header: Option<&str>, body: &str) -> ErrorCode {
        extract(header, &params(body)).unwrap_err().code
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let header = basic_header("shop", "s3cr:et+/%");
        let auth = extract(Some(&header), &params("grant_type=x")).unwrap();
        assert_eq!(
            auth,
            ClientAuth::Basic {
                id: "shop".into(),
                secret: "s3cr:et+/%".into()
            }
        );
        assert_eq!(auth.method(), "client_secret_basic");
    }

    #[test]
    fn rfc6749_example_header_decodes() {
        // RFC 6749 §2.3.1.
        let (id, secret) =
            decode_basic("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3").unwrap();
        assert_eq!(id, "s6BhdRkqt3");
        assert_eq!(secret, "7Fjfp0ZBr1KtDRbnfVdmIw");
    }

    #[test]
    fn scheme_is_case_insensitive_and_padding_optional() {
        // "a:b" is YTpi (no padding needed); "ab:c" is YWI6Yw==.
        assert_eq!(
            decode_basic("bAsIc YTpi").unwrap(),
            ("a".into(), "b".into())
        );
        assert_eq!(
            decode_basic("Basic YWI6Yw").unwrap(),
            ("ab".into(), "c".into())
        );
        assert_eq!(
            decode_basic("Basic YWI6Yw==").unwrap(),
            ("ab".into(), "c".into())
        );
    }

    #[test]
    fn malformed_basic_header_is_invalid_client() {
        for header in [
            "Basic",
            "Basic !!!",
            "Basic YWJj",
            "Bearer abc",
            "Basic /w==",
            "",
        ] {
            assert_eq!(
                err(Some(header), ""),
                ErrorCode::InvalidClient,
                "{header:?}"
            );
        }
    }

    #[test]
    fn empty_basic_secret_is_invalid_client() {
        let header = basic_header("shop", "");
        assert_eq!(err(Some(&header), ""), ErrorCode::InvalidClient);
    }

    #[test]
    fn client_secret_post_is_recognised() {
        let auth = extract(None, &params("client_id=shop&client_secret=s")).unwrap();
        assert_eq!(
            auth,
            ClientAuth::Post {
                id: "shop".into(),
                secret: "s".into()
            }
        );
        assert_eq!(auth.secret(), Some("s"));
    }

    #[test]
    fn public_client_sends_only_its_id() {
        let auth = extract(None, &params("client_id=spa")).unwrap();
        assert_eq!(auth, ClientAuth::None { id: "spa".into() });
        assert_eq!(auth.secret(), None);
    }

    #[test]
    fn two_methods_at_once_are_invalid_request() {
        let header = basic_header("shop", "s");
        assert_eq!(
            err(Some(&header), "client_id=shop&client_secret=s"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err(Some(&header), "client_secret=s"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err(Some(&header), "client_id=other"),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn matching_body_client_id_next_to_basic_is_tolerated() {
        let header = basic_header("shop", "s");
        let auth = extract(Some(&header), &params("client_id=shop")).unwrap();
        assert_eq!(auth.client_id(), "shop");
    }

    #[test]
    fn no_client_id_is_invalid_client() {
        assert_eq!(err(None, "grant_type=x"), ErrorCode::InvalidClient);
        assert_eq!(err(None, "client_secret=s"), ErrorCode::InvalidClient);
    }

    fn jwt(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b64(r#"{"alg":"ES256"}"#), b64(claims))
    }

    #[test]
    fn a_jwt_client_assertion_names_its_client_by_sub() {
        let assertion = jwt(r#"{"iss":"pay","sub":"pay"}"#);
        let body = format!(
            "client_assertion_type={}&client_assertion={assertion}",
            JWT_BEARER_ASSERTION.replace(':', "%3A")
        );
        let auth = extract(None, &params(&body)).unwrap();
        assert_eq!(
            auth,
            ClientAuth::Assertion {
                id: "pay".into(),
                assertion: assertion.clone()
            }
        );
        assert_eq!(auth.method(), "private_key_jwt");
        assert_eq!(auth.secret(), None);
        let named = format!("client_id=pay&{body}");
        assert_eq!(extract(None, &params(&named)).unwrap().client_id(), "pay");
        let other = format!("client_id=shop&{body}");
        assert_eq!(err(None, &other), ErrorCode::InvalidClient);
        let with_secret = format!("client_secret=s&{body}");
        assert_eq!(err(None, &with_secret), ErrorCode::InvalidRequest);
        let header = basic_header("pay", "s");
        assert_eq!(err(Some(&header), &body), ErrorCode::InvalidRequest);
    }

    #[test]
    fn other_assertion_types_and_unreadable_assertions_are_invalid_client() {
        for body in [
            "client_id=a&client_assertion_type=x&client_assertion=y",
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c",
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c.d",
        ] {
            assert_eq!(err(None, body), ErrorCode::InvalidClient, "{body}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let auth = ClientAuth::Post {
            id: "shop".into(),
            secret: "hunter2".into(),
        };
        let shown = format!("{auth:?}");
        assert!(
            shown.contains("shop") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
