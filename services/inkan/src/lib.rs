//! The `inkan` binary's library half: everything but the command line, so
//! tests compose and run a provider in process exactly as `inkan serve` does
//! (`serve::App::bind` on port 0, then `App::run` with a shutdown token),
//! without starting a process or reading its output.
//!
//! # Layout
//! - [`backends`]: picks the real or embedded store for each seam from the settings.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`listener`]: the public listener, which drains kept-alive connections on SIGTERM.
//! - [`projects`]: `inkan projects show`, a relying party's configuration.
//! - [`safety`]: refuses settings that are only safe on a developer's machine.
//! - [`serve`]: binds a role's listeners ([`serve::App::bind`]), composes its
//!   services and runs them until shutdown ([`serve::App::run`]).

pub mod backends;
pub mod health;
pub mod listener;
pub mod projects;
pub mod safety;
pub mod serve;
