//! What provider modules build their APIs from: the route table entry, the
//! operation a request belongs to, extractors that answer bad input with
//! the provider's own error body, and paging helpers.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::Provider;
use crate::server::Shared;

/// One operation of a provider's spec: its `operationId`, method and path
/// (as the spec spells it, `{param}` included) and its handler.
pub(crate) struct Route {
    pub operation: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<Shared>,
}

impl Route {
    pub(crate) fn new(
        operation: &'static str,
        method: Method,
        path: &'static str,
        handler: MethodRouter<Shared>,
    ) -> Self {
        Route {
            operation,
            method,
            path,
            handler,
        }
    }
}

/// Which operation a request is (set by the server before the handler runs;
/// extractors and handlers read it from the request's extensions).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub provider: Provider,
    pub operation: &'static str,
}

impl Op {
    /// The provider's error response with this status and message.
    pub(crate) fn error(&self, status: StatusCode, message: &str) -> Response {
        crate::providers::error(self.provider, status, message)
    }

    /// The provider's answer to a request that breaks its schema.
    pub(crate) fn invalid(&self, message: &str) -> Response {
        crate::providers::invalid(self.provider, message)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Op {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Op>()
            .copied()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// A JSON request body decoded into the provider crate's generated type: a
/// missing required field, a wrong type or a value outside the schema's
/// enum is the provider's "invalid request" answer, never a 500.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let op = req.extensions().get::<Op>().copied();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(op) = op else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(op.invalid("the request needs a JSON body"));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| op.invalid(&body_error(&e)))
    }
}

/// A JSON request body that may be absent (an empty body is `None`).
pub(crate) struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let op = req.extensions().get::<Op>().copied();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(op) = op else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| OptionalBody(Some(v)))
            .map_err(|e| op.invalid(&body_error(&e)))
    }
}

/// The message for a body that does not decode. serde quotes the offending
/// value (`invalid type: string "hunter2"`, ``unknown variant `x` ``), and
/// a body may carry a credential, which the emulator never echoes: values
/// are left out, the field and what was expected stay.
pub(crate) fn body_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let mut out = String::from("invalid request body: ");
    for (i, part) in message.split('"').enumerate() {
        out.push_str(if i % 2 == 1 { "\"…\"" } else { part });
    }
    match out.split_once("unknown variant `") {
        Some((head, tail)) => {
            let rest = tail.split_once('`').map_or("", |(_, rest)| rest);
            format!("{head}unknown variant{rest}")
        }
        None => out,
    }
}

/// Query parameters decoded into a struct; a value of the wrong type is the
/// provider's "invalid request" answer.
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let op = Op::from_request_parts(parts, state).await?;
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| op.invalid(&format!("invalid query parameter: {}", e.body_text())))
    }
}

/// The URL this request was made to, as the client saw it (scheme, host and
/// the provider prefix included), for absolute links in `Link` headers and
/// `links.pages`.
pub(crate) struct RequestUrl {
    /// `http://host:port/<provider>/<path>`, without the query.
    pub without_query: String,
    /// The query pairs, in order.
    pub query: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestUrl {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let query = uri
            .query()
            .map(|q| {
                url_pairs(q)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(RequestUrl {
            without_query: format!("http://{host}{}", uri.path()),
            query,
        })
    }
}

impl RequestUrl {
    /// This URL with `set` replacing (or adding) query parameters.
    pub(crate) fn with(&self, set: &[(&str, String)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
            .cloned()
            .collect();
        pairs.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}?{}", self.without_query, query.join("&"))
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything but RFC 3986's unreserved characters is escaped.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// One page of `items` (1-based `page`), and the number of pages.
pub(crate) fn page_of<T>(items: &[T], page: u64, per_page: u64) -> (&[T], u64) {
    let per_page = per_page.max(1);
    let pages = (items.len() as u64).div_ceil(per_page).max(1);
    let start = page.saturating_sub(1).saturating_mul(per_page);
    let start = usize::try_from(start)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let end = start
        .saturating_add(usize::try_from(per_page).unwrap_or(usize::MAX))
        .min(items.len());
    (&items[start..end], pages)
}

/// `offset`/`limit` slice of `items`.
pub(crate) fn slice_of<T>(items: &[T], offset: u64, limit: u64) -> &[T] {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(items.len());
    &items[start..end]
}

/// An RFC 8288 `Link` header with `first`, `prev`, `next` and `last`, as
/// GitHub-style paged APIs (Buildkite) send it.
pub(crate) fn link_header(url: &RequestUrl, page: u64, pages: u64, per_page: u64) -> HeaderMap {
    let mut links = Vec::new();
    let at = |p: u64| url.with(&[("page", p.to_string()), ("per_page", per_page.to_string())]);
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", at(1)));
        links.push(format!("<{}>; rel=\"prev\"", at(page - 1)));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", at(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", at(pages)));
    }
    let mut headers = HeaderMap::new();
    if let Some(v) = (!links.is_empty())
        .then(|| HeaderValue::from_str(&links.join(", ")).ok())
        .flatten()
    {
        headers.insert(header::LINK, v);
    }
    headers
}

/// A JSON answer with this status.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the emulator could not encode its answer: {e}"),
        )
            .into_response(),
    }
}

/// `204 No Content`.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_never_echo_a_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct B {
            n: u8,
            kind: Kind,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Kind {
            A,
        }
        for body in [
            r#"{"n": "hunter2", "kind": "A"}"#,
            r#"{"n": 1, "kind": "hunter2"}"#,
        ] {
            let e = serde_json::from_str::<B>(body).unwrap_err();
            let text = body_error(&e);
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.starts_with("invalid request body: "), "{text}");
        }
    }

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..25).collect();
        let (p1, pages) = page_of(&items, 1, 10);
        assert_eq!((p1.len(), pages), (10, 3));
        assert_eq!(page_of(&items, 3, 10).0, &[20, 21, 22, 23, 24]);
        assert!(page_of(&items, 4, 10).0.is_empty());
        assert!(page_of(&items, u64::MAX, u64::MAX).0.is_empty());
        assert_eq!(page_of::<u32>(&[], 1, 10).1, 1);
        assert_eq!(slice_of(&items, 20, 100).len(), 5);
        assert!(slice_of(&items, u64::MAX, 1).is_empty());
    }

    #[test]
    fn query_text_round_trips() {
        let url = RequestUrl {
            without_query: "http://h/buildkite/x".into(),
            query: url_pairs("a=b%20c&page=2&q=%E2%9C%93"),
        };
        assert_eq!(url.query[0], ("a".into(), "b c".into()));
        assert_eq!(url.query[2].1, "✓");
        assert_eq!(
            url.with(&[("page", "3".into())]),
            "http://h/buildkite/x?a=b%20c&q=%E2%9C%93&page=3"
        );
    }
}
