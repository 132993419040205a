//! The one pagination engine behind every generated `stream()` method.
//!
//! Codegen reads each list operation's `x-regkit-pagination` extension and
//! emits a small `split` function: given the request builder and a decoded
//! page, it returns the page's items and, when there is a next page, the
//! marker that names it and the builder for it. This module turns that into
//! a lazy stream: one request at a time, only when the consumer has used up
//! the previous page; retries apply per page (each page is an ordinary
//! operation call); an error is yielded once and ends the stream; a server
//! that hands back a next-page marker this walk already followed (the same
//! one twice, or a cycle A → B → A) gets an error instead of an endless
//! loop.

use std::collections::{HashSet, VecDeque};
use std::future::Future;

use futures::Stream;
use reqwest::header::HeaderMap;

use crate::{Error, ResponseValue};

/// What a page yields: its items, and the marker and request of the next
/// page, if there is one.
#[derive(Debug)]
pub struct Page<T, B> {
    /// Items of this page, in order.
    pub items: Vec<T>,
    /// Marker of the next page (page number, token, offset…) and the
    /// request that fetches it.
    pub next: Option<(String, B)>,
}

struct State<B, T, F, S> {
    next: Option<B>,
    buffer: VecDeque<T>,
    /// Every next-page marker this walk has followed.
    seen: HashSet<String>,
    fetch: F,
    split: S,
}

/// Streams the items of every page, starting with the request `first`.
///
/// `fetch` sends one request; `split` reads a page. Nothing is sent until
/// the stream is first polled.
pub fn paginate<'a, B, P, T, E, F, Fut, S>(
    first: B,
    fetch: F,
    split: S,
) -> impl Stream<Item = Result<T, Error<E>>> + Unpin + 'a
where
    B: Clone + 'a,
    T: 'a,
    E: 'a,
    P: 'a,
    F: Fn(B) -> Fut + 'a,
    Fut: Future<Output = Result<ResponseValue<P>, Error<E>>> + 'a,
    S: Fn(&B, ResponseValue<P>) -> Result<Page<T, B>, String> + 'a,
{
    let state = State {
        next: Some(first),
        buffer: VecDeque::new(),
        seen: HashSet::new(),
        fetch,
        split,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((Ok(item), state));
            }
            let request = state.next.take()?;
            let response = match (state.fetch)(request.clone()).await {
                Ok(response) => response,
                Err(e) => return Some((Err(e), state)),
            };
            let page = match (state.split)(&request, response) {
                Ok(page) => page,
                Err(why) => return Some((Err(Error::Pagination(why)), state)),
            };
            state.buffer.extend(page.items);
            if let Some((marker, next)) = page.next {
                if !state.seen.insert(marker.clone()) {
                    let why = format!(
                        "the server returned the next-page marker `{marker}` again; \
                         stopping instead of walking the same pages forever"
                    );
                    // The page just fetched leads back to one already
                    // walked: its items may repeat earlier ones, drop them.
                    state.next = None;
                    state.buffer.clear();
                    return Some((Err(Error::Pagination(why)), state));
                }
                state.next = Some(next);
            }
        }
    }))
}

/// A list field that may be absent (`Option<Vec<T>>`) or always present.
pub trait IntoItems<T> {
    /// The items, empty when the field is absent.
    fn into_items(self) -> Vec<T>;
}

impl<T> IntoItems<T> for Vec<T> {
    fn into_items(self) -> Vec<T> {
        self
    }
}

impl<T> IntoItems<T> for Option<Vec<T>> {
    fn into_items(self) -> Vec<T> {
        self.unwrap_or_default()
    }
}

/// A field that can name the next page: its text, `None` when empty.
/// Generated `stream()` methods read markers through the page's own types
/// with this, instead of re-serialising the page.
pub trait Marker {
    /// The marker text (`None` for an empty string).
    fn marker(&self) -> Option<String>;
}

impl Marker for String {
    fn marker(&self) -> Option<String> {
        (!self.is_empty()).then(|| self.clone())
    }
}

impl Marker for bool {
    fn marker(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl Marker for serde_json::Value {
    fn marker(&self) -> Option<String> {
        let text = match self {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => return None,
            other => other.to_string(),
        };
        (!text.is_empty()).then_some(text)
    }
}

macro_rules! number_markers {
    ($($t:ty),*) => {$(
        impl Marker for $t {
            fn marker(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
number_markers!(i32, i64, u32, u64, f64, std::num::NonZeroU64);

/// The value at `pointer` (RFC 6901) inside `value`, as text: strings as
/// they are, numbers and booleans in JSON form; `None` for absent, null or
/// empty.
pub fn pointer<V: serde::Serialize>(value: &V, pointer: &str) -> Option<String> {
    let json = serde_json::to_value(value).ok()?;
    let found = json.pointer(pointer)?;
    let text = match found {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => return None,
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

/// The query parameter `name` of the URL `url` (absolute or relative).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let base = reqwest::Url::parse("http://relative.invalid/").expect("static URL");
    let parsed = base.join(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
pub fn link_next(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            is_next.then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
}

/// Parses a marker into the type of the request parameter it is sent in.
pub fn parse_marker<V: std::str::FromStr>(marker: &str, param: &str) -> Result<V, String> {
    marker
        .parse()
        .map_err(|_| format!("next-page marker `{marker}` is not a valid `{param}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_link_headers_and_query_params() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            r#"<https://api.example.com/x?page=1>; rel="prev", <https://api.example.com/x?page=3&per_page=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        let next = link_next(&h).unwrap();
        assert_eq!(query_param(&next, "page").as_deref(), Some("3"));
        assert_eq!(
            query_param("/v2/x?page_token=abc%3D", "page_token").as_deref(),
            Some("abc=")
        );
        assert_eq!(query_param("/v2/x?page=", "page"), None);
    }

    #[test]
    fn pointer_reads_nested_values() {
        let v = serde_json::json!({"pages": {"next": "u"}, "n": 3, "b": false, "z": null});
        assert_eq!(pointer(&v, "/pages/next").as_deref(), Some("u"));
        assert_eq!(pointer(&v, "/n").as_deref(), Some("3"));
        assert_eq!(pointer(&v, "/b").as_deref(), Some("false"));
        assert_eq!(pointer(&v, "/z"), None);
        assert_eq!(pointer(&v, "/missing"), None);
    }
}
