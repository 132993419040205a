//! The one layer regkit puts under the caller's layers: a call, made of
//! attempts, each made of hops. One function per phase:
//!
//! - [`CallLayer::call`]: the retry loop. Each attempt's timeout is capped
//!   by what is left of the budget; the one classifier decides whether to
//!   try again; a wait is the server's hint or a jittered backoff, and is
//!   not taken when it would end past the budget.
//! - [`CallLayer::attempt`]: credentials (never over plain HTTP to a remote
//!   host), then the hops of a redirect chain, then the whole body, bounded.
//!   An attempt is done only when its body has been read.
//!
//! One copy of the request is kept per attempt; it serves both a retry and
//! the next hop of a redirect. It replaces four stacked layers (retry,
//! credentials, redirects, body), each with its own boxed future and its
//! own copy of the request.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::Extensions;
use reqwest::Request;

use crate::RateLimitReset;
use crate::auth::Auth;
use crate::classify::RetryAction;
use crate::redirect::{MAX_REDIRECTS, next_hop, same_origin};
use crate::retry::{Attempts, RetryPolicy, action, fits_budget, server_hint};
use crate::sent::{Failure, Sent};

pub(crate) struct CallLayer {
    pub(crate) policy: RetryPolicy,
    pub(crate) rate_limit_reset: Option<RateLimitReset>,
    /// The client's timeout of one attempt (unknown for a caller's own
    /// `reqwest::Client`); each attempt gets the smaller of it and what is
    /// left of the budget.
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) auth: Auth,
    /// The largest response body accepted.
    pub(crate) body_limit: usize,
    /// No attempt leaves before this: the server said its rate limit is
    /// spent (`ratelimit-remaining: 0`) until its reset.
    pub(crate) paused_until: std::sync::Mutex<Option<Instant>>,
}

/// The longest pause a spent rate limit imposes before an attempt (a
/// hostile reset header must not stall a client for ever; a longer wait
/// is the retry budget's to refuse).
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// Where an attempt's request goes: straight to reqwest when the caller
/// added no layers (no boxed future, no extension map), or down the
/// caller's middleware chain (the `layers` feature).
pub(crate) trait Sender: Sync {
    fn send<'a>(
        &'a self,
        request: Request,
        extensions: &'a mut Extensions,
    ) -> impl Future<Output = Sent> + Send + 'a;
}

impl Sender for reqwest::Client {
    fn send<'a>(
        &'a self,
        request: Request,
        _: &'a mut Extensions,
    ) -> impl Future<Output = Sent> + Send + 'a {
        let sent = self.execute(request);
        async move { sent.await.map_err(Failure::Transport) }
    }
}

#[cfg(feature = "layers")]
mod layered {
    use http::Extensions;
    use reqwest::{Request, Response};
    use reqwest_middleware::{Middleware, Next};

    use super::{CallLayer, Sender};
    use crate::RequestError;
    use crate::retry::Attempts;
    use crate::sent::{Failure, Sent};

    impl Sender for Next<'_> {
        fn send<'a>(
            &'a self,
            request: Request,
            extensions: &'a mut Extensions,
        ) -> impl Future<Output = Sent> + Send + 'a {
            let sent = self.clone().run(request, extensions);
            async move {
                sent.await.map_err(|e| match e {
                    reqwest_middleware::Error::Reqwest(e) => Failure::Transport(e),
                    reqwest_middleware::Error::Middleware(e) => {
                        Failure::Refused(RequestError::from_layer(e))
                    }
                })
            }
        }
    }

    #[async_trait::async_trait]
    impl Middleware for CallLayer {
        async fn handle(
            &self,
            request: Request,
            extensions: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<Response> {
            let counter = extensions.get::<Attempts>().cloned().unwrap_or_default();
            // Layers above this one read responses the ordinary way.
            match self.call(request, &counter, extensions, &next).await {
                Ok(response) => Ok(crate::body::rebuild(response)),
                Err(Failure::Transport(e)) => Err(reqwest_middleware::Error::Reqwest(e)),
                Err(Failure::Refused(e)) => Err(reqwest_middleware::Error::middleware(e)),
            }
        }
    }
}

impl CallLayer {
    pub(crate) async fn call<S: Sender>(
        &self,
        request: Request,
        counter: &Attempts,
        extensions: &mut Extensions,
        next: &S,
    ) -> Sent {
        let started = Instant::now();
        let method = request.method().clone();
        let mut attempt = 1;
        let mut pending = request;
        loop {
            self.pace().await;
            counter.0.store(attempt, Ordering::Relaxed);
            // Only when the budget binds does the attempt get a timeout of
            // its own; otherwise the client's applies, with no extra timer.
            let left = self.policy.budget.saturating_sub(started.elapsed());
            let own = pending.timeout().copied().or(self.attempt_timeout);
            if own.is_none_or(|t| left < t) {
                *pending.timeout_mut() = Some(left);
            }
            // The one copy of this attempt: the next attempt, or the next
            // hop of a redirect. A body that cannot be cloned (a stream) is
            // sent once and redirects are not followed.
            let copy = pending.try_clone();
            let result = self.attempt(pending, copy.as_ref(), extensions, next).await;
            if let Ok(r) = &result {
                self.note_rate_limit(r.headers());
            }
            let Some(copy) = copy.filter(|_| attempt < self.policy.max_attempts) else {
                return result;
            };
            if action(&method, &result) == RetryAction::Stop {
                return result;
            }
            let wait = server_hint(&result, self.rate_limit_reset.as_ref())
                .unwrap_or_else(|| self.policy.backoff(attempt));
            if !fits_budget(started.elapsed(), wait, self.policy.budget) {
                tracing::debug!(
                    attempt,
                    ?wait,
                    "not retrying: the wait would exceed the budget"
                );
                return result;
            }
            match &result {
                Ok(r) => tracing::debug!(attempt, status = r.status().as_u16(), ?wait, "retrying"),
                Err(e) => tracing::debug!(attempt, error = %e, ?wait, "retrying"),
            }
            drop(result);
            tokio::time::sleep(wait).await;
            attempt += 1;
            pending = copy;
        }
    }

    /// Waits while the server's rate limit is spent.
    async fn pace(&self) {
        let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                tracing::debug!(wait = ?(until - now), "pacing: the rate limit is spent until its reset");
                tokio::time::sleep(until - now).await;
            }
        }
    }

    /// Notes a spent rate limit ([`crate::wire::spent_rate_limit`]).
    fn note_rate_limit(&self, headers: &reqwest::header::HeaderMap) {
        let Some(reset) = &self.rate_limit_reset else {
            return;
        };
        // Most answers carry no reset header: nothing to look at.
        if !headers.contains_key(reset.header) {
            return;
        }
        let Some(wait) = crate::wire::spent_rate_limit(headers, reset, MAX_PAUSE) else {
            return;
        };
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// One attempt: credentials, the hops of a redirect chain (credentials
    /// only on the original origin), the whole body.
    async fn attempt<S: Sender>(
        &self,
        mut request: Request,
        template: Option<&Request>,
        extensions: &mut Extensions,
        next: &S,
    ) -> Sent {
        let refused = Failure::Refused;
        self.auth.apply(&mut request).map_err(refused)?;
        let mut hops = 0;
        let mut as_get = false;
        // Where the request in flight went: the origin until a hop moves it
        // (kept apart so a request that is not redirected copies no URL).
        let mut moved: Option<reqwest::Url> = None;
        loop {
            let response = next.send(request, extensions).await?;
            // Only a redirect status costs a copy of the request.
            // A request that cannot be copied (a streamed body) is never
            // redirected; one that can was copied from the original, whose
            // URL is the origin.
            let template = template.filter(|_| response.status().is_redirection());
            let hop = template
                .filter(|_| hops < MAX_REDIRECTS)
                .and_then(|t| Some((t.url(), t.try_clone()?)))
                .and_then(|(origin, t)| {
                    next_hop(
                        moved.as_ref().unwrap_or(origin),
                        origin,
                        &response,
                        t,
                        as_get,
                        self.auth.header_names(),
                    )
                });
            let Some(mut hop) = hop else {
                return crate::body::buffer(response, self.body_limit).await;
            };
            as_get = hop.method() == reqwest::Method::GET;
            // Credentials go to their own origin only.
            if template.is_some_and(|t| same_origin(t.url(), hop.url())) {
                self.auth.apply(&mut hop).map_err(refused)?;
            }
            tracing::debug!(status = response.status().as_u16(), "following a redirect");
            hops += 1;
            moved = Some(hop.url().clone());
            request = hop;
        }
    }
}
