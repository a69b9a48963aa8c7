//! Refresh-token rotation: every connection keeps its own current refresh
//! token (from a code flow made during preparation), redeems it, and keeps
//! the new one the response carries.

use std::sync::Mutex;

use serde_json::Value;

use super::code_flow::RelyingParty;
use crate::routes::Routes;
use crate::wire::{excerpt, form};

pub struct Refresh {
    pub rp: RelyingParty,
    /// The current refresh token of each connection.
    pub tokens: Vec<Mutex<String>>,
}

impl Refresh {
    pub async fn step(
        &self,
        http: &reqwest::Client,
        routes: &Routes,
        conn: usize,
    ) -> Result<(), String> {
        let slot = &self.tokens[conn % self.tokens.len()];
        let current = slot.lock().map_err(|_| "poisoned")?.clone();
        let resp = http
            .post(routes.url("/token"))
            .header("authorization", &self.rp.authorization)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &current),
            ]))
            .send()
            .await
            .map_err(|e| format!("token: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("token body: {e}"))?;
        if !status.is_success() {
            return Err(format!("refresh: HTTP {status}: {}", excerpt(&body)));
        }
        let tokens: Value =
            serde_json::from_slice(&body).map_err(|e| format!("refresh response: {e}"))?;
        let (Some(next), Some(_)) = (
            tokens["refresh_token"].as_str(),
            tokens["access_token"].as_str(),
        ) else {
            return Err(format!(
                "refresh response without tokens: {}",
                excerpt(&body)
            ));
        };
        *slot.lock().map_err(|_| "poisoned")? = next.to_string();
        Ok(())
    }
}
