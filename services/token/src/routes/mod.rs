//! One module per endpoint of the token service.

pub mod introspect;
pub mod revoke;
pub mod token;
