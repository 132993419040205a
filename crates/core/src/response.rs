//! What a call brings back, on the ground floor of the crate: a decoded
//! [`ResponseValue`], a [`RawResponse`] (status, headers, whole body), and
//! the [`Context`] the pipeline attaches to both: which provider answered,
//! to which method, and what error text must hide.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use crate::ProviderInfo;
use crate::redact::{REDACTED, Scrubber};

/// The operation a failed request belonged to: which provider, which
/// operation (as the generated client names it, `registries_get`).
#[derive(Clone, Copy)]
pub struct Origin {
    /// The provider called.
    pub provider: &'static ProviderInfo,
    /// The operation called.
    pub operation: &'static str,
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.provider.name, self.operation)
    }
}

/// Attached by the pipeline to every response it hands back, and kept by
/// the values and errors made from it. One pointer wide, so errors stay small.
#[derive(Clone, Default)]
pub(crate) struct Context(Option<ContextData>);

// Cloning is cheap (the scrubber is shared, a standard method is inline),
// so a context costs no allocation of its own.
#[derive(Clone)]
struct ContextData {
    provider: &'static ProviderInfo,
    /// The operation, as the generated client names it (`registries_get`).
    operation: &'static str,
    method: Method,
    scrubber: Scrubber,
    /// The operation's success body carries secrets: a body that fails to
    /// decode or comes with an unexpected status is withheld from error text.
    withhold_body: bool,
}

impl Context {
    pub(crate) fn new(
        provider: &'static ProviderInfo,
        operation: &'static str,
        method: Method,
        scrubber: Scrubber,
        withhold_body: bool,
    ) -> Self {
        Self(Some(ContextData {
            provider,
            operation,
            method,
            scrubber,
            withhold_body,
        }))
    }

    /// The context attached to `response` (none for a response that did not
    /// come through a regkit client).
    pub(crate) fn of(response: &reqwest::Response) -> Self {
        response
            .extensions()
            .get::<Context>()
            .cloned()
            .unwrap_or_default()
    }

    /// The provider that answered.
    pub(crate) fn provider(&self) -> Option<&'static ProviderInfo> {
        self.0.as_ref().map(|c| c.provider)
    }

    /// Provider and operation together.
    pub(crate) fn origin(&self) -> Option<Origin> {
        self.0.as_ref().map(|c| Origin {
            provider: c.provider,
            operation: c.operation,
        })
    }

    pub(crate) fn method(&self) -> Option<&Method> {
        self.0.as_ref().map(|c| &c.method)
    }

    pub(crate) fn withhold_body(&self) -> bool {
        self.0.as_ref().is_some_and(|c| c.withhold_body)
    }

    /// `text` with every configured credential replaced by `[REDACTED]`.
    pub(crate) fn scrub<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        match &self.0 {
            Some(c) => c.scrubber.scrub(text),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// The provider's request id header (from the manifest), scrubbed.
    pub(crate) fn request_id<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let names = self
            .0
            .as_ref()
            .map_or(&[][..], |c| c.provider.request_id_headers);
        names
            .iter()
            .find_map(|h| headers.get(*h)?.to_str().ok())
            .filter(|id| !self.scrub(id).contains(REDACTED))
    }
}

/// A decoded response with its status and headers.
pub struct ResponseValue<T> {
    inner: T,
    status: StatusCode,
    headers: HeaderMap,
    context: Context,
}

impl<T> ResponseValue<T> {
    /// Wraps a value (useful in tests and mocks).
    pub fn new(inner: T, status: StatusCode, headers: HeaderMap) -> Self {
        Self {
            inner,
            status,
            headers,
            context: Context::default(),
        }
    }

    pub(crate) fn from_raw(inner: T, raw: RawResponse) -> Self {
        Self {
            inner,
            status: raw.status,
            headers: raw.headers,
            context: raw.context,
        }
    }

    pub(crate) fn with_context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    pub(crate) fn context(&self) -> &Context {
        &self.context
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
            context: self.context,
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

impl<T: fmt::Debug> fmt::Debug for ResponseValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
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
    context: Context,
}

impl RawResponse {
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        context: Context,
    ) -> Self {
        Self {
            status,
            headers,
            body,
            context,
        }
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

    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    /// The body as error text may show it: withheld when the operation's
    /// response carries secrets, otherwise its start, on one line, with
    /// the client's credentials scrubbed.
    pub(crate) fn shown_body(&self) -> String {
        if self.context.withhold_body() {
            return format!(
                "[body withheld: {} bytes from an operation that returns secrets; read it with raw_body()]",
                self.body.len()
            );
        }
        self.context.scrub(&preview(&self.body)).into_owned()
    }

    pub(crate) fn request_id(&self) -> Option<&str> {
        self.context.request_id(&self.headers)
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
            .field("request_id", &self.request_id())
            .field("body", &self.shown_body())
            .finish()
    }
}
