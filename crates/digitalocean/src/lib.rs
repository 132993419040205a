//! Typed async client for the [DigitalOcean Container Registry API][api].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_digitalocean::Client;
//!
//! // Reads DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN).
//! let client = Client::from_env()?;
//! let registries = client.registries_list().send().await?;
//! for registry in &registries.registries {
//!     println!("{}", registry.name.as_deref().unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! Every operation of the spec is a method named after its `operationId`
//! that returns a builder; `send()` performs the request. Errors are
//! [`Error<types::Error>`](Error): status, DigitalOcean's `{id, message,
//! request_id}` when it decodes, the raw body when it does not.
//!
//! [api]: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Container-Registry
#![forbid(unsafe_code)]

mod generated;
#[cfg(feature = "mock")]
#[path = "generated_mock.rs"]
pub mod mock;

pub use generated::*;
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};

/// Builder for a DigitalOcean [`Client`].
pub type ClientBuilder = regkit_core::ClientBuilder<Client>;

impl Client {
    /// A builder: base URL `https://api.digitalocean.com`, no credentials yet.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client authenticated from `DIGITALOCEAN_TOKEN` (or
    /// `DIGITALOCEAN_ACCESS_TOKEN`, which doctl uses).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().from_env().build()
    }
}
