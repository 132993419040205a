//! The clock the workflows read and wait on: regkit-core's [`Clock`], so
//! the emulator's virtual clock (which implements it) plugs straight in.

pub use regkit_core::clock::{Clock, SystemClock};
