//! Fault injection: rules that make chosen requests fail the way real
//! services fail, deterministically from the emulator's seed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::provider::Provider;

/// What a matching request gets instead of (or on top of) its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// `429 Too Many Requests` in the provider's error body, with
    /// `Retry-After` (and the provider's rate-limit headers where it sends
    /// them: DigitalOcean and Buildkite `ratelimit-*`).
    RateLimit {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// An error status (a 5xx, usually) in the provider's error body.
    Status {
        /// The status code.
        status: u16,
    },
    /// The answer comes late (real time, not the virtual clock).
    Latency {
        /// Milliseconds to wait before handling the request.
        millis: u64,
    },
    /// The connection is closed before any byte of the answer.
    Reset,
    /// The answer's headers promise the whole body, then the connection
    /// closes halfway through it.
    Truncate,
}

/// A fault and which requests it hits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Only this provider's requests (all when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Only this operation (its spec `operationId`; all when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Requests it hits before it is spent (forever when `None`): a burst
    /// of `times` in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Matching requests to let through unharmed before it starts hitting.
    #[serde(default)]
    pub after: u32,
    /// Chance that a matching request is hit, drawn from the seed (1.0:
    /// every one).
    #[serde(default = "one")]
    pub probability: f64,
}

fn one() -> f64 {
    1.0
}

impl FaultRule {
    /// Hits every request, forever, until narrowed.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            fault,
            provider: None,
            operation: None,
            times: None,
            after: 0,
            probability: 1.0,
        }
    }

    /// `429` with `Retry-After: secs`.
    pub fn rate_limit(retry_after: Duration) -> Self {
        Self::new(Fault::RateLimit {
            retry_after_secs: retry_after.as_secs(),
        })
    }

    /// An error status such as 503.
    pub fn status(status: u16) -> Self {
        Self::new(Fault::Status { status })
    }

    /// Added latency.
    pub fn latency(by: Duration) -> Self {
        Self::new(Fault::Latency {
            millis: by.as_millis().try_into().unwrap_or(u64::MAX),
        })
    }

    /// A connection closed before the answer.
    pub fn reset() -> Self {
        Self::new(Fault::Reset)
    }

    /// A body cut in half.
    pub fn truncate() -> Self {
        Self::new(Fault::Truncate)
    }

    /// Only `provider`'s requests.
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Only the operation with this `operationId` (e.g. `registry_get`).
    pub fn operation(mut self, operation_id: impl Into<String>) -> Self {
        self.operation = Some(operation_id.into());
        self
    }

    /// Spent after hitting `n` requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Lets `n` matching requests through first.
    pub fn after(mut self, n: u32) -> Self {
        self.after = n;
        self
    }

    /// Hits a matching request with this chance (0.0–1.0).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = p.clamp(0.0, 1.0);
        self
    }

    fn matches(&self, provider: Provider, operation: &str) -> bool {
        self.provider.is_none_or(|p| p == provider)
            && self.operation.as_deref().is_none_or(|o| o == operation)
    }
}

/// The rules in force and the seeded source their chances are drawn from.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    rng: fastrand::Rng,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Faults {
            rules: Vec::new(),
            rng: fastrand::Rng::with_seed(seed ^ 0x6661_756c_7473),
        }
    }

    pub(crate) fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// The faults that hit this request, in the order the rules were added
    /// (latency first takes effect with any other), spending the rules'
    /// counts.
    pub(crate) fn draw(&mut self, provider: Provider, operation: &str) -> Vec<Fault> {
        let mut hit = Vec::new();
        for rule in self.rules.iter_mut() {
            if !rule.matches(provider, operation) || rule.times == Some(0) {
                continue;
            }
            if rule.after > 0 {
                rule.after -= 1;
                continue;
            }
            if rule.probability < 1.0 && self.rng.f64() >= rule.probability {
                continue;
            }
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
            }
            hit.push(rule.fault.clone());
        }
        self.rules.retain(|r| r.times != Some(0));
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_spent_after_its_count_and_skips_what_it_should() {
        let mut f = Faults::new(1);
        f.add(
            FaultRule::status(503)
                .operation("registry_get")
                .after(1)
                .times(2),
        );
        let drawn: Vec<usize> = (0..5)
            .map(|_| f.draw(Provider::DigitalOcean, "registry_get").len())
            .collect();
        assert_eq!(drawn, [0, 1, 1, 0, 0]);
        assert!(f.draw(Provider::DigitalOcean, "registries_list").is_empty());
        assert!(f.rules().is_empty(), "a spent rule is dropped");
    }

    #[test]
    fn chances_repeat_with_the_seed() {
        let run = |seed| {
            let mut f = Faults::new(seed);
            f.add(FaultRule::reset().probability(0.5));
            (0..64)
                .map(|_| !f.draw(Provider::Ionos, "registriesGet").is_empty())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        let hits = run(9).into_iter().filter(|h| *h).count();
        assert!((16..=48).contains(&hits), "about half: {hits}");
    }
}
