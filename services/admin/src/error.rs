//! The one place admin errors become HTTP (field-level JSON) or gRPC statuses.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use inkan_domain::{DomainError, FieldError};
use inkan_eventstore::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A unique value (an identity's email, a client id) is already taken:
    /// 409 with the field named, like a validation error.
    #[error("{field} is already taken")]
    Taken { field: String, message: String },
    /// The body is larger than the admin API reads (413).
    #[error("the request body is too large")]
    TooLarge { limit: usize },
    /// The body is not `application/json` (415).
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("authentication required")]
    Unauthenticated,
    #[error("the caller lacks the admin scope")]
    Forbidden,
    #[error("the event store is unavailable")]
    Unavailable(String),
    /// A request that needs mail while no SMTP relay is configured (409).
    #[error("mail is not configured (set INKAN_SMTP_URL)")]
    MailOff,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => ApiError::Invalid(errors),
            DomainError::NotFound => ApiError::NotFound,
            DomainError::AlreadyExists => ApiError::Conflict("already exists".into()),
            e @ DomainError::UnknownEvent { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

/// The key-value store (sessions, refresh-token families) failed: an outage
/// (503) unless a record was unreadable.
impl From<inkan_flows::FlowError> for ApiError {
    fn from(e: inkan_flows::FlowError) -> Self {
        match e {
            inkan_flows::FlowError::Store(e) => {
                ApiError::Unavailable(format!("key-value store: {e}"))
            }
            e @ inkan_flows::FlowError::Corrupt(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict { .. } => ApiError::Conflict(
                "the resource was changed concurrently; read it again and retry".into(),
            ),
            StoreError::UniqueViolation { scope, .. } => {
                let (field, message) = match scope.as_str() {
                    inkan_domain::identity::EMAIL_SCOPE => {
                        ("email", "an identity with this email already exists")
                    }
                    inkan_domain::project::CLIENT_ID_SCOPE => {
                        ("client_id", "a project with this client_id already exists")
                    }
                    inkan_domain::identity::PASSKEY_SCOPE => (
                        "credential_id",
                        "this passkey is already registered to an identity",
                    ),
                    _ => ("body", "a unique value is already taken"),
                };
                ApiError::Taken {
                    field: field.into(),
                    message: message.into(),
                }
            }
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            e @ (StoreError::EmptyAppend | StoreError::Corrupt(_)) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            ApiError::Invalid(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the request has invalid fields".to_string(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".to_string(),
            ),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            ApiError::Taken { message, .. } => (StatusCode::CONFLICT, "conflict", message.clone()),
            ApiError::TooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("the request body is larger than {limit} bytes"),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "the request body must be JSON (Content-Type: application/json)".to_string(),
            ),
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "present an admin client's credentials".to_string(),
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "the client lacks the admin scope".to_string(),
            ),
            ApiError::MailOff => (
                StatusCode::CONFLICT,
                "mail_not_configured",
                "mail is not configured on this server (set INKAN_SMTP_URL)".to_string(),
            ),
            ApiError::Unavailable(detail) => {
                tracing::error!(error = %detail, "event store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the event store is unavailable; retry later".to_string(),
                )
            }
            ApiError::Internal(detail) => {
                // Logged once here, never echoed to the caller.
                tracing::error!(error = %detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal error".to_string(),
                )
            }
        };
        let mut body = json!({ "error": code, "message": message });
        match &self {
            ApiError::Invalid(fields) => body["fields"] = json!(fields),
            ApiError::Taken { field, message } => {
                body["fields"] = json!([FieldError::new(field, message.clone())])
            }
            _ => {}
        }
        let mut response = (status, axum::Json(body)).into_response();
        match self {
            ApiError::Unauthenticated => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(
                        "Bearer realm=\"inkan-admin\", DPoP realm=\"inkan-admin\", Basic realm=\"inkan-admin\"",
                    ),
                );
            }
            ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Invalid(f) => tonic::Status::invalid_argument(
                f.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ApiError::NotFound => tonic::Status::not_found("not found"),
            ApiError::Conflict(m) | ApiError::Taken { message: m, .. } => {
                tonic::Status::already_exists(m)
            }
            ApiError::TooLarge { .. } | ApiError::UnsupportedMediaType => {
                tonic::Status::invalid_argument(e.to_string())
            }
            ApiError::Unauthenticated | ApiError::Forbidden => {
                tonic::Status::unauthenticated("unauthenticated")
            }
            ApiError::Unavailable(_) => tonic::Status::unavailable("event store unavailable"),
            ApiError::MailOff => tonic::Status::failed_precondition(e.to_string()),
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                tonic::Status::internal("internal error")
            }
        }
    }
}
