//! Where regkit gets the time and how it waits: the system clock by
//! default; a test, or the emulator's virtual clock (which implements
//! [`Clock`] once, for every user), can supply its own. The workflows
//! (leases, garbage-collection waits, retention cutoffs) take one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Now, and a way to let time pass.
///
/// `sleep` has the shape `#[async_trait::async_trait]` gives an `async fn`,
/// written out so regkit-core needs no proc macro for it: an implementation
/// may use that attribute with `async fn sleep`, or return a boxed future
/// itself, as [`SystemClock`] does.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Lets `d` pass (a real sleep, or advancing a virtual clock).
    fn sleep<'life0, 'async_trait>(
        &'life0 self,
        d: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait;
}

/// The system clock and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep<'life0, 'async_trait>(
        &'life0 self,
        d: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(tokio::time::sleep(d))
    }
}
