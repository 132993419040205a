//! Typed async client for the [ABEJA Platform registry API][api].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_abeja::Client;
//!
//! // Reads PLATFORM_AUTH_TOKEN, or ABEJA_PLATFORM_USER_ID and ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN (ABEJA_API_URL overrides the base URL).
//! let client = Client::from_env()?;
//! let repositories = client
//!     .list_repositories()
//!     .organization_id("1410000000000")
//!     .limit(10)
//!     .send()
//!     .await?;
//! println!("{repositories:?}");
//! # Ok(()) }
//! ```
//!
//! Every operation of the spec is a method named after its `operationId`
//! that returns a builder; `send()` performs the request. Failures are
//! [`Error<types::Error>`](Error): the status, ABEJA's `{error, error_description, error_detail}` when the body
//! decodes, the raw body when it does not, and helpers such as
//! `is_not_found()` and `is_retryable()`. Credentials, retries, timeouts and
//! middleware are set on [`Client::builder`].
//!
//! [api]: https://api-spec.abeja.io/
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
