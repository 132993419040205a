//! Reading each attempt's whole body, with a size bound, before the attempt
//! counts as done. A body that stalls past the attempt's timeout, or a
//! connection cut mid-body, is then a failed attempt that the retry loop
//! classifies like any other transport failure.

use bytes::{Bytes, BytesMut};
use reqwest::Response;
use reqwest::header::CONTENT_LENGTH;

use crate::RequestError;

/// Reads the whole body, refusing more than `limit` bytes, and hands back a
/// response whose body is in memory (so errors can keep it). A transport
/// failure stays a reqwest error, for the retry loop to classify.
pub(crate) async fn buffer(
    mut response: Response,
    limit: usize,
) -> reqwest_middleware::Result<Response> {
    let too_large =
        || reqwest_middleware::Error::middleware(RequestError::ResponseTooLarge { limit });
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let mut rebuilt = http::Response::new(Bytes::from(body));
    *rebuilt.status_mut() = response.status();
    *rebuilt.version_mut() = response.version();
    *rebuilt.headers_mut() = std::mem::take(response.headers_mut());
    *rebuilt.extensions_mut() = std::mem::take(response.extensions_mut());
    Ok(Response::from(rebuilt))
}
