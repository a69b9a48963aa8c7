//! Browser flows against the authorize service's router, in process:
//! `/authorize`, the login form, SSO, login throttling, and RP-initiated logout.

mod authorize;
mod end_session;
mod helpers;
mod login;
mod sso;
mod throttling;
