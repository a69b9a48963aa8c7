//! Logging and tracing setup shared by every Inkan process.
//!
//! # Layout
//! - [`init`]: installs the global `tracing` subscriber (pretty or JSON lines).
//!
//! Nothing in Inkan logs a secret, password, code or token: handlers log ids
//! and outcomes only. Keep it that way when adding fields.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Output shape of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pretty,
    Json,
}

/// Installs the global subscriber. `filter` uses `tracing`'s EnvFilter syntax
/// (`info`, `inkan_admin=debug,info`). Calling it twice is harmless (the
/// second call does nothing), so tests may call it freely.
pub fn init(format: Format, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        Format::Pretty => registry.with(fmt::layer().with_target(true)).try_init(),
        Format::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .try_init(),
    };
}
