//! Per-client-address rate limits on the public endpoints, as an axum
//! middleware (OWASP Authentication Cheat Sheet, "Login Throttling"; a
//! first line against credential stuffing and token-endpoint guessing).
//! Counters live in the key-value store ([`inkan_flows::limits::hit`]), so the limit holds
//! across replicas.
//!
//! Each service's router declares its group when it is composed
//! (`RateLimiter::apply(group, router)`), so a route is limited because the
//! router it belongs to says so, not because a path list here names it. Each
//! group has its own budget of [`RateLimiter::per_minute`] requests per
//! address per minute:
//! - [`RateLimitGroup::Token`]: the token service (`/token`, `/introspect`,
//!   `/revoke`) — answered with the OAuth JSON error shape;
//! - [`RateLimitGroup::Userinfo`]: `/userinfo` — JSON as well;
//! - [`RateLimitGroup::Browser`]: the authorize service (`/authorize`,
//!   `/login`, `/end_session`) — an HTML page.
//!
//! Routers composed without a group (discovery, JWKS, health, metrics,
//! admin) are not limited here.
//!
//! Over the limit: `429 Too Many Requests` with `Retry-After` (RFC 6585 §4).
//! The JSON error code is `temporarily_unavailable`: `slow_down` belongs to
//! the device flow (RFC 8628 §3.5), `invalid_request` would tell a client
//! its request is wrong (it is not, and it should retry), and
//! `temporarily_unavailable` is the code RFC 6749 §4.1.2.1 gives a
//! server that cannot answer now; the status and `Retry-After` carry the rest.
//!
//! Only the client address is keyed, not `client_id`: at this point the
//! client is not authenticated, so a per-client limit would let anyone
//! exhaust a real client's budget by sending its `client_id`.
//!
//! If the store is down the request passes (fail open, logged as a
//! warning): the endpoint itself will answer
//! 503 when it needs the store. The token endpoints' per-client budget fails
//! open the same way ([`unchecked`]), so both limiters behave alike.
//!
//! One round trip per token request: the token endpoints also count a
//! per-client budget once the client has authenticated. So that both
//! counters cost one key-value call, the middleware hands the address budget
//! of a `token`-group request to the endpoint as an [`AddressBudget`]
//! request extension, and the endpoint counts both together
//! ([`limits::hit_all`]) right after client authentication, before any
//! other work. A request the endpoint answered without counting (one
//! rejected before authentication, e.g. a malformed form) is counted by the
//! middleware afterwards, and answered 429 if it was over the limit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use inkan_flows::limits::{self, Decision, IpKey, RateLimit};
use inkan_kv::KvStore;
use inkan_oauth::error::{ErrorCode, OAuthError};

use crate::client_ip::client_ip;
use crate::headers::html_security;
use crate::OAuthResponse;

/// What the middleware needs; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    pub kv: Arc<dyn KvStore>,
    /// Requests per minute per client address and endpoint group; 0 disables.
    pub per_minute: u32,
    /// See [`client_ip`].
    pub trusted_proxy_header: Option<HeaderName>,
}

/// A limiter bound to the group of the router it guards.
#[derive(Clone)]
struct Guard {
    limiter: RateLimiter,
    group: RateLimitGroup,
}

impl RateLimiter {
    /// `router` — one service's routes — with the rate-limit middleware of
    /// `group` in front of every route it has now.
    pub fn apply<S: Clone + Send + Sync + 'static>(
        &self,
        group: RateLimitGroup,
        router: Router<S>,
    ) -> Router<S> {
        // Off (0): no layer at all, so no per-request cost.
        if self.per_minute == 0 {
            return router;
        }
        let guard = Guard {
            limiter: self.clone(),
            group,
        };
        router.layer(middleware::from_fn_with_state(guard, rate_limit))
    }
}

/// The window of every per-address (and per-client) request budget.
pub const WINDOW_SECONDS: u32 = 60;

/// The per-address budget of a token-endpoint request, for the endpoint to
/// count together with its per-client budget (see the module docs).
#[derive(Debug, Clone)]
pub struct AddressBudget {
    key: String,
    limit: u32,
    counted: Arc<AtomicBool>,
}

impl AddressBudget {
    /// The counter's key, for [`limits::hit_all`].
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Requests allowed per [`WINDOW_SECONDS`].
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Tells the middleware this request has been counted (or that counting
    /// was attempted and failed), so it does not count it again.
    pub fn mark_counted(&self) {
        self.counted.store(true, Ordering::Release);
    }

    fn counted(&self) -> bool {
        self.counted.load(Ordering::Acquire)
    }
}

/// The endpoint groups, each with its own per-address budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitGroup {
    /// The token service: OAuth JSON errors; the endpoints also count a
    /// per-client budget (see the module docs).
    Token,
    /// The userinfo service: OAuth JSON errors.
    Userinfo,
    /// The authorize service's pages: an HTML page.
    Browser,
}

use RateLimitGroup as Group;

impl RateLimitGroup {
    fn name(self) -> &'static str {
        match self {
            Group::Token => "token",
            Group::Userinfo => "userinfo",
            Group::Browser => "browser",
        }
    }
}

/// The middleware: counts the request against its group's budget for the
/// client address and answers 429 once it is spent.
async fn rate_limit(
    State(Guard { limiter, group }): State<Guard>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(
        request.headers(),
        request.extensions(),
        limiter.trusted_proxy_header.as_ref(),
    );
    let key = format!("{}:{}", group.name(), IpKey::for_ip(ip).as_str());
    let limit = RateLimit {
        limit: limiter.per_minute,
        window_seconds: WINDOW_SECONDS,
    };
    if group == Group::Token {
        let budget = AddressBudget {
            key: key.clone(),
            limit: limiter.per_minute,
            counted: Arc::new(AtomicBool::new(false)),
        };
        request.extensions_mut().insert(budget.clone());
        let response = next.run(request).await;
        if budget.counted() {
            return response;
        }
        // The endpoint answered without counting: count now.
        return match limits::hit(&*limiter.kv, &key, limit).await {
            Ok(Decision::Allowed) => response,
            Ok(Decision::Limited {
                retry_after_seconds,
            }) => over_limit(group, retry_after_seconds),
            Err(e) => {
                unchecked(&e);
                response
            }
        };
    }
    match limits::hit(&*limiter.kv, &key, limit).await {
        Ok(Decision::Allowed) => next.run(request).await,
        Ok(Decision::Limited {
            retry_after_seconds,
        }) => over_limit(group, retry_after_seconds),
        Err(e) => {
            unchecked(&e);
            next.run(request).await
        }
    }
}

/// A rate limit that could not be counted because the key-value store is
/// unreachable: the request passes (fail open), logged so an operator sees
/// that limits are not being enforced (`/readyz` already reports the store).
pub fn unchecked(error: &dyn std::fmt::Display) {
    tracing::warn!(error = %error, "rate limit not checked: key-value store unavailable; letting the request through");
}

const HTML_429: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Too many requests</title></head><body><main><h1>Too many requests</h1>\
<p>Too many requests came from your network. Please wait a moment and try again.</p>\
</main></body></html>\n";

fn over_limit(group: Group, retry_after_seconds: u32) -> Response {
    tracing::info!(group = group.name(), "rate limit reached");
    too_many_requests(group, retry_after_seconds)
}

fn too_many_requests(group: Group, retry_after_seconds: u32) -> Response {
    let mut response = match group {
        Group::Token | Group::Userinfo => {
            let mut r = OAuthResponse::new(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "too many requests; retry later",
            ));
            r.retry_after = Some(retry_after_seconds);
            r.into_response()
        }
        Group::Browser => {
            let mut r = Response::new(Body::from(HTML_429));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            html_security(r.headers_mut());
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            r
        }
    };
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response
}
