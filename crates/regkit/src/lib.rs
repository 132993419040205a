//! regkit: typed async clients for container and package registry APIs.
//!
//! One module per provider, each behind a cargo feature of the same name
//! (all on by default). Depend on `regkit` with `default-features = false`
//! and the features you use, or on a provider crate directly.
//!
//! | feature | module | crate | API |
//! |---|---|---|---|
//! | `digitalocean` | `digitalocean` | `regkit-digitalocean` | DigitalOcean Container Registry |
//! | `ionos` | `ionos` | `regkit-ionos` | IONOS Container Registry |
//! | `humanitec` | `humanitec` | `regkit-humanitec` | Humanitec registries |
//! | `buildkite` | `buildkite` | `regkit-buildkite` | Buildkite Package Registries |
//! | `abeja` | `abeja` | `regkit-abeja` | ABEJA Platform registry repositories |
#![forbid(unsafe_code)]

pub use regkit_core as core;
pub use regkit_core::{ConfigError, Credentials, Error, RetryPolicy, SecretString};

/// DigitalOcean Container Registry.
#[cfg(feature = "digitalocean")]
pub use regkit_digitalocean as digitalocean;

/// IONOS Container Registry.
#[cfg(feature = "ionos")]
pub use regkit_ionos as ionos;

/// Humanitec registries.
#[cfg(feature = "humanitec")]
pub use regkit_humanitec as humanitec;

/// Buildkite Package Registries.
#[cfg(feature = "buildkite")]
pub use regkit_buildkite as buildkite;

/// ABEJA Platform registry repositories.
#[cfg(feature = "abeja")]
pub use regkit_abeja as abeja;

#[cfg(feature = "oci")]
pub use regkit_oci as oci;
/// Workflows across providers: one registry view, Docker credential
/// leases, the garbage-collection waiter and the retention planner.
#[cfg(feature = "workflows")]
pub use regkit_workflows as workflows;

/// The stateful local twin of all five providers' APIs, for tests.
#[cfg(feature = "emulator")]
pub use regkit_emulator as emulator;

/// The README's Rust examples, compiled as doctests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
