//! The interface generated clients are compiled against: codegen plumbing,
//! not meant to be used by hand.
//!
//! Progenitor's output names `progenitor_client`; `cargo xtask codegen`
//! points it here instead, and regkit-core does not depend on
//! progenitor-client at all. This module keeps the part of progenitor's
//! interface the output still names (`ClientInfo`, `ClientHooks`,
//! `OperationInfo`, `ResponseValue`, `Error`, `encode_path`,
//! `RequestBuilderExt`, `QueryParam`, `ByteStream`; the hooks are reduced
//! to `exec`, and `then_decode` joins an operation's two halves, see the
//! `prepare_then_send` pass) and routes it into regkit's pipeline
//! (`pipeline.rs`): every request
//! goes through the client's middleware stack, every response decodes by
//! one set of rules, and path parameters are checked before a URL is built.

pub use crate::byte_stream::{ByteStream, InnerByteStream};
pub use crate::error::Error;
use crate::error::RequestError;
pub use crate::path::{InvalidPathParam, encode_path, encode_path_segment};
pub use crate::pattern::{Pattern, UnsupportedPattern};
pub use crate::pipeline::{send, unlisted};
pub use crate::query_param::QueryParam;
pub use crate::response::ResponseValue;

/// The operation a request belongs to.
#[derive(Debug, Clone, Copy)]
pub struct OperationInfo {
    /// The spec's `operationId`.
    pub operation_id: &'static str,
}

/// Request shapes progenitor builds with an extension method, returning
/// regkit's [`Error`] (progenitor's own returns its own error type).
pub trait RequestBuilderExt<E> {
    /// An `application/x-www-form-urlencoded` body.
    fn form_urlencoded<T: serde::Serialize + ?Sized>(
        self,
        body: &T,
    ) -> Result<reqwest::RequestBuilder, Error<E>>;
}

impl<E> RequestBuilderExt<E> for reqwest::RequestBuilder {
    fn form_urlencoded<T: serde::Serialize + ?Sized>(
        self,
        body: &T,
    ) -> Result<reqwest::RequestBuilder, Error<E>> {
        let encoded = serde_urlencoded::to_string(body)
            .map_err(|e| Error::InvalidRequest(format!("cannot encode the form body: {e}")))?;
        Ok(self
            .header(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(encoded))
    }
}

/// Implemented by every generated client (codegen plumbing).
#[doc(hidden)]
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
/// Implemented once, here, for every generated client (codegen plumbing).
#[doc(hidden)]
pub trait ClientHooks<Inner> {
    /// Hands the request to the pipeline (nothing is sent until the future
    /// is polled); the response comes back with its status, read here so
    /// the operation never borrows the response (a borrowed value keeps its
    /// room in an `async fn`'s future across every await).
    fn exec(
        &self,
        request: reqwest::Request,
        info: OperationInfo,
    ) -> impl Future<Output = Result<(u16, reqwest::Response), RequestError>> + Send;
}

impl<T: ClientInfo<crate::Inner>> ClientHooks<crate::Inner> for T {
    fn exec(
        &self,
        request: reqwest::Request,
        info: OperationInfo,
    ) -> impl Future<Output = Result<(u16, reqwest::Response), RequestError>> + Send {
        use futures::FutureExt as _;
        self.inner()
            .execute(request, info.operation_id)
            .map(|sent| sent.map(|response| (response.status().as_u16(), response)))
    }
}

/// A generated operation's future: the exchange `prepare` began (or the
/// error that stopped it before anything was sent), then `decode` of the
/// status and response. Built from combinators, each holding its future in
/// place, so the whole is hardly larger than the exchange's own future.
#[doc(hidden)]
pub fn then_decode<S, D, F, T, E>(
    prepared: Result<S, Error<E>>,
    decode: D,
) -> impl Future<Output = Result<T, Error<E>>>
where
    S: Future<Output = Result<(u16, reqwest::Response), RequestError>>,
    D: FnOnce(u16, reqwest::Response) -> F,
    F: Future<Output = Result<T, Error<E>>>,
{
    use futures::future::{Either, FutureExt as _, TryFutureExt as _};
    match prepared {
        Ok(sending) => Either::Left(
            sending
                .err_into()
                .and_then(move |(status, response)| decode(status, response)),
        ),
        // Only the error is kept, not room for a whole answer.
        Err(e) => Either::Right(std::future::ready(e).map(Err)),
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

/// Reads an optional field whose type can hold `null` itself: a JSON `null`
/// is `Some(T::Null)`, not `None` (a missing field stays `None` through
/// `#[serde(default)]`). Codegen puts it on such fields.
#[doc(hidden)]
pub fn null_is_a_value<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A field of a provider's error body as message text (generated
/// `ErrorMetadata` impls read fields through it, required or optional).
pub trait ErrorText {
    /// The text, when present and not empty.
    fn error_text(&self) -> Option<String>;
}

impl ErrorText for String {
    fn error_text(&self) -> Option<String> {
        (!self.trim().is_empty()).then(|| self.clone())
    }
}

impl<T: ErrorText> ErrorText for Option<T> {
    fn error_text(&self) -> Option<String> {
        self.as_ref()?.error_text()
    }
}

/// A list field of a provider's error body, required or optional.
pub trait ErrorItems<T> {
    /// The items (none when the field is absent).
    fn error_items(&self) -> &[T];
}

impl<T> ErrorItems<T> for Vec<T> {
    fn error_items(&self) -> &[T] {
        self
    }
}

impl<T> ErrorItems<T> for Option<Vec<T>> {
    fn error_items(&self) -> &[T] {
        self.as_deref().unwrap_or_default()
    }
}

/// The present texts, joined with "; " (none when there are none).
pub fn join_texts(texts: impl Iterator<Item = Option<String>>) -> Option<String> {
    let texts: Vec<String> = texts.flatten().collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_encoded_with_regkits_error() {
        #[derive(serde::Serialize)]
        struct Form<'a> {
            name: &'a str,
            n: u8,
        }
        crate::tls::prepare();
        let builder = reqwest::Client::new().post("http://localhost/x");
        let request = RequestBuilderExt::<()>::form_urlencoded(
            builder,
            &Form {
                name: "a b&c",
                n: 1,
            },
        )
        .unwrap()
        .build()
        .unwrap();
        let body = request.body().and_then(|b| b.as_bytes()).unwrap();
        assert_eq!(body, b"name=a+b%26c&n=1");
        assert_eq!(
            request.headers()[reqwest::header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        // A body that is not a flat map is refused before anything is sent.
        let builder = reqwest::Client::new().post("http://localhost/x");
        let err = RequestBuilderExt::<()>::form_urlencoded(builder, &vec![vec![1]]).unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)));
    }
}
