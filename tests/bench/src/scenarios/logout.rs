//! Logout with back-channel notices (issue #14): a password login at an app
//! whose project has a `backchannel_logout_uri`, then `GET /end_session`
//! with its ID token. The provider commits the notice and its deliverer
//! posts a logout token to a receiver this process runs on loopback, so the
//! server's CPU per flow includes the delivery. Compare its figure with
//! `authorization_code_password` (the same login without the logout).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::routes::Routes;
use crate::scenarios::code_flow::{flow, RelyingParty, SCOPE};
use crate::wire::{form, Jar};

/// Counts the logout tokens posted to it.
#[derive(Default)]
pub struct Receiver {
    pub received: AtomicU64,
}

impl Receiver {
    /// Starts a receiver on a loopback port; returns it and its URL.
    pub async fn start() -> anyhow::Result<(Arc<Receiver>, String)> {
        let receiver = Arc::new(Receiver::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!(
            "http://127.0.0.1:{}/backchannel-logout",
            listener.local_addr()?.port()
        );
        let counter = receiver.clone();
        let app = axum::Router::new().route(
            "/backchannel-logout",
            axum::routing::post(move |body: String| {
                let counter = counter.clone();
                async move {
                    if body.starts_with("logout_token=") {
                        counter.received.fetch_add(1, Ordering::Relaxed);
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::BAD_REQUEST
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((receiver, url))
    }
}

pub struct Logout {
    pub rp: RelyingParty,
    pub emails: Vec<String>,
    pub password: String,
    pub receiver: Arc<Receiver>,
}

impl Logout {
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
    ) -> Result<(), String> {
        let email = &self.emails[conn % self.emails.len()];
        let mut jar = Jar::default();
        let tokens = flow(
            http,
            routes,
            &self.rp,
            &mut jar,
            SCOPE,
            Some((email, &self.password)),
        )
        .await?;
        let id_token = tokens["id_token"]
            .as_str()
            .ok_or("the token response has no id_token")?;
        let mut request = http.get(routes.url(&format!(
            "/end_session?{}",
            form(&[("id_token_hint", id_token)])
        )));
        if let Some(cookie) = jar.header() {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("end_session answered {}", response.status()));
        }
        Ok(())
    }
}
