//! The retry policy: exponential backoff with full jitter, a total time
//! budget, and the server's own `Retry-After` / rate-limit reset hints.
//! The loop that applies it is `crate::call`.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use crate::classify::{Outcome, RetryAction, classify};
use crate::sent::{Failure, Sent};
use crate::{RateLimitReset, ResetKind};

/// When and how often a request is tried again.
///
/// Defaults: 4 attempts in all, backoff starting at 200 ms and doubling up to
/// 20 s, with full jitter (each wait is uniform between zero and that
/// ceiling), and a 60 s budget across all attempts and waits. A server's
/// `Retry-After` (seconds or HTTP date) or rate-limit reset header replaces
/// the computed wait; a wait that would end past the budget is not taken.
///
/// What is retried is decided by [`classify`](crate::classify) (the same rule
/// [`Error::is_retryable`](crate::Error::is_retryable) answers with):
/// - GET, HEAD, PUT, DELETE, OPTIONS: connection failures, timeouts, bodies
///   cut off or stalled, and 408, 429, 500, 502, 503, 504.
/// - POST, PATCH: only when the request cannot have been processed: the
///   connection was never established, or the server answered 429.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in all, including the first (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Ceiling of the first wait; it doubles with each retry.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Largest computed wait.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Total time for all attempts and waits of one operation call.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Full-jitter wait before attempt `attempt + 1`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let ceiling = exp.min(self.max_backoff);
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64()).unwrap_or(ceiling)
    }
}

/// Counts attempts of one operation call, for its tracing span.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempts(pub(crate) Arc<AtomicU32>);

/// What the one classifier (`crate::classify`) says of this attempt.
pub(crate) fn action(method: &Method, result: &Sent) -> RetryAction {
    let outcome = match result {
        Ok(response) => Outcome::Status(response.status()),
        Err(Failure::Transport(e)) => Outcome::Transport(e),
        // Our own refusals (insecure transport, body bound) and caller
        // layers' errors.
        Err(Failure::Refused(_)) => Outcome::Refused,
    };
    classify(method, outcome)
}

/// `Retry-After` as seconds or an HTTP date. Any value parses or is
/// ignored; none panics (dates in the past are zero).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, SystemTime::now())
}

pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn reset_hint(headers: &HeaderMap, reset: &RateLimitReset) -> Option<Duration> {
    let value = headers.get(reset.header)?.to_str().ok()?;
    parse_reset(value, reset.kind, SystemTime::now())
}

/// A rate-limit reset header's value as a wait. An epoch too far in the
/// future to represent is an unbounded wait (which no budget allows).
pub(crate) fn parse_reset(value: &str, kind: ResetKind, now: SystemTime) -> Option<Duration> {
    let value: u64 = value.trim().parse().ok()?;
    Some(match kind {
        ResetKind::DeltaSeconds => Duration::from_secs(value),
        ResetKind::EpochSeconds => SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(value))
            .map_or(Duration::MAX, |at| {
                at.duration_since(now).unwrap_or(Duration::ZERO)
            }),
    })
}

/// Whether waiting `wait` after `elapsed` still ends within `budget`.
pub(crate) fn fits_budget(elapsed: Duration, wait: Duration, budget: Duration) -> bool {
    elapsed.checked_add(wait).is_some_and(|end| end <= budget)
}

/// The server's own hint of how long to wait: `Retry-After`, or on a 429
/// the provider's rate-limit reset header.
pub(crate) fn server_hint(
    result: &Sent,
    rate_limit_reset: Option<&RateLimitReset>,
) -> Option<Duration> {
    let response = result.as_ref().ok()?;
    hint(response.status(), response.headers(), rate_limit_reset)
}

/// [`server_hint`] for an answer already received (an error's status and
/// headers): the same rule, so an error's `retry_after` says what the retry
/// loop would have waited.
pub(crate) fn hint(
    status: StatusCode,
    headers: &HeaderMap,
    rate_limit_reset: Option<&RateLimitReset>,
) -> Option<Duration> {
    retry_after(headers).or_else(|| {
        let reset = rate_limit_reset?;
        (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| reset_hint(headers, reset))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_by_the_exponential_ceiling() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1));
        for _ in 0..100 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(3) <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn any_duration() -> impl Strategy<Value = Duration> {
            prop_oneof![
                (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
                Just(Duration::MAX),
                Just(Duration::ZERO),
            ]
        }

        fn any_time() -> impl Strategy<Value = SystemTime> {
            (0u64..=253_402_300_799).prop_map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        }

        proptest! {
            #[test]
            fn retry_after_never_panics(value in prop_oneof![
                any::<u64>().prop_map(|n| n.to_string()),
                "[ -~]{0,40}",
                any::<String>(),
            ], now in any_time()) {
                if let Some(wait) = parse_retry_after(&value, now)
                    && let Ok(n) = value.trim().parse::<u64>()
                {
                    prop_assert_eq!(wait, Duration::from_secs(n));
                }
            }

            #[test]
            fn reset_headers_never_panic(value in prop_oneof![
                any::<u64>().prop_map(|n| n.to_string()),
                "[ -~]{0,40}",
            ], now in any_time()) {
                let _ = parse_reset(&value, ResetKind::DeltaSeconds, now);
                if let Some(wait) = parse_reset(&value, ResetKind::EpochSeconds, now) {
                    // Past epochs are zero; the future is a wait from now.
                    let n: u64 = value.trim().parse().unwrap();
                    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(n));
                    match at {
                        Some(at) if at <= now => prop_assert_eq!(wait, Duration::ZERO),
                        Some(at) => prop_assert_eq!(now + wait, at),
                        None => prop_assert_eq!(wait, Duration::MAX),
                    }
                }
            }

            #[test]
            fn budget_arithmetic_saturates(
                elapsed in any_duration(),
                wait in any_duration(),
                budget in any_duration(),
            ) {
                let fits = fits_budget(elapsed, wait, budget);
                let exact = elapsed.as_secs_f64() + wait.as_secs_f64() <= budget.as_secs_f64();
                if fits {
                    prop_assert!(elapsed.checked_add(wait).is_some());
                    prop_assert!(exact || (elapsed + wait).as_secs_f64() <= budget.as_secs_f64());
                }
            }

            #[test]
            fn backoff_never_panics_and_stays_under_its_ceiling(
                attempt in any::<u32>(),
                initial in any_duration(),
                max in any_duration(),
            ) {
                let p = RetryPolicy::default().initial_backoff(initial).max_backoff(max);
                prop_assert!(p.backoff(attempt) <= max);
            }
        }
    }
}
