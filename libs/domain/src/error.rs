//! Domain errors: facts about why a command was refused. The admin service
//! maps them to HTTP once, in its `error.rs`.

use serde::Serialize;

/// One problem with one input field, reported to the caller as-is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks one or more validation rules; nothing was changed.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The aggregate does not exist (or was deleted).
    #[error("not found")]
    NotFound,
    /// The aggregate already exists (a create replayed on an existing id).
    #[error("already exists")]
    AlreadyExists,
    /// A stored event could not be understood (an unknown type or a payload
    /// that doesn't match its type): the log is newer than this binary or corrupt.
    #[error("cannot decode stored event {event_type}: {reason}")]
    UnknownEvent { event_type: String, reason: String },
}

/// Collects field errors while validating, so a caller sees every problem at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every reported problem as one error.
    pub fn into_error(self) -> DomainError {
        DomainError::Invalid(self.0)
    }

    /// `Ok(value)` when nothing was reported, else every problem.
    pub fn into_result<T>(self, value: T) -> Result<T, DomainError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}
