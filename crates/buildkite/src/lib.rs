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
//! # Publishing packages
//!
//! [`Client::publish_package`] is written by hand, because its body is
//! `multipart/form-data`, but reads like the other operations: give it the
//! package either as a [`PackageFile`] (file name and bytes) or as the URL
//! of a file already uploaded through
//! [`create_package_upload`](Client::create_package_upload), exactly one of
//! the two.
//!
//! ```no_run
//! # async fn demo(client: regkit_buildkite::Client) -> Result<(), regkit_buildkite::Error<regkit_buildkite::types::Error>> {
//! use regkit_buildkite::PackageFile;
//!
//! let gem: Vec<u8> = b"...".to_vec();
//! let package = client
//!     .publish_package()
//!     .org_slug("acme")
//!     .registry_slug("gems")
//!     .file(PackageFile::new("banana-1.0.0.gem", gem))
//!     .send()
//!     .await?;
//! println!("{}", package.web_url);
//! # Ok(()) }
//! ```
//!
//! It goes through the same pipeline (credentials, retries, timeouts,
//! tracing, body limit) and fails the same way, with `Error<types::Error>`.
//! A missing slug, or neither or both of `file` and `package_url`, is
//! [`Error::InvalidRequest`] and sends nothing. The form is encoded into
//! memory before sending, so the request can be repeated; being a POST, it
//! is retried only when it cannot have been processed (the connection was
//! never established, or the server answered 429), never after a timeout
//! or a 5xx, so a package is not published twice by a retry.
//!
//! [api]: https://buildkite.com/docs/apis/rest-api/package-registries
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
/// use regkit_buildkite::{Client, mock::MockServerExt, types};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let value: types::Registry = serde_json::from_value(serde_json::json!(
///     {"id": "0191df84-85e4-77aa-83ba-6579084728eb", "graphql_id": "UmVnaXN0cnk=", "slug": "gems", "url": "https://api.buildkite.com/v2/packages/organizations/acme/registries/gems", "web_url": "https://buildkite.com/organizations/acme/registries/gems", "name": "gems", "ecosystem": "ruby", "description": null, "emoji": null, "color": null, "public": false, "oidc_policy": null}
/// ))
/// .unwrap();
/// let mock = server.get_registry(|when, then| {
///     when.org_slug("acme").registry_slug("gems");
///     then.ok(&value);
/// });
///
/// let client = Client::builder()
///     .base_url(server.base_url())
///     .bearer_token("test-token")
///     .build()
///     .unwrap();
/// let got = client.get_registry().org_slug("acme").registry_slug("gems").send().await.unwrap();
/// assert_eq!(got.ecosystem, "ruby");
/// mock.assert();
/// # }
/// ```
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[path = "generated_mock.rs"]
pub mod mock;

mod publish;

pub use generated::*;
pub use publish::{PackageFile, PublishPackage};
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};
