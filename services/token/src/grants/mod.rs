//! One module per grant type the token endpoint supports.

pub mod client_credentials;
