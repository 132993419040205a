//! Reading each attempt's whole body, with a size bound, before the attempt
//! counts as done. A body that stalls past the attempt's timeout, or a
//! connection cut mid-body, is then a failed attempt that the retry loop
//! classifies like any other transport failure.

use bytes::{Bytes, BytesMut};
use reqwest::Response;
#[cfg(feature = "layers")]
use reqwest::ResponseBuilderExt as _;
use reqwest::header::CONTENT_LENGTH;

use crate::RequestError;
use crate::sent::{Failure, Sent};

/// A response's whole body, read by [`buffer`]. It rides in the
/// response's extensions (the response itself keeps its spent body), so
/// regkit's own readers take it without a second pass through reqwest's
/// body machinery; [`rebuild`] puts it back as a real body for callers'
/// middleware layers.
#[derive(Clone, Debug)]
pub(crate) struct Buffered(pub(crate) Bytes);

/// Reads the whole body, refusing more than `limit` bytes, and hands back
/// the response with the body in memory (a [`Buffered`] extension), so
/// errors can keep it. A transport failure stays a reqwest error, for the
/// retry loop to classify. (A function that returns its future, rather than
/// an `async fn`, so the future holds the response once, not twice.)
pub(crate) fn buffer(mut response: Response, limit: usize) -> impl Future<Output = Sent> + Send {
    let too_large = move || {
        Failure::Refused(RequestError::ResponseTooLarge {
            limit,
            origin: None,
        })
    };
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    async move {
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // Small bodies arrive in one chunk: keep it as it came, no copy.
        let mut first: Option<Bytes> = None;
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(Failure::Transport)? {
            let held = first.as_ref().map_or(0, Bytes::len) + body.len();
            if held.saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            match first.take() {
                None if body.is_empty() => first = Some(chunk),
                earlier => {
                    if let Some(earlier) = earlier {
                        body.reserve(declared.unwrap_or(0).min(1 << 20) as usize);
                        body.extend_from_slice(&earlier);
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
        let body = first.unwrap_or_else(|| body.freeze());
        response.extensions_mut().insert(Buffered(body));
        Ok(response)
    }
}

/// The buffered body back in place as the response's own body, for code
/// that reads responses the ordinary way (callers' middleware layers).
#[cfg(feature = "layers")]
pub(crate) fn rebuild(mut response: Response) -> Response {
    let Some(Buffered(body)) = response.extensions_mut().remove::<Buffered>() else {
        return response;
    };
    // The URL goes along as an extension, so reqwest does not parse a
    // placeholder URL for the rebuilt response.
    let mut rebuilt = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(response.url().clone())
        .body(body)
        .expect("status and version come from a valid response");
    *rebuilt.headers_mut() = std::mem::take(response.headers_mut());
    rebuilt
        .extensions_mut()
        .extend(std::mem::take(response.extensions_mut()));
    Response::from(rebuilt)
}

/// Takes the whole body: the buffered one, at once, or (for a response
/// that did not come through [`buffer`]) what reqwest reads, in a boxed
/// future, since reqwest's reader is large and a regkit client's response
/// never needs it.
pub(crate) fn take(mut r: Response) -> impl Future<Output = reqwest::Result<Bytes>> + Send {
    use futures::future::Either;
    match r.extensions_mut().remove::<Buffered>() {
        Some(Buffered(body)) => Either::Left(std::future::ready(Ok(body))),
        None => Either::Right(Box::pin(r.bytes())),
    }
}
