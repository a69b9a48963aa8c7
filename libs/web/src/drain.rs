//! Draining: once a process has begun to shut down, every HTTP/1.x answer
//! carries `Connection: close` (RFC 9112 §9.6), so a client stops reusing a
//! kept-alive socket that is about to close instead of sending its next
//! request into a reset. hyper then closes the connection after that
//! response. HTTP/2 has no such header (RFC 9113 §8.2.2); its connections
//! are told with GOAWAY by the server's graceful shutdown.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Version};
use axum::middleware::{self, Next};
use axum::Router;

/// Wraps `router` so that its responses say `Connection: close` while
/// `draining()` returns true (checked when each response is produced).
pub fn close_when<F>(router: Router, draining: F) -> Router
where
    F: Fn() -> bool + Clone + Send + Sync + 'static,
{
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let draining = draining.clone();
        async move {
            let http1 = request.version() <= Version::HTTP_11;
            let mut response = next.run(request).await;
            if http1 && draining() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn app(draining: Arc<AtomicBool>) -> Router {
        let routes = Router::new().route("/ok", get(|| async { "ok" }));
        close_when(routes, move || draining.load(Ordering::SeqCst))
    }

    async fn connection_header(app: &Router, path: &str, version: Version) -> Option<String> {
        let request = Request::get(path)
            .version(version)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        response
            .headers()
            .get(header::CONNECTION)
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn responses_keep_the_connection_until_draining_begins() {
        let draining = Arc::new(AtomicBool::new(false));
        let app = app(draining.clone());
        assert_eq!(connection_header(&app, "/ok", Version::HTTP_11).await, None);

        draining.store(true, Ordering::SeqCst);
        assert_eq!(
            connection_header(&app, "/ok", Version::HTTP_11)
                .await
                .as_deref(),
            Some("close")
        );
        assert_eq!(
            connection_header(&app, "/ok", Version::HTTP_10)
                .await
                .as_deref(),
            Some("close")
        );
    }

    #[tokio::test]
    async fn error_answers_say_close_too_while_draining() {
        let app = app(Arc::new(AtomicBool::new(true)));
        let request = Request::get("/missing").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONNECTION], "close");
    }

    #[tokio::test]
    async fn http2_answers_never_carry_a_connection_header() {
        // RFC 9113 §8.2.2: connection-specific header fields are malformed in HTTP/2.
        let app = app(Arc::new(AtomicBool::new(true)));
        assert_eq!(connection_header(&app, "/ok", Version::HTTP_2).await, None);
    }
}
