//! Who may call the admin API: a `service` project (a machine client) that
//! still holds the `admin` scope, presenting either an access token it
//! obtained with the client credentials grant (`Authorization: Bearer`,
//! RFC 6750 — the normal shape) or its client credentials directly (HTTP
//! Basic, RFC 6749 §2.3.1 — kept for bootstrapping and scripts).
//!
//! A token that speaks for an end user (its `sub` is not the client itself,
//! RFC 9068 §2.2) is never accepted, whatever its scope: a user who signs in
//! through an app must not become an administrator.
//!
//! A DPoP-bound token (a `fapi2` or `dpop_bound_access_tokens` project's)
//! comes as `Authorization: DPoP <token>` with a proof by its key over the
//! request and the token (RFC 9449 §7.1); as a Bearer token it is refused.
//! The admin API asks for no DPoP nonce (§9 leaves that to each resource
//! server).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AdminState;

pub use inkan_domain::project::ADMIN_SCOPE;
use inkan_domain::project::{AppType, Project};
use inkan_oauth::AccessClaims;

/// An authenticated admin caller.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub client_id: String,
}

impl FromRequestParts<AdminState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
        // RFC 9110 §11.1: the scheme is case-insensitive.
        if let Some(token) = inkan_web::bearer::token_in(header) {
            return bearer(state, token, None);
        }
        if let Some(token) = inkan_web::bearer::dpop_token_in(header) {
            let jkt = proof_key(state, parts, token).await?;
            return bearer(state, token, Some(&jkt));
        }
        let (client_id, secret) = parse_basic(header).ok_or(ApiError::Unauthenticated)?;
        let project = state
            .projections
            .project_by_client_id(&client_id)
            .ok_or(ApiError::Unauthenticated)?;
        let stored = project
            .state
            .secret_hash
            .as_deref()
            .ok_or(ApiError::Unauthenticated)?;
        if !state.secrets.verify(&secret, stored) {
            return Err(ApiError::Unauthenticated);
        }
        if !holds_admin_scope(&project.state) {
            return Err(ApiError::Forbidden);
        }
        Ok(AdminCaller { client_id })
    }
}

/// Accepts an RFC 9068 access token signed by one of Inkan's published keys,
/// issued for this issuer, unexpired, carrying the `admin` scope, whose
/// client still exists and still has the `admin` scope.
///
/// `proved`: the key of the request's DPoP proof, when the token came with
/// the `DPoP` scheme; a bound token needs it to be the token's key, an
/// unbound one must come as Bearer.
fn bearer(state: &AdminState, token: &str, proved: Option<&str>) -> Result<AdminCaller, ApiError> {
    use inkan_keys::signing::{Verifier, VerifyOptions};
    let now = state.clock.now_utc();
    let jwks = state.projections.published_jwks(now);
    let mut options = VerifyOptions::new(&state.issuer);
    options.expected_typ = Some("at+jwt");
    options.audience = Some(&state.issuer);
    options.leeway_secs = 30;
    let claims = Verifier::new(&jwks)
        .verify(token, &options)
        .ok()
        .and_then(|claims| AccessClaims::from_value(claims).ok())
        .ok_or(ApiError::Unauthenticated)?;
    // RFC 9449 §7.1: a bound token only with a proof by its key.
    if claims.jkt() != proved {
        return Err(ApiError::Unauthenticated);
    }
    let project = state
        .projections
        .project_by_client_id(&claims.client_id)
        .ok_or(ApiError::Unauthenticated)?;
    admit_token(&claims, &project.state)?;
    Ok(AdminCaller {
        client_id: claims.client_id,
    })
}

/// The key of the request's DPoP proof (RFC 9449 §4.3), checked for this
/// method, this URL and this token, and not seen before; any failure is
/// `Unauthenticated` (an outage of the replay memory: `Unavailable`).
async fn proof_key(state: &AdminState, parts: &Parts, token: &str) -> Result<String, ApiError> {
    let proof = inkan_web::dpop::header(&parts.headers)
        .ok()
        .flatten()
        .ok_or(ApiError::Unauthenticated)?;
    let url = inkan_oauth::discovery::endpoint_url(&state.issuer, parts.uri.path());
    let request = inkan_flows::dpop::Request {
        method: parts.method.as_str(),
        url: &url,
        access_token: Some(token),
        now: state.clock.now_utc().unix_timestamp(),
    };
    let policy = inkan_flows::dpop::DpopPolicy::default();
    match inkan_flows::dpop::check(state.kv.as_ref(), &policy, proof, &request).await {
        Ok(verified) => Ok(verified.jkt),
        Err(inkan_flows::dpop::DpopError::Store(e)) => Err(ApiError::Unavailable(e.to_string())),
        Err(_) => Err(ApiError::Unauthenticated),
    }
}

/// Whether `project` is a live `service` project that holds the admin scope
/// now (a scope removed since a token was minted counts as gone).
fn holds_admin_scope(project: &Project) -> bool {
    project.settings.as_ref().is_some_and(|s| {
        !project.deleted
            && s.app_type == AppType::Service
            && s.scopes.iter().any(|s| s == ADMIN_SCOPE)
    })
}

/// The policy for a verified access token: a client-credentials token (its
/// subject is the client itself, RFC 9068 §2.2; no `auth_time`, which only
/// an end user's login sets) carrying the admin scope, from a project that
/// still holds it.
fn admit_token(claims: &AccessClaims, project: &Project) -> Result<(), ApiError> {
    if !claims.is_for_the_client_itself()
        || !claims.has_scope(ADMIN_SCOPE)
        || !holds_admin_scope(project)
    {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// Decodes `Basic base64(urlencode(client_id):urlencode(secret))` (RFC 6749
/// §2.3.1) with the protocol crate's decoder; `None` for anything malformed
/// or an empty client id.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    if header.len() > 4096 {
        return None;
    }
    inkan_oauth::client_auth::decode_basic(header)
        .ok()
        .filter(|(id, _)| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use inkan_domain::project::ProjectSettings;
    use serde_json::{json, Value};

    /// Verified claims: the test's, over the ones every Inkan token has.
    fn claims(mut v: Value) -> AccessClaims {
        let base = json!({"iss": "i", "aud": "i", "exp": 2, "iat": 1, "jti": "j"});
        for (k, x) in base.as_object().unwrap() {
            v.as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(x.clone());
        }
        AccessClaims::from_value(v).unwrap()
    }

    fn project(app_type: AppType, scopes: &[&str]) -> Project {
        let mut settings = ProjectSettings::defaults("P".into(), app_type);
        settings.scopes = scopes.iter().map(|s| s.to_string()).collect();
        Project {
            client_id: "ops".into(),
            settings: Some(settings),
            ..Default::default()
        }
    }

    /// The domain's admin scope and the protocol crate's list of scopes no
    /// user flow grants name the same token (the two crates do not depend
    /// on each other; this crate sees both).
    #[test]
    fn the_admin_scope_is_one_no_user_flow_grants() {
        assert!(inkan_oauth::scope::is_machine_only(ADMIN_SCOPE));
    }

    #[test]
    fn only_client_credentials_tokens_of_admin_service_projects_are_admitted() {
        let machine = claims(json!({"sub": "ops", "client_id": "ops", "scope": "admin"}));
        let ops = project(AppType::Service, &["admin"]);
        assert!(admit_token(&machine, &ops).is_ok());

        // A token for an end user, even with the admin scope and from a
        // client that holds it, is refused.
        let user = claims(
            json!({"sub": "0199-user", "client_id": "ops", "scope": "openid admin", "auth_time": 1}),
        );
        assert!(matches!(admit_token(&user, &ops), Err(ApiError::Forbidden)));
        let user_no_auth_time =
            claims(json!({"sub": "0199-user", "client_id": "ops", "scope": "admin"}));
        assert!(matches!(
            admit_token(&user_no_auth_time, &ops),
            Err(ApiError::Forbidden)
        ));
        let with_auth_time =
            claims(json!({"sub": "ops", "client_id": "ops", "scope": "admin", "auth_time": 1}));
        assert!(matches!(
            admit_token(&with_auth_time, &ops),
            Err(ApiError::Forbidden)
        ));

        // The scope must be in the token and still on the project.
        let no_scope = claims(json!({"sub": "ops", "client_id": "ops", "scope": "reports"}));
        assert!(matches!(
            admit_token(&no_scope, &ops),
            Err(ApiError::Forbidden)
        ));
        let lost = project(AppType::Service, &["reports"]);
        assert!(matches!(
            admit_token(&machine, &lost),
            Err(ApiError::Forbidden)
        ));
        // A web project that holds it from before the registration rule is no admin.
        let legacy_web = project(AppType::Web, &["openid", "admin"]);
        assert!(matches!(
            admit_token(&machine, &legacy_web),
            Err(ApiError::Forbidden)
        ));
        let mut deleted = project(AppType::Service, &["admin"]);
        deleted.deleted = true;
        assert!(matches!(
            admit_token(&machine, &deleted),
            Err(ApiError::Forbidden)
        ));
    }

    fn basic(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("my%20client:s%3Acret+x")),
            Some(("my client".into(), "s:cret x".into()))
        );
    }

    #[test]
    fn malformed_basic_headers_are_rejected() {
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic(&basic("no-colon")), None);
        assert_eq!(parse_basic(&basic(":secret")), None);
        // Stray percent signs decode literally (WHATWG form decoding), as at /token.
        assert_eq!(
            parse_basic(&basic("id:%zz")),
            Some(("id".into(), "%zz".into()))
        );
    }
}
