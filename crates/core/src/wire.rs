//! The rules a hand-written client shares with the generated ones, for
//! clients that cannot go through the generated pipeline (the OCI data
//! plane streams blobs and answers its own auth challenges): when to try
//! again and how long to wait, which redirects keep credentials, and
//! where plain HTTP may carry them. Each is the same function the
//! generated clients' call layer uses, so the two kinds of client cannot
//! drift apart.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};

use crate::{RateLimitReset, RetryPolicy};

pub use crate::redirect::MAX_REDIRECTS;

/// Makes sure TLS is ready before a hand-written client builds its
/// `reqwest::Client` (with `rustls-ring`, installs ring as the process's
/// rustls provider unless the application installed one).
pub fn prepare_tls() {
    crate::tls::prepare();
}

/// Whether two URLs share scheme, host and port: a credential may follow
/// a redirect only between URLs of one origin.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    crate::redirect::same_origin(a, b)
}

/// Whether `url` is loopback (`localhost`, 127.0.0.0/8, `::1`): the only
/// place a credential may travel over plain HTTP.
pub fn is_loopback(url: &Url) -> bool {
    crate::auth::is_loopback(url)
}

/// The server's own hint of how long to wait before trying again:
/// `Retry-After` (seconds or an HTTP date), or on a 429 the provider's
/// rate-limit reset header.
pub fn server_wait(
    status: StatusCode,
    headers: &HeaderMap,
    rate_limit_reset: Option<&RateLimitReset>,
) -> Option<Duration> {
    crate::retry::hint(status, headers, rate_limit_reset)
}

/// A rate-limit reset header's value as a wait (`None` when it does not
/// parse).
pub fn reset_wait(value: &str, reset: &RateLimitReset) -> Option<Duration> {
    crate::retry::parse_reset(value, reset.kind, std::time::SystemTime::now())
}

/// How long to pause before the next request when `headers` say the
/// rate limit is spent: the `-remaining` header beside the provider's
/// reset header (`ratelimit-reset` → `ratelimit-remaining`) at 0, and the
/// reset's wait, at most `max`. `None` when the limit is not spent.
pub fn spent_rate_limit(
    headers: &HeaderMap,
    reset: &RateLimitReset,
    max: Duration,
) -> Option<Duration> {
    let remaining = reset.header.replace("reset", "remaining");
    let spent = headers
        .get(remaining.as_str())
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    if !spent {
        return None;
    }
    let value = headers.get(reset.header)?.to_str().ok()?;
    reset_wait(value, reset).map(|w| w.min(max))
}

impl RetryPolicy {
    /// Attempts in all, including the first.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time budget of one call, all attempts and waits together.
    pub fn time_budget(&self) -> Duration {
        self.budget
    }

    /// The jittered wait before attempt `attempt + 1`, when the server
    /// gave no hint.
    pub fn backoff_before(&self, attempt: u32) -> Duration {
        self.backoff(attempt)
    }

    /// Whether a wait of `wait` after `elapsed` still ends within the
    /// budget.
    pub fn fits(&self, elapsed: Duration, wait: Duration) -> bool {
        crate::retry::fits_budget(elapsed, wait, self.budget)
    }
}
