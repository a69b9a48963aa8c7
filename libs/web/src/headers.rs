//! Response headers: security headers on every HTML page, `no-store` on
//! every token-bearing response.

use axum::http::{header, HeaderMap, HeaderValue};

/// Headers for server-rendered pages (login, errors, logout): no framing,
/// no inline or foreign script (only the issuer's own files, such as the
/// passkey script, which may call back only to the issuer), no referrer
/// leaking codes or state, no caching.
pub fn html_security(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    no_store(headers);
}

/// RFC 6749 §5.1: responses carrying tokens or credentials must not be cached.
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
