//! Logout tokens (OpenID Back-Channel Logout 1.0 §2.4): a JWT signed like
//! the client's ID tokens, typed `logout+jwt` (§2.4, explicit typing), that
//! names the user (`sub`) and the session (`sid`), carries the
//! back-channel logout event and never a `nonce` (§2.4: prohibited, so it
//! cannot be confused with an ID token).

use serde_json::{json, Value};

/// The event member a logout token's `events` claim holds (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The JWS `typ` header of a logout token (§2.4).
pub const TYP: &str = "logout+jwt";

/// How long a logout token is valid: long enough for one delivery, short
/// enough that a captured one is soon worthless. Each attempt mints a new
/// token, so a retry an hour later still arrives fresh.
pub const LIFETIME_SECONDS: i64 = 120;

/// The claims of one logout token; `jti` is new for every attempt.
pub fn claims(
    issuer: &str,
    subject: &str,
    client_id: &str,
    sid: &str,
    now: i64,
    jti: &str,
) -> Value {
    json!({
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": jti,
        "sid": sid,
        "events": { EVENT: {} },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_token_names_the_event_the_session_and_never_a_nonce() {
        let c = claims("https://id.example", "u1", "app", "s1", 1_000, "j1");
        assert_eq!(c["events"][EVENT], json!({}));
        assert_eq!(c["sid"], "s1");
        assert_eq!(c["sub"], "u1");
        assert_eq!(c["aud"], "app");
        assert_eq!(c["exp"], 1_000 + LIFETIME_SECONDS);
        assert!(c.get("nonce").is_none());
    }
}
