//! `/admin/v1/projects`: OAuth clients.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use inkan_domain::project::{
    AppType, AuthMethod, GrantType, Project, ProjectCommand, ProjectInput,
};
use inkan_keys::secret::{generate_secret, generate_token};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{entry_fields, page, parse_id};
use crate::auth::AdminCaller;
use crate::commands::execute;
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::projections::Entry;
use crate::state::AdminState;

/// Random bytes in a generated client_id: 128, of which one is fixed (below).
const CLIENT_ID_BYTES: usize = 16;

/// A new client_id: 16 random bytes as base64url without padding (22
/// characters). A client_id is an identifier, not a secret (RFC 6749 §2.2),
/// but it must not be guessable in advance and must be safe to paste into a
/// shell: see [`client_id_from`] for why it never starts with `-`.
pub fn generate_client_id() -> String {
    let token = generate_token(CLIENT_ID_BYTES);
    let mut bytes = [0u8; CLIENT_ID_BYTES];
    // Invariant: `generate_token(n)` is the unpadded base64url encoding of
    // exactly `n` bytes, so decoding it back fills `bytes` exactly.
    let decoded = URL_SAFE_NO_PAD
        .decode_slice(&token, &mut bytes)
        .expect("generate_token returns base64url of CLIENT_ID_BYTES bytes");
    debug_assert_eq!(decoded, CLIENT_ID_BYTES);
    client_id_from(bytes)
}

/// Encodes random bytes as a client_id that always starts with a letter.
///
/// The first base64url character encodes the top six bits of the first
/// byte; values 62 and 63 are `-` and `_`, so about 1 id in 64 would start
/// with `-` and a command line (`inkan projects show -x...`) would take it
/// for a flag. Clearing the first byte's top bit keeps that character in
/// 0..=31, i.e. `A`..=`Z` or `a`..=`f`, by construction; 127 random bits remain.
pub fn client_id_from(mut bytes: [u8; CLIENT_ID_BYTES]) -> String {
    bytes[0] &= 0x7f;
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The API view of a project (never its secret hash).
pub fn view(entry: &Entry<Project>) -> Value {
    let mut v = json!({
        "id": entry.state.id,
        "client_id": entry.state.client_id,
    });
    if let Some(obj) = v.as_object_mut() {
        obj.extend(entry_fields(entry));
        if let Some(settings) = &entry.state.settings {
            if let Ok(Value::Object(s)) = serde_json::to_value(settings) {
                obj.extend(s);
                obj.insert("requires_pkce".into(), json!(settings.requires_pkce()));
            }
        }
    }
    v
}

pub async fn create(
    State(state): State<AdminState>,
    caller: AdminCaller,
    JsonBody(input): JsonBody<ProjectInput>,
) -> Result<impl IntoResponse, ApiError> {
    check_outbound_targets(&state, &input)?;
    let id = Uuid::now_v7();
    // Projects that authenticate with a secret get one (private_key_jwt and
    // public projects none; the domain checks the pair).
    let secret = input
        .app_type
        .filter(|t| t.is_confidential())
        .filter(|_| {
            input
                .token_endpoint_auth_method
                .is_none_or(|m| m.uses_secret())
        })
        .map(|_| generate_secret());
    let command = ProjectCommand::Register {
        client_id: generate_client_id(),
        input,
        secret_hash: secret.as_deref().map(|s| state.secrets.hash(s)),
    };
    execute::<Project>(&state, &caller.client_id, id, command).await?;
    let entry = state.projections.project(id).ok_or(ApiError::NotFound)?;
    let mut body = view(&entry);
    if let Some(secret) = secret {
        // Returned exactly once; only its keyed hash is stored.
        body["client_secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn list(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Query(q): Query<ListQuery>,
) -> Json<Value> {
    let all = state.projections.projects();
    page(&all, q.offset, q.limit, view)
}

pub async fn get(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = state
        .projections
        .project(parse_id(&id)?)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&entry)))
}

pub async fn update(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ProjectInput>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    check_outbound_targets(&state, &input)?;
    execute::<Project>(
        &state,
        &caller.client_id,
        id,
        ProjectCommand::Update { input },
    )
    .await?;
    let entry = state.projections.project(id).ok_or(ApiError::NotFound)?;
    Ok(Json(view(&entry)))
}

/// The operator's rules for where Inkan may send requests to a URI a
/// project registers (the domain checks the URI's shape): the same
/// [`inkan_egress::Policy`] the sender applies — an address in a private
/// network, or this host, only as the operator's setting and a loopback
/// issuer allow. A host name is checked again whenever it is resolved.
/// Logout tokens go to `backchannel_logout_uri` (the back-channel
/// deliverer), key sets come from `jwks_uri` (the token service).
fn check_outbound_targets(state: &AdminState, input: &ProjectInput) -> Result<(), ApiError> {
    let targets = [
        (
            "backchannel_logout_uri",
            input.backchannel_logout_uri.as_deref(),
            &state.backchannel_policy,
            "INKAN_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS",
        ),
        (
            "jwks_uri",
            input.jwks_uri.as_deref(),
            &state.jwks_policy,
            "INKAN_JWKS_ALLOW_PRIVATE_NETWORKS",
        ),
    ];
    for (field, uri, policy, setting) in targets {
        let Some(url) = uri
            .and_then(|uri| url::Url::parse(uri.trim()).ok())
            .filter(|u| matches!(u.scheme(), "https" | "http"))
        else {
            // Not an http(s) URL: the domain's validation names the problem.
            continue;
        };
        policy.check_url(&url).map_err(|refused| {
            ApiError::field(field, format!("{refused} (set {setting} to allow it)"))
        })?;
    }
    Ok(())
}

pub async fn delete(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    execute::<Project>(&state, &caller.client_id, id, ProjectCommand::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new client secret; the old one stops working at once.
pub async fn rotate_secret(
    State(state): State<AdminState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let secret = generate_secret();
    let command = ProjectCommand::RotateSecret {
        secret_hash: state.secrets.hash(&secret),
    };
    execute::<Project>(&state, &caller.client_id, id, command).await?;
    let entry = state.projections.project(id).ok_or(ApiError::NotFound)?;
    let mut body = view(&entry);
    body["client_secret"] = json!(secret);
    Ok(Json(body))
}

/// Everything a relying party's developer needs to configure an OAuth or
/// OIDC client library for this project: the issuer and endpoints, the
/// client id, how it authenticates, what it may request, and whether PKCE is
/// required. `{id}` is the project's UUID or its client_id (what a relying
/// party's developer has at hand).
pub async fn client_configuration(
    State(state): State<AdminState>,
    _caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let by_uuid = Uuid::parse_str(&id)
        .ok()
        .and_then(|uuid| state.projections.project(uuid));
    let entry = by_uuid
        .or_else(|| state.projections.project_by_client_id(&id))
        .ok_or(ApiError::NotFound)?;
    let settings = entry.state.settings.as_ref().ok_or(ApiError::NotFound)?;
    Ok(Json(client_configuration_of(
        &state.issuer,
        entry.state.id,
        &entry.state.client_id,
        settings,
    )))
}

/// The client configuration of one project (see [`client_configuration`]).
///
/// Endpoint names are those of the provider metadata (OIDC Discovery 1.0
/// §3, RFC 8414 §2). A project without the authorization code grant (a
/// `service` project: client credentials only, RFC 6749 §4.4) has no
/// browser flow, so the browser-only settings are left out rather than
/// shown empty: the authorization, userinfo and end-session endpoints,
/// redirect URIs, response type, PKCE and the ID-token algorithm (its
/// tokens carry no end user, so there is no ID token and no userinfo).
pub fn client_configuration_of(
    issuer: &str,
    project_id: Uuid,
    client_id: &str,
    s: &inkan_domain::project::ProjectSettings,
) -> Value {
    use inkan_oauth::discovery::endpoint_url;
    let confidential = s.app_type.is_confidential();
    let mut config = json!({
        "project_id": project_id,
        "issuer": inkan_oauth::discovery::normalize_issuer(issuer),
        "discovery_url": endpoint_url(issuer, "/.well-known/openid-configuration"),
        "token_endpoint": endpoint_url(issuer, "/token"),
        "introspection_endpoint": endpoint_url(issuer, "/introspect"),
        "revocation_endpoint": endpoint_url(issuer, "/revoke"),
        "jwks_uri": endpoint_url(issuer, "/jwks"),
        "client_id": client_id,
        "client_type": if confidential { "confidential" } else { "public" },
        "client_secret": if s.uses_secret() {
            "shown once when the project was created; rotate it with POST /admin/v1/projects/{id}/secret"
        } else if confidential {
            "none: the client signs a JWT with its own key (private_key_jwt)"
        } else {
            "none: this is a public client"
        },
        "token_endpoint_auth_method": s.token_endpoint_auth_method.as_str(),
        // The FAPI 2.0 baseline (README, "FAPI 2.0"): the profile, and
        // whether tokens must be DPoP-bound (RFC 9449 §5.2).
        "profile": s.profile,
        "dpop_bound_access_tokens": s.dpop_bound_access_tokens,
        "grant_types": s.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": s.scopes,
        "access_token_lifetime_seconds": s.access_token_ttl_seconds,
    });
    if let (Some(obj), AuthMethod::PrivateKeyJwt) =
        (config.as_object_mut(), s.token_endpoint_auth_method)
    {
        // RFC 7523 §3: what the client's assertions must hold.
        obj.insert(
            "client_assertion".into(),
            json!({
                "aud": inkan_oauth::discovery::normalize_issuer(issuer),
                "signing_alg_values": inkan_oauth::discovery::CLIENT_ASSERTION_ALGS,
                "keys": match (&s.jwks, &s.jwks_uri) {
                    (_, Some(uri)) => json!({ "jwks_uri": uri }),
                    (Some(jwks), None) => json!({ "jwks": jwks }),
                    (None, None) => Value::Null,
                },
            }),
        );
    }
    let browser = s.app_type != AppType::Service && s.allows_grant(GrantType::AuthorizationCode);
    if let (true, Some(obj)) = (browser, config.as_object_mut()) {
        obj.extend([
            (
                "authorization_endpoint".into(),
                json!(endpoint_url(issuer, "/authorize")),
            ),
            (
                "userinfo_endpoint".into(),
                json!(endpoint_url(issuer, "/userinfo")),
            ),
            (
                "end_session_endpoint".into(),
                json!(endpoint_url(issuer, "/end_session")),
            ),
            // RFC 9126: authorization requests pushed by the client.
            (
                "pushed_authorization_request_endpoint".into(),
                json!(endpoint_url(issuer, "/par")),
            ),
            (
                "require_pushed_authorization_requests".into(),
                json!(s.require_pushed_authorization_requests),
            ),
            // OIDC Core §3.1.2.1: the code flow only.
            ("response_type".into(), json!("code")),
            ("redirect_uris".into(), json!(s.redirect_uris)),
            (
                "post_logout_redirect_uris".into(),
                json!(s.post_logout_redirect_uris),
            ),
            // RFC 7636; RFC 9700 §2.1.1: S256 only, mandatory for public clients.
            (
                "pkce".into(),
                json!({
                    "required": s.requires_pkce(),
                    "code_challenge_method": "S256",
                }),
            ),
            (
                "id_token_signed_response_alg".into(),
                json!(s.id_token_signed_response_alg),
            ),
            // How the project's users sign in, and the acr levels asked
            // for when a request names none (README, "Login settings").
            ("login_methods".into(), json!(s.login_methods)),
            ("mfa".into(), json!(s.mfa)),
            ("default_acr_values".into(), json!(s.default_acr_values)),
            // Self-service accounts (README, "Accounts").
            ("allow_signup".into(), json!(s.allow_signup)),
            (
                "require_verified_email".into(),
                json!(s.require_verified_email),
            ),
            // OpenID Back-Channel Logout 1.0 (README, "Back-channel logout").
            (
                "backchannel_logout_uri".into(),
                json!(s.backchannel_logout_uri),
            ),
            (
                "backchannel_logout_session_required".into(),
                json!(s.backchannel_logout_session_required),
            ),
        ]);
    }
    if let (true, Some(obj)) = (
        s.allows_grant(GrantType::RefreshToken),
        config.as_object_mut(),
    ) {
        obj.insert(
            "refresh_token_lifetime_seconds".into(),
            json!(s.refresh_token_ttl_seconds),
        );
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_never_start_with_a_hyphen_whatever_the_first_random_byte() {
        // Every value of the first byte (the only one that decides the first
        // character), with the other bytes at both extremes.
        for first in 0..=u8::MAX {
            for fill in [0x00, 0xff] {
                let mut bytes = [fill; CLIENT_ID_BYTES];
                bytes[0] = first;
                let id = client_id_from(bytes);
                let c = id.chars().next().unwrap();
                assert!(c.is_ascii_alphabetic(), "{id} starts with {c:?}");
                assert_eq!(id.len(), 22, "{id}");
            }
        }
    }

    #[test]
    fn generated_client_ids_are_distinct_url_safe_and_start_with_a_letter() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let id = generate_client_id();
            assert_eq!(id.len(), 22, "{id}");
            assert!(id.starts_with(|c: char| c.is_ascii_alphabetic()), "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{id}"
            );
            assert!(seen.insert(id), "a client_id was generated twice");
        }
    }
}
