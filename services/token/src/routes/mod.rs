//! One module per endpoint of the token service.

pub mod token;
