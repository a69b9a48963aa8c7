//! The gRPC directory client sends the caller's trace with every call, so
//! the admin service's spans join the trace of the request that needed them.
//!
//! A stub admin on 127.0.0.1:0, behind `inkan_telemetry::trace_layer` as
//! the real one would be, records the `traceparent` of each call and
//! answers NOT_FOUND; every wait is bounded. Every test records spans with
//! its own [`SpanRecorder`]: a test thread without a subscriber could make
//! `tracing` cache "disabled" for the client's span callsite in parallel
//! tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use inkan_directory::{Directory, Grpc};
use inkan_proto::admin::v1 as pb;
use inkan_proto::admin::v1::admin_internal_server::{AdminInternal, AdminInternalServer};
use inkan_telemetry::testing::{trace_id, SpanRecorder};
use tonic::{Request, Response, Status};
use tracing::Instrument;

/// An admin that knows nothing and remembers each call's `traceparent`.
#[derive(Clone, Default)]
struct Stub {
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

impl Stub {
    fn record<T>(&self, request: &Request<T>) -> Status {
        let traceparent = request
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.seen.lock().expect("lock").push(traceparent);
        Status::not_found("stub")
    }
}

#[tonic::async_trait]
impl AdminInternal for Stub {
    async fn resolve_project(
        &self,
        request: Request<pb::ResolveProjectRequest>,
    ) -> Result<Response<pb::ProjectReply>, Status> {
        Err(self.record(&request))
    }
    async fn authenticate_client(
        &self,
        request: Request<pb::AuthenticateClientRequest>,
    ) -> Result<Response<pb::ProjectReply>, Status> {
        Err(self.record(&request))
    }
    async fn verify_password(
        &self,
        request: Request<pb::VerifyPasswordRequest>,
    ) -> Result<Response<pb::IdentityReply>, Status> {
        Err(self.record(&request))
    }
    async fn get_identity(
        &self,
        request: Request<pb::GetIdentityRequest>,
    ) -> Result<Response<pb::IdentityReply>, Status> {
        Err(self.record(&request))
    }
    async fn get_signing_keys(
        &self,
        request: Request<pb::GetSigningKeysRequest>,
    ) -> Result<Response<pb::SigningKeysReply>, Status> {
        Err(self.record(&request))
    }
    async fn list_passkeys(
        &self,
        request: Request<pb::ListPasskeysRequest>,
    ) -> Result<Response<pb::PasskeysReply>, Status> {
        Err(self.record(&request))
    }
    async fn register_passkey(
        &self,
        request: Request<pb::RegisterPasskeyRequest>,
    ) -> Result<Response<pb::PasskeysReply>, Status> {
        Err(self.record(&request))
    }
    async fn enrol_totp(
        &self,
        request: Request<pb::EnrolTotpRequest>,
    ) -> Result<Response<pb::EnrolTotpReply>, Status> {
        Err(self.record(&request))
    }
    async fn verify_second_factor(
        &self,
        request: Request<pb::VerifySecondFactorRequest>,
    ) -> Result<Response<pb::VerifySecondFactorReply>, Status> {
        Err(self.record(&request))
    }
    async fn request_link(
        &self,
        request: Request<pb::RequestLinkRequest>,
    ) -> Result<Response<pb::RequestLinkReply>, Status> {
        Err(self.record(&request))
    }
    async fn redeem_link(
        &self,
        request: Request<pb::RedeemLinkRequest>,
    ) -> Result<Response<pb::RedeemLinkReply>, Status> {
        Err(self.record(&request))
    }
    async fn sign_up(
        &self,
        request: Request<pb::SignUpRequest>,
    ) -> Result<Response<pb::SignUpReply>, Status> {
        Err(self.record(&request))
    }
    async fn update_names(
        &self,
        request: Request<pb::UpdateNamesRequest>,
    ) -> Result<Response<pb::IdentityReply>, Status> {
        Err(self.record(&request))
    }
    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordReply>, Status> {
        Err(self.record(&request))
    }
    async fn remove_credential(
        &self,
        request: Request<pb::RemoveCredentialRequest>,
    ) -> Result<Response<pb::RemoveCredentialReply>, Status> {
        Err(self.record(&request))
    }

    async fn sign_out(
        &self,
        request: Request<pb::SignOutRequest>,
    ) -> Result<Response<pb::SignOutReply>, Status> {
        Err(self.record(&request))
    }
}

/// Serves `stub` on a fresh local port until the test's runtime ends; returns its URL.
async fn serve(stub: Stub) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(inkan_telemetry::trace_layer())
            .add_service(AdminInternalServer::new(stub))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    url
}

#[tokio::test]
async fn grpc_calls_carry_the_callers_trace_in_their_metadata() {
    let recorder = SpanRecorder::install();
    let stub = Stub::default();
    let directory = Grpc::connect_lazy(&serve(stub.clone()).await).expect("client");
    let request_span = tracing::info_span!("login");
    let expected_trace = trace_id(&request_span);

    let lookups = async {
        directory.resolve_project("some-client").await?;
        directory
            .verify_password("someone@example.com", "hunter2")
            .await
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), lookups.instrument(request_span))
        .await
        .expect("the stub answers within 10 s");

    assert!(
        matches!(answer, Ok(None)),
        "NOT_FOUND means no such identity"
    );
    let seen = stub.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    let spans = recorder.finished();
    for (traceparent, method) in seen.iter().zip(["ResolveProject", "VerifyPassword"]) {
        let traceparent = traceparent.as_deref().expect("a traceparent on every call");
        let client = spans
            .iter()
            .find(|s| s.name == format!("inkan.admin.v1.AdminInternal/{method}"))
            .unwrap_or_else(|| panic!("no client span for {method} in {spans:#?}"));
        // The admin's parent is the client span, inside the caller's trace.
        assert_eq!(
            traceparent,
            format!("00-{expected_trace}-{}-01", client.span_context.span_id())
        );
        // The admin's server span (from `trace_layer`) is the client span's child.
        let server = spans
            .iter()
            .find(|s| s.name == format!("POST /inkan.admin.v1.AdminInternal/{method}"))
            .unwrap_or_else(|| panic!("no server span for {method} in {spans:#?}"));
        assert_eq!(server.span_context.trace_id().to_string(), expected_trace);
        assert_eq!(server.parent_span_id, client.span_context.span_id());
        assert!(client
            .attributes
            .iter()
            .all(|kv| !kv.value.as_str().contains("hunter2")
                && !kv.value.as_str().contains("someone@")));
    }
}

#[tokio::test]
async fn a_grpc_call_outside_any_request_starts_its_own_trace() {
    let recorder = SpanRecorder::install();
    let stub = Stub::default();
    let directory = Grpc::connect_lazy(&serve(stub.clone()).await).expect("client");

    let answer = tokio::time::timeout(Duration::from_secs(10), directory.get_identity("nobody"))
        .await
        .expect("the stub answers within 10 s");

    assert!(matches!(answer, Ok(None)));
    let spans = recorder.finished();
    let client = spans
        .iter()
        .find(|s| s.name == "inkan.admin.v1.AdminInternal/GetIdentity")
        .unwrap_or_else(|| panic!("no client span in {spans:#?}"));
    assert_eq!(
        *stub.seen.lock().expect("lock"),
        vec![Some(format!(
            "00-{}-{}-01",
            client.span_context.trace_id(),
            client.span_context.span_id()
        ))]
    );
}
