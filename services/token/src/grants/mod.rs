//! One module per grant type the token endpoint supports.

pub mod authorization_code;
pub mod client_credentials;
pub mod issue;
pub mod refresh_token;
