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
/// uses this client (cargo feature `mock`): one method per operation on
/// `MockServer`, whose `when` takes the operation's parameters and whose
/// `then` takes its typed responses, so tests need no raw paths or JSON.
///
/// ```
/// use regkit_abeja::{Client, mock::MockServerExt, types};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let value: types::Repository = serde_json::from_value(serde_json::json!(
///     {"id": "1510000000000", "organization_id": "1410000000000", "name": "app", "description": null, "creator": {"id": "1122334455660", "email": "dev@example.com", "display_name": null, "role": "admin", "is_registered": true, "created_at": "2017-05-26T01:38:46Z", "updated_at": "2018-01-04T03:02:12Z"}, "created_at": "2018-06-07T04:42:34.913644Z", "updated_at": "2018-06-07T04:42:34.913726Z"}
/// ))
/// .unwrap();
/// let mock = server.get_repository(|when, then| {
///     when.organization_id("1410000000000").repository_id("1510000000000");
///     then.ok(&value);
/// });
///
/// let client = Client::builder()
///     .base_url(server.base_url())
///     .bearer_token("test-token")
///     .build()
///     .unwrap();
/// let got = client.get_repository().organization_id("1410000000000").repository_id("1510000000000").send().await.unwrap();
/// assert_eq!(got.name, "app");
/// mock.assert();
/// # }
/// ```
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[path = "generated_mock.rs"]
pub mod mock;

pub use generated::*;
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};
