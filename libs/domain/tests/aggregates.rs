//! Given/when/then tests of the aggregates: events in, command, events out.

use inkan_domain::acr::Acr;
use inkan_domain::identity::*;
use inkan_domain::project::*;
use inkan_domain::{Aggregate, DomainError, DomainEvent, Unique};
use uuid::Uuid;

fn web_input() -> ProjectInput {
    ProjectInput {
        name: Some("Shop".into()),
        app_type: Some(AppType::Web),
        redirect_uris: Some(vec!["https://shop.example.com/cb".into()]),
        ..Default::default()
    }
}

fn registered_web() -> Project {
    let mut p = Project::new(Uuid::new_v4());
    for e in p
        .decide(ProjectCommand::Register {
            client_id: "shop".into(),
            input: web_input(),
            secret_hash: Some("h1".into()),
        })
        .unwrap()
    {
        p.apply(&e);
    }
    p
}

fn fields(err: DomainError) -> Vec<String> {
    match err {
        DomainError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn registering_a_web_project_applies_its_defaults() {
    let p = registered_web();
    let s = p.settings.as_ref().unwrap();
    assert_eq!(s.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(
        s.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    assert!(s.scopes.contains(&"openid".to_string()));
    assert_eq!(s.access_token_ttl_seconds, 3600);
    assert!(!s.requires_pkce());
    assert_eq!(p.secret_hash.as_deref(), Some("h1"));
}

#[test]
fn public_projects_get_no_secret_and_mandatory_pkce() {
    for app_type in [AppType::Spa, AppType::Native] {
        let p = Project::new(Uuid::new_v4());
        let events = p
            .decide(ProjectCommand::Register {
                client_id: "spa".into(),
                input: ProjectInput {
                    app_type: Some(app_type),
                    ..web_input()
                },
                secret_hash: None,
            })
            .unwrap();
        let ProjectEvent::Registered(e) = &events[0] else {
            panic!("expected registered")
        };
        assert_eq!(e.settings.token_endpoint_auth_method, AuthMethod::None);
        assert!(e.settings.requires_pkce());
        assert!(e.secret_hash.is_none());
    }
}

#[test]
fn a_service_project_only_gets_client_credentials_and_no_redirects() {
    let p = Project::new(Uuid::new_v4());
    let events = p
        .decide(ProjectCommand::Register {
            client_id: "svc".into(),
            input: ProjectInput {
                name: Some("Batch".into()),
                app_type: Some(AppType::Service),
                ..Default::default()
            },
            secret_hash: Some("h".into()),
        })
        .unwrap();
    let ProjectEvent::Registered(e) = &events[0] else {
        panic!()
    };
    assert_eq!(e.settings.grant_types, vec![GrantType::ClientCredentials]);

    let err = p
        .decide(ProjectCommand::Register {
            client_id: "svc".into(),
            input: ProjectInput {
                name: Some("Batch".into()),
                app_type: Some(AppType::Service),
                redirect_uris: Some(vec!["https://x.example.com/cb".into()]),
                grant_types: Some(vec![GrantType::AuthorizationCode]),
                ..Default::default()
            },
            secret_hash: Some("h".into()),
        })
        .unwrap_err();
    let f = fields(err);
    assert!(f.contains(&"redirect_uris".to_string()));
    assert!(f.contains(&"grant_types".to_string()));
}

#[test]
fn only_service_projects_may_hold_the_admin_scope() {
    for app_type in [AppType::Web, AppType::Spa, AppType::Native] {
        let err = Project::new(Uuid::new_v4())
            .decide(ProjectCommand::Register {
                client_id: "app".into(),
                input: ProjectInput {
                    name: Some("App".into()),
                    app_type: Some(app_type),
                    redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
                    scopes: Some(vec!["openid".into(), ADMIN_SCOPE.into()]),
                    ..Default::default()
                },
                secret_hash: app_type.is_confidential().then(|| "h".into()),
            })
            .unwrap_err();
        assert_eq!(fields(err), vec!["scopes[1]".to_string()], "{app_type:?}");
    }
    // Nor can an update add it to an app.
    let err = registered_web()
        .decide(ProjectCommand::Update {
            input: ProjectInput {
                scopes: Some(vec![ADMIN_SCOPE.into()]),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["scopes[0]".to_string()]);

    let events = Project::new(Uuid::new_v4())
        .decide(ProjectCommand::Register {
            client_id: "ops".into(),
            input: ProjectInput {
                name: Some("Ops".into()),
                app_type: Some(AppType::Service),
                scopes: Some(vec![ADMIN_SCOPE.into()]),
                ..Default::default()
            },
            secret_hash: Some("h".into()),
        })
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn invalid_project_input_reports_every_field() {
    let p = Project::new(Uuid::new_v4());
    let err = p
        .decide(ProjectCommand::Register {
            client_id: "x".into(),
            input: ProjectInput {
                name: Some("  ".into()),
                app_type: Some(AppType::Web),
                redirect_uris: Some(vec!["http://evil.example.com/cb".into(), "nope".into()]),
                scopes: Some(vec!["bad scope".into()]),
                refresh_token_retry_seconds: Some(61),
                ..Default::default()
            },
            secret_hash: Some("h".into()),
        })
        .unwrap_err();
    let f = fields(err);
    for expected in [
        "name",
        "redirect_uris[0]",
        "redirect_uris[1]",
        "scopes[0]",
        "refresh_token_retry_seconds",
    ] {
        assert!(
            f.contains(&expected.to_string()),
            "{expected} missing in {f:?}"
        );
    }
}

#[test]
fn missing_name_and_app_type_are_required() {
    let err = Project::new(Uuid::new_v4())
        .decide(ProjectCommand::Register {
            client_id: "x".into(),
            input: ProjectInput::default(),
            secret_hash: None,
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["name", "app_type"]);
}

#[test]
fn updating_with_identical_settings_emits_nothing() {
    let p = registered_web();
    let events = p
        .decide(ProjectCommand::Update {
            input: ProjectInput {
                name: Some("Shop".into()),
                ..Default::default()
            },
        })
        .unwrap();
    assert!(events.is_empty());
}

#[test]
fn a_project_signs_in_with_a_password_or_a_passkey_and_an_optional_code_unless_it_says_otherwise() {
    let p = registered_web();
    let s = p.settings.as_ref().unwrap();
    assert_eq!(
        s.login_methods,
        [LoginMethod::Password, LoginMethod::Passkey]
    );
    assert_eq!(s.mfa, MfaPolicy::Optional);
    assert!(s.default_acr_values.is_empty());

    let events = p
        .decide(ProjectCommand::Update {
            input: ProjectInput {
                login_methods: Some(vec![LoginMethod::Passkey, LoginMethod::Passkey]),
                mfa: Some(MfaPolicy::Required),
                default_acr_values: Some(vec![Acr::PhishingResistant]),
                ..Default::default()
            },
        })
        .unwrap();
    let [ProjectEvent::Updated(updated)] = events.as_slice() else {
        panic!("one update: {events:?}");
    };
    assert_eq!(updated.settings.login_methods, [LoginMethod::Passkey]);
    assert!(!updated.settings.allows_login(LoginMethod::Password));
    assert_eq!(updated.settings.mfa, MfaPolicy::Required);
}

#[test]
fn a_project_needs_a_login_method_and_a_passkey_for_a_phishing_resistant_default() {
    let err = registered_web()
        .decide(ProjectCommand::Update {
            input: ProjectInput {
                login_methods: Some(vec![]),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["login_methods"]);
    let err = registered_web()
        .decide(ProjectCommand::Update {
            input: ProjectInput {
                login_methods: Some(vec![LoginMethod::Password]),
                default_acr_values: Some(vec![Acr::MultiFactor, Acr::PhishingResistant]),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["default_acr_values"]);
}

#[test]
fn app_type_cannot_change_on_update() {
    let p = registered_web();
    let err = p
        .decide(ProjectCommand::Update {
            input: ProjectInput {
                app_type: Some(AppType::Spa),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["app_type"]);
}

#[test]
fn a_deleted_project_is_gone_and_releases_its_client_id() {
    let p = registered_web();
    let events = p.decide(ProjectCommand::Delete).unwrap();
    let changes = p.unique_changes(&events);
    assert_eq!(changes.release.len(), 1);
    assert_eq!(changes.release[0].value, "shop");
    let mut p2 = p.clone();
    p2.apply(&events[0]);
    assert!(!p2.exists());
    assert_eq!(
        p2.decide(ProjectCommand::Delete),
        Err(DomainError::NotFound)
    );
}

fn ec_jwks() -> serde_json::Value {
    serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]})
}

fn register(
    input: ProjectInput,
    secret_hash: Option<&str>,
) -> Result<Vec<ProjectEvent>, DomainError> {
    Project::new(Uuid::new_v4()).decide(ProjectCommand::Register {
        client_id: "pay".into(),
        input,
        secret_hash: secret_hash.map(String::from),
    })
}

#[test]
fn a_fapi2_project_gets_par_dpop_and_pkce_and_authenticates_with_its_key() {
    let input = ProjectInput {
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks: Some(ec_jwks()),
        profile: Some(SecurityProfile::Fapi2),
        ..web_input()
    };
    let events = register(input, None).unwrap();
    let ProjectEvent::Registered(e) = &events[0] else {
        panic!("a registration")
    };
    assert!(e.settings.require_pushed_authorization_requests);
    assert!(e.settings.dpop_bound_access_tokens);
    assert!(e.settings.requires_pkce());
    assert!(!e.settings.uses_secret());
    assert_eq!(e.secret_hash, None);
    // A key-authenticated project holds no secret.
    let input = ProjectInput {
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks: Some(ec_jwks()),
        ..web_input()
    };
    assert_eq!(
        fields(register(input, Some("h")).unwrap_err()),
        vec!["client_secret"]
    );
}

#[test]
fn a_fapi2_machine_client_gets_dpop_but_no_pushed_requests() {
    let input = ProjectInput {
        name: Some("Settlement".into()),
        app_type: Some(AppType::Service),
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks: Some(ec_jwks()),
        profile: Some(SecurityProfile::Fapi2),
        ..Default::default()
    };
    let events = register(input, None).unwrap();
    let ProjectEvent::Registered(e) = &events[0] else {
        panic!("a registration")
    };
    assert!(e.settings.dpop_bound_access_tokens);
    assert!(!e.settings.require_pushed_authorization_requests);
}

#[test]
fn the_fapi2_profile_refuses_secrets_public_clients_and_turning_its_rules_off() {
    let fapi = |more: ProjectInput| ProjectInput {
        profile: Some(SecurityProfile::Fapi2),
        ..more
    };
    let err = register(fapi(web_input()), Some("h")).unwrap_err();
    assert_eq!(fields(err), vec!["token_endpoint_auth_method"]);
    let spa = ProjectInput {
        app_type: Some(AppType::Spa),
        ..web_input()
    };
    assert_eq!(
        fields(register(fapi(spa), None).unwrap_err()),
        vec!["profile"]
    );
    let off = ProjectInput {
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks: Some(ec_jwks()),
        dpop_bound_access_tokens: Some(false),
        ..web_input()
    };
    assert_eq!(
        fields(register(fapi(off), None).unwrap_err()),
        vec!["dpop_bound_access_tokens"]
    );
}

#[test]
fn private_key_jwt_needs_exactly_one_public_key_source() {
    let with = |jwks: Option<serde_json::Value>, jwks_uri: Option<&str>| ProjectInput {
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks,
        jwks_uri: jwks_uri.map(String::from),
        ..web_input()
    };
    assert_eq!(
        fields(register(with(None, None), None).unwrap_err()),
        vec!["jwks"]
    );
    assert_eq!(
        fields(
            register(
                with(Some(ec_jwks()), Some("https://pay.example/jwks")),
                None
            )
            .unwrap_err()
        ),
        vec!["jwks"]
    );
    assert!(register(with(None, Some("https://pay.example/jwks")), None).is_ok());
    assert_eq!(
        fields(register(with(None, Some("http://pay.example/jwks")), None).unwrap_err()),
        vec!["jwks_uri"]
    );
    let mut private = ec_jwks();
    private["keys"][0]["d"] = serde_json::json!("secret-scalar");
    assert_eq!(
        fields(register(with(Some(private), None), None).unwrap_err()),
        vec!["jwks"]
    );
    let symmetric = serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    assert_eq!(
        fields(register(with(Some(symmetric), None), None).unwrap_err()),
        vec!["jwks"]
    );
    assert_eq!(
        fields(register(with(Some(serde_json::json!({"keys": []})), None), None).unwrap_err()),
        vec!["jwks"]
    );
    // Keys without private_key_jwt are refused: nothing would use them.
    let stray = ProjectInput {
        jwks: Some(ec_jwks()),
        ..web_input()
    };
    assert_eq!(
        fields(register(stray, Some("h")).unwrap_err()),
        vec!["jwks"]
    );
}

#[test]
fn switching_to_a_secret_needs_one_and_par_needs_authorization_requests() {
    let mut p = Project::new(Uuid::new_v4());
    let keyed = ProjectInput {
        token_endpoint_auth_method: Some(AuthMethod::PrivateKeyJwt),
        jwks: Some(ec_jwks()),
        ..web_input()
    };
    for e in register(keyed, None).unwrap() {
        p.apply(&e);
    }
    let back = ProjectInput {
        token_endpoint_auth_method: Some(AuthMethod::ClientSecretBasic),
        jwks: Some(serde_json::json!({})),
        ..Default::default()
    };
    assert_eq!(
        fields(
            p.decide(ProjectCommand::Update { input: back })
                .unwrap_err()
        ),
        vec!["token_endpoint_auth_method"]
    );
    let service = ProjectInput {
        name: Some("Batch".into()),
        app_type: Some(AppType::Service),
        require_pushed_authorization_requests: Some(true),
        ..Default::default()
    };
    assert_eq!(
        fields(register(service, Some("h")).unwrap_err()),
        vec!["require_pushed_authorization_requests"]
    );
}

#[test]
fn events_round_trip_through_their_stored_form() {
    let p = Project::new(Uuid::new_v4());
    let events = p
        .decide(ProjectCommand::Register {
            client_id: "shop".into(),
            input: web_input(),
            secret_hash: Some("h".into()),
        })
        .unwrap();
    let (event_type, payload) = events[0].encode();
    assert_eq!(event_type, "project.registered.v5");
    assert_eq!(
        ProjectEvent::decode(&event_type, &payload).unwrap(),
        events[0]
    );
    let (t, p) = ProjectEvent::Deleted(ProjectDeleted {}).encode();
    assert_eq!(t, "project.deleted.v1");
    assert!(ProjectEvent::decode(&t, &p).is_ok());
    assert!(matches!(
        ProjectEvent::decode("project.unknown.v9", &p),
        Err(DomainError::UnknownEvent { .. })
    ));
}

fn registered_identity(email: &str) -> Identity {
    let mut i = Identity::new(Uuid::new_v4());
    for e in i
        .decide(IdentityCommand::Register {
            input: ProfileInput {
                email: Some(email.into()),
                first_name: Some("Ada".into()),
                ..Default::default()
            },
            password_hash: Some("$argon2id$...".into()),
        })
        .unwrap()
    {
        i.apply(&e);
    }
    i
}

#[test]
fn registering_an_identity_claims_its_lowercased_email() {
    let i = Identity::new(Uuid::new_v4());
    let events = i
        .decide(IdentityCommand::Register {
            input: ProfileInput {
                email: Some("Ada@Example.com".into()),
                ..Default::default()
            },
            password_hash: None,
        })
        .unwrap();
    let changes = i.unique_changes(&events);
    assert_eq!(changes.claim[0].value, "ada@example.com");
    assert!(changes.release.is_empty());
}

#[test]
fn changing_email_releases_the_old_and_claims_the_new() {
    let i = registered_identity("ada@example.com");
    let events = i
        .decide(IdentityCommand::UpdateProfile {
            input: ProfileInput {
                email: Some("ada@lovelace.example".into()),
                ..Default::default()
            },
        })
        .unwrap();
    let changes = i.unique_changes(&events);
    assert_eq!(changes.release[0].value, "ada@example.com");
    assert_eq!(changes.claim[0].value, "ada@lovelace.example");
}

#[test]
fn changing_only_email_case_keeps_the_claim() {
    let i = registered_identity("ada@example.com");
    let events = i
        .decide(IdentityCommand::UpdateProfile {
            input: ProfileInput {
                email: Some("ADA@example.com".into()),
                ..Default::default()
            },
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(i.unique_changes(&events), Default::default());
}

#[test]
fn custom_claims_must_be_an_object_without_reserved_names() {
    let i = registered_identity("ada@example.com");
    let err = i
        .decide(IdentityCommand::UpdateProfile {
            input: ProfileInput {
                claims: Some(serde_json::json!({"sub": "x", "tenant": "a"})),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["claims.sub"]);
    let err = i
        .decide(IdentityCommand::UpdateProfile {
            input: ProfileInput {
                claims: Some(serde_json::json!([1, 2])),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["claims"]);
}

#[test]
fn identity_without_email_is_invalid_and_deleted_identity_is_not_found() {
    let err = Identity::new(Uuid::new_v4())
        .decide(IdentityCommand::Register {
            input: ProfileInput::default(),
            password_hash: None,
        })
        .unwrap_err();
    assert!(fields(err).contains(&"email".to_string()));

    let mut i = registered_identity("ada@example.com");
    let events = i
        .decide(IdentityCommand::Delete { logouts: vec![] })
        .unwrap();
    assert_eq!(
        i.unique_changes(&events).release[0].value,
        "ada@example.com"
    );
    i.apply(&events[0]);
    assert_eq!(
        i.decide(IdentityCommand::SetPassword {
            password_hash: "x".into()
        }),
        Err(DomainError::NotFound)
    );
}

fn passkey(credential_id: &str) -> Passkey {
    Passkey {
        credential_id: credential_id.into(),
        name: "  Laptop ".into(),
        credential: serde_json::json!({"cred": {"counter": 0}}),
        backup_eligible: false,
        registered_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

fn with_passkey(identity: &mut Identity, credential_id: &str) -> Vec<IdentityEvent> {
    let events = identity
        .decide(IdentityCommand::RegisterPasskey {
            passkey: passkey(credential_id),
        })
        .unwrap();
    for e in &events {
        identity.apply(e);
    }
    events
}

#[test]
fn registering_a_passkey_claims_its_credential_id_and_trims_its_name() {
    let mut ada = registered_identity("ada@example.com");
    let events = with_passkey(&mut ada, "cred-1");
    assert_eq!(ada.passkeys.len(), 1);
    assert_eq!(ada.passkeys[0].name, "Laptop");
    let changes = ada.clone().unique_changes(&events);
    assert_eq!(
        changes.claim,
        vec![Unique {
            scope: PASSKEY_SCOPE,
            value: "cred-1".into()
        }]
    );
    assert!(changes.release.is_empty());
    // The same credential twice on one identity is refused before the store sees it.
    assert_eq!(
        ada.decide(IdentityCommand::RegisterPasskey {
            passkey: passkey("cred-1")
        }),
        Err(DomainError::AlreadyExists)
    );
}

#[test]
fn a_passkey_with_a_bad_id_name_or_record_reports_every_field() {
    let ada = registered_identity("ada@example.com");
    let bad = Passkey {
        credential_id: "not base64url!".into(),
        name: " ".into(),
        credential: serde_json::json!("text"),
        ..passkey("x")
    };
    let err = ada
        .decide(IdentityCommand::RegisterPasskey { passkey: bad })
        .unwrap_err();
    assert_eq!(fields(err), vec!["credential_id", "name", "credential"]);
    let too_long = Passkey {
        credential_id: "A".repeat(MAX_CREDENTIAL_ID_CHARS + 1),
        name: "n".repeat(MAX_PASSKEY_NAME_CHARS + 1),
        ..passkey("x")
    };
    let err = ada
        .decide(IdentityCommand::RegisterPasskey { passkey: too_long })
        .unwrap_err();
    assert_eq!(fields(err), vec!["credential_id", "name"]);
}

#[test]
fn an_identity_holds_at_most_twenty_passkeys() {
    let mut ada = registered_identity("ada@example.com");
    for i in 0..MAX_PASSKEYS {
        with_passkey(&mut ada, &format!("cred-{i}"));
    }
    let err = ada
        .decide(IdentityCommand::RegisterPasskey {
            passkey: passkey("one-more"),
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["passkeys"]);
}

#[test]
fn renaming_and_removing_a_passkey_and_deleting_the_identity_release_what_they_should() {
    let mut ada = registered_identity("ada@example.com");
    with_passkey(&mut ada, "cred-1");
    with_passkey(&mut ada, "cred-2");
    let renamed = ada
        .decide(IdentityCommand::RenamePasskey {
            credential_id: "cred-1".into(),
            name: "Phone".into(),
        })
        .unwrap();
    ada.apply(&renamed[0]);
    assert_eq!(ada.passkey("cred-1").unwrap().name, "Phone");
    // The same name again changes nothing; an unknown credential is not found.
    assert_eq!(
        ada.decide(IdentityCommand::RenamePasskey {
            credential_id: "cred-1".into(),
            name: " Phone".into(),
        }),
        Ok(vec![])
    );
    assert_eq!(
        ada.decide(IdentityCommand::RemovePasskey {
            credential_id: "nope".into()
        }),
        Err(DomainError::NotFound)
    );
    let removed = ada
        .decide(IdentityCommand::RemovePasskey {
            credential_id: "cred-1".into(),
        })
        .unwrap();
    assert_eq!(
        ada.unique_changes(&removed).release,
        vec![Unique {
            scope: PASSKEY_SCOPE,
            value: "cred-1".into()
        }]
    );
    ada.apply(&removed[0]);
    let deleted = ada
        .decide(IdentityCommand::Delete { logouts: vec![] })
        .unwrap();
    let released: Vec<_> = ada
        .unique_changes(&deleted)
        .release
        .into_iter()
        .map(|u| (u.scope, u.value))
        .collect();
    assert_eq!(
        released,
        vec![
            (PASSKEY_SCOPE, "cred-2".to_string()),
            (EMAIL_SCOPE, "ada@example.com".to_string())
        ]
    );
}

fn totp(codes: &[&str]) -> Totp {
    Totp {
        sealed_secret: "c2VhbGVk".into(),
        recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
        enrolled_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

fn apply_all(identity: &mut Identity, events: Vec<IdentityEvent>) {
    for e in &events {
        identity.apply(e);
    }
}

#[test]
fn a_one_time_code_is_enrolled_once_and_each_recovery_code_works_once() {
    let mut i = registered_identity("ada@example.com");
    let enrolled = i
        .decide(IdentityCommand::EnrolTotp {
            totp: totp(&["h1", "h2"]),
        })
        .unwrap();
    assert_eq!(i.unique_changes(&enrolled), Default::default());
    apply_all(&mut i, enrolled);
    assert!(matches!(
        i.decide(IdentityCommand::EnrolTotp {
            totp: totp(&["h3"])
        }),
        Err(DomainError::AlreadyExists)
    ));

    let used = i
        .decide(IdentityCommand::UseRecoveryCode {
            code_hash: "h1".into(),
        })
        .unwrap();
    apply_all(&mut i, used);
    assert_eq!(i.totp.as_ref().unwrap().recovery_codes, ["h2"]);
    for spent in ["h1", "h9"] {
        assert!(matches!(
            i.decide(IdentityCommand::UseRecoveryCode {
                code_hash: spent.into()
            }),
            Err(DomainError::NotFound)
        ));
    }

    let removed = i.decide(IdentityCommand::RemoveTotp).unwrap();
    apply_all(&mut i, removed);
    assert_eq!(i.totp, None);
    assert!(matches!(
        i.decide(IdentityCommand::RemoveTotp),
        Err(DomainError::NotFound)
    ));
}

#[test]
fn a_one_time_code_needs_a_secret_and_one_to_ten_recovery_codes() {
    let i = registered_identity("ada@example.com");
    let mut bad = totp(&[]);
    bad.sealed_secret.clear();
    let err = i
        .decide(IdentityCommand::EnrolTotp { totp: bad })
        .unwrap_err();
    assert_eq!(fields(err), vec!["secret", "recovery_codes"]);
    let eleven = ["h"; 11];
    let err = i
        .decide(IdentityCommand::EnrolTotp {
            totp: totp(&eleven),
        })
        .unwrap_err();
    assert_eq!(fields(err), vec!["recovery_codes"]);
}

// ---- mailed links ----

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn request_link(identity: &Identity, purpose: LinkPurpose, hash: &str) -> Vec<IdentityEvent> {
    identity
        .decide(IdentityCommand::RequestLink {
            purpose,
            token_hash: hash.into(),
            sealed_token: "sealed".into(),
            expires_at: now() + time::Duration::minutes(30),
            locale: "en".into(),
            client_id: None,
            signup: false,
            new_email: (purpose == LinkPurpose::ChangeEmail).then(|| "ada@new.example".into()),
        })
        .unwrap()
}

fn reset(
    identity: &Identity,
    hash: &str,
    at: time::OffsetDateTime,
) -> Result<Vec<IdentityEvent>, DomainError> {
    identity.decide(IdentityCommand::ResetPassword {
        token_hash: hash.into(),
        password_hash: "$argon2id$new".into(),
        locale: "en".into(),
        now: at,
        logouts: vec![],
    })
}

#[test]
fn a_reset_link_works_once_before_it_expires_and_ends_every_session() {
    let mut ada = registered_identity("ada@example.com");
    let events = request_link(&ada, LinkPurpose::ResetPassword, "h1");
    apply_all(&mut ada, events);
    assert!(
        matches!(
            reset(&ada, "h1", now() + time::Duration::minutes(30)),
            Err(DomainError::NotFound)
        ),
        "expired"
    );
    assert!(
        matches!(reset(&ada, "other", now()), Err(DomainError::NotFound)),
        "unknown"
    );
    let events = reset(&ada, "h1", now()).unwrap();
    assert!(
        matches!(&events[..], [IdentityEvent::PasswordReset(e)] if e.email == "ada@example.com")
    );
    apply_all(&mut ada, events);
    assert_eq!(ada.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(ada.session_epoch, 1);
    assert!(
        matches!(reset(&ada, "h1", now()), Err(DomainError::NotFound)),
        "used"
    );
}

#[test]
fn a_new_link_replaces_the_old_one_and_a_changed_address_kills_it() {
    let mut ada = registered_identity("ada@example.com");
    let events = request_link(&ada, LinkPurpose::ResetPassword, "h1");
    apply_all(&mut ada, events);
    let events = request_link(&ada, LinkPurpose::ResetPassword, "h2");
    apply_all(&mut ada, events);
    assert!(
        matches!(reset(&ada, "h1", now()), Err(DomainError::NotFound)),
        "replaced"
    );
    let events = ada
        .decide(IdentityCommand::UpdateProfile {
            input: ProfileInput {
                email: Some("ada@elsewhere.example".into()),
                ..ProfileInput::default()
            },
        })
        .unwrap();
    apply_all(&mut ada, events);
    assert!(
        matches!(reset(&ada, "h2", now()), Err(DomainError::NotFound)),
        "sent to the old address"
    );
}

#[test]
fn a_verification_link_verifies_the_address_it_was_sent_to_once() {
    let mut ada = registered_identity("ada@example.com");
    assert!(!ada.profile.as_ref().unwrap().email_verified);
    let events = request_link(&ada, LinkPurpose::VerifyEmail, "v1");
    apply_all(&mut ada, events);
    // A reset link does not verify, nor the other way round.
    assert!(matches!(
        reset(&ada, "v1", now()),
        Err(DomainError::NotFound)
    ));
    let verify = |ada: &Identity| {
        ada.decide(IdentityCommand::VerifyEmail {
            token_hash: "v1".into(),
            now: now(),
        })
    };
    let events = verify(&ada).unwrap();
    apply_all(&mut ada, events);
    assert!(ada.profile.as_ref().unwrap().email_verified);
    assert!(matches!(verify(&ada), Err(DomainError::NotFound)), "used");
    // Nothing to send once the address is verified.
    assert!(request_link(&ada, LinkPurpose::VerifyEmail, "v2").is_empty());
    assert_eq!(ada.session_epoch, 0, "verifying ends no session");
}

#[test]
fn sign_up_needs_passwords_and_users_and_branding_is_checked() {
    let input = |extra: ProjectInput| ProjectInput {
        name: Some("Shop".into()),
        app_type: Some(AppType::Web),
        redirect_uris: Some(vec!["https://shop.example.com/cb".into()]),
        ..extra
    };
    let fine = ProjectSettings::create(input(ProjectInput {
        allow_signup: Some(true),
        require_verified_email: Some(true),
        logo_uri: Some(" https://cdn.example.com/logo.svg ".into()),
        primary_color: Some("#0F766E".into()),
        ..ProjectInput::default()
    }))
    .unwrap();
    assert_eq!(
        fine.logo_uri.as_deref(),
        Some("https://cdn.example.com/logo.svg")
    );
    assert_eq!(fine.primary_color.as_deref(), Some("#0f766e"));
    let err = ProjectSettings::create(input(ProjectInput {
        allow_signup: Some(true),
        login_methods: Some(vec![LoginMethod::Passkey]),
        logo_uri: Some("javascript:alert(1)".into()),
        primary_color: Some("red; background: url(x)".into()),
        ..ProjectInput::default()
    }))
    .unwrap_err();
    assert_eq!(fields(err), ["allow_signup", "logo_uri", "primary_color"]);
    let err = ProjectSettings::create(ProjectInput {
        name: Some("Job".into()),
        app_type: Some(AppType::Service),
        allow_signup: Some(true),
        ..ProjectInput::default()
    })
    .unwrap_err();
    assert_eq!(fields(err), ["allow_signup"]);
    // "" removes a logo or a colour.
    let cleared = fine
        .update(ProjectInput {
            logo_uri: Some(String::new()),
            primary_color: Some(String::new()),
            ..ProjectInput::default()
        })
        .unwrap();
    assert_eq!((cleared.logo_uri, cleared.primary_color), (None, None));
}

#[test]
fn verification_links_add_up_to_three_while_a_reset_link_replaces_the_last() {
    let mut ada = registered_identity("ada@example.com");
    for hash in ["v1", "v2", "v3", "v4"] {
        let events = request_link(&ada, LinkPurpose::VerifyEmail, hash);
        apply_all(&mut ada, events);
    }
    let verify = |ada: &Identity, hash: &str| {
        ada.decide(IdentityCommand::VerifyEmail {
            token_hash: hash.into(),
            now: now(),
        })
    };
    assert!(
        matches!(verify(&ada, "v1"), Err(DomainError::NotFound)),
        "the oldest went"
    );
    assert!(verify(&ada, "v2").is_ok() && verify(&ada, "v4").is_ok());
    assert_eq!(ada.links.len(), MAX_VERIFY_LINKS);
}

#[test]
fn an_email_change_link_moves_the_account_to_the_new_verified_address_and_kills_old_links() {
    let mut ada = registered_identity("ada@example.com");
    let events = request_link(&ada, LinkPurpose::ResetPassword, "r1");
    apply_all(&mut ada, events);
    let events = request_link(&ada, LinkPurpose::ChangeEmail, "c1");
    assert!(
        matches!(&events[..], [IdentityEvent::LinkRequested(e)] if e.link.email == "ada@new.example")
    );
    apply_all(&mut ada, events);
    // The same address, or none, is refused.
    for new_email in [Some("ADA@example.com".to_string()), None] {
        let err = ada
            .decide(IdentityCommand::RequestLink {
                purpose: LinkPurpose::ChangeEmail,
                token_hash: "c2".into(),
                sealed_token: "s".into(),
                expires_at: now(),
                locale: "en".into(),
                client_id: None,
                signup: false,
                new_email,
            })
            .unwrap_err();
        assert_eq!(fields(err), ["email"]);
    }
    let change = |ada: &Identity, at| {
        ada.decide(IdentityCommand::ChangeEmail {
            token_hash: "c1".into(),
            locale: "en".into(),
            now: at,
        })
    };
    assert!(matches!(
        change(&ada, now() + time::Duration::hours(1)),
        Err(DomainError::NotFound)
    ));
    let events = change(&ada, now()).unwrap();
    let claims = ada.unique_changes(&events);
    assert_eq!(claims.claim[0].value, "ada@new.example");
    assert_eq!(claims.release[0].value, "ada@example.com");
    apply_all(&mut ada, events);
    let profile = ada.profile.clone().unwrap();
    assert_eq!(
        (profile.email.as_str(), profile.email_verified),
        ("ada@new.example", true)
    );
    assert!(
        matches!(change(&ada, now()), Err(DomainError::NotFound)),
        "once"
    );
    assert!(
        matches!(reset(&ada, "r1", now()), Err(DomainError::NotFound)),
        "old links die"
    );
}

// ---- back-channel logout ----

#[test]
fn a_project_registers_a_back_channel_logout_uri_without_a_fragment_and_a_service_none() {
    let settings = ProjectSettings::create(ProjectInput {
        backchannel_logout_uri: Some(" https://shop.example.com/logout?tenant=eu ".into()),
        backchannel_logout_session_required: Some(true),
        ..web_input()
    })
    .unwrap();
    assert_eq!(
        settings.backchannel_logout_uri.as_deref(),
        Some("https://shop.example.com/logout?tenant=eu")
    );
    assert!(settings.backchannel_logout_session_required);
    let defaults = ProjectSettings::create(web_input()).unwrap();
    assert_eq!(defaults.backchannel_logout_uri, None);
    assert!(!defaults.backchannel_logout_session_required);
    for uri in [
        "https://shop.example.com/logout#now",
        "http://shop.example.com/logout",
        "https://admin:pw@shop.example.com/logout",
        "/logout",
    ] {
        let err = settings
            .update(ProjectInput {
                backchannel_logout_uri: Some(uri.into()),
                ..ProjectInput::default()
            })
            .unwrap_err();
        assert_eq!(fields(err), ["backchannel_logout_uri"], "{uri}");
    }
    let local = settings
        .update(ProjectInput {
            backchannel_logout_uri: Some("http://localhost:3000/logout".into()),
            ..ProjectInput::default()
        })
        .unwrap();
    assert!(local.backchannel_logout_uri.is_some());
    // "" (or blanks) removes it.
    let cleared = settings
        .update(ProjectInput {
            backchannel_logout_uri: Some("  ".into()),
            ..ProjectInput::default()
        })
        .unwrap();
    assert_eq!(cleared.backchannel_logout_uri, None);
    let err = ProjectSettings::create(ProjectInput {
        name: Some("Job".into()),
        app_type: Some(AppType::Service),
        backchannel_logout_uri: Some("https://job.example.com/logout".into()),
        ..ProjectInput::default()
    })
    .unwrap_err();
    assert_eq!(fields(err), ["backchannel_logout_uri"]);
}

fn notice(sid: &str, client_id: &str) -> LogoutNotice {
    LogoutNotice {
        sid: sid.into(),
        client_id: client_id.into(),
    }
}

fn requested(events: &[IdentityEvent]) -> Vec<(String, String, LogoutReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            IdentityEvent::BackchannelLogoutRequested(r) => {
                Some((r.sid.clone(), r.client_id.clone(), r.reason))
            }
            _ => None,
        })
        .collect()
}

fn told(pairs: &[(&str, &str)], reason: LogoutReason) -> Vec<(String, String, LogoutReason)> {
    pairs
        .iter()
        .map(|(sid, client_id)| (sid.to_string(), client_id.to_string(), reason))
        .collect()
}

#[test]
fn deleting_an_identity_tells_its_relying_parties_in_the_same_append() {
    let mut ada = registered_identity("ada@example.com");
    let events = ada
        .decide(IdentityCommand::Delete {
            logouts: vec![
                notice("s1", "shop"),
                notice("s1", "blog"),
                notice("s2", "shop"),
            ],
        })
        .unwrap();
    assert!(matches!(events[0], IdentityEvent::Deleted(_)));
    assert_eq!(events.len(), 4);
    assert_eq!(
        requested(&events),
        told(
            &[("s1", "shop"), ("s1", "blog"), ("s2", "shop")],
            LogoutReason::Deleted
        )
    );
    assert_eq!(
        ada.unique_changes(&events).release[0].value,
        "ada@example.com",
        "the notices claim and release nothing"
    );
    let before = ada.clone();
    apply_all(&mut ada, events);
    assert!(!ada.exists());
    assert_eq!(
        Identity {
            deleted: false,
            ..ada
        },
        before,
        "a notice changes no state"
    );
}

#[test]
fn a_password_reset_tells_the_relying_parties_of_every_session_it_ends() {
    let mut ada = registered_identity("ada@example.com");
    let events = request_link(&ada, LinkPurpose::ResetPassword, "h1");
    apply_all(&mut ada, events);
    let events = ada
        .decide(IdentityCommand::ResetPassword {
            token_hash: "h1".into(),
            password_hash: "$argon2id$new".into(),
            locale: "en".into(),
            now: now(),
            logouts: vec![notice("s1", "shop"), notice("s2", "blog")],
        })
        .unwrap();
    assert!(matches!(events[0], IdentityEvent::PasswordReset(_)));
    assert_eq!(
        requested(&events),
        told(
            &[("s1", "shop"), ("s2", "blog")],
            LogoutReason::PasswordReset
        )
    );
    assert_eq!(events.len(), 3);
}

#[test]
fn signing_out_tells_each_relying_party_once_and_nothing_is_no_event() {
    let ada = registered_identity("ada@example.com");
    let sign_out = |ada: &Identity, logouts: Vec<LogoutNotice>| {
        ada.decide(IdentityCommand::SignOut {
            logouts,
            reason: LogoutReason::SignedOut,
        })
    };
    assert_eq!(sign_out(&ada, vec![]), Ok(vec![]));
    let events = sign_out(
        &ada,
        vec![
            notice("s1", "shop"),
            notice("s1", "blog"),
            notice("s1", "shop"),
        ],
    )
    .unwrap();
    assert_eq!(
        requested(&events),
        told(&[("s1", "shop"), ("s1", "blog")], LogoutReason::SignedOut)
    );
    assert_eq!(ada.unique_changes(&events), Default::default());
    // Unknown or deleted: not found.
    assert_eq!(
        sign_out(&Identity::new(Uuid::new_v4()), vec![notice("s1", "shop")]),
        Err(DomainError::NotFound)
    );
    let mut gone = ada.clone();
    let events = gone
        .decide(IdentityCommand::Delete { logouts: vec![] })
        .unwrap();
    apply_all(&mut gone, events);
    assert_eq!(
        sign_out(&gone, vec![notice("s1", "shop")]),
        Err(DomainError::NotFound)
    );
    assert_eq!(sign_out(&gone, vec![]), Err(DomainError::NotFound));
}

#[test]
fn logout_notices_are_checked_field_by_field_on_every_command_that_carries_them() {
    let mut ada = registered_identity("ada@example.com");
    let bad = vec![
        notice("", "shop"),
        notice("s1", &"c".repeat(MAX_LOGOUT_ID_CHARS + 1)),
        notice(
            &"é".repeat(MAX_LOGOUT_ID_CHARS),
            &"c".repeat(MAX_LOGOUT_ID_CHARS),
        ),
        notice("s3", ""),
    ];
    let expected = [
        "logouts[0].sid",
        "logouts[1].client_id",
        "logouts[3].client_id",
    ];
    let err = ada
        .decide(IdentityCommand::SignOut {
            logouts: bad.clone(),
            reason: LogoutReason::Revoked,
        })
        .unwrap_err();
    assert_eq!(fields(err), expected);
    let err = ada
        .decide(IdentityCommand::Delete {
            logouts: bad.clone(),
        })
        .unwrap_err();
    assert_eq!(fields(err), expected);
    let events = request_link(&ada, LinkPurpose::ResetPassword, "h1");
    apply_all(&mut ada, events);
    let err = ada
        .decide(IdentityCommand::ResetPassword {
            token_hash: "h1".into(),
            password_hash: "$argon2id$new".into(),
            locale: "en".into(),
            now: now(),
            logouts: bad,
        })
        .unwrap_err();
    assert_eq!(fields(err), expected);

    let too_many: Vec<_> = (0..=MAX_LOGOUT_NOTICES)
        .map(|i| notice(&format!("s{i}"), "shop"))
        .collect();
    let err = ada
        .decide(IdentityCommand::SignOut {
            logouts: too_many.clone(),
            reason: LogoutReason::Logout,
        })
        .unwrap_err();
    assert_eq!(fields(err), ["logouts"]);
    let events = ada
        .decide(IdentityCommand::SignOut {
            logouts: too_many[..MAX_LOGOUT_NOTICES].to_vec(),
            reason: LogoutReason::Logout,
        })
        .unwrap();
    assert_eq!(events.len(), MAX_LOGOUT_NOTICES);
}

fn record_failure(
    identity: &Identity,
    sid: &str,
    error: &str,
) -> Result<Vec<IdentityEvent>, DomainError> {
    identity.decide(IdentityCommand::RecordLogoutFailure {
        sid: sid.into(),
        client_id: "shop".into(),
        error: error.into(),
        attempts: 5,
        at: now(),
    })
}

#[test]
fn failed_logouts_are_kept_newest_twenty_and_recorded_on_a_deleted_identity() {
    assert_eq!(
        record_failure(&Identity::new(Uuid::new_v4()), "s0", "timeout"),
        Err(DomainError::NotFound),
        "never registered"
    );
    let mut ada = registered_identity("ada@example.com");
    let events = ada
        .decide(IdentityCommand::Delete {
            logouts: vec![notice("s0", "shop")],
        })
        .unwrap();
    apply_all(&mut ada, events);
    for i in 0..MAX_LOGOUT_FAILURES + 5 {
        let events = record_failure(&ada, &format!("s{i}"), "HTTP 503").unwrap();
        assert_eq!(ada.unique_changes(&events), Default::default());
        apply_all(&mut ada, events);
    }
    assert_eq!(ada.logout_failures.len(), MAX_LOGOUT_FAILURES);
    assert_eq!(ada.logout_failures[0].sid, "s5", "the oldest went");
    assert_eq!(ada.logout_failures[MAX_LOGOUT_FAILURES - 1].sid, "s24");
    assert_eq!(ada.logout_failures[0].attempts, 5);

    // A long error is cut on a character boundary.
    let events = record_failure(&ada, "s1", &"ü".repeat(MAX_LOGOUT_ERROR_CHARS + 10)).unwrap();
    let [IdentityEvent::BackchannelLogoutFailed(failed)] = &events[..] else {
        panic!("one failure: {events:?}");
    };
    assert_eq!(failed.failure.error.chars().count(), MAX_LOGOUT_ERROR_CHARS);
    let err = record_failure(&ada, "", "x").unwrap_err();
    assert_eq!(fields(err), ["sid"]);

    // The read model carries the failures.
    let json = serde_json::to_value(&ada).unwrap();
    assert_eq!(json["logout_failures"][0]["at"], "2027-01-15T08:00:00Z");
    let back: Identity = serde_json::from_value(json).unwrap();
    assert_eq!(back.logout_failures, ada.logout_failures);
}

#[test]
fn logout_reasons_round_trip_through_their_names() {
    for reason in LogoutReason::ALL {
        assert_eq!(LogoutReason::parse(reason.as_str()), Some(reason));
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::json!(reason.as_str())
        );
    }
    assert_eq!(LogoutReason::parse("bored"), None);
}

#[test]
fn blocking_ends_every_session_once_tells_the_relying_parties_and_unblocking_keeps_them_dead() {
    let mut ada = registered_identity("ada@example.com");
    let epoch = ada.session_epoch;
    let events = ada
        .decide(IdentityCommand::Block {
            logouts: vec![notice("s1", "shop")],
        })
        .unwrap();
    assert!(matches!(events[0], IdentityEvent::Blocked(_)));
    assert_eq!(
        requested(&events),
        told(&[("s1", "shop")], LogoutReason::Blocked)
    );
    assert_eq!(ada.unique_changes(&events), Default::default());
    apply_all(&mut ada, events);
    assert!(ada.blocked);
    assert_eq!(ada.session_epoch, epoch + 1, "every session and token ends");
    // Blocking again changes nothing.
    assert_eq!(
        ada.decide(IdentityCommand::Block { logouts: vec![] }),
        Ok(vec![])
    );
    let events = ada.decide(IdentityCommand::Unblock).unwrap();
    assert!(matches!(events[..], [IdentityEvent::Unblocked(_)]));
    apply_all(&mut ada, events);
    assert!(!ada.blocked);
    assert_eq!(ada.session_epoch, epoch + 1, "old sessions stay dead");
    assert_eq!(ada.decide(IdentityCommand::Unblock), Ok(vec![]));
    // Bad notices change nothing; an unknown identity is not found.
    assert!(matches!(
        ada.decide(IdentityCommand::Block {
            logouts: vec![notice("", "shop")]
        }),
        Err(DomainError::Invalid(_))
    ));
    assert_eq!(
        Identity::new(Uuid::new_v4()).decide(IdentityCommand::Unblock),
        Err(DomainError::NotFound)
    );
}
