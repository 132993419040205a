//! Errors: building a client ([`ConfigError`]), sending a request
//! ([`RequestError`]) and calling an operation ([`Error`]).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::redact::Redaction;
use crate::runtime::ResponseValue;

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
    Transport(reqwest::Error),
    /// Credentials would have been sent over plain HTTP to a host that is not
    /// loopback. Opt in with `allow_insecure_http(true)` if you mean it.
    InsecureTransport {
        /// The host the request was for.
        host: String,
    },
    /// The response body was larger than the client's `max_response_bytes`.
    ResponseTooLarge {
        /// The configured bound, in bytes.
        limit: usize,
    },
    /// A middleware layer added by the caller failed.
    Middleware(anyhow::Error),
}

impl RequestError {
    /// Whether the failure was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_timeout())
    }

    /// Whether the connection could not be established.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_connect())
    }

    pub(crate) fn from_middleware(e: reqwest_middleware::Error) -> Self {
        match e {
            reqwest_middleware::Error::Reqwest(e) => Self::Transport(e),
            reqwest_middleware::Error::Middleware(e) => match e.downcast::<RequestError>() {
                Ok(ours) => ours,
                Err(other) => Self::Middleware(other),
            },
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) if e.is_timeout() => write!(f, "request timed out: {e}"),
            Self::Transport(e) if e.is_connect() => write!(f, "cannot connect: {e}"),
            Self::Transport(e) => write!(f, "request failed: {e}"),
            Self::InsecureTransport { host } => write!(
                f,
                "refusing to send credentials over plain http to {host}; use https, \
                 or opt in with allow_insecure_http(true)"
            ),
            Self::ResponseTooLarge { limit } => {
                write!(
                    f,
                    "response body exceeds the client's limit of {limit} bytes"
                )
            }
            Self::Middleware(e) => write!(f, "middleware error: {e}"),
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport(e) => Some(e),
            Self::Middleware(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// A response as received: status, headers and the whole (bounded) body.
///
/// Its `Debug` shows the status, the request id and the start of the body,
/// with the client's credentials scrubbed out; for an operation whose
/// response carries secrets, the body is withheld (read it with
/// [`RawResponse::body`]).
#[derive(Clone)]
pub struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    redaction: Redaction,
}

impl RawResponse {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
            redaction: Redaction::default(),
        }
    }

    pub(crate) fn with_redaction(mut self, redaction: Redaction) -> Self {
        self.redaction = redaction;
        self
    }

    pub(crate) fn into_parts(self) -> (StatusCode, HeaderMap, Bytes, Redaction) {
        (self.status, self.headers, self.body, self.redaction)
    }

    /// The body as error text may show it: withheld when the operation's
    /// response carries secrets, otherwise its start, on one line, with
    /// the client's credentials scrubbed.
    fn shown_body(&self) -> String {
        if self.redaction.withhold_body() {
            return format!(
                "[body withheld: {} bytes from an operation that returns secrets; read it with raw_body()]",
                self.body.len()
            );
        }
        self.redaction.scrub(&preview(&self.body)).into_owned()
    }

    fn shown_request_id(&self) -> Option<String> {
        request_id(&self.headers).map(|id| self.redaction.scrub(id).into_owned())
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

const PREVIEW: usize = 200;

/// First `PREVIEW` characters of a body, on one line.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > PREVIEW {
        let cut: String = one_line.chars().take(PREVIEW).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("request_id", &self.shown_request_id())
            .field("body", &self.shown_body())
            .finish()
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
    /// A paginated listing cannot go on: the server repeated its next-page
    /// marker, or sent one that cannot be used.
    Pagination(String),
}

#[allow(non_snake_case)]
impl<E> Error<E> {
    /// Used by generated code for statuses the spec does not list.
    #[doc(hidden)]
    pub fn UnexpectedResponse(response: reqwest::Response) -> Self {
        Error::UnexpectedStatus(crate::runtime::raw_from_buffered(response))
    }

    /// HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::ErrorResponse(rv) => Some(rv.status()),
            Self::UnexpectedStatus(raw) | Self::InvalidResponse(raw, _) => Some(raw.status()),
            Self::Request(RequestError::Transport(e)) => e.status(),
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

    /// The provider's request id (from the usual request id headers).
    pub fn request_id(&self) -> Option<&str> {
        self.headers().and_then(request_id)
    }

    /// How long the provider asked us to wait (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers().and_then(crate::retry::retry_after)
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

    /// Whether trying again later might succeed: timeouts, connection
    /// failures, 408, 429 and 5xx other than 501.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Request(RequestError::Transport(e)) => {
                e.is_timeout() || e.is_connect() || e.is_request()
            }
            _ => self.status().is_some_and(|s| {
                matches!(s.as_u16(), 408 | 429) || (s.is_server_error() && s.as_u16() != 501)
            }),
        }
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
            Self::Request(RequestError::Transport(e))
        }
    }
}

impl<E> From<crate::runtime::InvalidPathParam> for Error<E> {
    fn from(e: crate::runtime::InvalidPathParam) -> Self {
        Self::InvalidRequest(e.to_string())
    }
}

impl<E> From<reqwest::header::InvalidHeaderValue> for Error<E> {
    fn from(e: reqwest::header::InvalidHeaderValue) -> Self {
        Self::InvalidRequest(format!("invalid header value: {e}"))
    }
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    [
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "x-amzn-requestid",
    ]
    .iter()
    .find_map(|h| headers.get(*h)?.to_str().ok())
}

/// The human part of a provider error body: its `message`-like field.
fn message_of<E: serde::Serialize>(body: &E) -> Option<(String, Option<String>)> {
    let value = serde_json::to_value(body).ok()?;
    let message = ["message", "error_description", "detail", "title", "error"]
        .iter()
        .find_map(|k| value.get(*k)?.as_str().map(str::to_owned))
        .or_else(|| {
            // A list of reasons, each with its own message (IONOS).
            let reasons: Vec<&str> = value
                .get("messages")?
                .as_array()?
                .iter()
                .filter_map(|m| m.get("message")?.as_str())
                .collect();
            (!reasons.is_empty()).then(|| reasons.join("; "))
        })?;
    let id = value
        .get("request_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Some((message, id))
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

impl<E: serde::Serialize> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            Self::Request(e) => fmt::Display::fmt(e, f),
            Self::ErrorResponse(rv) => {
                let redaction = rv.redaction();
                let mut line = status_text(rv.status());
                let (message, body_id) = message_of(rv.as_ref()).unzip();
                if let Some(message) = message {
                    line.push_str(&format!(": {message}"));
                }
                if let Some(id) = request_id(rv.headers())
                    .map(str::to_owned)
                    .or(body_id.flatten())
                {
                    line.push_str(&format!(" (request id {id})"));
                }
                f.write_str(&redaction.scrub(&line))
            }
            Self::UnexpectedStatus(raw) => {
                write!(f, "{}", status_text(raw.status()))?;
                let body = raw.shown_body();
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                if let Some(id) = raw.shown_request_id() {
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
    if raw.redaction.withhold_body() {
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
        f.write_str(&raw.redaction.scrub(&e.to_string()))
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
                let redaction = rv.redaction();
                let text = format!(
                    "ErrorResponse {{ status: {:?}, request_id: {:?}, body: {:?} }}",
                    rv.status(),
                    request_id(rv.headers()),
                    rv.as_ref()
                );
                f.write_str(&redaction.scrub(&text))
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

impl<E: fmt::Debug + serde::Serialize> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            Self::InvalidResponse(_, e) => Some(e),
            _ => None,
        }
    }
}
