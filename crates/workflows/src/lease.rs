//! A [`Lease`] keeps one Docker credential fresh and revokes what can be
//! revoked, over any provider's [`CredentialSource`].
//!
//! ```no_run
//! # async fn demo(client: regkit_ionos::Client) -> regkit_workflows::Result<()> {
//! use std::time::Duration;
//! use regkit_workflows::lease::Lease;
//! use regkit_workflows::providers::IonosSource;
//!
//! let lease = Lease::new(IonosSource::new(client, "8f0c6a2e-…"))
//!     .ttl(Duration::from_secs(3600))
//!     .write(true);
//! let cred = lease.get().await?; // minted now, refreshed 5 min before it expires
//! regkit_workflows::docker_config::merge_credential(
//!     &regkit_workflows::docker_config::DockerConfig::from_env()?.path(),
//!     &cred,
//! )?;
//! lease.revoke().await?; // the IONOS token is deleted; a failure is an error
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::clock::{Clock, SystemClock};
pub use crate::credential::{CredentialSource, DockerCredential, Lifetime, MAX_TTL, MIN_TTL};
use crate::{Capability, Error, Result};

/// What a lease has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LeaseStats {
    /// Credentials minted (the first one included).
    pub minted: u64,
    /// Credentials minted to replace one about to expire.
    pub refreshed: u64,
    /// Credentials revoked.
    pub revoked: u64,
    /// Credentials whose revoke failed, kept to be retried by
    /// [`Lease::revoke`].
    pub pending_revoke: usize,
}

#[derive(Default)]
struct LeaseState {
    current: Option<DockerCredential>,
    /// Replaced credentials whose revoke failed.
    pending: Vec<DockerCredential>,
    stats: LeaseStats,
}

/// Keeps one Docker credential fresh: [`Lease::get`] mints the first one,
/// hands it out while it is valid, and mints a new one once
/// `now >= expires_at - margin` (the margin is 5 minutes by default); the
/// replaced one is revoked where the provider can. [`Lease::revoke`]
/// revokes what the lease holds.
///
/// A failed revoke is never dropped: the error is returned and the
/// credential kept, so [`Lease::revoke`] retries it.
pub struct Lease<S> {
    source: S,
    clock: Arc<dyn Clock>,
    lifetime: Lifetime,
    margin: Duration,
    write: bool,
    state: tokio::sync::Mutex<LeaseState>,
}

/// The default lifetime of a minted credential.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The default time before expiry at which a lease refreshes.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);

impl<S: CredentialSource> Lease<S> {
    /// A lease over `source`: a TTL of [`DEFAULT_TTL`], a margin of
    /// [`DEFAULT_MARGIN`], pull-only, the system clock. Nothing is minted
    /// until [`Lease::get`].
    pub fn new(source: S) -> Self {
        Self {
            source,
            clock: Arc::new(SystemClock),
            lifetime: Lifetime::Ttl(DEFAULT_TTL),
            margin: DEFAULT_MARGIN,
            write: false,
            state: tokio::sync::Mutex::new(LeaseState::default()),
        }
    }

    /// How long each minted credential is asked to last (from [`MIN_TTL`]
    /// to [`MAX_TTL`]; [`Lease::get`] refuses anything else, zero
    /// included).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.lifetime = Lifetime::Ttl(ttl);
        self
    }

    /// Mint credentials that never expire, where the provider allows it
    /// (replaces [`Lease::ttl`]). The lease then never refreshes.
    pub fn never_expire(mut self) -> Self {
        self.lifetime = Lifetime::NeverExpires;
        self
    }

    /// How long before expiry the credential is replaced.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Whether the credentials may push as well as pull.
    pub fn write(mut self, write: bool) -> Self {
        self.write = write;
        self
    }

    /// The clock that decides when a credential is due (the system clock by
    /// default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The current credential, minted when there is none and replaced when
    /// it expires within the margin. When the replaced credential's revoke
    /// fails, that error is returned: the new credential is kept (the next
    /// call returns it) and the old one waits for [`Lease::revoke`].
    pub async fn get(&self) -> Result<DockerCredential> {
        if let Lifetime::Ttl(ttl) = self.lifetime.checked()?
            && self.margin >= ttl
        {
            return Err(Error::InvalidInput(format!(
                "the refresh margin ({} s) must be shorter than the TTL ({} s)",
                self.margin.as_secs(),
                ttl.as_secs()
            )));
        }
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if let Some(current) = &state.current
            && !current.is_due(now, self.margin)
        {
            return Ok(current.clone());
        }
        let fresh = self.source.mint(self.lifetime, self.write).await?;
        state.stats.minted += 1;
        let replaced = state.current.replace(fresh.clone());
        let Some(old) = replaced else {
            return Ok(fresh);
        };
        state.stats.refreshed += 1;
        tracing::debug!(
            provider = self.source.provider(),
            host = %fresh.host,
            "refreshed a Docker credential"
        );
        if !self.source.supports_revoke() {
            return Ok(fresh);
        }
        match self.source.revoke(&old).await {
            Ok(()) => {
                state.stats.revoked += 1;
                Ok(fresh)
            }
            Err(e) => {
                tracing::warn!(
                    provider = self.source.provider(),
                    error = %e,
                    "revoking the replaced credential failed; kept for Lease::revoke"
                );
                state.pending.push(old);
                Err(e)
            }
        }
    }

    /// Revokes every credential the lease holds: replaced ones whose revoke
    /// failed, then the current one. The first failure is returned and the
    /// credentials not revoked stay, to be retried; after success the next
    /// [`Lease::get`] mints anew. A provider that cannot revoke answers
    /// [`Error::Unsupported`] ([`Capability::RevokeCredentials`]) and the
    /// lease keeps its credential.
    pub async fn revoke(&self) -> Result<()> {
        if !self.source.supports_revoke() {
            return Err(Error::Unsupported {
                provider: self.source.provider(),
                capability: Capability::RevokeCredentials,
            });
        }
        let mut state = self.state.lock().await;
        while let Some(old) = state.pending.first() {
            self.source.revoke(old).await?;
            state.pending.remove(0);
            state.stats.revoked += 1;
        }
        if let Some(current) = &state.current {
            self.source.revoke(current).await?;
            state.current = None;
            state.stats.revoked += 1;
        }
        Ok(())
    }

    /// What the lease has done so far.
    pub async fn stats(&self) -> LeaseStats {
        let state = self.state.lock().await;
        LeaseStats {
            pending_revoke: state.pending.len(),
            ..state.stats
        }
    }
}

impl<S: CredentialSource> fmt::Debug for Lease<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Lease");
        d.field("provider", &self.source.provider())
            .field("lifetime", &self.lifetime)
            .field("margin", &self.margin)
            .field("write", &self.write);
        match self.state.try_lock() {
            Ok(state) => d
                .field("current", &state.current)
                .field("stats", &state.stats)
                .field("pending_revoke", &state.pending.len()),
            Err(_) => d.field("current", &"<in use>"),
        };
        d.finish()
    }
}
