//! Label values with bounded cardinality: a client cannot invent new ones by
//! sending odd paths or methods.

use axum::extract::MatchedPath;
use http::{Method, Request};

/// The route label of a request no route matched (404s, probes of random paths).
pub(crate) const UNMATCHED: &str = "unmatched";

/// The route template that matched (`/clients/{id}`), as axum's router
/// records it for middleware added with `Router::layer`.
pub(crate) fn matched_route<B>(request: &Request<B>) -> Option<String> {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
}

/// The method, or `_OTHER` for an extension method (OpenTelemetry HTTP
/// semantic conventions, `http.request.method`).
pub(crate) fn method(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_collapse_into_one_label() {
        assert_eq!(method(&Method::POST), "POST");
        let odd = Method::from_bytes(b"BREW").expect("a valid extension method");
        assert_eq!(method(&odd), "_OTHER");
    }
}
