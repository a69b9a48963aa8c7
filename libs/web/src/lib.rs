//! HTTP pieces every public service shares: the OAuth error response, the
//! form body reader, security headers, and the discovery and JWKS documents
//! (which any service can answer, from precomputed bytes).
//!
//! # Layout
//! - [`bearer`]: the RFC 6750 bearer token of a request (header or form body).
//! - [`clock`]: the time source (system, or manual in tests).
//! - [`client_ip`]: the client's address (peer, or a trusted proxy header).
//! - [`dpop`]: the `DPoP` proof of a request (RFC 9449), checked.
//! - [`drain`]: `Connection: close` on every answer once shutdown has begun.
//! - [`oauth_error`]: RFC 6749 §5.2 / RFC 6750 §3 error responses.
//! - [`form`]: `application/x-www-form-urlencoded` bodies and queries as `Params`.
//! - [`headers`]: security and cache headers.
//! - [`rate_limit`]: per-address rate limits on the public endpoints (429).
//! - [`service`]: the state every public service starts with ([`ServiceCore`]).
//! - [`wellknown`]: `/.well-known/openid-configuration` and `/jwks`.

pub mod bearer;
pub mod client_ip;
pub mod clock;
pub mod dpop;
pub mod drain;
pub mod form;
pub mod headers;
pub mod oauth_error;
pub mod rate_limit;
pub mod service;
pub mod wellknown;

pub use oauth_error::OAuthResponse;
pub use service::ServiceCore;
