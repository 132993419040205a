//! Request quotas per token, as a provider documents them: a set of
//! windows (so many requests per minute, so many per hour), counted in
//! real time per credential. A request over a window's count is the
//! provider's 429 with `Retry-After`; every answer of a provider that
//! sends rate-limit headers carries `ratelimit-limit`, `ratelimit-remaining`
//! and `ratelimit-reset` for the window closest to its end.
//!
//! Off unless asked for ([`Emulator::quota`](crate::Emulator::quota),
//! `--quota digitalocean`).

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::time::{Duration, Instant};

use crate::provider::Provider;

/// A request quota: windows, each a length and the requests one token may
/// make in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    windows: Vec<(Duration, u32)>,
}

impl Quota {
    /// DigitalOcean's: 250 requests per minute and 5,000 per hour, per
    /// token, as its API reference states for the `ratelimit-limit`
    /// header ("Current rate limits are 5000 requests per hour and 250
    /// requests per minute").
    pub fn digitalocean() -> Quota {
        Quota::new()
            .window(Duration::from_secs(60), 250)
            .window(Duration::from_secs(3600), 5000)
    }

    /// No windows yet.
    pub fn new() -> Quota {
        Quota {
            windows: Vec::new(),
        }
    }

    /// Adds a window: at most `requests` per `length`.
    pub fn window(mut self, length: Duration, requests: u32) -> Quota {
        self.windows
            .push((length.max(Duration::from_millis(1)), requests));
        self
    }

    /// The same quota with every window `factor` times shorter (a
    /// provider's quota at test speed).
    pub fn faster(mut self, factor: u32) -> Quota {
        for (length, _) in &mut self.windows {
            *length = (*length / factor.max(1)).max(Duration::from_millis(1));
        }
        self
    }
}

impl Default for Quota {
    fn default() -> Self {
        Quota::new()
    }
}

/// What a counted request may do, and the headers its answer carries.
pub(crate) struct Counted {
    /// `Err(wait)` when over a window's count.
    pub(crate) allowed: Result<(), Duration>,
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Quotas {
    rules: HashMap<Provider, Quota>,
    /// (provider, credential hash) → per window (its start, requests).
    used: HashMap<(Provider, u64), Vec<(Instant, u32)>>,
    refused: u64,
}

impl Quotas {
    pub(crate) fn set(&mut self, provider: Provider, quota: Option<Quota>) {
        match quota {
            Some(q) => {
                self.rules.insert(provider, q);
            }
            None => {
                self.rules.remove(&provider);
            }
        }
        self.used.retain(|(p, _), _| *p != provider);
    }

    /// Requests refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }

    /// Counts a request of `provider` presenting `credential` (its
    /// `Authorization` header; only a hash is kept).
    pub(crate) fn count(&mut self, provider: Provider, credential: &[u8]) -> Option<Counted> {
        let quota = self.rules.get(&provider)?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        credential.hash(&mut h);
        let now = Instant::now();
        let windows = self
            .used
            .entry((provider, h.finish()))
            .or_insert_with(|| vec![(now, 0); quota.windows.len()]);
        let mut allowed = Ok(());
        let mut shown: Option<(u32, u32, Duration)> = None;
        for ((length, max), (start, used)) in quota.windows.iter().zip(windows.iter_mut()) {
            if now.duration_since(*start) >= *length {
                *start = now;
                *used = 0;
            }
            let reset = length.saturating_sub(now.duration_since(*start));
            if *used >= *max {
                let wait = allowed.err().map_or(reset, |w: Duration| w.max(reset));
                allowed = Err(wait);
            }
            let remaining = max.saturating_sub(*used + 1);
            if shown.is_none_or(|(_, r, _)| remaining < r) {
                shown = Some((*max, remaining, reset));
            }
        }
        if allowed.is_ok() {
            for (_, used) in windows.iter_mut() {
                *used += 1;
            }
        } else {
            self.refused += 1;
        }
        let (limit, remaining, reset) = shown?;
        Some(Counted {
            allowed,
            limit,
            remaining: if allowed.is_ok() { remaining } else { 0 },
            reset,
        })
    }
}
