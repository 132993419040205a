//! The request pipeline, in one place: execute (caller layers → retries →
//! credentials → redirects → bounded body, inside one tracing span) →
//! raw response (status, headers, the whole body) → decode. Generated and
//! hand-written operations both end here, so they decode by the same rules:
//! any 2xx is a success (its body read by one rule per method, see
//! `decode_success`), a 4xx/5xx is the provider's error when its body fits
//! and kept raw otherwise.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::FutureExt as _;
use tracing::Instrument as _;

use crate::ProviderInfo;
use crate::body::Buffered;
use crate::byte_stream::ByteStream;
use crate::call::CallLayer;
use crate::error::{Error, RequestError};
use crate::redact::Scrubber;
use crate::response::{Context, Origin, RawResponse, ResponseValue};
use crate::retry::Attempts;
use crate::sent::Failure;

/// The regkit state inside every generated client: its middleware stack and
/// limits. Cheap to clone (shared). Codegen plumbing: generated clients hold
/// one; callers never need to.
/// How a request reaches the network: regkit's call layer straight onto
/// reqwest, or the caller's middleware layers with the call layer last
/// (the `layers` feature).
#[derive(Clone)]
pub(crate) enum Transport {
    Direct(reqwest::Client, Arc<CallLayer>),
    #[cfg(feature = "layers")]
    Layered(reqwest_middleware::ClientWithMiddleware),
}

#[doc(hidden)]
#[derive(Clone)]
pub struct Inner {
    pub(crate) transport: Transport,
    pub(crate) provider: &'static ProviderInfo,
    pub(crate) max_response_bytes: usize,
    /// Hides the configured credentials from error text.
    pub(crate) scrubber: Scrubber,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("provider", &self.provider.name)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The provider this client talks to.
    pub fn provider(&self) -> &'static ProviderInfo {
        self.provider
    }

    /// Sends a request through the middleware stack (caller layers, retries,
    /// auth, redirects, bounded body) inside a tracing span for the
    /// operation. The response that comes back has its body in memory and
    /// carries what error text must hide.
    ///
    /// The request goes to the call loop before the future is returned, so
    /// the future holds it once: 800 bytes in all, where an `async fn`
    /// holding it as an argument and the call's future twice took 3.8 KB.
    pub fn execute(
        &self,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> impl Future<Output = Result<reqwest::Response, RequestError>> + Send + '_ {
        let span = tracing::info_span!(
            "regkit.request",
            provider = self.provider.name,
            operation_id,
            method = %request.method(),
            path = request.url().path(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let method = request.method().clone();
        let attempts = Attempts::default();
        let sending = self.send(request, attempts.clone());
        let started = Instant::now();
        // `map`, not an `async` block around `sending.await`, which would
        // hold the call's future twice.
        sending
            .map(move |sent| {
                let sent = sent.map_err(|e| e.into_request_error(&method));
                let origin = Origin {
                    provider: self.provider,
                    operation: operation_id,
                };
                let mut result = sent.map_err(|e| e.at(origin));
                if let Ok(response) = &mut result {
                    response.extensions_mut().insert(Context::new(
                        self.provider,
                        operation_id,
                        method,
                        self.scrubber.clone(),
                        self.provider.secret_responses.contains(&operation_id),
                    ));
                }
                let span = tracing::Span::current();
                span.record(
                    "attempts",
                    attempts.0.load(std::sync::atomic::Ordering::Relaxed),
                );
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                match &result {
                    Ok(r) => {
                        span.record("status", r.status().as_u16());
                        tracing::debug!("response received");
                    }
                    Err(e) => tracing::debug!(error = %e, "request failed"),
                }
                result
            })
            .instrument(span)
    }

    /// The request on its way: down the call loop onto reqwest, or through
    /// the caller's layers (which end in the call loop).
    fn send(
        &self,
        request: reqwest::Request,
        attempts: Attempts,
    ) -> impl Future<Output = Result<reqwest::Response, Failure>> + Send + '_ {
        match &self.transport {
            Transport::Direct(client, call) => {
                let direct = call.call(request, attempts, client);
                #[cfg(feature = "layers")]
                let direct = futures::future::Either::Left(direct);
                direct
            }
            #[cfg(feature = "layers")]
            Transport::Layered(stack) => futures::future::Either::Right(async move {
                let mut extensions = http::Extensions::new();
                extensions.insert(attempts);
                stack
                    .execute_with_extensions(request, &mut extensions)
                    .await
                    .map_err(Failure::from)
            }),
        }
    }
}

/// Sends a request built by hand, for the few operations codegen cannot
/// express (multipart uploads), through the client's pipeline (auth,
/// retries, body bound, tracing), and decodes it the way a generated
/// operation does: `T` on 2xx, the provider's error `E` on 4xx/5xx. Like a
/// generated operation's, the future holds the request once (inside the
/// pipeline's), not again as an argument.
pub fn send<T, E>(
    inner: &crate::Inner,
    request: reqwest::Request,
    operation_id: &'static str,
) -> impl Future<Output = Result<ResponseValue<T>, Error<E>>>
where
    T: serde::de::DeserializeOwned + 'static,
    E: serde::de::DeserializeOwned,
{
    use futures::TryFutureExt as _;
    inner
        .execute(request, operation_id)
        .err_into()
        .and_then(unlisted)
}

/// The catch-all arm of every generated operation: a status the spec does
/// not list. Any 2xx is a success and decodes into the operation's type
/// by the rules of `decode_success` (`()` whatever the body); a 4xx/5xx
/// decodes into the provider's error when its body fits, and is kept raw
/// otherwise; anything else (1xx, 3xx) is [`Error::UnexpectedStatus`].
#[doc(hidden)]
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

/// How a success body is read, by the request's method (see [`decode_success`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reading {
    /// `GET`, `HEAD`: the body is the answer, so it must decode.
    Read,
    /// `DELETE`: the deletion happened; the body is a bonus.
    Delete,
    /// `POST`, `PUT`, `PATCH` (and a response that came through no regkit
    /// client, whose method is unknown): the change happened, so an empty
    /// body is read leniently.
    Write,
}

impl Reading {
    fn of(method: Option<&reqwest::Method>) -> Self {
        match method {
            Some(m) if *m == reqwest::Method::GET || *m == reqwest::Method::HEAD => Self::Read,
            Some(m) if *m == reqwest::Method::DELETE => Self::Delete,
            _ => Self::Write,
        }
    }
}

/// Decodes a success body into `T`, by one rule per kind of request:
///
/// - a read (`GET`) must bring a body that decodes: an empty or undecodable
///   body is [`Error::InvalidResponse`], status and raw body kept, so "the
///   server sent nothing" never looks like "the object has no fields";
/// - a deletion is `Ok` whatever the body: one that does not decode (empty,
///   `{}` for a type with required fields, text) reads as `null`, which is
///   `None` for the `Option<T>` codegen gives every `DELETE` that documents
///   a body (and `()` for one that documents none);
/// - a write (`POST`, `PUT`, `PATCH`) that answers with an empty body (some
///   services answer a create or update with no body at all) reads it as
///   `null`, then as `{}`, so a type whose fields are all optional still
///   decodes and a change that happened does not become an error that
///   invites a retry.
fn decode_success<T: serde::de::DeserializeOwned, E>(
    raw: RawResponse,
) -> Result<ResponseValue<T>, Error<E>> {
    let reading = Reading::of(raw.context().method());
    let decoded = match serde_json::from_slice(raw.body()) {
        Err(e) if reading == Reading::Delete => {
            serde_json::from_value(serde_json::Value::Null).map_err(|_| e)
        }
        Err(e) if reading == Reading::Write && raw.body().iter().all(u8::is_ascii_whitespace) => {
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
fn decode_error<E: serde::de::DeserializeOwned>(
    raw: RawResponse,
) -> Result<std::convert::Infallible, Error<E>> {
    match error_body(&raw) {
        Some(body) => Err(Error::ErrorResponse(ResponseValue::from_raw(body, raw))),
        None => Err(Error::UnexpectedStatus(raw)),
    }
}

/// The provider's error decoded from `raw`'s body, when the body is a JSON
/// object that fits `E`. Every provider's error is an object; requiring one
/// keeps a proxy's JSON array or string from decoding into an error whose
/// fields are all optional (and so losing the body that explains it).
fn error_body<E: serde::de::DeserializeOwned>(raw: &RawResponse) -> Option<E> {
    let first = raw.body().iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice(raw.body()).ok()
}

impl<T: serde::de::DeserializeOwned> ResponseValue<T> {
    /// Reads and decodes a response: `T` from a success, the provider's
    /// error from an error status (used by generated code for both).
    #[doc(hidden)]
    pub fn from_response<E>(
        response: reqwest::Response,
    ) -> impl Future<Output = Result<Self, Error<E>>> + Send {
        read(response).map(|raw| {
            let raw = raw?;
            if raw.status().is_success() {
                return decode_success(raw);
            }
            match error_body(&raw) {
                Some(inner) => Ok(Self::from_raw(inner, raw)),
                // An error status whose body is not the documented error shape.
                None => Err(Error::UnexpectedStatus(raw)),
            }
        })
    }
}

impl ResponseValue<()> {
    #[doc(hidden)]
    pub fn empty(response: reqwest::Response) -> Self {
        ResponseValue::new((), response.status(), response.headers().clone())
            .with_context(Context::of(&response))
    }
}

impl ResponseValue<ByteStream> {
    #[doc(hidden)]
    pub fn stream(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let context = Context::of(&response);
        let mut response = response;
        let bytes: ByteStream = match response.extensions_mut().remove::<Buffered>() {
            Some(Buffered(body)) => ByteStream::new(Box::pin(futures::stream::once(
                std::future::ready(Ok(body)),
            ))),
            None => ByteStream::of_response(response),
        };
        ResponseValue::new(bytes, status, headers).with_context(context)
    }
}

#[allow(non_snake_case)]
impl<E> Error<E> {
    /// Progenitor's name for a status the spec does not list; codegen routes
    /// those through [`unlisted`] instead, this stays for other shapes.
    #[doc(hidden)]
    pub fn UnexpectedResponse(response: reqwest::Response) -> Self {
        Error::UnexpectedStatus(raw_from_buffered(response))
    }
}

/// Status, headers and whole body of a response. (The body is in memory
/// already for every response of a regkit client, so the future is small
/// and ready at once.)
fn read<E>(
    mut response: reqwest::Response,
) -> impl Future<Output = Result<RawResponse, Error<E>>> + Send {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let context = Context::of(&response);
    crate::body::take(response).map(move |body| match body {
        Ok(body) => Ok(RawResponse::new(status, headers, body, context)),
        Err(e) => {
            let failed = RequestError::transport(e, context.method().cloned());
            Err(Error::Request(match context.origin() {
                Some(origin) => failed.at(origin),
                None => failed,
            }))
        }
    })
}

/// Status, headers and body of a response whose body the pipeline already
/// buffered (so this needs no await).
pub(crate) fn raw_from_buffered(mut response: reqwest::Response) -> RawResponse {
    let context = Context::of(&response);
    if let Some(Buffered(body)) = response.extensions_mut().remove::<Buffered>() {
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        return RawResponse::new(status, headers, body, context);
    }
    let response: http::Response<reqwest::Body> = response.into();
    let (parts, body) = response.into_parts();
    let bytes = body
        .as_bytes()
        .map(Bytes::copy_from_slice)
        .unwrap_or_default();
    RawResponse::new(parts.status, parts.headers, bytes, context)
}

#[cfg(test)]
mod tests {
    use super::Reading;
    use reqwest::Method;

    #[test]
    fn each_method_has_its_reading() {
        assert_eq!(Reading::of(Some(&Method::GET)), Reading::Read);
        assert_eq!(Reading::of(Some(&Method::HEAD)), Reading::Read);
        assert_eq!(Reading::of(Some(&Method::DELETE)), Reading::Delete);
        for write in [Method::POST, Method::PUT, Method::PATCH] {
            assert_eq!(Reading::of(Some(&write)), Reading::Write);
        }
        // A response that came through no regkit client: read leniently.
        assert_eq!(Reading::of(None), Reading::Write);
    }
}
