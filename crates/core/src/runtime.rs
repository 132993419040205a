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
    T: serde::de::DeserializeOwned,
    E: serde::de::DeserializeOwned,
{
    let response = inner.execute(request, operation_id).await?;
    let status = response.status();
    if status.is_success() {
        ResponseValue::from_response(response).await
    } else if status.is_client_error() || status.is_server_error() {
        Err(Error::ErrorResponse(
            ResponseValue::from_response(response).await?,
        ))
    } else {
        Err(Error::UnexpectedResponse(response))
    }
}

/// A decoded response with its status and headers.
pub struct ResponseValue<T> {
    inner: T,
    status: StatusCode,
    headers: HeaderMap,
}

impl<T: serde::de::DeserializeOwned> ResponseValue<T> {
    #[doc(hidden)]
    pub async fn from_response<E>(response: reqwest::Response) -> Result<Self, Error<E>> {
        let raw = read(response).await?;
        match serde_json::from_slice(raw.body()) {
            Ok(inner) => Ok(Self {
                inner,
                status: raw.status(),
                headers: raw.headers().clone(),
            }),
            Err(e) if raw.status().is_success() => Err(Error::InvalidResponse(raw, e)),
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
        }
    }
}

impl ResponseValue<ByteStream> {
    #[doc(hidden)]
    pub fn stream(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        Self {
            inner: ByteStream::new(Box::pin(response.bytes_stream())),
            status,
            headers,
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
        }
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
    let body = response
        .bytes()
        .await
        .map_err(|e| Error::Request(RequestError::Transport(e)))?;
    Ok(RawResponse::new(status, headers, body))
}

/// Status, headers and body of a response whose body `Inner::execute`
/// already buffered (so this needs no await).
pub(crate) fn raw_from_buffered(response: reqwest::Response) -> RawResponse {
    let response: http::Response<reqwest::Body> = response.into();
    let (parts, body) = response.into_parts();
    let bytes = body
        .as_bytes()
        .map(Bytes::copy_from_slice)
        .unwrap_or_default();
    RawResponse::new(parts.status, parts.headers, bytes)
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

/// Percent-encodes one path segment (a `/` in a repository name becomes
/// `%2F`), refusing values that URL normalisation would turn into a
/// request for another resource: empty, `.`, `..` and their
/// percent-encoded spellings.
#[doc(hidden)]
pub fn encode_path(value: &str, name: &'static str) -> Result<String, InvalidPathParam> {
    let mut decoded = value.to_owned();
    // Undo up to three layers of percent-encoding: `%2e`, `%252e`, …
    for _ in 0..3 {
        let next = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if matches!(decoded.trim(), "" | "." | "..") {
        return Err(InvalidPathParam {
            name,
            value: value.to_owned(),
        });
    }
    Ok(progenitor_client::encode_path(value))
}

/// Percent-encodes one path segment exactly as requests do, without the
/// checks of [`encode_path`]: the generated mock helpers match on it.
#[doc(hidden)]
pub fn encode_path_segment(value: &str) -> String {
    progenitor_client::encode_path(value)
}

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn encodes_slashes_and_rejects_dot_segments() {
        assert_eq!(encode_path("my/repo", "r").unwrap(), "my%2Frepo");
        assert_eq!(encode_path("a.b", "r").unwrap(), "a.b");
        assert_eq!(encode_path("...", "r").unwrap(), "...");
        for bad in ["", " ", ".", "..", "%2e", "%2E%2e", ".%2e", "%252e%252e"] {
            let err = encode_path(bad, "repository_name").unwrap_err();
            assert!(err.to_string().contains("repository_name"), "{bad}: {err}");
        }
    }
}
