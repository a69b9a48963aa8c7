//! Authorization responses: where they go once the redirect URI is trusted,
//! and the `303 See Other` that carries them.

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_oauth::redirect::append_query;
use inkan_web::headers::no_store;

use crate::error::AuthorizeError;

/// A validated redirect URI and the `state` to echo there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The redirect URI as the client sent it (it matched a registered one).
    pub redirect_uri: String,
    pub state: Option<String>,
}

impl ReplyTo {
    /// The response URI: `params`, then `state` if the client sent one
    /// (RFC 6749 §4.1.2, §4.1.2.1), then `iss` (RFC 9207 §2: on every
    /// authorization response, success or error, so a client talking to
    /// several issuers can tell who answered — the mix-up defence).
    pub fn uri(&self, issuer: &str, params: &[(&str, &str)]) -> String {
        let mut all = params.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        all.push(("iss", issuer));
        append_query(&self.redirect_uri, &all)
    }
}

/// `303 See Other` to `location`, never cached. 303 (not 302 or 307)
/// because the request may have been a POST: a 307 would make the browser
/// re-post the login form, password included, to the client (RFC 9700
/// §4.12).
pub fn see_other(location: &str) -> Result<Response, AuthorizeError> {
    let value = HeaderValue::from_str(location).map_err(|_| {
        AuthorizeError::Internal("a redirect URI is not a valid header value".into())
    })?;
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, value)]).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_iss_follow_the_parameters() {
        let to = ReplyTo {
            redirect_uri: "https://app.example/cb?x=1".into(),
            state: Some("s 1".into()),
        };
        assert_eq!(
            to.uri("https://id.example", &[("code", "c")]),
            "https://app.example/cb?x=1&code=c&state=s+1&iss=https%3A%2F%2Fid.example"
        );
    }

    #[test]
    fn a_redirect_is_303_and_not_cached() {
        let r = see_other("https://app.example/cb").unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert!(see_other("https://app.example/\ncb").is_err());
    }
}
