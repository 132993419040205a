//! regkit: typed async clients for container and package registry APIs.
//!
//! One module per provider, each behind a cargo feature of the same name
//! (all on by default). Depend on `regkit` with `default-features = false`
//! and one feature, or on the provider crate directly.
//!
//! | feature | module | crate |
//! |---|---|---|
//! | `digitalocean` | [`digitalocean`] | `regkit-digitalocean` |
#![forbid(unsafe_code)]

pub use regkit_core as core;
pub use regkit_core::{ConfigError, Credentials, Error, RetryPolicy, SecretString};

/// DigitalOcean Container Registry.
#[cfg(feature = "digitalocean")]
pub use regkit_digitalocean as digitalocean;
