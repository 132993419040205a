//! What sending one request brings back: a response, or why there is
//! none. The call loop, the body reader and the retry classifier all speak
//! it, so it sits beneath them.

use reqwest::Response;

use crate::RequestError;

/// Why an attempt brought back no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The transport failed (for the retry classifier to judge).
    Transport(reqwest::Error),
    /// regkit refused (insecure transport, body bound), or a caller's layer
    /// below failed: never retried.
    Refused(RequestError),
}

impl Failure {
    /// The failure as the pipeline reports it.
    pub(crate) fn into_request_error(self, method: &reqwest::Method) -> RequestError {
        match self {
            Self::Transport(e) => RequestError::transport(e, Some(method.clone())),
            Self::Refused(e) => e,
        }
    }
}

/// What came back up a caller's middleware chain: reqwest's failure, or a
/// layer's (regkit's own refusal carried through the chain included).
#[cfg(feature = "layers")]
impl From<reqwest_middleware::Error> for Failure {
    fn from(e: reqwest_middleware::Error) -> Self {
        match e {
            reqwest_middleware::Error::Reqwest(e) => Self::Transport(e),
            reqwest_middleware::Error::Middleware(e) => Self::Refused(RequestError::from_layer(e)),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => e.fmt(f),
            Self::Refused(e) => e.fmt(f),
        }
    }
}

/// What an attempt, or one hop of it, brings back.
pub(crate) type Sent = Result<Response, Failure>;
