//! One module per endpoint of the authorize service.

pub mod account;
pub mod authorize;
pub mod code;
pub mod email;
pub mod end_session;
pub mod enrol;
pub mod login;
pub mod passkey;
pub mod password;
pub mod signup;
