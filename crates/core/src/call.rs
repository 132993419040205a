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
//! The request is kept once, as the template every attempt and every hop
//! of a redirect is copied from. It replaces four stacked layers (retry,
//! credentials, redirects, body), each with its own boxed future and its
//! own copy of the request.
//!
//! Each phase is a plain function that does its synchronous work and
//! returns a future (not an `async fn`), and decisions are made by
//! functions that take a value and give it back: an `async fn` keeps room
//! for every argument and for every value it ever borrowed, across every
//! await. So an operation's whole future is 800 bytes (4.7 KB before),
//! within the allocator's per-thread cache; each generated client checks
//! it in a unit test.

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::{Request, Response};

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

/// What one hop's answer leads to.
enum Answer {
    /// A redirect to follow: the next hop's request.
    Redirect(Request),
    /// The attempt's answer: its body is read next.
    Final(Response),
}

/// The longest pause a spent rate limit imposes before an attempt (a
/// hostile reset header must not stall a client for ever; a longer wait
/// is the retry budget's to refuse).
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// Where an attempt's request goes: straight to reqwest when the caller
/// added no layers (no boxed future, no extension map), or down the
/// caller's middleware chain (the `layers` feature).
///
/// reqwest's `send` hands the request over before it returns its future,
/// so reqwest holds it (in its own boxed future) and no future of the
/// call loop keeps a second copy across an await. (The layered sender's
/// future holds it: that path boxes a future per layer anyway.)
pub(crate) trait Sender: Sync {
    fn send(&self, request: Request) -> impl Future<Output = Sent> + Send + '_;
}

impl Sender for reqwest::Client {
    fn send(&self, request: Request) -> impl Future<Output = Sent> + Send + '_ {
        let sent = self.execute(request);
        async move { sent.await.map_err(Failure::Transport) }
    }
}

#[cfg(feature = "layers")]
mod layered {
    use std::sync::Mutex;

    use http::Extensions;
    use reqwest::{Request, Response};
    use reqwest_middleware::{Middleware, Next};

    use super::{CallLayer, Sender};
    use crate::retry::Attempts;
    use crate::sent::{Failure, Sent};

    /// The layers below the call layer, with the call's extensions: each
    /// attempt (and hop) lends them to the layers below, which see what
    /// the layers above put there and what earlier attempts left.
    struct Below<'a> {
        next: Next<'a>,
        extensions: Mutex<Extensions>,
    }

    impl Sender for Below<'_> {
        async fn send(&self, request: Request) -> Sent {
            let mut extensions = std::mem::take(&mut *self.lock());
            let sent = self.next.clone().run(request, &mut extensions).await;
            *self.lock() = extensions;
            sent.map_err(Failure::from)
        }
    }

    impl Below<'_> {
        fn lock(&self) -> std::sync::MutexGuard<'_, Extensions> {
            self.extensions.lock().unwrap_or_else(|p| p.into_inner())
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
            let below = Below {
                next,
                extensions: Mutex::new(std::mem::take(extensions)),
            };
            let sent = self.call(request, counter, &below).await;
            *extensions = below
                .extensions
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            // Layers above this one read responses the ordinary way.
            match sent {
                Ok(response) => Ok(crate::body::rebuild(response)),
                Err(Failure::Transport(e)) => Err(reqwest_middleware::Error::Reqwest(e)),
                Err(Failure::Refused(e)) => Err(reqwest_middleware::Error::middleware(e)),
            }
        }
    }
}

impl CallLayer {
    /// The call: attempts until one is final. `request` stays here as the
    /// template each attempt (and each hop of a redirect) is copied from;
    /// a request whose body cannot be copied (a stream) is sent once, as
    /// it is, and not redirected.
    pub(crate) fn call<'a, S: Sender>(
        &'a self,
        request: Request,
        counter: Attempts,
        next: &'a S,
    ) -> impl Future<Output = Sent> + Send + 'a {
        let template = request;
        async move {
            let started = Instant::now();
            let mut attempt = 1;
            loop {
                self.pace().await;
                counter.0.store(attempt, Ordering::Relaxed);
                // (A `match`, not a `let … else` holding an await: the
                // future then keeps no room for a second request.)
                let copy = match template.try_clone() {
                    Some(copy) => copy,
                    None => break,
                };
                let result = self
                    .attempt(self.bounded(copy, started), Some(&template), next)
                    .await;
                match self.verdict(result, template.method(), attempt, started) {
                    ControlFlow::Break(result) => return result,
                    ControlFlow::Continue(wait) => tokio::time::sleep(wait).await,
                }
                attempt += 1;
            }
            // A body that cannot be copied (a stream): sent once, as it is.
            let result = self
                .attempt(self.bounded(template, started), None, next)
                .await;
            self.note_rate_limit(&result);
            result
        }
    }

    /// After an attempt: its result is the call's (`Break`), or the call
    /// tries again after a wait (`Continue`). A plain function that takes
    /// the result, so the call's future keeps no room for one while an
    /// attempt is in flight.
    fn verdict(
        &self,
        result: Sent,
        method: &reqwest::Method,
        attempt: u32,
        started: Instant,
    ) -> ControlFlow<Sent, Duration> {
        self.note_rate_limit(&result);
        if attempt >= self.policy.max_attempts || action(method, &result) == RetryAction::Stop {
            return ControlFlow::Break(result);
        }
        let wait = server_hint(&result, self.rate_limit_reset.as_ref())
            .unwrap_or_else(|| self.policy.backoff(attempt));
        if !fits_budget(started.elapsed(), wait, self.policy.budget) {
            tracing::debug!(
                attempt,
                ?wait,
                "not retrying: the wait would exceed the budget"
            );
            return ControlFlow::Break(result);
        }
        match &result {
            Ok(r) => tracing::debug!(attempt, status = r.status().as_u16(), ?wait, "retrying"),
            Err(e) => tracing::debug!(attempt, error = %e, ?wait, "retrying"),
        }
        ControlFlow::Continue(wait)
    }

    /// The attempt's request with its timeout: only when the budget binds
    /// does it get one of its own; otherwise the client's applies, with no
    /// extra timer.
    fn bounded(&self, mut request: Request, started: Instant) -> Request {
        let left = self.policy.budget.saturating_sub(started.elapsed());
        let own = request.timeout().copied().or(self.attempt_timeout);
        if own.is_none_or(|t| left < t) {
            *request.timeout_mut() = Some(left);
        }
        request
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
    fn note_rate_limit(&self, result: &Sent) {
        let (Ok(response), Some(reset)) = (result, &self.rate_limit_reset) else {
            return;
        };
        let headers = response.headers();
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
    /// only on the original origin), the whole body. The request is handed
    /// to `next` before the future is returned (see [`Sender`]).
    pub(crate) fn attempt<'a, S: Sender>(
        &'a self,
        mut request: Request,
        template: Option<&'a Request>,
        next: &'a S,
    ) -> impl Future<Output = Sent> + Send + 'a {
        let sending = self.auth.apply(&mut request).map(|()| next.send(request));
        async move {
            let mut sending = sending.map_err(Failure::Refused)?;
            let mut hops = 0;
            let mut as_get = false;
            // Where the request in flight went: the origin until a hop
            // moves it (kept apart, and boxed, so a request that is not
            // redirected copies no URL and its future holds a pointer).
            let mut moved: Option<Box<reqwest::Url>> = None;
            loop {
                let response = sending.await?;
                // (Decided in a plain function that takes the response and
                // gives it back: a response borrowed here, or a hop's
                // request left in scope, would keep their room in the
                // future while the body is read.)
                let response = match self.follow(response, template, hops, as_get, &moved)? {
                    Answer::Redirect(hop) => {
                        as_get = hop.method() == reqwest::Method::GET;
                        hops += 1;
                        moved = Some(Box::new(hop.url().clone()));
                        sending = next.send(hop);
                        continue;
                    }
                    Answer::Final(response) => response,
                };
                return crate::body::buffer(response, self.body_limit).await;
            }
        }
    }

    /// What a hop's answer leads to: the next hop of a redirect, with
    /// credentials when it stays on the origin, or the answer itself.
    fn follow(
        &self,
        response: Response,
        template: Option<&Request>,
        hops: usize,
        as_get: bool,
        moved: &Option<Box<reqwest::Url>>,
    ) -> Result<Answer, Failure> {
        // Only a redirect status costs a copy of the request. A request
        // that cannot be copied (a streamed body) is never redirected; one
        // that can was copied from the original, whose URL is the origin.
        let Some(template) = template.filter(|_| response.status().is_redirection()) else {
            return Ok(Answer::Final(response));
        };
        let hop = Some(template)
            .filter(|_| hops < MAX_REDIRECTS)
            .and_then(|t| Some((t.url(), t.try_clone()?)))
            .and_then(|(origin, t)| {
                next_hop(
                    moved.as_deref().unwrap_or(origin),
                    origin,
                    &response,
                    t,
                    as_get,
                    self.auth.header_names(),
                )
            });
        let Some(mut hop) = hop else {
            return Ok(Answer::Final(response));
        };
        // Credentials go to their own origin only.
        if same_origin(template.url(), hop.url()) {
            self.auth.apply(&mut hop).map_err(Failure::Refused)?;
        }
        tracing::debug!(status = response.status().as_u16(), "following a redirect");
        Ok(Answer::Redirect(hop))
    }
}
