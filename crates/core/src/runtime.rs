//! The runtime generated clients are compiled against.
//!
//! Progenitor's output names `progenitor_client`; `cargo xtask codegen`
//! points it here instead. This module keeps progenitor's interface
//! (`ClientInfo`, `ClientHooks`, `ResponseValue`, `Error`, `encode_path`) and
//! changes what matters to us: every request goes through the client's
//! middleware stack (auth, retries, tracing, caller layers), bodies are read
//! with a size bound, errors keep status and body, and path parameters are
//! checked before a URL is built. Not meant to be used by hand.

use std::ops::Deref;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

pub use crate::error::Error;
use crate::error::{RawResponse, RequestError};
use crate::redact::Redaction;
pub use progenitor_client::{ByteStream, OperationInfo, QueryParam, RequestBuilderExt};

/// Implemented by every generated client.
pub trait ClientInfo<Inner> {
    /// The API version from the spec's `info.version`.
    fn api_version() -> &'static str;
    /// Base URL requests are made to.
    fn baseurl(&self) -> &str;
    /// The `reqwest::Client` requests are built with.
    fn client(&self) -> &reqwest::Client;
    /// The regkit state (middleware stack, limits).
    fn inner(&self) -> &Inner;
}

/// How generated operations send a request: through regkit-core's stack.
/// Implemented once, here, for every generated client.
#[allow(async_fn_in_trait)]
pub trait ClientHooks<Inner> {
    /// Runs before the request is sent.
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>>;

    /// Sends the request.
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> Result<reqwest::Response, RequestError>;

    /// Runs after the response (or failure) arrived.
    async fn post<E>(
        &self,
        result: &Result<reqwest::Response, RequestError>,
        info: &OperationInfo,
    ) -> Result<(), Error<E>>;
}

impl<T: ClientInfo<crate::Inner>> ClientHooks<crate::Inner> for T {
    async fn pre<E>(&self, _: &mut reqwest::Request, _: &OperationInfo) -> Result<(), Error<E>> {
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> Result<reqwest::Response, RequestError> {
        self.inner().execute(request, info.operation_id).await
    }

    async fn post<E>(
        &self,
        _: &Result<reqwest::Response, RequestError>,
        _: &OperationInfo,
    ) -> Result<(), Error<E>> {
        Ok(())
    }
}

/// Sends a request built by hand, for the few operations codegen cannot
/// express (multipart uploads), through the client's pipeline (auth,
/// retries, body bound, tracing), and decodes it the way a generated
/// operation does: `T` on 2xx, the provider's error `E` on 4xx/5xx.
pub async fn send<T, E>(
    inner: &crate::Inner,
    request: reqwest::Request,
    operation_id: &'static str,
) -> Result<ResponseValue<T>, Error<E>>
where
    T: serde::de::DeserializeOwned + 'static,
    E: serde::de::DeserializeOwned,
{
    let response = inner.execute(request, operation_id).await?;
    unlisted(response).await
}

/// The catch-all arm of every generated operation: a status the spec does
/// not list. Any 2xx is a success and decodes into the operation's type
/// (`()` whatever the body); a 4xx/5xx decodes into the provider's error
/// when its body fits, and is kept raw otherwise; anything else (1xx, 3xx)
/// is [`Error::UnexpectedStatus`].
#[doc(hidden)]
// The error is the one every generated operation returns; boxing it here
// alone would change nothing for callers.
#[allow(clippy::result_large_err)]
pub async fn unlisted<T, E>(response: reqwest::Response) -> Result<ResponseValue<T>, Error<E>>
where
    T: serde::de::DeserializeOwned + 'static,
    E: serde::de::DeserializeOwned,
{
    let raw = read(response).await?;
    let status = raw.status();
    if status.is_success() {
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
            // A no-content operation: whatever the body, the call worked.
            let unit = serde_json::from_value(serde_json::Value::Null)
                .map_err(|e| Error::InvalidResponse(raw.clone(), e))?;
            return Ok(ResponseValue::from_raw(unit, raw));
        }
        decode_success(raw)
    } else if status.is_client_error() || status.is_server_error() {
        decode_error(raw).map(|never| match never {})
    } else {
        Err(Error::UnexpectedStatus(raw))
    }
}

/// Decodes a success body into `T`. An empty body (some services answer a
/// create or update with no body at all) is read as `null`, then as `{}`,
/// so a type whose fields are all optional still decodes.
#[allow(clippy::result_large_err)] // see `unlisted`
fn decode_success<T: serde::de::DeserializeOwned, E>(
    raw: RawResponse,
) -> Result<ResponseValue<T>, Error<E>> {
    let first = serde_json::from_slice(raw.body());
    let decoded = match first {
        Err(e) if raw.body().iter().all(u8::is_ascii_whitespace) => {
            serde_json::from_value(serde_json::Value::Null)
                .or_else(|_| serde_json::from_value(serde_json::json!({})))
                .map_err(|_| e)
        }
        other => other,
    };
    match decoded {
        Ok(inner) => Ok(ResponseValue::from_raw(inner, raw)),
        Err(e) => Err(Error::InvalidResponse(raw, e)),
    }
}

/// Decodes an error status: the provider's error body when it fits,
/// [`Error::UnexpectedStatus`] (status, headers and raw body kept) otherwise.
#[allow(clippy::result_large_err)] // see `unlisted`
fn decode_error<E: serde::de::DeserializeOwned>(
    raw: RawResponse,
) -> Result<std::convert::Infallible, Error<E>> {
    match serde_json::from_slice(raw.body()) {
        Ok(body) => Err(Error::ErrorResponse(ResponseValue::from_raw(body, raw))),
        Err(_) => Err(Error::UnexpectedStatus(raw)),
    }
}

/// Reads a JSON `null` as the type's default: arrays that a provider sends
/// as `null` instead of `[]` decode as empty. Codegen puts it on every
/// array field of the generated types.
#[doc(hidden)]
pub fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    use serde::Deserialize as _;
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// A decoded response with its status and headers.
pub struct ResponseValue<T> {
    inner: T,
    status: StatusCode,
    headers: HeaderMap,
    /// What `Display`/`Debug` of an error holding this value must hide.
    redaction: Redaction,
}

impl<T: serde::de::DeserializeOwned> ResponseValue<T> {
    /// Reads and decodes a response: `T` from a success, the provider's
    /// error from an error status (used by generated code for both).
    #[doc(hidden)]
    pub async fn from_response<E>(response: reqwest::Response) -> Result<Self, Error<E>> {
        let raw = read(response).await?;
        if raw.status().is_success() {
            return decode_success(raw);
        }
        match serde_json::from_slice(raw.body()) {
            Ok(inner) => Ok(Self::from_raw(inner, raw)),
            // An error status whose body is not the documented error shape.
            Err(_) => Err(Error::UnexpectedStatus(raw)),
        }
    }
}

impl ResponseValue<()> {
    #[doc(hidden)]
    pub fn empty(response: reqwest::Response) -> Self {
        Self {
            inner: (),
            status: response.status(),
            headers: response.headers().clone(),
            redaction: Redaction::of(&response),
        }
    }
}

impl ResponseValue<ByteStream> {
    #[doc(hidden)]
    pub fn stream(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let redaction = Redaction::of(&response);
        Self {
            inner: ByteStream::new(Box::pin(response.bytes_stream())),
            status,
            headers,
            redaction,
        }
    }
}

impl<T> ResponseValue<T> {
    /// Wraps a value (useful in tests and mocks).
    pub fn new(inner: T, status: StatusCode, headers: HeaderMap) -> Self {
        Self {
            inner,
            status,
            headers,
            redaction: Redaction::default(),
        }
    }

    fn from_raw(inner: T, raw: RawResponse) -> Self {
        let (status, headers, _, redaction) = raw.into_parts();
        Self {
            inner,
            status,
            headers,
            redaction,
        }
    }

    pub(crate) fn redaction(&self) -> &Redaction {
        &self.redaction
    }

    /// The decoded value.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Transforms the value, keeping status and headers.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ResponseValue<U> {
        ResponseValue {
            inner: f(self.inner),
            status: self.status,
            headers: self.headers,
            redaction: self.redaction,
        }
    }
}

impl<T> AsRef<T> for ResponseValue<T> {
    fn as_ref(&self) -> &T {
        &self.inner
    }
}

impl<T> Deref for ResponseValue<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ResponseValue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

async fn read<E>(response: reqwest::Response) -> Result<RawResponse, Error<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    let redaction = Redaction::of(&response);
    let body = response
        .bytes()
        .await
        .map_err(|e| Error::Request(RequestError::Transport(e)))?;
    Ok(RawResponse::new(status, headers, body).with_redaction(redaction))
}

/// Status, headers and body of a response whose body the pipeline already
/// buffered (so this needs no await).
pub(crate) fn raw_from_buffered(response: reqwest::Response) -> RawResponse {
    let redaction = Redaction::of(&response);
    let response: http::Response<reqwest::Body> = response.into();
    let (parts, body) = response.into_parts();
    let bytes = body
        .as_bytes()
        .map(Bytes::copy_from_slice)
        .unwrap_or_default();
    RawResponse::new(parts.status, parts.headers, bytes).with_redaction(redaction)
}

/// A path parameter that would change which resource a URL names.
#[derive(Debug)]
pub struct InvalidPathParam {
    name: &'static str,
    value: String,
}

impl std::fmt::Display for InvalidPathParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "path parameter `{}` must not be empty", self.name)
        } else {
            write!(
                f,
                "path parameter `{}` must not be `{}`: it would name a different resource",
                self.name, self.value
            )
        }
    }
}

impl std::error::Error for InvalidPathParam {}

/// Characters sent as they are in a path segment: RFC 3986's unreserved
/// characters and the sub-delimiters and `:`/`@` that a WHATWG URL parser
/// leaves alone. Everything else is percent-encoded: controls, space and
/// non-ASCII, `%` itself, `/` and `\\` (both separate segments for the
/// parser), `?` and `#` (they end the path), `;` (a path parameter to some
/// servers), and the characters the URL standard encodes or rewrites
/// (`"`, `<`, `>`, `` ` ``, `{`, `}`, `^`, `|`, `[`, `]`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Percent-encodes one path segment (a `/` in a repository name becomes
/// `%2F`, a `\\` becomes `%5C`), refusing values that would name another
/// resource: empty, or a dot segment (`.`, `..`) once percent-decoding,
/// and splitting on `/` or `\\` as a server that decodes before routing
/// would. Every other value comes back as exactly one segment that decodes
/// to the value.
#[doc(hidden)]
pub fn encode_path(value: &str, name: &'static str) -> Result<String, InvalidPathParam> {
    if names_another_resource(value) {
        return Err(InvalidPathParam {
            name,
            value: value.to_owned(),
        });
    }
    Ok(encode_path_segment(value))
}

/// Whether a path parameter, as a server may read it after decoding, is
/// empty or walks the path (`.`, `..`, `a/../b`, `..\\x`, `%2e%2e`, …).
fn names_another_resource(value: &str) -> bool {
    if value.trim().is_empty() {
        return true;
    }
    let mut decoded = value.to_owned();
    // Look at the value and up to three layers of decoding: `%2e`, `%252e`, …
    for _ in 0..4 {
        let dot_piece = decoded
            .split(['/', '\\'])
            .any(|piece| matches!(piece.trim(), "." | ".."));
        if dot_piece {
            return true;
        }
        let next = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    decoded.trim().is_empty()
}

/// Percent-encodes one path segment exactly as requests do, without the
/// checks of [`encode_path`]: the generated mock helpers match on it.
#[doc(hidden)]
pub fn encode_path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn encodes_slashes_and_rejects_dot_segments() {
        assert_eq!(encode_path("my/repo", "r").unwrap(), "my%2Frepo");
        assert_eq!(encode_path("a.b", "r").unwrap(), "a.b");
        assert_eq!(encode_path("...", "r").unwrap(), "...");
        assert_eq!(encode_path("a\\b", "r").unwrap(), "a%5Cb");
        assert_eq!(
            encode_path("v1.0+build:7@x", "r").unwrap(),
            "v1.0+build:7@x"
        );
        for bad in [
            "",
            " ",
            ".",
            "..",
            "%2e",
            "%2E%2e",
            ".%2e",
            "%252e%252e",
            "..\\..\\v2",
            "a/../b",
            "..%5Cx",
            "%2e%2e%2fx",
        ] {
            let err = encode_path(bad, "repository_name").unwrap_err();
            assert!(err.to_string().contains("repository_name"), "{bad}: {err}");
        }
    }
}
