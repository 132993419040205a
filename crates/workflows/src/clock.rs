//! Where the workflows get the time and how they wait: the system clock by
//! default; a test (or the emulator's virtual clock) can supply its own.

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
