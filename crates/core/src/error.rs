//! Errors: building a client ([`ConfigError`]), sending a request
//! ([`RequestError`]) and calling an operation ([`Error`]).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use crate::ProviderInfo;
use crate::classify::{Outcome, RetryAction, classify};
use crate::response::{Context, Origin, RawResponse, ResponseValue};

/// A client could not be built. Nothing was sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// No credentials were given and none were found in the environment.
    MissingCredentials {
        /// The provider's display name.
        provider: &'static str,
        /// What to set, e.g. "set DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN)".
        hint: String,
    },
    /// A credential is empty or cannot be sent in a header.
    InvalidCredential(String),
    /// The base URL is not an absolute `http(s)` URL.
    InvalidBaseUrl(String),
    /// A setting is out of range.
    InvalidSetting(String),
    /// The underlying HTTP client could not be built.
    Http(reqwest::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingCredentials { provider, hint } => {
                write!(f, "no {provider} credentials found: {hint}")
            }
            Self::InvalidCredential(why) => write!(f, "invalid credential: {why}"),
            Self::InvalidBaseUrl(why) => write!(f, "invalid base URL: {why}"),
            Self::InvalidSetting(why) => write!(f, "invalid setting: {why}"),
            Self::Http(e) => write!(f, "cannot build the HTTP client: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            _ => None,
        }
    }
}

/// A request could not be completed at the transport level (after any retries).
#[derive(Debug)]
#[non_exhaustive]
pub enum RequestError {
    /// Connecting, sending or receiving failed, or timed out.
    Transport {
        /// What reqwest reported.
        source: reqwest::Error,
        /// The method of the request (it decides whether a retry is safe).
        method: Option<Method>,
        /// The operation, once the pipeline knows it.
        origin: Option<Origin>,
    },
    /// Credentials would have been sent over plain HTTP to a host that is not
    /// loopback. Opt in with `allow_insecure_http(true)` if you mean it.
    InsecureTransport {
        /// The host the request was for.
        host: String,
        /// The operation, once the pipeline knows it.
        origin: Option<Origin>,
    },
    /// The response body was larger than the client's `max_response_bytes`.
    ResponseTooLarge {
        /// The configured bound, in bytes.
        limit: usize,
        /// The operation, once the pipeline knows it.
        origin: Option<Origin>,
    },
    /// A middleware layer added by the caller failed (the `layers` feature).
    Middleware {
        /// What the layer reported.
        source: Box<dyn std::error::Error + Send + Sync>,
        /// The operation, once the pipeline knows it.
        origin: Option<Origin>,
    },
}

impl RequestError {
    /// Whether the failure was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport { source, .. } if source.is_timeout())
    }

    /// Whether the connection could not be established.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Transport { source, .. } if source.is_connect())
    }

    /// The operation the request belonged to.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            Self::Transport { origin, .. }
            | Self::InsecureTransport { origin, .. }
            | Self::ResponseTooLarge { origin, .. }
            | Self::Middleware { origin, .. } => *origin,
        }
    }

    /// The same failure, marked with the operation it belonged to.
    pub(crate) fn at(mut self, at: Origin) -> Self {
        match &mut self {
            Self::Transport { origin, .. }
            | Self::InsecureTransport { origin, .. }
            | Self::ResponseTooLarge { origin, .. }
            | Self::Middleware { origin, .. } => *origin = Some(at),
        }
        self
    }

    /// A transport failure of a request sent with `method`.
    pub(crate) fn transport(source: reqwest::Error, method: Option<Method>) -> Self {
        Self::Transport {
            source,
            method,
            origin: None,
        }
    }

    /// A layer's error: regkit's own refusal carried through the chain, or
    /// the layer's.
    #[cfg(feature = "layers")]
    pub(crate) fn from_layer(e: anyhow::Error) -> Self {
        match e.downcast::<RequestError>() {
            Ok(ours) => ours,
            Err(other) => Self::Middleware {
                source: other.into(),
                origin: None,
            },
        }
    }

    /// The retry classifier's view of this failure.
    pub(crate) fn outcome(&self) -> Outcome<'_> {
        match self {
            Self::Transport { source, .. } => Outcome::Transport(source),
            _ => Outcome::Refused,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport { source, .. } if source.is_timeout() => {
                write!(f, "request timed out: {source}")
            }
            Self::Transport { source, .. } if source.is_connect() => {
                write!(f, "cannot connect: {source}")
            }
            Self::Transport { source, .. } => write!(f, "request failed: {source}"),
            Self::InsecureTransport { host, .. } => write!(
                f,
                "refusing to send credentials over plain http to {host}; use https, \
                 or opt in with allow_insecure_http(true)"
            ),
            Self::ResponseTooLarge { limit, .. } => {
                write!(
                    f,
                    "response body exceeds the client's limit of {limit} bytes"
                )
            }
            Self::Middleware { source, .. } => write!(f, "middleware error: {source}"),
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport { source, .. } => Some(source),
            Self::Middleware { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// The error of every generated operation.
///
/// `E` is the provider's documented error body (e.g. DigitalOcean's
/// `{id, message, request_id}`); it is decoded when the response matches it.
/// Display is one line with the status, the provider's message and the
/// request id; neither Display nor Debug ever shows credentials or headers.
#[non_exhaustive]
pub enum Error<E = ()> {
    /// The request was not sent: an argument is missing or invalid (for
    /// example a path parameter that is empty, `.` or `..`).
    InvalidRequest(String),
    /// The request did not complete (connection, timeout, body bound…),
    /// after the retries the policy allows.
    Request(RequestError),
    /// The provider answered with a documented error, decoded into `E`.
    ErrorResponse(ResponseValue<E>),
    /// The provider answered with an error status whose body is not the
    /// documented error (an HTML 502 from a proxy, say), or with a status
    /// the spec does not list. Status and body are kept.
    UnexpectedStatus(RawResponse),
    /// A success status whose body does not decode into the documented type.
    InvalidResponse(RawResponse, serde_json::Error),
    /// A paginated listing cannot go on: the server returned a next-page
    /// marker the walk already followed, or one that cannot be used.
    Pagination(String),
}

impl<E> Error<E> {
    /// HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::ErrorResponse(rv) => Some(rv.status()),
            Self::UnexpectedStatus(raw) | Self::InvalidResponse(raw, _) => Some(raw.status()),
            Self::Request(RequestError::Transport { source, .. }) => source.status(),
            _ => None,
        }
    }

    /// Response headers, when a response was received.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Self::ErrorResponse(rv) => Some(rv.headers()),
            Self::UnexpectedStatus(raw) | Self::InvalidResponse(raw, _) => Some(raw.headers()),
            _ => None,
        }
    }

    fn context(&self) -> Option<&Context> {
        match self {
            Self::ErrorResponse(rv) => Some(rv.context()),
            Self::UnexpectedStatus(raw) | Self::InvalidResponse(raw, _) => Some(raw.context()),
            _ => None,
        }
    }

    /// The provider's typed error body, when it decoded.
    pub fn error_body(&self) -> Option<&E> {
        match self {
            Self::ErrorResponse(rv) => Some(rv.as_ref()),
            _ => None,
        }
    }

    /// The raw body, when it did not decode into a documented type.
    pub fn raw_body(&self) -> Option<&Bytes> {
        match self {
            Self::UnexpectedStatus(raw) | Self::InvalidResponse(raw, _) => Some(raw.body()),
            _ => None,
        }
    }

    /// The provider's request id: from the response header the manifest
    /// names for the provider, or else from its error body. A value that
    /// repeats a credential is not returned.
    pub fn request_id(&self) -> Option<String>
    where
        E: ErrorMetadata,
    {
        let context = self.context()?;
        if let Some(id) = context.request_id(self.headers()?) {
            return Some(id.to_owned());
        }
        self.error_body()?
            .request_id()
            .filter(|id| !context.scrub(id).contains(crate::redact::REDACTED))
    }

    /// How long the provider asked us to wait: `Retry-After`, or on a 429
    /// the provider's rate-limit reset header (the retry loop's own rule).
    pub fn retry_after(&self) -> Option<Duration> {
        let reset = self
            .context()
            .and_then(Context::provider)
            .and_then(|p| p.rate_limit_reset.as_ref());
        crate::retry::hint(self.status()?, self.headers()?, reset)
    }

    /// The provider and operation the call was for: known once a request
    /// went out (an argument refused before sending, or a listing that
    /// stopped, has none).
    pub fn origin(&self) -> Option<Origin> {
        match self {
            Self::Request(e) => e.origin(),
            _ => self.context().and_then(Context::origin),
        }
    }

    /// The provider the call was for.
    pub fn provider(&self) -> Option<&'static ProviderInfo> {
        self.origin().map(|o| o.provider)
    }

    /// The operation called, as the generated client names it.
    pub fn operation(&self) -> Option<&'static str> {
        self.origin().map(|o| o.operation)
    }

    /// The provider's own message, from its documented error body.
    pub fn message(&self) -> Option<String>
    where
        E: ErrorMetadata,
    {
        self.error_body()?.message()
    }

    /// 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// 401 or 403.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }

    /// 429.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether trying the same call again later might succeed and is safe:
    /// the retry loop's own rule (one classifier decides both), applied to
    /// the request's method and what came back. A POST that got a 503 is
    /// not retryable (it may have been processed); a GET is.
    pub fn is_retryable(&self) -> bool {
        let (method, outcome) = match self {
            Self::Request(e) => {
                let method = match e {
                    RequestError::Transport { method, .. } => method.as_ref(),
                    _ => None,
                };
                (method, e.outcome())
            }
            Self::ErrorResponse(_) | Self::UnexpectedStatus(_) => match self.status() {
                Some(status) => (
                    self.context().and_then(Context::method),
                    Outcome::Status(status),
                ),
                None => return false,
            },
            _ => return false,
        };
        // An unknown method (a response built by hand) is judged as GET.
        classify(method.unwrap_or(&Method::GET), outcome) == RetryAction::Retry
    }
}

impl<E> From<RequestError> for Error<E> {
    fn from(e: RequestError) -> Self {
        Self::Request(e)
    }
}

impl<E> From<reqwest::Error> for Error<E> {
    fn from(e: reqwest::Error) -> Self {
        if e.is_builder() {
            Self::InvalidRequest(format!("cannot build the request: {e}"))
        } else {
            Self::Request(RequestError::transport(e, None))
        }
    }
}

impl<E> From<crate::path::InvalidPathParam> for Error<E> {
    fn from(e: crate::path::InvalidPathParam) -> Self {
        Self::InvalidRequest(e.to_string())
    }
}

impl<E> From<reqwest::header::InvalidHeaderValue> for Error<E> {
    fn from(e: reqwest::header::InvalidHeaderValue) -> Self {
        Self::InvalidRequest(format!("invalid header value: {e}"))
    }
}

/// What regkit reads from a provider's error body, generated per provider
/// from `specs/providers.toml` (the fields that hold its message, and a
/// request id when the body carries one). `Error`'s `Display` uses it.
pub trait ErrorMetadata {
    /// The provider's human message.
    fn message(&self) -> Option<String>;
    /// A request id carried in the body.
    fn request_id(&self) -> Option<String> {
        None
    }
}

impl ErrorMetadata for () {
    fn message(&self) -> Option<String> {
        None
    }
}

/// What any operation's error can tell about itself, whatever its
/// provider's error body: one object-safe trait (smithy's
/// `ProvideErrorMetadata` is the model), so code above the clients keeps
/// these facts behind a `Box<dyn ProvideErrorMetadata>` without knowing `E`.
/// Implemented by [`Error`]; the methods mean what its own methods mean.
pub trait ProvideErrorMetadata: std::error::Error + Send + Sync + 'static {
    /// The provider called, once a request went out.
    fn provider(&self) -> Option<&'static ProviderInfo>;
    /// The operation called (`registries_get`), once a request went out.
    fn operation(&self) -> Option<&'static str>;
    /// HTTP status, when an answer came.
    fn status(&self) -> Option<StatusCode>;
    /// The provider's request id.
    fn request_id(&self) -> Option<String>;
    /// The provider's own message, from its error body.
    fn message(&self) -> Option<String>;
    /// Whether the same call may succeed later and is safe to repeat.
    fn is_retryable(&self) -> bool;
    /// How long the provider asked to wait.
    fn retry_after(&self) -> Option<Duration>;
    /// 404.
    fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
    /// 401 or 403.
    fn is_unauthorized(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }
    /// 429.
    fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }
}

impl<E> ProvideErrorMetadata for Error<E>
where
    E: ErrorMetadata + fmt::Debug + Send + Sync + 'static,
{
    fn provider(&self) -> Option<&'static ProviderInfo> {
        Error::provider(self)
    }
    fn operation(&self) -> Option<&'static str> {
        Error::operation(self)
    }
    fn status(&self) -> Option<StatusCode> {
        Error::status(self)
    }
    fn request_id(&self) -> Option<String> {
        Error::request_id(self)
    }
    fn message(&self) -> Option<String> {
        Error::message(self)
    }
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        Error::retry_after(self)
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

impl<E: ErrorMetadata> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            Self::Request(e) => fmt::Display::fmt(e, f),
            Self::ErrorResponse(rv) => {
                let mut line = status_text(rv.status());
                if let Some(message) = rv.as_ref().message() {
                    line.push_str(&format!(": {message}"));
                }
                if let Some(id) = self.request_id() {
                    line.push_str(&format!(" (request id {id})"));
                }
                f.write_str(&rv.context().scrub(&line))
            }
            Self::UnexpectedStatus(raw) => {
                write!(f, "{}", status_text(raw.status()))?;
                let body = raw.shown_body();
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                if let Some(id) = raw.request_id() {
                    write!(f, " (request id {id})")?;
                }
                Ok(())
            }
            Self::InvalidResponse(raw, e) => {
                write!(
                    f,
                    "{}: the response body does not match the documented type: ",
                    status_text(raw.status())
                )?;
                write_serde_error(f, raw, e)
            }
            Self::Pagination(why) => write!(f, "pagination stopped: {why}"),
        }
    }
}

/// serde's messages quote the offending value; for a body that carries
/// secrets only the kind of problem and its position are shown.
fn write_serde_error(
    f: &mut fmt::Formatter<'_>,
    raw: &RawResponse,
    e: &serde_json::Error,
) -> fmt::Result {
    if raw.context().withhold_body() {
        let kind = match e.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "a value of the wrong type or shape",
            serde_json::error::Category::Eof => "the body ends early",
        };
        write!(
            f,
            "{kind} at line {} column {} ({})",
            e.line(),
            e.column(),
            raw.shown_body()
        )
    } else {
        f.write_str(&raw.context().scrub(&e.to_string()))
    }
}

/// `Debug` of an error's pieces, for [`Error`]'s `Debug`.
struct ShownSerdeError<'a>(&'a RawResponse, &'a serde_json::Error);

impl fmt::Debug for ShownSerdeError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_serde_error(f, self.0, self.1)
    }
}

impl<E: fmt::Debug> fmt::Debug for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(why) => f.debug_tuple("InvalidRequest").field(why).finish(),
            Self::Request(e) => f.debug_tuple("Request").field(e).finish(),
            Self::ErrorResponse(rv) => {
                let text = format!(
                    "ErrorResponse {{ status: {:?}, request_id: {:?}, body: {:?} }}",
                    rv.status(),
                    rv.context().request_id(rv.headers()),
                    rv.as_ref()
                );
                f.write_str(&rv.context().scrub(&text))
            }
            Self::UnexpectedStatus(raw) => f.debug_tuple("UnexpectedStatus").field(raw).finish(),
            Self::InvalidResponse(raw, e) => f
                .debug_tuple("InvalidResponse")
                .field(raw)
                .field(&ShownSerdeError(raw, e))
                .finish(),
            Self::Pagination(why) => f.debug_tuple("Pagination").field(why).finish(),
        }
    }
}

impl<E: fmt::Debug + ErrorMetadata> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            Self::InvalidResponse(_, e) => Some(e),
            _ => None,
        }
    }
}
