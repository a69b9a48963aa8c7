//! Inkan's OAuth 2.0 / OpenID Connect protocol rules, kept pure: no I/O, no
//! async, no clock. Services (authorize, token, userinfo) call it from thin
//! handlers: they parse a request into a typed value here, look up what the
//! decision needs (the client, the code), and map [`OAuthError`] to the wire
//! in their own `error.rs`.
//!
//! # Layout
//! - [`error`]: [`OAuthError`] and [`ErrorCode`] (RFC 6749 §5.2, OIDC Core
//!   §3.1.2.6, RFC 6750), HTTP status and JSON body, description sanitising.
//! - [`params`]: [`Params`], a strictly parsed `application/x-www-form-urlencoded`
//!   query or body (size limits, repeated parameters, empty = absent).
//! - [`pkce`]: RFC 7636 — S256 only, verifier and challenge syntax.
//! - [`scope`]: [`Scopes`], an ordered, deduplicated set of scope tokens.
//! - [`redirect`]: exact redirect-URI matching (loopback ports may vary) and
//!   building authorization responses onto a redirect URI.
//! - [`authorize`]: the authorization request, parsed in two phases
//!   ([`ClientTarget`] first, then [`AuthorizationRequest`]).
//! - [`client_auth`]: client credentials at the token endpoint (Basic, post, none).
//! - [`access_token`]: [`AccessClaims`], the typed claims of Inkan's RFC 9068 access tokens.
//! - [`token_request`]: [`TokenRequest`], one variant per supported grant.
//! - [`discovery`]: the OpenID Provider metadata document.
//! - [`acr`]: [`Acr`], Inkan's authentication levels and the `amr` behind them
//!   (defined in the domain, where projects name them in `default_acr_values`).
#![forbid(unsafe_code)]

pub mod access_token;
pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod params;
pub mod pkce;
pub mod redirect;
pub mod scope;
pub mod token_request;

pub use access_token::{AccessClaims, Confirmation};
pub use authorize::{AuthorizationRequest, ClientPolicy, ClientTarget, Display, Prompt};
pub use client_auth::ClientAuth;
pub use discovery::{discovery_document, DiscoveryConfig};
pub use error::{ErrorCode, OAuthError};
pub use inkan_domain::acr::{self, Acr};
pub use params::Params;
pub use pkce::CodeChallengeMethod;
pub use scope::Scopes;
pub use token_request::TokenRequest;
