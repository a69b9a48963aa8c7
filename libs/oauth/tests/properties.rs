//! Properties of the parsers over generated inputs: no panics on hostile
//! bytes, and the round trips and refusals the protocol relies on.

use inkan_oauth::client_auth::{basic_header, decode_basic};
use inkan_oauth::pkce::{
    check_challenge_syntax, check_verifier_syntax, s256_challenge, verify_s256,
};
use inkan_oauth::redirect::{append_query, matches_registered};
use inkan_oauth::{ErrorCode, Params, Scopes};
use proptest::prelude::*;
use url::form_urlencoded;

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn params_parse_never_panics_on_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Params::parse(&input);
    }

    #[test]
    fn params_parse_never_panics_on_form_like_text(input in "[a-z=&%+0-9A-F\u{80}-\u{10FFFF}]{0,300}") {
        let _ = Params::parse(input.as_bytes());
    }

    #[test]
    fn duplicated_param_is_always_rejected(
        name in "\\PC{1,20}",
        first in "\\PC{1,20}",
        second in "\\PC{1,20}",
        others in proptest::collection::vec(("[a-z]{1,8}", "\\PC{1,8}"), 0..20),
        position in 0usize..20,
    ) {
        let mut pairs: Vec<String> = others
            .iter()
            .filter(|(n, _)| *n != name)
            .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
            .collect();
        pairs.insert(position.min(pairs.len()), format!("{}={}", encode(&name), encode(&first)));
        pairs.push(format!("{}={}", encode(&name), encode(&second)));
        let err = Params::parse(pairs.join("&").as_bytes()).unwrap_err();
        prop_assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn encoded_params_parse_back(pairs in proptest::collection::btree_map("\\PC{1,10}", "\\PC{1,20}", 0..30)) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let params = Params::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(params.len(), pairs.len());
        for (name, value) in &pairs {
            prop_assert_eq!(params.get(name), Some(value.as_str()));
        }
    }

    #[test]
    fn pkce_verifies_its_own_challenge(verifier in "[A-Za-z0-9._~-]{43,128}") {
        prop_assert!(check_verifier_syntax(&verifier).is_ok());
        let challenge = s256_challenge(&verifier);
        prop_assert!(check_challenge_syntax(&challenge).is_ok());
        prop_assert!(verify_s256(&verifier, &challenge));
    }

    #[test]
    fn pkce_rejects_any_modified_verifier(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        index in any::<prop::sample::Index>(),
        replacement in any::<prop::sample::Index>(),
    ) {
        let challenge = s256_challenge(&verifier);
        let mut bytes = verifier.clone().into_bytes();
        let i = index.index(bytes.len());
        let mut new = UNRESERVED[replacement.index(UNRESERVED.len())];
        if new == bytes[i] {
            new = if new == b'a' { b'b' } else { b'a' };
        }
        bytes[i] = new;
        let modified = String::from_utf8(bytes).unwrap();
        prop_assert!(!verify_s256(&modified, &challenge));
        // Longer or shorter verifiers fail too.
        let longer = format!("{verifier}a");
        prop_assert!(!verify_s256(&longer, &challenge));
        prop_assert!(!verify_s256(&verifier[..verifier.len() - 1], &challenge));
    }

    #[test]
    fn scope_parse_and_to_string_round_trip(
        tokens in proptest::collection::vec("[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,16}", 1..12),
    ) {
        let scopes = Scopes::parse(&tokens.join(" ")).unwrap();
        let mut distinct: Vec<&str> = Vec::new();
        for t in &tokens {
            if !distinct.contains(&t.as_str()) {
                distinct.push(t);
            }
        }
        prop_assert_eq!(scopes.to_string(), distinct.join(" "));
        prop_assert_eq!(Scopes::parse(&scopes.to_string()).unwrap(), scopes.clone());
        prop_assert!(scopes.is_subset_of(&tokens));
    }

    #[test]
    fn scope_parse_never_panics(input in "\\PC{0,100}") {
        if let Ok(scopes) = Scopes::parse(&input) {
            prop_assert!(!scopes.is_empty());
        }
    }

    /// A model of the rule: identical strings match; otherwise only two
    /// `http` URIs on the same loopback IP literal with the same path and
    /// query, whatever their ports.
    #[test]
    fn redirect_matching_never_matches_beyond_the_loopback_port(
        a in redirect_uri(),
        b in redirect_uri(),
    ) {
        let (scheme_a, host_a, port_a, rest_a) = &a;
        let (scheme_b, host_b, port_b, rest_b) = &b;
        let uri = |(scheme, host, port, rest): &(String, String, Option<u16>, String)| match port {
            Some(p) => format!("{scheme}://{host}:{p}{rest}"),
            None => format!("{scheme}://{host}{rest}"),
        };
        let (requested, registered) = (uri(&a), uri(&b));
        let loopback_ip = host_a == "127.0.0.1" || host_a == "[::1]";
        let expected = requested == registered
            || (scheme_a == "http" && scheme_a == scheme_b && loopback_ip && host_a == host_b && rest_a == rest_b);
        prop_assert_eq!(matches_registered(&requested, std::slice::from_ref(&registered)), expected,
            "{} vs {} (ports {:?} {:?})", requested, registered, port_a, port_b);
    }

    #[test]
    fn loopback_redirect_matches_on_any_port(
        host in prop_oneof![Just("127.0.0.1"), Just("[::1]")],
        registered_port in proptest::option::of(any::<u16>()),
        port in any::<u16>(),
        path in "(/[a-z]{0,6}){0,3}",
    ) {
        let registered = match registered_port {
            Some(p) => format!("http://{host}:{p}{path}"),
            None => format!("http://{host}{path}"),
        };
        let requested = format!("http://{host}:{port}{path}");
        prop_assert!(matches_registered(&requested, &[registered]));
    }

    #[test]
    fn redirect_matching_never_panics(requested in "\\PC{0,60}", registered in "\\PC{0,60}") {
        let _ = matches_registered(&requested, &[registered]);
    }

    #[test]
    fn basic_decode_never_panics(header in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_basic(&header);
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
        let _ = decode_basic(&format!("Basic {b64}"));
    }

    #[test]
    fn basic_header_round_trips(id in "\\PC{0,30}", secret in "\\PC{0,30}") {
        let (decoded_id, decoded_secret) = decode_basic(&basic_header(&id, &secret)).unwrap();
        prop_assert_eq!(decoded_id, id);
        prop_assert_eq!(decoded_secret, secret);
    }

    #[test]
    fn append_query_parses_back_to_the_same_params(
        existing in proptest::collection::vec(("[a-z]{1,6}", "\\PC{0,10}"), 0..4),
        added in proptest::collection::vec(("[a-z_]{1,12}", "\\PC{0,20}"), 1..6),
        trailing_separator in any::<bool>(),
    ) {
        let mut base = "https://app.example/cb".to_owned();
        if !existing.is_empty() {
            base.push('?');
            base.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&existing).finish());
            if trailing_separator {
                base.push('&');
            }
        }
        let added_refs: Vec<(&str, &str)> = added.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let result = append_query(&base, &added_refs);
        prop_assert!(result.starts_with(&base));
        let parsed = url::Url::parse(&result).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let expected: Vec<(String, String)> = existing.iter().chain(added.iter()).cloned().collect();
        prop_assert_eq!(pairs, expected);
    }
}

/// Pieces of a redirect URI close enough to each other to collide often:
/// (scheme, host, port, path-and-query).
fn redirect_uri() -> impl Strategy<Value = (String, String, Option<u16>, String)> {
    (
        prop_oneof![Just("http"), Just("https")],
        prop_oneof![
            Just("127.0.0.1"),
            Just("[::1]"),
            Just("localhost"),
            Just("127.0.0.2"),
            Just("app.example")
        ],
        proptest::option::of(prop_oneof![
            Just(80u16),
            Just(8080),
            Just(443),
            any::<u16>()
        ]),
        prop_oneof![
            Just(""),
            Just("/"),
            Just("/cb"),
            Just("/cb/"),
            Just("/CB"),
            Just("/cb?x=1"),
            Just("?x=1")
        ],
    )
        .prop_map(|(s, h, p, r)| (s.to_owned(), h.to_owned(), p, r.to_owned()))
}
