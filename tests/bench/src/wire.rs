//! Small HTTP pieces the scenarios share: client authentication headers,
//! form bodies, a per-flow cookie jar, redirects and the login form's hidden
//! fields.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1: form-urlencode
/// both parts, then base64).
pub fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", form_encode(id), form_encode(secret));
    format!("Basic {}", STANDARD.encode(raw))
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A form body from name/value pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The cookies one browser holds for the provider (every Inkan cookie is
/// host-only with `Path=/`, so names are enough).
#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    /// Applies every `Set-Cookie` of a response (`Max-Age=0` removes).
    pub fn update(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|nv| nv.trim().split_once('=')) else {
                continue;
            };
            let expired = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.cookies.retain(|(n, _)| n != name);
            if !expired && !val.is_empty() {
                self.cookies.push((name.to_string(), val.to_string()));
            }
        }
    }

    /// The `Cookie` header value, if any cookie is held.
    pub fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// The `Location` of a 303/302 and its query parameters.
pub fn redirect_params(status: u16, headers: &HeaderMap) -> Result<Vec<(String, String)>, String> {
    if !(300..400).contains(&status) {
        return Err(format!("expected a redirect, got HTTP {status}"));
    }
    let location = headers
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or("redirect without Location")?;
    let url = url::Url::parse(location).map_err(|e| format!("bad Location: {e}"))?;
    Ok(url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// A parameter of [`redirect_params`]' result.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of the hidden input `name` in an HTML page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

/// A short, printable excerpt of a response body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn basic_encodes_both_parts() {
        assert_eq!(
            basic("a b", "c:d"),
            format!("Basic {}", STANDARD.encode("a+b:c%3Ad"))
        );
    }

    #[test]
    fn the_jar_keeps_sets_and_drops_cookies() {
        let mut jar = Jar::default();
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("a=1; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("b=2; Path=/"));
        jar.update(&h);
        assert_eq!(jar.header().as_deref(), Some("a=1; b=2"));
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("a=; Path=/; Max-Age=0"),
        );
        jar.update(&h);
        assert_eq!(jar.header().as_deref(), Some("b=2"));
    }

    #[test]
    fn hidden_fields_and_redirects_parse() {
        let page = r#"<input type="hidden" name="csrf" value="x-1">"#;
        assert_eq!(hidden(page, "csrf").as_deref(), Some("x-1"));
        assert_eq!(hidden(page, "authz"), None);
        let mut h = HeaderMap::new();
        h.insert(
            LOCATION,
            HeaderValue::from_static("https://rp.example/cb?code=c1&state=s"),
        );
        let p = redirect_params(303, &h).unwrap();
        assert_eq!(param(&p, "code"), Some("c1"));
        assert!(redirect_params(200, &h).is_err());
    }
}
