//! The pages' words, in the request's language: [`inkan_i18n`]'s catalogues,
//! chosen per request by [`negotiate`] (the middleware in `lib.rs`).
//!
//! A request speaks the first language of: its `ui_locales` (on
//! `/authorize`, OIDC Core §3.1.2.1), the `inkan_lang` cookie the login
//! page sets from them (so the later pages of that login follow), its
//! `Accept-Language`, English.

pub use inkan_i18n::{lang, t, t1, Catalogues, Texts};

use axum::http::{header, HeaderMap, HeaderValue, Uri};

/// The cookie that carries a login's `ui_locales` choice to its later pages.
pub const COOKIE: &str = "inkan_lang";

/// The texts for a request, and whether `ui_locales` chose them (then the
/// response sets [`COOKIE`]).
pub fn negotiate(catalogues: &Catalogues, uri: &Uri, headers: &HeaderMap) -> (Texts, bool) {
    let ui_locales = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "ui_locales")
            .map(|(_, v)| v.into_owned())
    });
    let cookie = crate::cookie::read(headers, COOKIE);
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    if let Some(asked) = &ui_locales {
        let texts = catalogues.negotiate(Some(asked), None);
        if texts.lang() != inkan_i18n::DEFAULT
            || asked.split_whitespace().any(|l| l.starts_with("en"))
        {
            return (texts, true);
        }
    }
    (catalogues.negotiate(cookie.as_deref(), accept), false)
}

/// The `Set-Cookie` value remembering `lang` for the rest of a login (as
/// long as a pending login lives).
pub fn cookie(lang: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::try_from(format!(
        "{COOKIE}={lang}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        inkan_flows::pending::TTL_SECONDS
    ))
    .ok()
}
