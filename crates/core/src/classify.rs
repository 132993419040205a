//! The one retry classifier: given the method and the outcome of an
//! attempt, may it be tried again? The retry loop uses it to decide, and
//! [`Error::is_retryable`](crate::Error::is_retryable) uses it to answer,
//! so the two never disagree.

use reqwest::{Method, StatusCode};

/// What became of one attempt.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// A response arrived with this status (its body read in full).
    Status(StatusCode),
    /// The transport failed.
    Transport(&'a reqwest::Error),
    /// regkit refused to send, or a caller's layer failed: never retried.
    Refused,
}

/// The classifier's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// Trying again may succeed and cannot do harm.
    Retry,
    /// Do not try again: the outcome is final, or the request may already
    /// have been processed.
    Stop,
}

/// GET, HEAD, PUT, DELETE and OPTIONS: sending them twice does no harm.
pub fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// The rules:
/// - 429 is retried for every method (the server did not process it);
/// - 408, 500, 502, 503, 504 are retried for idempotent methods only (other
///   5xx, such as 501, 505, 507 and 511, are final);
/// - a connection that was never established is retried for every method;
/// - timeouts and bodies cut off or stalled mid-way are retried for
///   idempotent methods only;
/// - anything regkit refused to send is final.
pub fn classify(method: &Method, outcome: Outcome<'_>) -> RetryAction {
    let retry = match outcome {
        Outcome::Status(status) => {
            status == StatusCode::TOO_MANY_REQUESTS
                || (idempotent(method) && matches!(status.as_u16(), 408 | 500 | 502 | 503 | 504))
        }
        Outcome::Transport(e) => {
            e.is_connect()
                || (idempotent(method)
                    && (e.is_timeout() || e.is_request() || e.is_body() || e.is_decode()))
        }
        Outcome::Refused => false,
    };
    if retry {
        RetryAction::Retry
    } else {
        RetryAction::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_method() {
        let all = [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::POST,
            Method::PATCH,
        ];
        for method in &all {
            for code in 100..600u16 {
                let status = StatusCode::from_u16(code).unwrap();
                let want = code == 429
                    || (idempotent(method) && matches!(code, 408 | 500 | 502 | 503 | 504));
                let got = classify(method, Outcome::Status(status)) == RetryAction::Retry;
                assert_eq!(got, want, "{method} {code}");
            }
            assert_eq!(classify(method, Outcome::Refused), RetryAction::Stop);
        }
    }
}
