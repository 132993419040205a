//! The emulator's virtual clock: time that tests move by hand.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// How the virtual clock moves between calls to [`Clock::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// Real time passes as well (what a server you talk to by hand does).
    #[default]
    Running,
    /// Time stands still until advanced: every timestamp is reproducible.
    Frozen,
}

#[derive(Debug)]
struct State {
    /// Virtual time at `since`.
    base: DateTime<Utc>,
    since: Instant,
    mode: ClockMode,
}

/// Shared by the emulator and its handle: `now()` is what every timestamp,
/// expiry and garbage-collection phase is measured against.
#[derive(Clone, Debug)]
pub struct Clock {
    state: Arc<Mutex<State>>,
}

impl Clock {
    pub(crate) fn new(start: DateTime<Utc>, mode: ClockMode) -> Self {
        Clock {
            state: Arc::new(Mutex::new(State {
                base: start,
                since: Instant::now(),
                mode,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The emulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        let s = self.lock();
        match s.mode {
            ClockMode::Frozen => s.base,
            ClockMode::Running => s.base + elapsed(s.since),
        }
    }

    /// Moves time forward: credentials expire and garbage collections move
    /// on as if `by` had passed.
    pub fn advance(&self, by: Duration) {
        let mut s = self.lock();
        s.base += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }

    /// Sets the current time (a snapshot's time, say).
    pub fn set(&self, now: DateTime<Utc>) {
        let mut s = self.lock();
        s.base = now;
        s.since = Instant::now();
    }
}

fn elapsed(since: Instant) -> chrono::Duration {
    chrono::Duration::from_std(since.elapsed()).unwrap_or(chrono::Duration::MAX)
}

/// The emulator's clock is regkit's [`regkit_core::clock::Clock`]: a
/// workflow that waits on it (a lease's expiry, a garbage collection's
/// polls) moves virtual time on instead of sleeping, then lets other tasks
/// run.
impl regkit_core::clock::Clock for Clock {
    fn now(&self) -> DateTime<Utc> {
        Clock::now(self)
    }

    fn sleep<'life0, 'async_trait>(
        &'life0 self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.advance(d);
            tokio::task::yield_now().await;
        })
    }
}
