//! Typed async client for the [Humanitec registries API][api].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_humanitec::Client;
//!
//! // Reads HUMANITEC_TOKEN.
//! let client = Client::from_env()?;
//! let registries = client.list_registries().org_id("my-org").send().await?;
//! println!("{registries:?}");
//! # Ok(()) }
//! ```
//!
//! Every operation of the spec is a method named after its `operationId`
//! that returns a builder; `send()` performs the request. Failures are
//! [`Error<types::Error>`](Error): the status, Humanitec's error body when the body
//! decodes, the raw body when it does not, and helpers such as
//! `is_not_found()` and `is_retryable()`. Credentials, retries, timeouts and
//! middleware are set on [`Client::builder`].
//!
//! [api]: https://api-docs.humanitec.com/
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
/// use regkit_humanitec::{Client, mock::MockServerExt, types};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let value: types::RegistryResponse = serde_json::from_value(serde_json::json!(
///     {"id": "dockerhub", "registry": "registry.hub.docker.com", "type": "basic", "enable_ci": false}
/// ))
/// .unwrap();
/// let mock = server.get_registry(|when, then| {
///     when.org_id("acme").reg_id("dockerhub");
///     then.ok(&value);
/// });
///
/// let client = Client::builder()
///     .base_url(server.base_url())
///     .bearer_token("test-token")
///     .build()
///     .unwrap();
/// let got = client.get_registry().org_id("acme").reg_id("dockerhub").send().await.unwrap();
/// assert_eq!(got.registry, "registry.hub.docker.com");
/// mock.assert();
/// # }
/// ```
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[path = "generated_mock.rs"]
pub mod mock;

pub use generated::*;
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};
