//! Time as the services see it: [`inkan_clock`], re-exported here where the
//! HTTP services have always found it.

pub use inkan_clock::{Clock, ManualClock, SystemClock};
