//! The userinfo service's endpoints.

pub mod userinfo;
