//! What operators rely on: no secret in the logs, one trace across
//! services, and the standard gRPC health service.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use serde_json::json;

use crate::helpers::{Inkan, ADMIN_SECRET};
use crate::provider::*;
use crate::storage::RealBackends;

#[tokio::test]
async fn no_secret_password_code_or_token_appears_in_the_logs_of_a_full_flow() {
    let p = Provider::start_with(
        Backend::Embedded,
        &[("INKAN_LOG", "debug"), ("INKAN_LOG_FORMAT", "json")],
    )
    .await;
    let rp = p.web_rp(json!({})).await;
    p.user("ada@example.com").await;
    let agent = Agent::new();
    let ch = challenge();
    let page = agent
        .authorize(&p, &code_params(&rp, &ch, "openid email offline_access"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let r = redirect(agent.login(&p, &page, "ada@example.com", PASSWORD).await);
    let code = r.params["code"].clone();
    let (_, tokens) = exchange(&p, &rp, &code).await;

    let refreshed: serde_json::Value = reqwest::Client::new()
        .post(p.url("/token"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reqwest::Client::new()
        .get(p.url("/userinfo"))
        .bearer_auth(refreshed["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (_, again) = exchange(&p, &rp, &code).await; // a replay is logged, without the code
    assert_eq!(again["error"], "invalid_grant");

    let Provider { inkan, .. } = p;
    let logs = tokio::task::spawn_blocking(move || inkan.stop_collecting_output())
        .await
        .unwrap()
        .join("\n");
    assert!(logs.contains("login succeeded"), "debug logs were captured");
    let secrets = [
        PASSWORD.to_string(),
        ADMIN_SECRET.to_string(),
        rp.secret.clone().unwrap(),
        code,
        csrf,
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
        tokens["id_token"].as_str().unwrap().to_string(),
        refreshed["refresh_token"].as_str().unwrap().to_string(),
    ];
    for secret in secrets {
        assert!(
            !logs.contains(&secret),
            "a secret leaked into the logs: {}…",
            &secret[..6.min(secret.len())]
        );
    }
}

async fn collect(State(bodies): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes) -> &'static str {
    bodies.lock().unwrap().push(body);
    ""
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn one_request_is_one_trace_across_the_token_and_admin_services() {
    // A stand-in OTLP/HTTP collector: keeps every export it receives.
    let bodies = Arc::new(Mutex::new(Vec::<Bytes>::new()));
    let collector = axum::Router::new()
        .route("/v1/traces", axum::routing::post(collect))
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let real = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut admin_options = real.options(&inkan_testkit::nats_url(), dir.path());
    admin_options.args = vec!["--role".into(), "admin".into()];
    admin_options
        .env
        .push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.clone()));
    let admin = Inkan::start(&admin_options);
    let mut token_options = real.options(&inkan_testkit::nats_url(), dir.path());
    token_options.args = vec!["--role".into(), "token".into()];
    token_options
        .env
        .push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint));
    token_options.env.push((
        "INKAN_ADMIN_GRPC_URL".into(),
        format!("http://{}", admin.grpc.clone().unwrap()),
    ));
    let token = Inkan::start(&token_options);

    // The caller starts the trace; the token service calls admin to authenticate the client.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = reqwest::Client::new()
        .post(format!("{}/token", token.base))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .basic_auth(crate::helpers::ADMIN_ID, Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Exiting flushes every buffered span.
    tokio::task::spawn_blocking(move || {
        token.stop();
        admin.stop();
    })
    .await
    .unwrap();
    let raw: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let bodies = bodies.lock().unwrap().clone();

    let from = |service: &str| {
        bodies
            .iter()
            .any(|b| contains(b, service.as_bytes()) && contains(b, &raw))
    };
    assert!(
        from("inkan-token"),
        "the token service's spans carry the caller's trace id"
    );
    assert!(
        from("inkan-admin"),
        "the admin service's spans join the same trace over gRPC"
    );
    real.cleanup().await;
}

// Multi-threaded: the health client's connection closes while the test waits for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_grpc_port_answers_the_standard_health_check() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let p = Provider::start(Backend::Embedded).await;
    let grpc = p.inkan.grpc.clone().unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let reply = client
        .check(HealthCheckRequest {
            service: "inkan.admin.v1.AdminInternal".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        reply.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    drop(client);
    p.stop().await;
}

#[tokio::test]
async fn an_admin_write_and_its_bus_message_share_one_trace() {
    // Traces are only propagated when they are exported: a collector that discards.
    let sink = axum::Router::new().route("/v1/traces", axum::routing::post(|| async { "" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, sink).await });

    let real = RealBackends::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = real.options(&inkan_testkit::nats_url(), dir.path());
    options
        .env
        .push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint));
    let stream_name = options
        .env
        .iter()
        .find(|(k, _)| k == "INKAN_NATS_STREAM")
        .unwrap()
        .1
        .clone();
    let prefix = options
        .env
        .iter()
        .find(|(k, _)| k == "INKAN_NATS_SUBJECT_PREFIX")
        .unwrap()
        .1
        .clone();
    let inkan = Inkan::start(&options);

    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/v1/identities", inkan.base))
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .basic_auth(crate::helpers::ADMIN_ID, Some(ADMIN_SECRET))
        .json(&json!({"email": "traced@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let client = async_nats::connect(inkan_testkit::nats_url())
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    let subject = format!("{prefix}.identity.identity_registered_v1");
    let header = inkan_testkit::wait_for(std::time::Duration::from_secs(10), || async {
        let stream = js.get_stream(&stream_name).await.ok()?;
        let message = stream
            .get_last_raw_message_by_subject(&subject)
            .await
            .ok()?;
        message.headers.get("traceparent").map(|v| v.to_string())
    })
    .await
    .expect("the event was published with a trace context");
    assert!(
        header.contains(trace_id),
        "the bus message continues the request's trace: {header}"
    );
    tokio::task::spawn_blocking(move || inkan.stop())
        .await
        .unwrap();
    real.cleanup().await;
}
