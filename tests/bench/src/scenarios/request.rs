//! Single-request scenarios: one prepared request, sent again and again,
//! cycling through a list of bodies or `Authorization` values.

use crate::routes::Routes;
use crate::wire::excerpt;

/// One request a scenario repeats.
#[derive(Clone, Debug)]
pub struct Request {
    pub post: bool,
    /// Path (and query) on the provider; [`Routes`] picks the process.
    pub path: String,
    /// `Authorization` values, cycled through (empty: none sent).
    pub authorization: Vec<String>,
    /// Form bodies, cycled through (empty: no body).
    pub bodies: Vec<String>,
    /// The response body must contain this (e.g. `"active":true`).
    pub expect: Option<&'static str>,
}

impl Request {
    pub fn get(path: &str) -> Request {
        Request {
            post: false,
            path: path.to_string(),
            authorization: vec![],
            bodies: vec![],
            expect: None,
        }
    }

    /// Sends the `i`-th variant; Err carries a short description.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        i: usize,
    ) -> Result<(), String> {
        let url = routes.url(&self.path);
        let mut req = if self.post {
            http.post(url)
        } else {
            http.get(url)
        };
        if !self.authorization.is_empty() {
            req = req.header(
                "authorization",
                &self.authorization[i % self.authorization.len()],
            );
        }
        if !self.bodies.is_empty() {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(self.bodies[i % self.bodies.len()].clone());
        }
        let resp = req.send().await.map_err(|e| format!("request: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", excerpt(&body)));
        }
        if let Some(needle) = self.expect {
            if !body.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return Err(format!("response lacks {needle}: {}", excerpt(&body)));
            }
        }
        Ok(())
    }
}
