//! Inkan's domain: the Project and Identity aggregates, their commands,
//! events and validation rules. Pure: no I/O, no clock, no randomness —
//! time, ids, hashes and generated secrets come in through the commands.
//!
//! # Layout
//! - [`envelope`]: the stored/published event shape shared by every aggregate.
//! - [`aggregate`]: the `decide`/`apply` contract and the stored-event contract.
//! - [`events`]: the frozen, versioned payload types every stored event is
//!   written as, and the upcasters that read older revisions (the rule for
//!   changing a stored shape is written there).
//! - [`project`]: OAuth clients — app types, defaults, redirect-URI rules.
//! - [`identity`]: end users — profile, custom claims, password hash.
//! - [`signing_key`]: JWS keys — generated, published, activated, retired.
//! - [`acr`]: authentication levels (`acr`) and the `amr` methods behind them.
//! - [`validation`]: input rules shared by both.
//! - [`error`]: `DomainError` and field-level problems.
pub mod acr;
pub mod aggregate;
pub mod envelope;
pub mod error;
pub mod events;
pub mod identity;
pub mod project;
pub mod signing_key;
pub mod validation;

pub use aggregate::{Aggregate, DomainEvent, Unique, UniqueChanges};
pub use error::{DomainError, FieldError};
