//! What the userinfo handler shares: the core every public service has,
//! nothing of its own.

pub use inkan_web::ServiceCore as UserinfoState;
