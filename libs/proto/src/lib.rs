//! Generated gRPC code for Inkan's internal API (`proto/`), compiled at build
//! time by `build.rs` with protox and tonic.
//!
//! # Layout
//! - [`admin::v1`]: `inkan.admin.v1` — the admin service's reads for the
//!   other services (projects, client authentication, password checks, identities).

pub mod admin {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("inkan.admin.v1");
    }
}
