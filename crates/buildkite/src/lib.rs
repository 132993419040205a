//! Typed async client for the [Buildkite Package Registries API][api].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_buildkite::Client;
//!
//! // Reads BUILDKITE_API_TOKEN.
//! let client = Client::from_env()?;
//! let registries = client.list_registries().org_slug("acme").send().await?;
//! println!("{registries:?}");
//! # Ok(()) }
//! ```
//!
//! Every operation of the spec is a method named after its `operationId`
//! that returns a builder; `send()` performs the request. Failures are
//! [`Error<types::Error>`](Error): the status, Buildkite's `{message, errors}` when the body
//! decodes, the raw body when it does not, and helpers such as
//! `is_not_found()` and `is_retryable()`. Credentials, retries, timeouts and
//! middleware are set on [`Client::builder`].
//!
//! [api]: https://buildkite.com/docs/apis/rest-api/package-registries
#![forbid(unsafe_code)]

// Formatted by prettyplease in `cargo xtask codegen`, not by rustfmt.
#[rustfmt::skip]
mod generated;
/// Typed [httpmock](https://docs.rs/httpmock) helpers for testing code that
/// uses this client (cargo feature `mock`).
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[path = "generated_mock.rs"]
pub mod mock;

pub use generated::*;
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};
