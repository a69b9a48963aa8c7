//! A JSON body extractor whose errors follow the admin API's error shape
//! (axum's own rejection is plain text): a wrong content type is 415, a body
//! over the limit is 413 (RFC 9110 §15.5.14, §15.5.16), malformed JSON is
//! blamed on the body, and a value of the wrong shape on the field that holds
//! it — never with a Rust type name in the message.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Bodies above this size are refused before parsing.
pub const MAX_BODY: usize = 256 * 1024;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let declared_length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(ApiError::TooLarge { limit: MAX_BODY });
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_string());
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|e| {
                if is_length_limit(&e) {
                    ApiError::TooLarge { limit: MAX_BODY }
                } else {
                    ApiError::field("body", "could not read the request body")
                }
            })?;
        // No body at all reads as an empty object: `curl -X POST` with
        // nothing to say (e.g. a key rotation for every algorithm) works.
        if bytes.is_empty() {
            return parse(b"{}").map(JsonBody);
        }
        if !content_type.as_deref().is_some_and(is_json_media_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse(&bytes).map(JsonBody)
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`),
/// compared case-insensitively (RFC 9110 §8.3.1).
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::field(
                    "body",
                    format!(
                        "is not valid JSON (line {}, column {})",
                        inner.line(),
                        inner.column()
                    ),
                )
            }
            _ if path == "." => ApiError::field("body", root_message(&inner.to_string())),
            _ => ApiError::field(&path, field_message(&inner.to_string())),
        }
    })
}

/// The body itself has the wrong shape (`[]`, `"x"`) or names an unknown
/// field: say what is expected without serde's Rust type names.
fn root_message(serde_message: &str) -> String {
    if serde_message.starts_with("unknown field") {
        return without_position(serde_message);
    }
    if serde_message.starts_with("missing field") {
        return without_position(serde_message);
    }
    "must be a JSON object".to_string()
}

/// A field's value has the wrong type or variant. serde's messages name the
/// JSON value and what was expected (`invalid type: integer, expected a
/// string`); a nested struct's Rust name (`expected struct Foo`) is replaced.
fn field_message(serde_message: &str) -> String {
    let message = without_position(serde_message);
    match message.find("expected struct ") {
        Some(i) => format!("{}expected a JSON object", &message[..i]),
        None => message,
    }
}

/// serde_json appends ` at line L column C`; the field name says where.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: Option<String>,
        app_type: Option<Kind>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Web,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        a: u32,
    }

    async fn extract(content_type: Option<&str>, body: &'static str) -> Result<Input, ApiError> {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(Body::from(body)).unwrap();
        JsonBody::<Input>::from_request(req, &()).await.map(|b| b.0)
    }

    fn field_of(e: ApiError) -> (String, String) {
        match e {
            ApiError::Invalid(f) => (f[0].field.clone(), f[0].message.clone()),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn malformed_json_is_blamed_on_the_body_not_a_field() {
        let e = extract(Some("application/json"), r#"{"name": "x", "app_type": "#)
            .await
            .unwrap_err();
        let (field, message) = field_of(e);
        assert_eq!(field, "body");
        assert!(message.starts_with("is not valid JSON"), "{message}");
        let e = extract(Some("application/json"), r#"{"app_type": web}"#)
            .await
            .unwrap_err();
        assert_eq!(field_of(e).0, "body");
    }

    #[tokio::test]
    async fn a_body_of_the_wrong_shape_names_no_rust_type() {
        for body in ["[]", "\"x\"", "42", "null"] {
            let (field, message) =
                field_of(extract(Some("application/json"), body).await.unwrap_err());
            assert_eq!(
                (field.as_str(), message.as_str()),
                ("body", "must be a JSON object"),
                "{body}"
            );
        }
        let (field, message) = field_of(
            extract(Some("application/json"), r#"{"nested": []}"#)
                .await
                .unwrap_err(),
        );
        assert_eq!(field, "nested");
        assert!(!message.contains("Nested"), "{message}");
        assert!(message.contains("expected a JSON object"), "{message}");
        let (field, message) = field_of(
            extract(Some("application/json"), r#"{"app_type": "cli"}"#)
                .await
                .unwrap_err(),
        );
        assert_eq!(field, "app_type");
        assert!(message.contains("unknown variant"), "{message}");
    }

    #[tokio::test]
    async fn wrong_content_types_are_415_and_an_empty_body_is_an_empty_object() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/jsonx"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let e = extract(ct, "{}").await.unwrap_err();
            assert!(matches!(e, ApiError::UnsupportedMediaType), "{ct:?}: {e:?}");
        }
        assert!(extract(Some("Application/JSON; charset=utf-8"), "{}")
            .await
            .is_ok());
        let empty = extract(None, "").await.unwrap();
        assert!(empty.name.is_none());
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413() {
        let big: &'static str =
            Box::leak(format!("{{\"name\": \"{}\"}}", "x".repeat(MAX_BODY)).into_boxed_str());
        assert!(matches!(
            extract(Some("application/json"), big).await.unwrap_err(),
            ApiError::TooLarge { .. }
        ));
        // Without a Content-Length header the limit holds while reading.
        let stream = unsized_body(big);
        let req = Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(stream)
            .unwrap();
        assert!(matches!(
            JsonBody::<Input>::from_request(req, &())
                .await
                .map(|b| b.0)
                .unwrap_err(),
            ApiError::TooLarge { .. }
        ));
    }

    /// A body with no known length, as a chunked upload has.
    fn unsized_body(text: &'static str) -> Body {
        let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = text
            .as_bytes()
            .chunks(8192)
            .map(|c| Ok(axum::body::Bytes::from_static(c)))
            .collect();
        Body::from_stream(futures::stream::iter(chunks))
    }
}
