//! Typed async client for the [IONOS Container Registry API][api].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use regkit_ionos::Client;
//!
//! // Reads IONOS_TOKEN, or IONOS_USERNAME and IONOS_PASSWORD.
//! let client = Client::from_env()?;
//! let registries = client.registries_get().limit("10").send().await?;
//! println!("{registries:?}");
//! # Ok(()) }
//! ```
//!
//! Every operation of the spec is a method named after its `operationId`
//! that returns a builder; `send()` performs the request. Failures are
//! [`Error<types::Error>`](Error): the status, IONOS's `{httpStatus, messages}` when the body
//! decodes, the raw body when it does not, and helpers such as
//! `is_not_found()` and `is_retryable()`. Credentials, retries, timeouts and
//! middleware are set on [`Client::builder`].
//!
//! [api]: https://api.ionos.com/docs/containerregistry/v1/
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
/// use regkit_ionos::{Client, mock::MockServerExt, types};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = httpmock::MockServer::start_async().await;
/// let id: uuid::Uuid = "1f1e2d3c-4b5a-4697-8877-665544332211".parse().unwrap();
/// let value: types::RegistryResponse = serde_json::from_value(serde_json::json!(
///     {"id": "1f1e2d3c-4b5a-4697-8877-665544332211", "metadata": {"createdBy": "me@example.com", "createdByUserId": "u-1", "createdDate": "2024-01-02T03:04:05Z", "state": "Available"}, "properties": {"name": "shop", "location": "de/fra"}}
/// ))
/// .unwrap();
/// let mock = server.registries_find_by_id(|when, then| {
///     when.registry_id(&id);
///     then.ok(&value);
/// });
///
/// let client = Client::builder()
///     .base_url(server.base_url())
///     .bearer_token("test-token")
///     .build()
///     .unwrap();
/// let got = client.registries_find_by_id().registry_id(id).send().await.unwrap();
/// assert_eq!(got.properties.as_ref().unwrap().name, "shop");
/// mock.assert();
/// # }
/// ```
#[cfg(feature = "mock")]
#[rustfmt::skip]
#[path = "generated_mock.rs"]
pub mod mock;

pub use generated::*;
pub use regkit_core::{ConfigError, Credentials, RetryPolicy, SecretString};

impl Client {
    /// Whether `name` is free for a new registry, from
    /// [`names_check_usage`](Client::names_check_usage), which answers with a
    /// status only: `Ok(true)` when IONOS says 404 (unused), `Ok(false)` when
    /// it says 200 (taken). A malformed name (400) and every other failure
    /// stay errors.
    ///
    /// ```no_run
    /// # async fn demo(client: &regkit_ionos::Client) -> Result<(), regkit_ionos::Error<()>> {
    /// if client.is_registry_name_available("team-images").await? {
    ///     println!("free");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn is_registry_name_available(&self, name: &str) -> Result<bool, Error<()>> {
        match self.names_check_usage().name(name).send().await {
            Ok(_) => Ok(false),
            Err(e) if e.is_not_found() => Ok(true),
            Err(e) => Err(e),
        }
    }
}
