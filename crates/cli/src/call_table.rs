//! Every provider's `call` table: the operations `cargo xtask codegen`
//! generated from each spec (in `generated_calls/`), and the functions that
//! send one through the provider's client. Above [`crate::call`], the
//! runtime those tables are made of.

use crate::call::Operation;
pub use crate::generated_calls::{
    ABEJA, BUILDKITE, DIGITALOCEAN, HUMANITEC, IONOS, PROVIDERS, call_abeja, call_buildkite,
    call_digitalocean, call_humanitec, call_ionos,
};

/// The operations of a provider, by name.
pub fn operations(provider: &str) -> Option<&'static [Operation]> {
    PROVIDERS
        .iter()
        .find(|(name, _)| *name == provider)
        .map(|(_, ops)| *ops)
}
