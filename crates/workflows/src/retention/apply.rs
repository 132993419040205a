//! Carrying a plan out: [`apply`] deletes in plan order, re-reading each
//! tag and manifest right before deleting it, and reports what was done,
//! skipped as changed, failed and not attempted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::plan::{Deletion, KeptGraph, Plan};
use crate::gc::GcWaiter;
use crate::graph::GraphReader;
use crate::view::{GcKind, GcStatus, Registry, RegistryView};
use crate::{Capability, Error, Result};

/// How [`apply`] ends.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// After every deletion succeeded, run this garbage collection through
    /// this waiter.
    pub gc: Option<(GcKind, GcWaiter)>,
    /// Where the plan read the image graph: the reader that checks each
    /// manifest against the graph as it is now, right before deleting it.
    pub graph: Option<GraphReader>,
}

impl ApplyOptions {
    /// Deletions only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs a garbage collection of `kind` through `waiter` after the
    /// deletions.
    pub fn gc(mut self, kind: GcKind, waiter: GcWaiter) -> Self {
        self.gc = Some((kind, waiter));
        self
    }

    /// Checks manifest deletions against the image graph through `reader`
    /// (needed for a plan that read the graph).
    pub fn graph(mut self, reader: GraphReader) -> Self {
        self.graph = Some(reader);
        self
    }
}

/// Why [`apply`] skipped a deletion: what it would delete changed since
/// the plan was made. A skip does not stop the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
#[non_exhaustive]
pub enum Change {
    /// The tag now names another manifest (it was pushed again).
    TagMoved {
        /// The digest it names now.
        digest: String,
    },
    /// The tag no longer exists.
    TagGone,
    /// The manifest gained a tag this plan does not delete (a rollback of
    /// `latest`, say).
    ManifestTagged {
        /// Its tags now.
        tags: Vec<String>,
    },
    /// The manifest no longer exists.
    ManifestGone,
    /// A kept tag reaches the manifest now (an index started to list it,
    /// or it refers to a subject that is kept now).
    ReferencedNow {
        /// The kept tag that reaches it.
        by: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::TagMoved { digest } => write!(f, "the tag now names {digest}"),
            Change::TagGone => f.write_str("the tag is gone"),
            Change::ManifestTagged { tags } => {
                write!(f, "the manifest is tagged now ({})", tags.join(", "))
            }
            Change::ManifestGone => f.write_str("the manifest is gone"),
            Change::ReferencedNow { by } => {
                write!(f, "the kept tag {by} reaches the manifest now")
            }
        }
    }
}

/// A deletion [`apply`] skipped, and what changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The planned deletion.
    pub deletion: Deletion,
    /// What changed since the plan.
    pub change: Change,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: changed since the plan: {}",
            self.deletion, self.change
        )
    }
}

/// What [`apply`] did. A partial failure is not an `Err`: check
/// [`is_complete`](Self::is_complete).
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Deletions done, in order.
    pub done: Vec<Deletion>,
    /// Deletions skipped because what they would delete changed since the
    /// plan, in plan order. They do not make the report incomplete.
    pub changed: Vec<Skipped>,
    /// The deletion that failed, and why. Nothing after it was attempted.
    pub failed: Option<(Deletion, Error)>,
    /// Deletions not attempted, in plan order.
    pub not_attempted: Vec<Deletion>,
    /// Whether a garbage collection was asked for.
    pub gc_requested: bool,
    /// The garbage collection's final status (it may say it failed or was
    /// cancelled), when it ran to its end.
    pub gc: Option<GcStatus>,
    /// Why waiting for the garbage collection failed (stall, timeout,
    /// API error), when it did.
    pub gc_error: Option<Error>,
}

impl ApplyReport {
    /// Whether every deletion was done or skipped as changed since the
    /// plan, and the garbage collection, if asked for, succeeded. A CLI
    /// exits with 3 when this is false.
    pub fn is_complete(&self) -> bool {
        self.failed.is_none()
            && self.not_attempted.is_empty()
            && self.gc_error.is_none()
            && (!self.gc_requested || self.gc.as_ref().is_some_and(|s| s.succeeded))
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} deletions done", self.done.len())?;
        if !self.changed.is_empty() {
            write!(
                f,
                "; {} skipped as changed since the plan",
                self.changed.len()
            )?;
        }
        if let Some((d, e)) = &self.failed {
            write!(f, "; failed: {d}: {e}")?;
        }
        if !self.not_attempted.is_empty() {
            write!(f, "; {} not attempted", self.not_attempted.len())?;
        }
        if let Some(gc) = &self.gc {
            let outcome = if gc.succeeded {
                "succeeded"
            } else {
                "did not succeed"
            };
            write!(
                f,
                "; garbage collection {} {outcome} ({})",
                gc.id, gc.status
            )?;
        }
        if let Some(e) = &self.gc_error {
            write!(f, "; garbage collection: {e}")?;
        }
        Ok(())
    }
}

/// Carries out `plan` through `view`: its tag deletions, then its manifest
/// deletions, in plan order, then (when no deletion failed and
/// `options.gc` is set) a garbage collection through the waiter.
///
/// Each deletion first re-reads what it would delete through the
/// provider's API, right before deleting it: a tag must still name the
/// planned digest, a manifest must still exist with no tag (its planned
/// tags were deleted before it). Where the plan read the image graph
/// (`options.graph`), the repository's tags are re-read through the
/// registry before its first manifest deletion, and a manifest that a tag
/// reaches now (an index that lists it, a subject it refers to) is
/// skipped as [`Change::ReferencedNow`]. What changed is skipped and reported in
/// [`ApplyReport::changed`], and the run goes on; so is a deletion the
/// provider answers with 404 (it went between the check and the delete).
/// The window that remains is the one request between the check and the
/// delete: no registry API offers a conditional delete.
///
/// Stops at the first failed check or deletion (no retries beyond the
/// client's own retry policy) and reports what was done, what failed and
/// what was not attempted. `Err` only when nothing was attempted: the plan
/// is for another provider, or the view cannot do what the plan needs.
pub async fn apply(
    view: &dyn RegistryView,
    plan: &Plan,
    options: ApplyOptions,
) -> Result<ApplyReport> {
    if plan.provider != view.provider() {
        return Err(Error::InvalidInput(format!(
            "the plan is for {}, the view is {}",
            plan.provider,
            view.provider()
        )));
    }
    for (needed, capability) in [
        (
            plan.deletions.iter().any(|d| d.tag.is_some()),
            Capability::DeleteTag,
        ),
        (
            plan.deletions.iter().any(|d| d.tag.is_none()),
            Capability::DeleteManifest,
        ),
        (options.gc.is_some(), Capability::GarbageCollection),
    ] {
        if needed && !view.supports(capability) {
            return Err(Error::Unsupported {
                provider: view.provider(),
                capability,
            });
        }
    }
    let checks_graph = plan
        .deletions
        .iter()
        .any(|d| d.tag.is_none() && plan.kept.contains_key(&d.repository));
    if checks_graph && options.graph.is_none() {
        return Err(Error::InvalidInput(
            "the plan read the image graph: apply needs a graph reader (ApplyOptions::graph) to check its manifest deletions against the graph as it is now".into(),
        ));
    }
    let mut report = ApplyReport {
        gc_requested: options.gc.is_some(),
        ..ApplyReport::default()
    };
    // Per repository, what kept tags reach now that the plan did not see.
    let mut now_reached: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut rest = plan.deletions.iter();
    for d in rest.by_ref() {
        if d.tag.is_none()
            && let (Some(kept), Some(reader)) = (plan.kept.get(&d.repository), &options.graph)
        {
            if !now_reached.contains_key(&d.repository) {
                match reached_since(reader, kept).await {
                    Ok(reached) => {
                        now_reached.insert(d.repository.clone(), reached);
                    }
                    Err(e) => {
                        tracing::warn!(deletion = %d, error = %e, "retention: the graph check failed; stopping");
                        report.failed = Some((d.clone(), e));
                        break;
                    }
                }
            }
            if let Some(by) = now_reached
                .get(&d.repository)
                .and_then(|r| r.get(&d.digest))
            {
                let change = Change::ReferencedNow { by: by.clone() };
                tracing::info!(deletion = %d, %change, "retention: changed since the plan; skipped");
                report.changed.push(Skipped {
                    deletion: d.clone(),
                    change,
                });
                continue;
            }
        }
        let served = plan.kept.get(&d.repository).zip(options.graph.as_ref());
        match delete_checked(view, &plan.registry, d, served).await {
            Ok(None) => report.done.push(d.clone()),
            Ok(Some(change)) => {
                tracing::info!(deletion = %d, %change, "retention: changed since the plan; skipped");
                report.changed.push(Skipped {
                    deletion: d.clone(),
                    change,
                });
            }
            Err(e) => {
                tracing::warn!(deletion = %d, error = %e, "retention: deletion failed; stopping");
                report.failed = Some((d.clone(), e));
                break;
            }
        }
    }
    report.not_attempted = rest.cloned().collect();
    if report.failed.is_none()
        && let Some((kind, waiter)) = &options.gc
    {
        match waiter.wait(view, &plan.registry, *kind).await {
            Ok(status) => report.gc = Some(status),
            Err(e) => report.gc_error = Some(e),
        }
    }
    Ok(report)
}

/// Re-reads what `d` would delete, then deletes it when it is as planned:
/// `Ok(None)` when deleted, `Ok(Some(change))` when skipped.
///
/// Where the plan read the graph, a tag is re-read through the registry
/// itself (one `HEAD`, where a management API may list every tag).
async fn delete_checked(
    view: &dyn RegistryView,
    registry: &Registry,
    d: &Deletion,
    served: Option<(&KeptGraph, &GraphReader)>,
) -> Result<Option<Change>> {
    let (deleted, gone) = match &d.tag {
        Some(tag) => {
            let now = match served {
                Some((kept, reader)) => reader
                    .client()
                    .manifest_digest(&kept.name, tag)
                    .await
                    .map_err(|e| {
                        Error::Unexpected(format!("re-reading tag {tag} of {}: {e}", kept.name))
                    })?,
                None => view.tag_digest(registry, &d.repository, tag).await?,
            };
            match now {
                None => return Ok(Some(Change::TagGone)),
                Some(digest) if digest != d.digest => {
                    return Ok(Some(Change::TagMoved { digest }));
                }
                Some(_) => {}
            }
            (
                view.delete_tag(registry, &d.repository, tag).await,
                Change::TagGone,
            )
        }
        None => {
            match view
                .manifest_tags(registry, &d.repository, &d.digest)
                .await?
            {
                None => return Ok(Some(Change::ManifestGone)),
                Some(tags) if !tags.is_empty() => {
                    return Ok(Some(Change::ManifestTagged { tags }));
                }
                Some(_) => {}
            }
            (
                view.delete_manifest(registry, &d.repository, &d.digest)
                    .await,
                Change::ManifestGone,
            )
        }
    };
    match deleted {
        Ok(()) => Ok(None),
        // Gone between the check and the delete: what the plan wanted, by
        // another hand. Not an error to retry.
        Err(e) if e.is_not_found() => Ok(Some(gone)),
        Err(e) => Err(e),
    }
}

/// What the repository's tags reach now that the plan's kept graph did
/// not: each such digest → a tag that reaches it. Re-reads every tag the
/// registry has (a `HEAD` each), and the graph of each tag that names a
/// digest the plan did not keep.
async fn reached_since(reader: &GraphReader, kept: &KeptGraph) -> Result<BTreeMap<String, String>> {
    let graph_failed = |reason: String| {
        Error::Unexpected(format!(
            "the image graph of {} could not be re-read: {reason}",
            kept.name
        ))
    };
    let client = reader.client();
    let tags = client
        .tags(&kept.name)
        .await
        .map_err(|e| graph_failed(e.to_string()))?;
    let mut reached = BTreeMap::new();
    for tag in tags {
        let Some(digest) = client
            .manifest_digest(&kept.name, &tag)
            .await
            .map_err(|e| graph_failed(format!("tag {tag}: {e}")))?
        else {
            continue;
        };
        if kept.reachable.contains(&digest) {
            continue;
        }
        let nodes = reader
            .closure(&kept.name, BTreeSet::from([digest]))
            .await
            .map_err(graph_failed)?;
        for d in nodes.into_keys() {
            reached.entry(d).or_insert_with(|| tag.clone());
        }
    }
    Ok(reached)
}
