//! Fuzz target bodies for Inkan's request parsers and JWT verification.
//!
//! Each `pub fn` takes arbitrary bytes and must never panic. Besides "no
//! panic", a few cheap invariants that the libraries document are asserted,
//! so a violation shows up as a crash too. The libFuzzer binaries in
//! `fuzz_targets/` and the regression replay in `tests/regressions.rs` call
//! these same functions; [`TARGETS`] lists them by name.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use inkan_keys::signing::{Algorithm, SigningKey, Verifier, VerifyOptions};
use inkan_oauth::authorize::{echo_state, AuthorizationRequest, ClientPolicy, ClientTarget};
use inkan_oauth::params::{Params, MAX_PARAMS};
use inkan_oauth::scope::Scopes;
use inkan_oauth::token_request::TokenRequest;
use inkan_oauth::{client_auth, pkce, redirect, ClientAuth, OAuthError};

/// A target body: arbitrary input, must not panic.
pub type Target = fn(&[u8]);

/// Every target, by the name of its binary and of its `regressions/` folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("params", params),
    ("authorize_request", authorize_request),
    ("token_request", token_request),
    ("scope_redirect_pkce", scope_redirect_pkce),
    ("jwt_verify", jwt_verify),
];

/// The issuer the JWT target's tokens are checked against.
pub const ISSUER: &str = "https://id.example";

/// Exercises everything an endpoint does with an error: none of it may panic.
fn render(err: &OAuthError) {
    let _ = err.http_status();
    let _ = err.to_json();
    let _ = err.redirect_params();
}

/// `Params::parse` on raw bytes (repeated, empty, oversized, badly escaped
/// parameters).
pub fn params(data: &[u8]) {
    match Params::parse(data) {
        Ok(p) => {
            assert!(p.len() <= MAX_PARAMS);
            for (name, value) in p.iter() {
                assert!(!name.is_empty() && !value.is_empty());
                assert_eq!(p.get(name), Some(value));
            }
        }
        Err(e) => render(&e),
    }
}

/// The authorization endpoint: `Params`, then `ClientTarget`, then
/// `AuthorizationRequest` under two fixed client policies.
pub fn authorize_request(data: &[u8]) {
    let params = match Params::parse(data) {
        Ok(p) => p,
        Err(e) => return render(&e),
    };
    let target = ClientTarget::parse(&params);
    if let Err(e) = &target {
        render(e);
    }
    let _ = echo_state(&params);
    let strict = ClientPolicy {
        allowed_scopes: vec!["openid".into(), "profile".into(), "email".into()],
        requires_pkce: true,
        drop_unknown_scopes: false,
    };
    let lenient = ClientPolicy {
        allowed_scopes: vec!["openid".into(), "offline_access".into()],
        requires_pkce: false,
        drop_unknown_scopes: true,
    };
    for policy in [&strict, &lenient] {
        match AuthorizationRequest::parse(&params, policy) {
            Ok(req) => {
                // Documented: phase two succeeding implies phase one did, and
                // the scopes always contain `openid`, within the policy.
                assert_eq!(target.as_ref().ok(), Some(&req.target));
                assert!(req.scopes.contains("openid"));
                assert!(req.scopes.is_subset_of(&policy.allowed_scopes));
                if let Some(challenge) = &req.code_challenge {
                    assert!(pkce::check_challenge_syntax(challenge).is_ok());
                }
                if policy.requires_pkce {
                    assert!(req.code_challenge.is_some());
                }
            }
            Err(e) => render(&e),
        }
    }
}

/// The token endpoint: the input's first line is the `Authorization` header
/// value, the rest the form body.
pub fn token_request(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let header = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());

    if let Some(h) = header {
        if let Ok((id, secret)) = client_auth::decode_basic(h) {
            // What `basic_header` builds, `decode_basic` reads back.
            let again = client_auth::decode_basic(&client_auth::basic_header(&id, &secret))
                .expect("decode_basic refused basic_header's output");
            assert_eq!(again, (id, secret));
        }
    }

    let params = match Params::parse(body) {
        Ok(p) => p,
        Err(e) => return render(&e),
    };
    match TokenRequest::parse(&params) {
        Ok(req) => {
            let _ = req.grant_type();
            if let TokenRequest::AuthorizationCode {
                code_verifier: Some(v),
                ..
            } = &req
            {
                assert!(pkce::check_verifier_syntax(v).is_ok());
            }
        }
        Err(e) => render(&e),
    }
    for h in [header, None] {
        match client_auth::extract(h, &params) {
            Ok(auth) => {
                assert!(!auth.client_id().is_empty());
                assert!(auth.secret().is_none_or(|s| !s.is_empty()));
                if h.is_some() {
                    assert!(matches!(auth, ClientAuth::Basic { .. }));
                }
                let _ = format!("{auth:?}");
            }
            Err(e) => render(&e),
        }
    }
}

/// Scopes, redirect URIs and PKCE. The input is split on NUL bytes into: a
/// scope value, a requested redirect URI, registered URIs (newline-separated),
/// a code verifier and a code challenge.
pub fn scope_redirect_pkce(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or("");
    let (scope, requested, registered, verifier, challenge) =
        (next(), next(), next(), next(), next());

    match Scopes::parse(scope) {
        Ok(s) => {
            assert!(!s.is_empty());
            // The string written back parses to the same set.
            assert_eq!(Scopes::parse(&s.to_string()).ok(), Some(s.clone()));
            let _ = s.intersect(&["openid", "profile"]);
        }
        Err(e) => render(&e),
    }

    let registered: Vec<String> = registered.split('\n').map(str::to_owned).collect();
    let _ = redirect::matches_registered(requested, &registered);
    assert!(redirect::matches_registered(
        requested,
        &[requested.to_owned()]
    ));
    let built = redirect::append_query(requested, &[("code", verifier), ("state", scope)]);
    let base = requested.split('#').next().unwrap_or("");
    assert!(built.starts_with(base));
    assert_eq!(redirect::append_query(requested, &[]), requested);

    let _ = pkce::verify_s256(verifier, challenge);
    let _ = pkce::check_verifier_syntax(verifier);
    let _ = pkce::check_challenge_syntax(challenge);
    let own = pkce::s256_challenge(verifier);
    assert!(pkce::verify_s256(verifier, &own));
    assert!(pkce::check_challenge_syntax(&own).is_ok());
}

struct JwtFixture {
    verifier: Verifier,
    /// A valid token signed by the fixture's key, for the splice modes.
    token: String,
}

fn jwt_fixture() -> &'static JwtFixture {
    static FIXTURE: OnceLock<JwtFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::ES256).expect("generate ES256 key");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": "fuzz",
            "aud": "client",
            "iat": now,
            "exp": now + 24 * 3600,
        });
        let token = key.sign_jwt("JWT", &claims).expect("sign");
        let verifier = Verifier::new(&[key.public_jwk()]);
        assert!(verifier.verify(&token, &VerifyOptions::new(ISSUER)).is_ok());
        JwtFixture { verifier, token }
    })
}

/// JWT verification against one fixed ES256 key (generated once per
/// process). The fuzzer cannot forge a signature, so nothing but the token
/// the fixture signed itself may verify.
///
/// First byte `0`/`1`/`2`: the rest replaces the header / claims / signature
/// part of that valid token, so mutations reach the deeper checks; any
/// other first byte: the whole input is the token.
pub fn jwt_verify(data: &[u8]) {
    let fixture = jwt_fixture();
    let token = match data.split_first() {
        Some((&mode @ 0..=2, rest)) => {
            let Ok(rest) = std::str::from_utf8(rest) else {
                return;
            };
            let mut parts: Vec<&str> = fixture.token.split('.').collect();
            parts[mode as usize] = rest;
            parts.join(".")
        }
        _ => match std::str::from_utf8(data) {
            Ok(t) => t.to_owned(),
            Err(_) => String::from_utf8_lossy(data).into_owned(),
        },
    };
    let mut options = VerifyOptions::new(ISSUER);
    let first = fixture.verifier.verify(&token, &options);
    options.allow_expired = true;
    options.audience = Some("client");
    options.expected_typ = Some("jwt");
    let second = fixture.verifier.verify(&token, &options);
    if token != fixture.token {
        assert!(
            first.is_err(),
            "a token the fuzzer built verified: {token:?}"
        );
        assert!(
            second.is_err(),
            "a token the fuzzer built verified: {token:?}"
        );
    }
}
