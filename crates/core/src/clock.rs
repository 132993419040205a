//! Where regkit gets the time and how it waits: the system clock by
//! default; a test, or the emulator's virtual clock (which implements
//! [`Clock`] once, for every user), can supply its own. The workflows
//! (leases, garbage-collection waits, retention cutoffs) take one.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Now, and a way to let time pass.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Lets `d` pass (a real sleep, or advancing a virtual clock).
    async fn sleep(&self, d: Duration);
}

/// The system clock and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}
