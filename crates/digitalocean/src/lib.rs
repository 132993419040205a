//! Typed async client for the [DigitalOcean Container Registry API][api].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_digitalocean::Client;
//!
//! // Reads DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN, which doctl uses).
//! let client = Client::from_env()?;
//! let registries = client.registries_list().send().await?;
//! for registry in &registries.registries {
//!     println!("{:?}", registry.name);
//! }
//! # Ok(()) }
//! ```
//!
//! Every operation of the spec is a method named after its `operationId`
//! that returns a builder; `send()` performs the request. Failures are
//! [`Error<types::Error>`](Error): the status, DigitalOcean's `{id, message, request_id}` when the body
//! decodes, the raw body when it does not, and helpers such as
//! `is_not_found()` and `is_retryable()`. Credentials, retries, timeouts and
//! middleware are set on [`Client::builder`].
//!
//! [api]: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Container-Registry
#![forbid(unsafe_code)]

// Formatted by prettyplease in `cargo xtask codegen`, not by rustfmt.
#[rustfmt::skip]
mod generated;
/// Typed [httpmock](https://docs.rs/httpmock) helpers for testing code that
/// uses this client (cargo feature `mock`): one method per operation on
/// `MockServer`, whose `when` takes the operation's parameters and whose
/// `then` takes its typed responses, so tests need no raw paths or JSON.
///
/// ```
/// use regkit_digitalocean::{Client, mock::MockServerExt, types};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let value: types::MultiregistryInfo = serde_json::from_value(serde_json::json!(
///     {"registry": {"name": "example", "region": "fra1"}}
/// ))
/// .unwrap();
/// let mock = server.registries_get(|when, then| {
///     when.registry_name("example");
///     then.ok(&value);
/// });
///
/// let client = Client::builder()
///     .base_url(server.base_url())
///     .bearer_token("test-token")
///     .build()
///     .unwrap();
/// let got = client.registries_get().registry_name("example").send().await.unwrap();
/// assert_eq!(got.registry.as_ref().unwrap().name.as_deref(), Some("example"));
/// mock.assert();
/// # }
/// ```
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[path = "generated_mock.rs"]
pub mod mock;

pub use generated::*;
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};
