//! Shared runtime of the regkit registry clients.
//!
//! Every provider crate (`regkit-digitalocean`, `regkit-ionos`, …) is a
//! progenitor-generated client compiled against [`runtime`], plus a builder
//! from this crate. What lives here, once, for all of them:
//!
//! - [`Credentials`]: bearer, HTTP Basic and API-key schemes, explicit or read
//!   from the provider's environment variables; never sent over plain HTTP
//!   except to loopback, never printed.
//! - [`SecretString`]: the redacting type used for tokens and for secret
//!   fields in API models.
//! - [`RetryPolicy`]: exponential backoff with full jitter, a time budget
//!   over all attempts, `Retry-After` and rate-limit reset headers; what is
//!   retried is decided by [`classify`], the one retry rule.
//! - [`Error`]: status, typed provider error, raw body, request id,
//!   `is_not_found()`/`is_rate_limited()`/`is_retryable()`; its `Display`
//!   and `Debug` never show a configured credential or a secret-bearing body.
//! - Redirects followed by regkit itself, dropping every credential header
//!   on a hop to another origin; path parameters encoded as one segment.
//! - [`pagination`]: the lazy stream behind every generated `stream()`.
//! - [`ClientBuilder`]: timeouts, user agent, body bound, and your own
//!   `reqwest-middleware` layers.
//!
//! Cargo features choose the TLS backend: `rustls-ring` (default),
//! `rustls-aws-lc` or `native-tls`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// `Error<E>` keeps the whole response (status, headers, body) so callers can
// inspect it; it is what every generated operation returns, so its size is
// the API's, not a choice any one function here could change.
#![allow(clippy::result_large_err)]

mod auth;
mod body;
mod builder;
mod call;
mod classify;
mod credentials;
mod error;
mod nullable;
mod open_enum;
pub mod pagination;
mod path;
mod pipeline;
mod provider;
pub mod providers;
mod redact;
mod redirect;
mod response;
mod retry;
pub mod runtime;
mod secret;
mod timestamp;
mod tls;

pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
    GeneratedClient,
};
pub use classify::{Outcome, RetryAction, classify, idempotent};
pub use credentials::Credentials;
pub use error::{ConfigError, Error, ErrorMetadata, RequestError};
pub use nullable::Nullable;
#[doc(hidden)]
pub use pipeline::Inner;
pub use provider::{
    AuthScheme, DataPlane, LoginUser, ProviderInfo, RateLimitReset, RegistryHost, ResetKind,
    UnknownProvider,
};
pub use providers::Provider;
pub use response::{RawResponse, ResponseValue};
pub use retry::RetryPolicy;
pub use secret::SecretString;
pub use timestamp::TimestampMillis;

/// Middleware interface for [`ClientBuilder::with`], re-exported so callers
/// need not depend on `reqwest-middleware` themselves.
pub use reqwest_middleware as middleware;

#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "schemars")]
    pub use schemars;
    pub use serde;
}
