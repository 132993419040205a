//! A response body as a stream of chunks: what a generated operation whose
//! answer is not JSON (a download, a log) returns.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};

/// The stream a [`ByteStream`] wraps.
pub type InnerByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// An untyped body, chunk by chunk (`futures::StreamExt` works on it
/// through `Deref`).
pub struct ByteStream(InnerByteStream);

impl ByteStream {
    /// Wraps a stream (for test fixtures, say).
    pub fn new(inner: InnerByteStream) -> Self {
        Self(inner)
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> InnerByteStream {
        self.0
    }

    /// The body of `response`, read chunk by chunk as the caller polls.
    /// Reading ends after the first error; an ended stream stays ended
    /// (polled again, it answers `None`).
    pub(crate) fn of_response(response: reqwest::Response) -> Self {
        let chunks = futures::stream::unfold(Some(response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        Self::new(Box::pin(chunks.fuse()))
    }
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteStream").finish_non_exhaustive()
    }
}

impl Deref for ByteStream {
    type Target = InnerByteStream;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for ByteStream {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ByteStream;
    use futures::StreamExt as _;

    /// A body that was not buffered (a caller's layer rebuilt it) streams
    /// whole, then ends.
    #[tokio::test]
    async fn an_unbuffered_body_streams_whole_then_ends() {
        let body = vec![7u8; 100_000];
        let response = reqwest::Response::from(http::Response::new(body.clone()));
        let mut stream = ByteStream::of_response(response);
        let mut got = Vec::new();
        while let Some(chunk) = stream.next().await {
            got.extend_from_slice(&chunk.expect("an in-memory body reads"));
        }
        assert_eq!(got, body);
        assert!(stream.next().await.is_none(), "ended streams stay ended");
    }
}
