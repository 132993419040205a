//! The extractors every provider's handlers read requests with: path
//! segments, query parameters, JSON bodies and the URL the client used. A
//! request they cannot read is an [`ApiError`], which the operation layer
//! renders as that provider's own error body; an undecodable path segment
//! is a 400 and a query or body that breaks the schema is the provider's
//! "invalid request" status.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::api::Op;
use crate::error::{ApiError, StatusCode, body_error};

/// The operation the server tagged this request with.
fn op_of(extensions: &axum::http::Extensions) -> Result<Op, ApiError> {
    extensions.get::<Op>().copied().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request reached a handler without its operation",
        )
    })
}

/// Path parameters, percent-decoded; one that does not decode (say,
/// `%FF`) is a 400 in the provider's error body.
pub(crate) struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("invalid path parameter: {}", e.body_text()),
            )),
        }
    }
}

/// Query parameters decoded into a struct; a value of the wrong type is the
/// provider's "invalid request" answer.
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let op = op_of(&parts.extensions)?;
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| {
                op.api
                    .invalid(format!("invalid query parameter: {}", e.body_text()))
            })
    }
}

/// The body's bytes (`None` when it is empty or only whitespace) and the
/// request's operation.
async fn body_of<S: Send + Sync>(req: Request, state: &S) -> Result<(Op, Option<Bytes>), ApiError> {
    let op = op_of(req.extensions())?;
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let present = !bytes.iter().all(u8::is_ascii_whitespace);
    Ok((op, present.then_some(bytes)))
}

/// A JSON request body decoded into the provider crate's generated type: a
/// missing required field, a wrong type or a value outside the schema's
/// enum is the provider's "invalid request" answer, never a 500.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (op, bytes) = body_of(req, state).await?;
        let bytes = bytes.ok_or_else(|| op.api.invalid("the request needs a JSON body"))?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| op.api.invalid(body_error(&e)))
    }
}

/// A JSON request body that may be absent (an empty body is `None`).
pub(crate) struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (op, bytes) = body_of(req, state).await?;
        let Some(bytes) = bytes else {
            return Ok(OptionalBody(None));
        };
        serde_json::from_slice(&bytes)
            .map(|v| OptionalBody(Some(v)))
            .map_err(|e| op.api.invalid(body_error(&e)))
    }
}

/// The URL this request was made to, as the client saw it (scheme, host and
/// the provider prefix included), for absolute links in `Link` headers and
/// paging links in bodies.
pub(crate) struct RequestUrl {
    /// `http://host:port/<provider>/<path>`, without the query.
    pub without_query: String,
    /// The query pairs, in order.
    pub query: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestUrl {
    type Rejection = ApiError;

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
        Ok(RequestUrl {
            without_query: format!("http://{host}{}", uri.path()),
            query: uri.query().map(url_pairs).unwrap_or_default(),
        })
    }
}

impl RequestUrl {
    /// This URL with `set` replacing (or adding) query parameters.
    pub(crate) fn with(&self, set: &[(&str, String)]) -> String {
        self.replacing(&[], set)
    }

    /// This URL without the `drop` parameters and with `set` replacing (or
    /// adding) parameters; no `?` when no parameter is left.
    pub(crate) fn replacing(&self, drop: &[&str], set: &[(&str, String)]) -> String {
        let query: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(set.iter().map(|(k, v)| (*k, v.as_str())))
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        if query.is_empty() {
            self.without_query.clone()
        } else {
            format!("{}?{}", self.without_query, query.join("&"))
        }
    }

    /// `http://host:port/<provider>`: the API root the client used.
    pub(crate) fn api_root(&self) -> String {
        let u = &self.without_query;
        let after_host = u.find("://").map_or(0, |i| i + 3);
        let path = u[after_host..]
            .find('/')
            .map_or(u.len(), |i| after_host + i);
        let prefix_end = u[path + 1..]
            .find('/')
            .map_or(u.len(), |i| path + 1 + i)
            .min(u.len());
        u[..prefix_end].trim_end_matches('/').to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            url.replacing(&["a", "page", "q"], &[]),
            "http://h/buildkite/x"
        );
        assert_eq!(url.api_root(), "http://h/buildkite");
    }
}
