//! Golden payloads: every stored event type and revision, as a release wrote
//! it (`tests/fixtures/events/<type>[~variant].json`, the compact JSON the
//! SQLite store keeps). Every later release must decode them all to the same
//! state, and the current encoder must write the newest revisions byte for
//! byte, so an accidental change to a stored shape fails here.
//!
//! The fixtures were written by the release before revision types existed
//! (the `project.*~before-custom-claims` ones as v1 payloads were written
//! before those two fields were added in place; `project.*.v1` became
//! decode-only when v2 added the login settings, `project.*.v2` when v3
//! added self-service accounts and branding, `project.*.v3` when v4 added
//! back-channel logout, `project.*.v4` when v5 added the FAPI 2.0 baseline). Never edit one: a new shape
//! is a new revision with a new fixture (see `inkan_domain::events`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use inkan_domain::acr::Acr;
use inkan_domain::identity::*;
use inkan_domain::project::*;
use inkan_domain::signing_key::*;
use inkan_domain::{Aggregate, DomainError, DomainEvent};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

/// The fixture's bytes without the trailing newline.
fn golden(name: &str) -> String {
    let path = fixtures().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.trim_end_matches('\n').to_string()
}

/// The stored type name a fixture holds (its name up to `~`).
fn event_type(name: &str) -> &str {
    name.split('~').next().unwrap_or(name)
}

fn decode<E: DomainEvent>(name: &str) -> E {
    let payload: serde_json::Value = serde_json::from_str(&golden(name)).unwrap();
    E::decode(event_type(name), &payload).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

// ---- the events the fixtures hold ----

fn web_settings() -> ProjectSettings {
    let mut s = ProjectSettings::defaults("Shop".into(), AppType::Web);
    s.redirect_uris = vec!["https://shop.example.com/cb".into()];
    s.post_logout_redirect_uris = vec!["https://shop.example.com/bye".into()];
    s.token_endpoint_auth_method = AuthMethod::ClientSecretPost;
    s.refresh_token_retry_seconds = 10;
    s.id_token_signed_response_alg = "ES256".into();
    s.compat_claims = false;
    s.custom_claims = false;
    s.reject_unknown_scopes = true;
    s
}

/// `web_settings` as a v2 payload holds them: passkeys only, two factors,
/// phishing-resistant by default.
fn passwordless_web_settings() -> ProjectSettings {
    let mut s = web_settings();
    s.login_methods = vec![LoginMethod::Passkey];
    s.mfa = MfaPolicy::Required;
    s.default_acr_values = vec![Acr::PhishingResistant];
    s
}

/// `web_settings` as the v3 payload holds them: both methods, two factors
/// by default, self-service accounts and branding.
fn self_service_web_settings() -> ProjectSettings {
    let mut s = web_settings();
    s.mfa = MfaPolicy::Required;
    s.default_acr_values = vec![Acr::MultiFactor];
    s.allow_signup = true;
    s.require_verified_email = true;
    s.logo_uri = Some("https://shop.example.com/logo.svg".into());
    s.primary_color = Some("#0f766e".into());
    s
}

/// `self_service_web_settings` as the v4 registration holds them: told of
/// logouts by back channel, with `sid`.
fn back_channel_web_settings() -> ProjectSettings {
    let mut s = self_service_web_settings();
    s.backchannel_logout_uri = Some("https://shop.example.com/backchannel-logout?tenant=eu".into());
    s.backchannel_logout_session_required = true;
    s
}

/// The v4 update: a staging copy told on loopback, without `sid`.
fn staging_web_settings() -> ProjectSettings {
    let mut s = self_service_web_settings();
    s.name = "Shop (staging)".into();
    s.allow_signup = false;
    s.backchannel_logout_uri = Some("http://127.0.0.1:8080/logout/backchannel".into());
    s
}

/// The v5 registration: the v4 project under the FAPI 2.0 profile, its
/// client authenticating with a registered EC key.
fn fapi2_web_settings() -> ProjectSettings {
    let mut s = back_channel_web_settings();
    s.token_endpoint_auth_method = AuthMethod::PrivateKeyJwt;
    s.jwks = Some(serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "shop-2026", "alg": "ES256", "use": "sig",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]}));
    s.require_pushed_authorization_requests = true;
    s.dpop_bound_access_tokens = true;
    s.profile = SecurityProfile::Fapi2;
    s
}

/// The v5 update: a machine client whose keys are fetched, with DPoP.
fn key_fetching_service_settings() -> ProjectSettings {
    let mut s = service_settings();
    s.token_endpoint_auth_method = AuthMethod::PrivateKeyJwt;
    s.jwks_uri = Some("https://billing.example.com/.well-known/jwks.json".into());
    s.dpop_bound_access_tokens = true;
    s
}

fn spa_settings() -> ProjectSettings {
    let mut s = ProjectSettings::defaults("Dashboard".into(), AppType::Spa);
    s.redirect_uris = vec!["https://app.example.com/callback".into()];
    s
}

fn service_settings() -> ProjectSettings {
    let mut s = ProjectSettings::defaults("Billing job".into(), AppType::Service);
    s.scopes = vec!["admin".into(), "billing.read".into()];
    s.access_token_ttl_seconds = 600;
    s
}

fn ada() -> Profile {
    let mut claims = serde_json::Map::new();
    claims.insert("department".into(), serde_json::json!("research"));
    claims.insert("roles".into(), serde_json::json!(["editor", "viewer"]));
    Profile {
        email: "Ada@Example.com".into(),
        email_verified: true,
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        claims,
    }
}

fn ada_updated() -> Profile {
    Profile {
        email: "ada@lovelace.example".into(),
        last_name: None,
        ..ada()
    }
}

const ADA_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const NEW_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA";

fn key_generated() -> KeyGenerated {
    KeyGenerated {
        kid: "k-2026-01".into(),
        alg: "ES256".into(),
        sealed_private_key: "bm9uY2U.c2VhbGVk".into(),
        public_jwk: serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            "kid": "k-2026-01", "alg": "ES256", "use": "sig"
        }),
        activate_after: at("2026-01-15T10:20:30Z"),
    }
}

fn project_events() -> Vec<(&'static str, ProjectEvent)> {
    vec![
        (
            "project.registered.v5",
            ProjectEvent::Registered(ProjectRegistered {
                client_id: "shop".into(),
                settings: fapi2_web_settings(),
                secret_hash: None,
            }),
        ),
        (
            "project.updated.v5",
            ProjectEvent::Updated(ProjectUpdated {
                settings: key_fetching_service_settings(),
            }),
        ),
        (
            "project.secret_rotated.v1",
            ProjectEvent::SecretRotated(ClientSecretRotated {
                secret_hash: "hmac-sha256:b4d-c0ffee".into(),
            }),
        ),
        (
            "project.deleted.v1",
            ProjectEvent::Deleted(ProjectDeleted {}),
        ),
    ]
}

fn identity_events() -> Vec<(&'static str, IdentityEvent)> {
    vec![
        (
            "identity.registered.v1",
            IdentityEvent::Registered(IdentityRegistered {
                profile: ada(),
                password_hash: Some(ADA_HASH.into()),
            }),
        ),
        (
            "identity.registered.v1~without-password",
            IdentityEvent::Registered(IdentityRegistered {
                profile: Profile {
                    email: "grace@example.com".into(),
                    ..Profile::default()
                },
                password_hash: None,
            }),
        ),
        (
            "identity.profile_updated.v1",
            IdentityEvent::ProfileUpdated(ProfileUpdated {
                profile: ada_updated(),
            }),
        ),
        (
            "identity.password_changed.v1",
            IdentityEvent::PasswordChanged(PasswordChanged {
                password_hash: NEW_HASH.into(),
            }),
        ),
        (
            "identity.deleted.v1",
            IdentityEvent::Deleted(IdentityDeleted {}),
        ),
        (
            "identity.passkey_registered.v1",
            IdentityEvent::PasskeyRegistered(PasskeyRegistered {
                passkey: laptop_passkey(),
            }),
        ),
        (
            "identity.passkey_renamed.v1",
            IdentityEvent::PasskeyRenamed(PasskeyRenamed {
                credential_id: LAPTOP_CREDENTIAL.into(),
                name: "Work laptop".into(),
            }),
        ),
        (
            "identity.passkey_removed.v1",
            IdentityEvent::PasskeyRemoved(PasskeyRemoved {
                credential_id: LAPTOP_CREDENTIAL.into(),
            }),
        ),
        (
            "identity.totp_enrolled.v1",
            IdentityEvent::TotpEnrolled(TotpEnrolled { totp: ada_totp() }),
        ),
        (
            "identity.recovery_code_used.v1",
            IdentityEvent::RecoveryCodeUsed(RecoveryCodeUsed {
                code_hash: "hmac-sha256:r1".into(),
            }),
        ),
        (
            "identity.totp_removed.v1",
            IdentityEvent::TotpRemoved(TotpRemoved {}),
        ),
        (
            "identity.email_verification_requested.v1",
            IdentityEvent::LinkRequested(LinkRequested {
                link: MailedLink {
                    purpose: LinkPurpose::VerifyEmail,
                    token_hash: "hmac-sha256:v1".into(),
                    email: "ada@lovelace.example".into(),
                    expires_at: at("2026-12-05T18:00:00Z"),
                },
                sealed_token: "c2VhbGVkLXRva2Vu".into(),
                locale: "en".into(),
                client_id: Some("app-1".into()),
                signup: false,
            }),
        ),
        (
            "identity.password_reset_offered.v1",
            IdentityEvent::LinkRequested(LinkRequested {
                link: MailedLink {
                    purpose: LinkPurpose::ResetPassword,
                    token_hash: "hmac-sha256:s1".into(),
                    email: "ada@lovelace.example".into(),
                    expires_at: at("2026-12-04T19:00:00Z"),
                },
                sealed_token: "c2VhbGVkLW9mZmVy".into(),
                locale: "en".into(),
                client_id: Some("shop".into()),
                signup: true,
            }),
        ),
        (
            "identity.email_change_requested.v1",
            IdentityEvent::LinkRequested(LinkRequested {
                link: MailedLink {
                    purpose: LinkPurpose::ChangeEmail,
                    token_hash: "hmac-sha256:c1".into(),
                    email: "ada@new.example".into(),
                    expires_at: at("2026-12-05T19:00:00Z"),
                },
                sealed_token: "c2VhbGVkLW1vdmU".into(),
                locale: "en".into(),
                client_id: None,
                signup: false,
            }),
        ),
        (
            "identity.email_changed.v1",
            IdentityEvent::EmailChanged(EmailChanged {
                email: "ada@new.example".into(),
                previous: "ada@lovelace.example".into(),
                token_hash: "hmac-sha256:c1".into(),
                locale: "de".into(),
            }),
        ),
        (
            "identity.email_verified.v1",
            IdentityEvent::EmailVerified(EmailVerified {
                email: "ada@lovelace.example".into(),
                token_hash: "hmac-sha256:v1".into(),
            }),
        ),
        (
            "identity.password_reset_requested.v1",
            IdentityEvent::LinkRequested(LinkRequested {
                link: MailedLink {
                    purpose: LinkPurpose::ResetPassword,
                    token_hash: "hmac-sha256:p1".into(),
                    email: "ada@lovelace.example".into(),
                    expires_at: at("2026-12-04T18:30:00Z"),
                },
                sealed_token: "c2VhbGVkLXJlc2V0".into(),
                locale: "de".into(),
                client_id: None,
                signup: false,
            }),
        ),
        (
            "identity.password_reset.v1",
            IdentityEvent::PasswordReset(PasswordReset {
                password_hash: RESET_HASH.into(),
                token_hash: "hmac-sha256:p1".into(),
                email: "ada@lovelace.example".into(),
                locale: "de".into(),
            }),
        ),
        (
            "identity.backchannel_logout_requested.v1",
            IdentityEvent::BackchannelLogoutRequested(BackchannelLogoutRequested {
                sid: "c2lkLTE".into(),
                client_id: "shop".into(),
                reason: LogoutReason::PasswordReset,
            }),
        ),
        (
            "identity.blocked.v1",
            IdentityEvent::Blocked(IdentityBlocked {}),
        ),
        (
            "identity.unblocked.v1",
            IdentityEvent::Unblocked(IdentityUnblocked {}),
        ),
        (
            "identity.backchannel_logout_failed.v1",
            IdentityEvent::BackchannelLogoutFailed(BackchannelLogoutFailed {
                failure: shop_logout_failure(),
            }),
        ),
    ]
}

fn shop_logout_failure() -> LogoutFailure {
    LogoutFailure {
        sid: "c2lkLTE".into(),
        client_id: "shop".into(),
        error: "HTTP 503 from https://shop.example.com/backchannel-logout".into(),
        attempts: 5,
        at: at("2026-12-06T09:30:00Z"),
    }
}

const RESET_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cmVzZXQ$cmVzZXQtaGFzaA";

fn ada_totp() -> Totp {
    Totp {
        sealed_secret: "c2VhbGVkLXNlY3JldA".into(),
        recovery_codes: vec!["hmac-sha256:r1".into(), "hmac-sha256:r2".into()],
        enrolled_at: at("2026-12-03T14:05:00Z"),
    }
}

const LAPTOP_CREDENTIAL: &str = "AQIDBAUGBwgJCgsMDQ4PEA";

/// The passkey the fixtures hold; its `credential` is the WebAuthn
/// library's record, read here only as JSON.
fn laptop_passkey() -> Passkey {
    let stored: serde_json::Value =
        serde_json::from_str(&golden("identity.passkey_registered.v1")).unwrap();
    Passkey {
        credential_id: LAPTOP_CREDENTIAL.into(),
        name: "Laptop".into(),
        credential: stored["credential"].clone(),
        backup_eligible: true,
        registered_at: at("2026-12-03T10:15:00Z"),
    }
}

fn key_events() -> Vec<(&'static str, SigningKeyEvent)> {
    vec![
        (
            "key.generated.v1",
            SigningKeyEvent::Generated(key_generated()),
        ),
        (
            "key.activated.v1",
            SigningKeyEvent::Activated(KeyActivated {
                activated_at: at("2026-01-15T10:25:00.5Z"),
            }),
        ),
        (
            "key.retired.v1",
            SigningKeyEvent::Retired(KeyRetired {
                retired_at: at("2026-04-01T00:00:00Z"),
                publish_until: at("2026-04-02T01:00:00Z"),
            }),
        ),
    ]
}

/// Fixtures of older shapes: decoded by every release, never written again.
const LEGACY: [&str; 10] = [
    "project.registered.v1",
    "project.updated.v1",
    "project.registered.v2",
    "project.updated.v2",
    "project.registered.v3",
    "project.updated.v3",
    "project.registered.v4",
    "project.updated.v4",
    "project.registered.v1~before-custom-claims",
    "project.updated.v1~before-custom-claims",
];

fn assert_golden<E: DomainEvent + PartialEq + std::fmt::Debug>(cases: Vec<(&str, E)>) {
    for (name, event) in cases {
        assert_eq!(decode::<E>(name), event, "{name} decodes to another event");
        let (written_type, payload) = event.encode();
        assert_eq!(written_type, event_type(name));
        assert_eq!(
            payload.to_string(),
            golden(name),
            "the encoder no longer writes {name} as stored: add a new revision instead"
        );
    }
}

// ---- tests ----

#[test]
fn every_project_event_decodes_from_and_encodes_to_its_golden_payload() {
    assert_golden(project_events());
}

#[test]
fn every_identity_event_decodes_from_and_encodes_to_its_golden_payload() {
    assert_golden(identity_events());
}

#[test]
fn every_signing_key_event_decodes_from_and_encodes_to_its_golden_payload() {
    assert_golden(key_events());
}

#[test]
fn every_fixture_on_disk_is_checked_and_every_event_type_has_one() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json")
                .unwrap_or_else(|| panic!("{name} is not a .json fixture"))
                .to_string()
        })
        .collect();
    let checked: BTreeSet<String> = project_events()
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(identity_events().iter().map(|(n, _)| n.to_string()))
        .chain(key_events().iter().map(|(n, _)| n.to_string()))
        .chain(LEGACY.iter().map(|n| n.to_string()))
        .collect();
    assert_eq!(on_disk, checked);
}

#[test]
fn a_v1_project_payload_written_before_custom_claims_existed_loads_with_their_defaults() {
    let registered: ProjectEvent = decode("project.registered.v1~before-custom-claims");
    let updated: ProjectEvent = decode("project.updated.v1~before-custom-claims");
    let id = Uuid::new_v4();
    let mut project = Project::new(id);
    project.apply(&registered);
    let settings = project.settings.clone().unwrap();
    assert_eq!(settings, spa_settings());
    assert!(settings.custom_claims, "absent custom_claims means true");
    assert!(!settings.reject_unknown_scopes, "absent means false");
    assert_eq!(project.client_id, "dashboard");
    assert_eq!(project.secret_hash, None);

    project.apply(&updated);
    assert_eq!(project.settings, Some(service_settings()));
}

#[test]
fn a_v1_project_payload_upcasts_to_password_or_passkey_logins_an_optional_code_and_no_default_levels(
) {
    let ProjectEvent::Registered(registered) = decode("project.registered.v1") else {
        panic!("project.registered.v1 is a registration");
    };
    assert_eq!(registered.client_id, "shop");
    assert_eq!(registered.settings, web_settings());
    assert_eq!(
        registered.settings.login_methods,
        [LoginMethod::Password, LoginMethod::Passkey]
    );
    assert_eq!(registered.settings.mfa, MfaPolicy::Optional);
    assert!(registered.settings.default_acr_values.is_empty());
    let updated: ProjectEvent = decode("project.updated.v1");
    assert_eq!(
        updated,
        ProjectEvent::Updated(ProjectUpdated {
            settings: service_settings()
        })
    );
    // Written again, an upcast event is the newest revision.
    assert_eq!(updated.encode().0, "project.updated.v5");
}

#[test]
fn a_project_folded_from_its_golden_payloads_has_the_stored_state() {
    let mut project = Project::new(Uuid::new_v4());
    let events: Vec<ProjectEvent> = project_events()
        .iter()
        .map(|(name, _)| decode(name))
        .collect();
    project.apply(&events[0]);
    assert_eq!(project.client_id, "shop");
    assert_eq!(project.settings, Some(fapi2_web_settings()));
    assert_eq!(project.secret_hash, None);
    assert!(project.exists());
    project.apply(&events[1]);
    project.apply(&events[2]);
    assert_eq!(project.settings, Some(key_fetching_service_settings()));
    assert_eq!(
        project.secret_hash.as_deref(),
        Some("hmac-sha256:b4d-c0ffee")
    );
    project.apply(&events[3]);
    assert!(!project.exists());
}

#[test]
fn an_identity_folded_from_its_golden_payloads_has_the_stored_state() {
    let mut ada_state = Identity::new(Uuid::new_v4());
    ada_state.apply(&decode("identity.registered.v1"));
    assert_eq!(ada_state.profile, Some(ada()));
    assert_eq!(ada_state.password_hash.as_deref(), Some(ADA_HASH));
    ada_state.apply(&decode("identity.profile_updated.v1"));
    ada_state.apply(&decode("identity.password_changed.v1"));
    ada_state.apply(&decode("identity.totp_enrolled.v1"));
    assert_eq!(ada_state.totp, Some(ada_totp()));
    ada_state.apply(&decode("identity.recovery_code_used.v1"));
    assert_eq!(
        ada_state.totp.as_ref().map(|t| t.recovery_codes.clone()),
        Some(vec!["hmac-sha256:r2".to_string()])
    );
    ada_state.apply(&decode("identity.totp_removed.v1"));
    assert_eq!(ada_state.totp, None);
    assert_eq!(ada_state.profile, Some(ada_updated()));
    assert_eq!(ada_state.password_hash.as_deref(), Some(NEW_HASH));
    ada_state.apply(&decode("identity.email_verification_requested.v1"));
    ada_state.apply(&decode("identity.password_reset_requested.v1"));
    assert_eq!(ada_state.links.len(), 2);
    ada_state.apply(&decode("identity.email_verified.v1"));
    assert!(ada_state.profile.as_ref().unwrap().email_verified);
    assert_eq!(ada_state.session_epoch, 0);
    ada_state.apply(&decode("identity.password_reset.v1"));
    assert_eq!(ada_state.password_hash.as_deref(), Some(RESET_HASH));
    assert_eq!(ada_state.session_epoch, 1, "a reset ends every session");
    assert!(ada_state.links.is_empty());
    let before = ada_state.clone();
    ada_state.apply(&decode("identity.backchannel_logout_requested.v1"));
    assert_eq!(ada_state, before, "a notice changes no state");
    ada_state.apply(&decode("identity.deleted.v1"));
    assert!(!ada_state.exists());
    ada_state.apply(&decode("identity.backchannel_logout_failed.v1"));
    assert_eq!(ada_state.logout_failures, vec![shop_logout_failure()]);

    let mut grace = Identity::new(Uuid::new_v4());
    grace.apply(&decode("identity.registered.v1~without-password"));
    grace.apply(&decode("identity.passkey_registered.v1"));
    assert_eq!(grace.passkeys, vec![laptop_passkey()]);
    assert_eq!(
        grace.passkeys[0].credential["cred"]["cred_id"],
        LAPTOP_CREDENTIAL
    );
    grace.apply(&decode("identity.passkey_renamed.v1"));
    assert_eq!(grace.passkeys[0].name, "Work laptop");
    grace.apply(&decode("identity.passkey_removed.v1"));
    assert!(grace.passkeys.is_empty());
    assert!(grace.exists());
    assert_eq!(grace.password_hash, None);
    assert_eq!(
        grace.profile.map(|p| p.email),
        Some("grace@example.com".to_string())
    );
}

#[test]
fn a_signing_key_folded_from_its_golden_payloads_has_the_stored_state() {
    let mut key = SigningKey::with_id(Uuid::new_v4());
    key.apply(&decode("key.generated.v1"));
    assert_eq!(key.status, Some(KeyStatus::Pending));
    assert_eq!(key.key, Some(key_generated()));
    key.apply(&decode("key.activated.v1"));
    assert_eq!(key.status, Some(KeyStatus::Active));
    assert_eq!(key.activated_at, Some(at("2026-01-15T10:25:00.5Z")));
    key.apply(&decode("key.retired.v1"));
    assert_eq!(key.status, Some(KeyStatus::Retired));
    assert!(key.is_published(at("2026-04-02T00:59:59Z")));
    assert!(!key.is_published(at("2026-04-02T01:00:00Z")));
}

#[test]
fn an_unknown_revision_or_a_payload_that_does_not_match_its_revision_is_an_unknown_event() {
    let registered: serde_json::Value =
        serde_json::from_str(&golden("project.registered.v1")).unwrap();
    for (event_type, payload) in [
        ("project.registered.v5", registered.clone()),
        ("project.registered", registered.clone()),
        ("identity.registered.v1", registered),
        ("project.updated.v1", serde_json::json!({"settings": 7})),
        (
            "key.activated.v1",
            serde_json::json!({"activated_at": "yesterday"}),
        ),
        ("project.deleted.v1", serde_json::Value::Null),
        (
            "identity.backchannel_logout_requested.v1",
            serde_json::json!({"sid": "s", "client_id": "shop", "reason": "bored"}),
        ),
        (
            "identity.backchannel_logout_failed.v1",
            serde_json::json!({"sid": "s", "client_id": "shop", "error": "e", "attempts": -1, "at": "2026-12-06T09:30:00Z"}),
        ),
    ] {
        let failed = match event_type.split('.').next() {
            Some("project") => ProjectEvent::decode(event_type, &payload).err(),
            Some("identity") => IdentityEvent::decode(event_type, &payload).err(),
            _ => SigningKeyEvent::decode(event_type, &payload).err(),
        };
        assert!(
            matches!(&failed, Some(DomainError::UnknownEvent { event_type: t, .. }) if t == event_type),
            "{event_type}: {failed:?}"
        );
    }
}

#[test]
fn a_v2_project_payload_upcasts_to_no_sign_up_no_verification_and_no_branding() {
    let ProjectEvent::Registered(registered) = decode("project.registered.v2") else {
        panic!("project.registered.v2 is a registration");
    };
    assert_eq!(registered.settings, passwordless_web_settings());
    assert!(!registered.settings.allow_signup);
    assert!(!registered.settings.require_verified_email);
    assert_eq!(registered.settings.logo_uri, None);
    assert_eq!(registered.settings.primary_color, None);
    let updated: ProjectEvent = decode("project.updated.v2");
    assert_eq!(
        updated,
        ProjectEvent::Updated(ProjectUpdated {
            settings: service_settings()
        })
    );
    assert_eq!(updated.encode().0, "project.updated.v5");
}

#[test]
fn a_v3_project_payload_upcasts_to_no_back_channel_logout() {
    let ProjectEvent::Registered(registered) = decode("project.registered.v3") else {
        panic!("project.registered.v3 is a registration");
    };
    assert_eq!(registered.settings, self_service_web_settings());
    assert_eq!(registered.settings.backchannel_logout_uri, None);
    assert!(!registered.settings.backchannel_logout_session_required);
    let updated: ProjectEvent = decode("project.updated.v3");
    assert_eq!(
        updated,
        ProjectEvent::Updated(ProjectUpdated {
            settings: service_settings()
        })
    );
    assert_eq!(updated.encode().0, "project.updated.v5");
}

#[test]
fn a_v4_project_payload_upcasts_to_secrets_no_keys_and_the_standard_profile() {
    let ProjectEvent::Registered(registered) = decode("project.registered.v4") else {
        panic!("project.registered.v4 is a registration");
    };
    assert_eq!(registered.settings, back_channel_web_settings());
    assert_eq!(registered.settings.jwks, None);
    assert_eq!(registered.settings.profile, SecurityProfile::Standard);
    assert!(!registered.settings.require_pushed_authorization_requests);
    assert!(!registered.settings.dpop_bound_access_tokens);
    let updated: ProjectEvent = decode("project.updated.v4");
    assert_eq!(
        updated,
        ProjectEvent::Updated(ProjectUpdated {
            settings: staging_web_settings()
        })
    );
    assert_eq!(updated.encode().0, "project.updated.v5");
}
