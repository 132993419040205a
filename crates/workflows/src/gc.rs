//! Waiting for a garbage collection: start one or join the one running,
//! poll its status with exponential backoff within a time budget, report
//! typed progress, and call it stalled when nothing moves for too long.
//!
//! ```no_run
//! # async fn demo(view: &dyn regkit_workflows::view::RegistryView) -> regkit_workflows::Result<()> {
//! use std::time::Duration;
//! use futures::TryStreamExt;
//! use regkit_workflows::gc::{GcEvent, GcWaiter};
//! use regkit_workflows::view::GcKind;
//!
//! let registry = view.registries().await?.remove(0);
//! let waiter = GcWaiter::new().budget(Duration::from_secs(3600));
//! let mut events = waiter.run(view, &registry, GcKind::UntaggedManifestsAndUnreferencedBlobs);
//! while let Some(event) = events.try_next().await? {
//!     println!("{event}");
//! }
//! # Ok(()) }
//! ```
//!
//! How a run ends: the stream's last item is [`GcEvent::Finished`] with the
//! final [`GcStatus`] whether the collection succeeded, failed or was
//! cancelled (check [`GcStatus::succeeded`]); it is an error only when the
//! waiter itself gives up ([`Error::Timeout`], [`Error::GcStalled`]), the
//! provider cannot collect ([`Error::Unsupported`]) or a call fails
//! ([`Error::Api`]). After an error the stream ends.
//!
//! # Preflight
//!
//! A collection of untagged manifests may take manifests a kept image
//! still needs: an index's platforms and a signature's or SBOM's manifest
//! are untagged, and DigitalOcean does not say whether its collection
//! spares them. Given a graph reader ([`GcWaiter::preflight`]), the waiter
//! first counts, through [`preflight`], the untagged manifests that a
//! tagged index lists or that refer to a tagged subject, and refuses to
//! start with [`Error::GcWouldTakeReferenced`] when there are any, unless
//! forced.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::graph::GraphReader;
use crate::view::{GcKind, GcStatus, Image, Registry, RegistryView};
use crate::{Capability, Error, Result};

/// The shortest wait between polls the waiter accepts.
pub const MIN_POLL: Duration = Duration::from_millis(10);

/// What happened while waiting for a garbage collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event", content = "data")]
#[non_exhaustive]
pub enum GcEvent {
    /// A new garbage collection was started.
    Started(GcStatus),
    /// A garbage collection was already running (its kind may differ from
    /// the one asked for); the waiter follows it instead.
    Joined(GcStatus),
    /// Its status text changed.
    StatusChanged {
        /// The status before.
        from: String,
        /// The status now.
        to: String,
    },
    /// The bytes it has freed changed.
    Progress {
        /// Bytes freed so far.
        freed_bytes: u64,
    },
    /// Something the caller should know (the kind asked for leaves
    /// untagged manifests, say).
    Warning(String),
    /// It has ended: succeeded, failed or cancelled (see
    /// [`GcStatus::succeeded`]). Always the last event.
    Finished(GcStatus),
}

impl fmt::Display for GcEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcEvent::Started(s) => write!(f, "started garbage collection {} ({})", s.id, s.status),
            GcEvent::Joined(s) => write!(
                f,
                "joined the running garbage collection {} ({})",
                s.id, s.status
            ),
            GcEvent::StatusChanged { from, to } => write!(f, "status: {from} → {to}"),
            GcEvent::Progress { freed_bytes } => write!(f, "freed {freed_bytes} bytes so far"),
            GcEvent::Warning(w) => write!(f, "warning: {w}"),
            GcEvent::Finished(s) => {
                let outcome = if s.succeeded {
                    "succeeded"
                } else {
                    "did not succeed"
                };
                write!(f, "garbage collection {} {outcome} ({})", s.id, s.status)?;
                if let Some(bytes) = s.freed_bytes {
                    write!(f, ", {bytes} bytes freed")?;
                }
                Ok(())
            }
        }
    }
}

/// Starts (or joins) a garbage collection and waits for it.
///
/// Defaults: polls after 5 s, doubling up to every 60 s; gives up after
/// 2 hours ([`Error::Timeout`]); calls it stalled when neither its status
/// nor its freed bytes change for 30 minutes ([`Error::GcStalled`]; long
/// enough for DigitalOcean's wait of up to 15 minutes for write tokens to
/// expire); the system clock.
#[derive(Clone)]
pub struct GcWaiter {
    poll_start: Duration,
    poll_max: Duration,
    budget: Duration,
    stall: Duration,
    clock: Arc<dyn Clock>,
    preflight: Option<(GraphReader, bool)>,
}

impl fmt::Debug for GcWaiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcWaiter")
            .field("poll_start", &self.poll_start)
            .field("poll_max", &self.poll_max)
            .field("budget", &self.budget)
            .field("stall", &self.stall)
            .finish_non_exhaustive()
    }
}

impl Default for GcWaiter {
    fn default() -> Self {
        GcWaiter {
            poll_start: Duration::from_secs(5),
            poll_max: Duration::from_secs(60),
            budget: Duration::from_secs(2 * 3600),
            stall: Duration::from_secs(30 * 60),
            clock: Arc::new(SystemClock),
            preflight: None,
        }
    }
}

impl GcWaiter {
    /// A waiter with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first wait between polls (doubles after each poll up to
    /// [`poll_max`](Self::poll_max)); at least [`MIN_POLL`].
    pub fn poll_interval(mut self, start: Duration) -> Self {
        self.poll_start = start.max(MIN_POLL);
        self
    }

    /// The longest wait between polls.
    pub fn poll_max(mut self, max: Duration) -> Self {
        self.poll_max = max;
        self
    }

    /// How long to wait in all before [`Error::Timeout`].
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// How long without a change of status (or of freed bytes) before
    /// [`Error::GcStalled`].
    pub fn stall_timeout(mut self, stall: Duration) -> Self {
        self.stall = stall;
        self
    }

    /// Where the time comes from and how waiting happens (a virtual clock
    /// in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Before starting a collection that removes untagged manifests,
    /// count through `reader` the untagged manifests kept images still
    /// reference ([`preflight`]) and refuse when there are any
    /// ([`Error::GcWouldTakeReferenced`]), unless `force`.
    pub fn preflight(mut self, reader: GraphReader, force: bool) -> Self {
        self.preflight = Some((reader, force));
        self
    }

    /// Starts a garbage collection of `kind` on `registry` (or joins the one
    /// running) and follows it to its end, as a stream of events. See the
    /// module documentation for how it ends.
    pub fn run<'a>(
        &self,
        view: &'a dyn RegistryView,
        registry: &'a Registry,
        kind: GcKind,
    ) -> BoxStream<'a, Result<GcEvent>> {
        let state = Run {
            waiter: self.clone(),
            view,
            registry,
            kind,
            pending: VecDeque::new(),
            phase: Phase::Start,
        };
        stream::unfold(state, |mut run| async move {
            loop {
                if let Some(event) = run.pending.pop_front() {
                    return Some((Ok(event), run));
                }
                match std::mem::replace(&mut run.phase, Phase::Done) {
                    Phase::Done => return None,
                    // Events found before the failure went out first.
                    Phase::Failed(e) => return Some((Err(e), run)),
                    phase => {
                        run.phase = phase;
                        if let Err(e) = run.step().await {
                            run.phase = Phase::Failed(e);
                        }
                    }
                }
            }
        })
        .boxed()
    }

    /// [`run`](Self::run) to its end, returning the final status (which may
    /// say the collection failed or was cancelled: check
    /// [`GcStatus::succeeded`]). Warnings are logged through `tracing`.
    pub async fn wait(
        &self,
        view: &dyn RegistryView,
        registry: &Registry,
        kind: GcKind,
    ) -> Result<GcStatus> {
        let mut events = self.run(view, registry, kind);
        while let Some(event) = events.next().await {
            if let GcEvent::Finished(status) = event? {
                return Ok(status);
            }
        }
        Err(Error::Unexpected(
            "the garbage collection's events ended before it finished".into(),
        ))
    }
}

enum Phase {
    Start,
    Polling {
        current: GcStatus,
        started_at: DateTime<Utc>,
        changed_at: DateTime<Utc>,
        delay: Duration,
    },
    Failed(Error),
    Done,
}

struct Run<'a> {
    waiter: GcWaiter,
    view: &'a dyn RegistryView,
    registry: &'a Registry,
    kind: GcKind,
    pending: VecDeque<GcEvent>,
    phase: Phase,
}

/// Whole seconds of a possibly negative span, for messages.
fn secs(d: chrono::TimeDelta) -> u64 {
    u64::try_from(d.num_seconds()).unwrap_or(0)
}

fn to_delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl Run<'_> {
    async fn step(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Start => self.start().await,
            Phase::Polling {
                current,
                started_at,
                changed_at,
                delay,
            } => self.poll(current, started_at, changed_at, delay).await,
            Phase::Failed(e) => Err(e),
            Phase::Done => Ok(()),
        }
    }

    async fn start(&mut self) -> Result<()> {
        let view = self.view;
        if !view.supports(Capability::GarbageCollection) {
            return Err(Error::Unsupported {
                provider: view.provider(),
                capability: Capability::GarbageCollection,
            });
        }
        if let Some((reader, force)) = &self.waiter.preflight
            && !self.kind.leaves_untagged_manifests()
        {
            let found = preflight(view, self.registry, reader).await?;
            if found.referenced() > 0 {
                if *force {
                    tracing::warn!(%found, "garbage collection forced");
                } else {
                    return Err(Error::GcWouldTakeReferenced {
                        index_children: found.index_children,
                        referrers: found.referrers,
                    });
                }
            }
        }
        if self.kind.leaves_untagged_manifests() {
            let warning = format!(
                "{:?} leaves untagged manifests (and the blobs they reference) in place; \
                 use UntaggedManifestsAndUnreferencedBlobs to free them",
                self.kind
            );
            tracing::warn!(provider = view.provider(), registry = %self.registry.name, "{warning}");
            self.pending.push_back(GcEvent::Warning(warning));
        }
        let status = view.start_gc(self.registry, self.kind).await?;
        let now = self.waiter.clock.now();
        // A run of another kind, or one already past its first status, was
        // running before we asked: we joined it.
        let joined = status.kind.is_some_and(|k| k != self.kind)
            || (!status.finished && status.status != "requested" && status.status != "pending");
        tracing::info!(
            provider = view.provider(),
            registry = %self.registry.name,
            id = %status.id,
            status = %status.status,
            joined,
            "garbage collection"
        );
        self.pending.push_back(if joined {
            GcEvent::Joined(status.clone())
        } else {
            GcEvent::Started(status.clone())
        });
        self.after_poll(status, now, now, self.waiter.poll_start)
    }

    async fn poll(
        &mut self,
        current: GcStatus,
        started_at: DateTime<Utc>,
        changed_at: DateTime<Utc>,
        delay: Duration,
    ) -> Result<()> {
        let now = self.waiter.clock.now();
        let stall_left = to_delta(self.waiter.stall) - (now - changed_at);
        let budget_left = to_delta(self.waiter.budget) - (now - started_at);
        let sleep = [to_delta(delay), stall_left, budget_left]
            .into_iter()
            .min()
            .unwrap_or_default()
            .max(chrono::TimeDelta::zero());
        self.waiter
            .clock
            .sleep(sleep.to_std().unwrap_or_default())
            .await;
        let next = self
            .view
            .gc_status(self.registry, &current.id)
            .await?
            .ok_or_else(|| {
                Error::Unexpected(format!(
                    "garbage collection {} is gone from the provider's answers",
                    current.id
                ))
            })?;
        let now = self.waiter.clock.now();
        let mut changed_at = changed_at;
        if next.status != current.status {
            tracing::info!(id = %next.id, from = %current.status, to = %next.status, "garbage collection status");
            self.pending.push_back(GcEvent::StatusChanged {
                from: current.status.clone(),
                to: next.status.clone(),
            });
            changed_at = now;
        }
        if let Some(freed) = next.freed_bytes
            && next.freed_bytes != current.freed_bytes
        {
            self.pending
                .push_back(GcEvent::Progress { freed_bytes: freed });
            changed_at = now;
        }
        if next.blobs_deleted != current.blobs_deleted {
            changed_at = now;
        }
        let delay = delay
            .saturating_mul(2)
            .min(self.waiter.poll_max.max(self.waiter.poll_start));
        self.after_poll(next, started_at, changed_at, delay)
    }

    /// Ends the run, or fails it, or schedules the next poll.
    fn after_poll(
        &mut self,
        status: GcStatus,
        started_at: DateTime<Utc>,
        changed_at: DateTime<Utc>,
        delay: Duration,
    ) -> Result<()> {
        if status.finished {
            tracing::info!(id = %status.id, status = %status.status, succeeded = status.succeeded, "garbage collection ended");
            self.pending.push_back(GcEvent::Finished(status));
            self.phase = Phase::Done;
            return Ok(());
        }
        let now = self.waiter.clock.now();
        if now - changed_at >= to_delta(self.waiter.stall) {
            return Err(Error::GcStalled {
                status: status.status,
                for_secs: secs(now - changed_at),
            });
        }
        if now - started_at >= to_delta(self.waiter.budget) {
            return Err(Error::Timeout {
                what: format!(
                    "garbage collection {} (last `{}`)",
                    status.id, status.status
                ),
                budget_secs: self.waiter.budget.as_secs(),
            });
        }
        self.phase = Phase::Polling {
            current: status,
            started_at,
            changed_at,
            delay,
        };
        Ok(())
    }
}

/// What [`preflight`] found: untagged manifests kept images still need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// Untagged manifests in all.
    pub untagged: usize,
    /// Of those, ones a tagged index lists (directly or through another
    /// index).
    pub index_children: usize,
    /// Of those, referrers (signatures, SBOMs, attestations) of a tagged
    /// subject, and what such referrers reach.
    pub referrers: usize,
}

impl Preflight {
    /// Untagged manifests a kept image references.
    pub fn referenced(&self) -> usize {
        self.index_children + self.referrers
    }
}

impl fmt::Display for Preflight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} untagged manifests; {} are platforms of tagged indexes and {} are referrers of tagged images",
            self.untagged, self.index_children, self.referrers
        )
    }
}

/// Counts, over every repository of `registry`, the untagged manifests
/// that a tagged manifest reaches: through an index's children, or as a
/// referrer of a tagged subject. A graph that cannot be read is an error:
/// nothing is known to be safe.
pub async fn preflight(
    view: &dyn RegistryView,
    registry: &Registry,
    reader: &GraphReader,
) -> Result<Preflight> {
    use futures::TryStreamExt as _;
    let mut found = Preflight::default();
    let names: Vec<String> = view
        .repositories(registry)
        .map_ok(|r| r.name)
        .try_collect()
        .await?;
    for name in names {
        let images: Vec<Image> = view.images(registry, &name).try_collect().await?;
        let tagged: std::collections::BTreeSet<&str> = images
            .iter()
            .filter(|i| i.tag.is_some())
            .map(|i| i.digest.as_str())
            .collect();
        let untagged: std::collections::BTreeSet<&str> = images
            .iter()
            .filter(|i| i.tag.is_none() && !tagged.contains(i.digest.as_str()))
            .map(|i| i.digest.as_str())
            .collect();
        found.untagged += untagged.len();
        if untagged.is_empty() {
            continue;
        }
        let graph = reader
            .repository(view, registry, &name, &images)
            .await
            .map_err(|e| Error::Unexpected(e.to_string()))?;
        let roots: Vec<&str> = graph.tags.values().map(String::as_str).collect();
        // What indexes reach through children alone.
        let mut children = std::collections::BTreeSet::new();
        let mut stack: Vec<&str> = roots.clone();
        while let Some(d) = stack.pop() {
            if let Some(node) = graph.nodes.get(d) {
                for c in &node.children {
                    if children.insert(c.digest.as_str()) {
                        stack.push(c.digest.as_str());
                    }
                }
            }
        }
        let reachable = graph.reachable(roots);
        for d in untagged {
            if children.contains(d) {
                found.index_children += 1;
            } else if reachable.contains(d) {
                found.referrers += 1;
            }
        }
    }
    Ok(found)
}
