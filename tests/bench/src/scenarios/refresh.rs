//! Refresh-token rotation: every connection keeps its own current refresh
//! token (from a code flow made during preparation), redeems it, and keeps
//! the new one the response carries.

use std::sync::Mutex;

use super::code_flow::{token_request, RelyingParty};
use crate::routes::Routes;

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
        let fields = [("grant_type", "refresh_token"), ("refresh_token", &current)];
        let tokens = token_request(
            http,
            routes,
            &self.rp,
            &fields,
            &["refresh_token", "access_token"],
            "refresh",
        )
        .await?;
        let next = tokens["refresh_token"].as_str().unwrap_or_default();
        *slot.lock().map_err(|_| "poisoned")? = next.to_string();
        Ok(())
    }
}
