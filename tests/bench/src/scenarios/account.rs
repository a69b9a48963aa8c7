//! The account page (issue #13): `GET /account` with a signed-in session,
//! which lists the user's sessions and connected apps (key-value reads) and
//! renders the page in the request's language.

use crate::routes::Routes;
use crate::wire::Jar;

pub struct Account {
    /// One signed-in browser per connection.
    pub sessions: Vec<Jar>,
}

impl Account {
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
    ) -> Result<(), String> {
        let jar = &self.sessions[conn % self.sessions.len()];
        let mut request = http.get(routes.url("/account"));
        if let Some(cookie) = jar.header() {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if status != reqwest::StatusCode::OK || !body.contains("id=\"account-email\"") {
            return Err(format!("GET /account answered {status}, not the page"));
        }
        Ok(())
    }
}
