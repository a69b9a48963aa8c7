//! Which process serves which path, bench-side (no proxy in between): in a
//! monolith every path goes to the one process; with separate roles,
//! `/token`, `/introspect` and `/revoke` go to the token processes (round
//! robin when there are several), `/authorize`, `/login`, `/passkeys` and
//! `/end_session` to authorize, `/userinfo` to userinfo, `/admin/` to admin, and anything
//! else (discovery, JWKS) to the first token process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Base URLs per service; cheap to clone.
#[derive(Clone, Debug)]
pub struct Routes {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    authorize: String,
    token: Vec<String>,
    userinfo: String,
    admin: String,
    next_token: AtomicUsize,
}

impl Routes {
    /// One process serves everything.
    pub fn single(base: &str) -> Routes {
        Routes::split(base, &[base.to_string()], base, base)
    }

    /// A process per role; `token` holds one base URL per token replica.
    pub fn split(authorize: &str, token: &[String], userinfo: &str, admin: &str) -> Routes {
        let token = if token.is_empty() {
            vec![authorize.to_string()]
        } else {
            token.to_vec()
        };
        Routes {
            inner: Arc::new(Inner {
                authorize: authorize.trim_end_matches('/').to_string(),
                token: token
                    .iter()
                    .map(|t| t.trim_end_matches('/').to_string())
                    .collect(),
                userinfo: userinfo.trim_end_matches('/').to_string(),
                admin: admin.trim_end_matches('/').to_string(),
                next_token: AtomicUsize::new(0),
            }),
        }
    }

    /// The full URL for `path` (which starts with `/` and may carry a query).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_for(path))
    }

    fn base_for(&self, path: &str) -> &str {
        let i = &self.inner;
        let starts = |p: &str| path.starts_with(p);
        if starts("/token") || starts("/par") || starts("/introspect") || starts("/revoke") {
            let n = i.next_token.fetch_add(1, Ordering::Relaxed);
            &i.token[n % i.token.len()]
        } else if starts("/authorize")
            || starts("/login")
            || starts("/passkeys")
            || starts("/password/")
            || starts("/email/")
            || starts("/signup")
            || starts("/account")
            || starts("/end_session")
        {
            &i.authorize
        } else if starts("/userinfo") {
            &i.userinfo
        } else if starts("/admin/") {
            &i.admin
        } else {
            &i.token[0]
        }
    }

    /// The admin API's base URL.
    pub fn admin(&self) -> &str {
        &self.inner.admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_to_their_role_and_token_requests_alternate() {
        let r = Routes::split(
            "http://a",
            &["http://t1".into(), "http://t2".into()],
            "http://u",
            "http://adm",
        );
        assert_eq!(r.url("/authorize?x=1"), "http://a/authorize?x=1");
        assert_eq!(r.url("/login"), "http://a/login");
        assert_eq!(r.url("/passkeys/options"), "http://a/passkeys/options");
        assert_eq!(r.url("/userinfo"), "http://u/userinfo");
        assert_eq!(r.url("/admin/v1/projects"), "http://adm/admin/v1/projects");
        assert_eq!(r.url("/token"), "http://t1/token");
        assert_eq!(r.url("/introspect"), "http://t2/introspect");
        assert_eq!(r.url("/token"), "http://t1/token");
        assert_eq!(r.url("/jwks"), "http://t1/jwks");
        let one = Routes::single("http://m/");
        assert_eq!(one.url("/token"), "http://m/token");
        assert_eq!(one.admin(), "http://m");
    }
}
