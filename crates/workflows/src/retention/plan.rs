//! The planner: [`plan`] lists a registry through a view, and the pure
//! [`plan_listing`] turns what was listed into a [`Plan`] in three named
//! steps, per repository:
//!
//! 1. `index`: tag → manifest (the first listing of a tag wins), and per
//!    digest its size, its tags, whether a protected tag holds it, and the
//!    manifests that were untagged already;
//! 2. `rank`: the candidate tags, newest first;
//! 3. `decide`: which candidates the rules delete, which manifests that
//!    leaves without tags, and what each deletion frees; where the image
//!    graph was read, what no kept root reaches (`judge_graph`).
//!
//! Nothing here calls a provider but [`plan`]'s and [`plan_with_graph`]'s
//! reads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::rules::{Rule, Rules};
use super::text::when;
use crate::graph::{GraphError, GraphReader, RepoGraph, tag_subject};
use crate::view::{Image, Registry, RegistryView, TagDeletion};
use crate::{Capability, Error, Result};

/// The version of the plan file format ([`Plan::to_json`]).
pub const PLAN_FORMAT: u32 = 1;

/// One deletion: a tag (`tag: Some`) or a manifest (`tag: None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// The repository.
    pub repository: String,
    /// The tag to delete, or `None` to delete the manifest.
    pub tag: Option<String>,
    /// The manifest digest (the tag's, or the one to delete).
    pub digest: String,
    /// The rule that chose it.
    pub rule: Rule,
    /// The deleted index or subject it goes with
    /// ([`Rule::ChildOfDeleted`], [`Rule::OrphanedReferrer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Bytes it frees (after garbage collection), when known.
    pub freed_bytes: Option<u64>,
}

impl fmt::Display for Deletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "tag {}:{tag} ({})", self.repository, self.digest)?,
            None => write!(f, "manifest {}@{}", self.repository, self.digest)?,
        }
        write!(f, ": {}", self.rule)?;
        if let Some(parent) = &self.parent {
            write!(f, " ({parent})")?;
        }
        match self.freed_bytes {
            Some(0) => Ok(()),
            Some(b) => write!(f, ", frees {b} bytes"),
            None => write!(f, ", frees an unknown number of bytes"),
        }
    }
}

/// A plan's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Repositories planned.
    pub repositories: usize,
    /// Tags seen.
    pub tags_seen: usize,
    /// Tags kept.
    pub tags_kept: usize,
    /// Tags to delete.
    pub tags_deleted: usize,
    /// Manifests to delete.
    pub manifests_deleted: usize,
    /// Bytes the deletions free (after garbage collection), of those whose
    /// size is known.
    pub freed_bytes: u64,
    /// Deletions whose freed bytes are unknown.
    pub unknown_sizes: usize,
    /// Repositories left alone because their image graph could not be
    /// read ([`Plan::blocked`]).
    #[serde(default)]
    pub repositories_blocked: usize,
}

/// What a plan saw kept in one repository's graph: what
/// [`apply`](super::apply) checks a manifest against right before deleting
/// it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptGraph {
    /// The repository's name on the data plane.
    pub name: String,
    /// Kept tags → the digest each named.
    pub tags: BTreeMap<String, String>,
    /// Every digest a kept root reached.
    pub reachable: BTreeSet<String>,
}

/// What [`apply`](super::apply) would delete, and why. Deletes nothing by itself; holds
/// no credentials (its JSON and text are safe to print). [`Plan::to_json`]
/// and [`Plan::from_json`] make it a file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The file format's version ([`PLAN_FORMAT`]).
    #[serde(default)]
    pub format: u32,
    /// The provider (`digitalocean`, …).
    pub provider: String,
    /// The registry.
    pub registry: Registry,
    /// The time the rules were judged at.
    pub now: DateTime<Utc>,
    /// The `older_than` cutoff, when set.
    pub cutoff: Option<DateTime<Utc>>,
    /// The rules.
    pub rules: Rules,
    /// Whether the image graph was read (the provider has a data plane
    /// and the plan was made with [`plan_with_graph`]).
    #[serde(default)]
    pub graph_read: bool,
    /// Tag deletions (by repository, then tag), then manifest deletions
    /// (by repository, parents before children, subjects before their
    /// referrers, then by digest).
    pub deletions: Vec<Deletion>,
    /// Repositories whose graph could not be read, and why: the plan
    /// deletes nothing there.
    #[serde(default)]
    pub blocked: Vec<GraphError>,
    /// Per repository with deletions, what the graph kept.
    #[serde(default)]
    pub kept: BTreeMap<String, KeptGraph>,
    /// Counts.
    pub totals: Totals,
}

impl Plan {
    /// Whether there is nothing to delete.
    pub fn is_empty(&self) -> bool {
        self.deletions.is_empty()
    }

    /// The plan as a versioned JSON document (no credentials in it).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A plan read back from [`to_json`](Self::to_json)'s document; a
    /// document of another format version, or one that does not parse,
    /// is an [`Error::InvalidInput`] naming what is wrong.
    pub fn from_json(text: &str) -> Result<Plan> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("the plan file is not JSON: {e}")))?;
        let format = value.get("format").and_then(|f| f.as_u64());
        if format != Some(u64::from(PLAN_FORMAT)) {
            return Err(Error::InvalidInput(format!(
                "the plan file is of format {}, this regkit reads format {PLAN_FORMAT}",
                format.map_or("(none)".to_string(), |f| f.to_string())
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| Error::InvalidInput(format!("the plan file does not parse: {e}")))
    }

    /// Refuses a plan made for another provider or registry, or longer
    /// than `max_age` before `now`.
    pub fn check_applies(
        &self,
        provider: &str,
        registry: &Registry,
        now: DateTime<Utc>,
        max_age: std::time::Duration,
    ) -> Result<()> {
        if self.provider != provider {
            return Err(Error::InvalidInput(format!(
                "the plan is for {}, not {provider}",
                self.provider
            )));
        }
        if self.registry.id != registry.id {
            return Err(Error::InvalidInput(format!(
                "the plan is for registry {}, not {}",
                self.registry.id, registry.id
            )));
        }
        let age = now.signed_duration_since(self.now);
        let max = chrono::TimeDelta::from_std(max_age).unwrap_or(chrono::TimeDelta::MAX);
        if age > max {
            return Err(Error::InvalidInput(format!(
                "the plan was made at {}, {} ago: older than the {} a plan may be (make a new one)",
                when(&self.now),
                super::text::age(age.to_std().unwrap_or_default()),
                super::text::age(max_age)
            )));
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.totals;
        writeln!(
            f,
            "retention plan for {} registry {} at {}",
            self.provider,
            self.registry.name,
            when(&self.now)
        )?;
        writeln!(f, "rules: {}", self.rules)?;
        write!(
            f,
            "{} repositories, {} tags seen, {} kept; delete {} tags and {} manifests, freeing {} bytes",
            t.repositories,
            t.tags_seen,
            t.tags_kept,
            t.tags_deleted,
            t.manifests_deleted,
            t.freed_bytes
        )?;
        if t.unknown_sizes > 0 {
            write!(f, " (and {} of unknown size)", t.unknown_sizes)?;
        }
        writeln!(f)?;
        if !self.graph_read {
            writeln!(
                f,
                "the image graph was not read: untagged manifests may be parts of kept images"
            )?;
        }
        for b in &self.blocked {
            writeln!(f, "  nothing deleted in {}: {}", b.repository, b.reason)?;
        }
        for d in &self.deletions {
            writeln!(f, "  delete {d}")?;
        }
        Ok(())
    }
}

/// Lists `registry`'s images through `view` and plans what `rules` delete
/// at `now` ([`plan_listing`] on what was listed), from the management
/// listing alone. Deletes nothing. The same images and rules give the
/// same plan.
///
/// On a provider with a data plane, use [`plan_with_graph`]: a listing
/// does not show which untagged manifests a kept image still needs.
pub async fn plan(
    view: &dyn RegistryView,
    registry: &Registry,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Plan> {
    plan_inner(view, registry, rules, now, None).await
}

/// [`plan`], reading every planned repository's image graph through
/// `graph` first: nothing a kept root reaches is deleted, and a
/// repository whose graph cannot be read is left alone
/// ([`Plan::blocked`]).
pub async fn plan_with_graph(
    view: &dyn RegistryView,
    registry: &Registry,
    rules: &Rules,
    now: DateTime<Utc>,
    graph: &GraphReader,
) -> Result<Plan> {
    plan_inner(view, registry, rules, now, Some(graph)).await
}

async fn plan_inner(
    view: &dyn RegistryView,
    registry: &Registry,
    rules: &Rules,
    now: DateTime<Utc>,
    graph: Option<&GraphReader>,
) -> Result<Plan> {
    if rules.keep_newest.is_none() && rules.older_than.is_none() {
        tracing::info!(
            "retention rules set neither keep_newest nor older_than: nothing is deleted"
        );
    }
    let mut names: Vec<String> = view
        .repositories(registry)
        .map_ok(|r| r.name)
        .try_collect()
        .await?;
    names.retain(|n| rules.covers_repository(n));
    names.sort();
    names.dedup();
    let mut repositories = Vec::with_capacity(names.len());
    let mut graphs = BTreeMap::new();
    for name in names {
        let images: Vec<Image> = view.images(registry, &name).try_collect().await?;
        if let Some(reader) = graph {
            let read = reader.repository(view, registry, &name, &images).await;
            if let Err(e) = &read {
                tracing::warn!(error = %e, "retention: nothing is deleted in this repository");
            }
            graphs.insert(name.clone(), read);
        }
        repositories.push((name, images));
    }
    Ok(plan_listing(
        Listing {
            provider: view.provider().to_string(),
            registry: registry.clone(),
            fate: ManifestFate::of(view),
            repositories,
            graphs: graph.map(|_| graphs),
        },
        rules,
        now,
    ))
}

/// What a registry's listing held, as [`plan_listing`] takes it.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The provider's short name.
    pub provider: String,
    /// The registry.
    pub registry: Registry,
    /// What becomes of a manifest left without tags on this provider.
    pub fate: ManifestFate,
    /// Each repository's name and images, as listed.
    pub repositories: Vec<(String, Vec<Image>)>,
    /// Each repository's image graph, or why it could not be read; `None`
    /// when no graph was read (a provider without a data plane). A
    /// repository missing from a `Some` map is planned as blocked.
    pub graphs: Option<BTreeMap<String, std::result::Result<RepoGraph, GraphError>>>,
}

/// Plans what `rules` delete at `now` from what `listing` holds: a pure
/// function (no I/O, no clock). Repositories [`Rules::repositories`] does
/// not cover are left out; the plan is the same for the same listing in
/// any order.
pub fn plan_listing(listing: Listing, rules: &Rules, now: DateTime<Utc>) -> Plan {
    let cutoff = rules.cutoff(now);
    let mut repositories: Vec<(String, Vec<Image>)> = listing
        .repositories
        .into_iter()
        .filter(|(name, _)| rules.covers_repository(name))
        .collect();
    repositories.sort_by(|a, b| a.0.cmp(&b.0));
    repositories.dedup_by(|a, b| a.0 == b.0);

    let mut totals = Totals {
        repositories: repositories.len(),
        ..Totals::default()
    };
    let mut tags = Vec::new();
    let mut manifests = Vec::new();
    let mut blocked = Vec::new();
    let mut kept = BTreeMap::new();
    let graph_read = listing.graphs.is_some();
    let mut graphs = listing.graphs.unwrap_or_default();
    for (name, images) in repositories {
        let graph = match graphs.remove(&name) {
            Some(Ok(g)) => Some(g),
            Some(Err(e)) => {
                blocked.push(e);
                None
            }
            None if graph_read => {
                blocked.push(GraphError {
                    repository: name.clone(),
                    reason: "its graph was not read".into(),
                });
                None
            }
            None => None,
        };
        let index = index(images, rules);
        totals.tags_seen += index.tagged.len();
        if graph_read && graph.is_none() {
            // Fail closed: nothing in a repository whose graph is unknown.
            totals.tags_kept += index.tagged.len();
            continue;
        }
        let ranked = rank(&index, rules, graph.is_some());
        let mut decided = decide(&name, &index, &ranked, rules, cutoff, listing.fate);
        if let Some(graph) = &graph {
            let judged = judge_graph(decided, &index, graph, rules, listing.fate);
            if !judged.manifests.is_empty() || !judged.tags.is_empty() {
                kept.insert(name.clone(), judged.kept.clone());
            }
            decided = Decided {
                tags: judged.tags,
                manifests: judged.manifests,
            };
        }
        totals.tags_kept += index.tagged.len() - decided.tags.len();
        tags.extend(decided.tags);
        manifests.extend(decided.manifests);
    }
    totals.repositories_blocked = blocked.len();
    totals.tags_deleted = tags.len();
    totals.manifests_deleted = manifests.len();
    let mut deletions = tags;
    deletions.extend(manifests);
    for d in &deletions {
        match d.freed_bytes {
            Some(b) => totals.freed_bytes = totals.freed_bytes.saturating_add(b),
            None => totals.unknown_sizes += 1,
        }
    }
    Plan {
        format: PLAN_FORMAT,
        provider: listing.provider,
        registry: listing.registry,
        now,
        cutoff,
        rules: rules.clone(),
        graph_read,
        deletions,
        blocked,
        kept,
        totals,
    }
}

/// What becomes of a manifest whose every tag a plan deletes, on one
/// provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestFate {
    /// The plan deletes it by digest after its tags.
    DeletedByPlan,
    /// Deleting its last tag removes it
    /// ([`TagDeletion::RemovesManifestWithLastTag`]); manifests that were
    /// untagged already are still deleted by digest.
    GoesWithLastTag,
    /// It stays untagged for the garbage collection (manifests cannot be
    /// deleted by digest, so the plan deletes tags only).
    LeftForGc,
}

impl ManifestFate {
    /// The fate on `view`'s provider.
    pub fn of(view: &dyn RegistryView) -> Self {
        match (
            view.supports(Capability::DeleteManifest),
            view.tag_deletion(),
        ) {
            (false, _) => ManifestFate::LeftForGc,
            (true, TagDeletion::RemovesManifestWithLastTag) => ManifestFate::GoesWithLastTag,
            (true, TagDeletion::LeavesManifest) => ManifestFate::DeletedByPlan,
        }
    }
}

/// A tag as listed.
struct Tagged {
    tag: String,
    digest: String,
    updated_at: Option<DateTime<Utc>>,
}

/// Step 1's result: one repository's listing, indexed.
struct Index {
    /// Tag → its image (the first listing of a tag wins).
    tagged: BTreeMap<String, Tagged>,
    /// Digest → its size, when any listing of it says.
    sizes: BTreeMap<String, Option<u64>>,
    /// Untagged manifests → their newest time.
    untagged: BTreeMap<String, Option<DateTime<Utc>>>,
    /// Digest → its tags.
    tags_of: BTreeMap<String, Vec<String>>,
    /// Digests a protected tag holds.
    protected: BTreeSet<String>,
}

/// Step 1: index what was listed.
fn index(images: Vec<Image>, rules: &Rules) -> Index {
    let mut tagged: BTreeMap<String, Tagged> = BTreeMap::new();
    let mut sizes: BTreeMap<String, Option<u64>> = BTreeMap::new();
    let mut untagged: BTreeMap<String, Option<DateTime<Utc>>> = BTreeMap::new();
    for image in images {
        let size = sizes.entry(image.digest.clone()).or_insert(None);
        if size.is_none() {
            *size = image.size_bytes;
        }
        match image.tag {
            Some(tag) => {
                tagged.entry(tag.clone()).or_insert(Tagged {
                    tag,
                    digest: image.digest,
                    updated_at: image.updated_at,
                });
            }
            None => {
                let at = untagged.entry(image.digest).or_insert(image.updated_at);
                *at = (*at).max(image.updated_at);
            }
        }
    }
    let mut tags_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in tagged.values() {
        tags_of
            .entry(t.digest.clone())
            .or_default()
            .push(t.tag.clone());
    }
    let protected = tagged
        .values()
        .filter(|t| rules.is_protected(&t.tag))
        .map(|t| t.digest.clone())
        .collect();
    Index {
        tagged,
        sizes,
        untagged,
        tags_of,
        protected,
    }
}

/// Step 2: the candidate tags, newest first (unknown times first, then by
/// time descending, ties by tag ascending). Where the graph is read, a
/// cosign-style tag is never a candidate: it belongs to its subject.
fn rank<'i>(index: &'i Index, rules: &Rules, graph: bool) -> Vec<&'i Tagged> {
    let mut candidates: Vec<&Tagged> = index
        .tagged
        .values()
        .filter(|t| rules.is_candidate(&t.tag) && !(graph && tag_subject(&t.tag).is_some()))
        .collect();
    candidates.sort_by(|a, b| {
        let newest = match (a.updated_at, b.updated_at) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(&x),
        };
        newest.then_with(|| a.tag.cmp(&b.tag))
    });
    candidates
}

/// Step 3's result for one repository.
struct Decided {
    tags: Vec<Deletion>,
    manifests: Vec<Deletion>,
}

/// Step 3: which ranked candidates the rules delete, which manifests that
/// leaves without tags (never a protected one), and what each deletion
/// frees.
fn decide(
    repository: &str,
    index: &Index,
    ranked: &[&Tagged],
    rules: &Rules,
    cutoff: Option<DateTime<Utc>>,
    fate: ManifestFate,
) -> Decided {
    let mut deleted: BTreeMap<&str, Rule> = BTreeMap::new();
    for (rank, t) in ranked.iter().enumerate() {
        let beyond = rules.keep_newest.map(|n| rank >= n);
        let old = cutoff.map(|c| t.updated_at.is_some_and(|u| u < c));
        let rule = match (rules.keep_newest, beyond, cutoff, old) {
            (Some(n), Some(true), None, _) => Some(Rule::KeepNewest { n }),
            (None, _, Some(cutoff), Some(true)) => Some(Rule::OlderThan { cutoff }),
            (Some(n), Some(true), Some(cutoff), Some(true)) => {
                Some(Rule::KeepNewestAndOlderThan { n, cutoff })
            }
            _ => None,
        };
        if let Some(rule) = rule {
            deleted.insert(t.tag.as_str(), rule);
        }
    }

    let emptied: BTreeSet<&str> = index
        .tags_of
        .iter()
        .filter(|(digest, tags)| {
            !index.protected.contains(*digest)
                && tags.iter().all(|t| deleted.contains_key(t.as_str()))
        })
        .map(|(digest, _)| digest.as_str())
        .collect();

    let size = |digest: &str| index.sizes.get(digest).copied().flatten();
    let mut credited: BTreeSet<&str> = BTreeSet::new();
    let tags: Vec<Deletion> = deleted
        .iter()
        .filter_map(|(tag, rule)| {
            let t = index.tagged.get(*tag)?;
            let digest = t.digest.as_str();
            // Where no manifest deletion follows, the first deleted tag of
            // an emptied manifest carries its bytes.
            let freed = if fate != ManifestFate::DeletedByPlan
                && emptied.contains(digest)
                && credited.insert(digest)
            {
                size(digest)
            } else {
                Some(0)
            };
            Some(Deletion {
                repository: repository.to_string(),
                tag: Some(t.tag.clone()),
                digest: t.digest.clone(),
                rule: *rule,
                parent: None,
                freed_bytes: freed,
            })
        })
        .collect();

    let mut manifests: Vec<Deletion> = Vec::new();
    if fate == ManifestFate::DeletedByPlan {
        manifests.extend(emptied.iter().map(|digest| Deletion {
            repository: repository.to_string(),
            tag: None,
            digest: digest.to_string(),
            rule: Rule::Untagged,
            parent: None,
            freed_bytes: size(digest),
        }));
    }
    // Manifests that were untagged already, wherever manifests can be
    // deleted by digest.
    if fate != ManifestFate::LeftForGc
        && let (true, Some(cutoff)) = (rules.delete_untagged, cutoff)
    {
        for (digest, at) in &index.untagged {
            if index.tags_of.contains_key(digest) || !at.is_some_and(|at| at < cutoff) {
                continue;
            }
            manifests.push(Deletion {
                repository: repository.to_string(),
                tag: None,
                digest: digest.clone(),
                rule: Rule::UntaggedOlderThan { cutoff },
                parent: None,
                freed_bytes: size(digest),
            });
        }
    }
    manifests.sort_by(|a, b| a.digest.cmp(&b.digest));
    Decided { tags, manifests }
}

/// Step 4's result: the deletions that survive the graph, and what it
/// kept.
struct Judged {
    tags: Vec<Deletion>,
    manifests: Vec<Deletion>,
    kept: KeptGraph,
}

/// Step 4, where the image graph was read: keeps whatever a kept root
/// reaches, and adds what goes with a deleted manifest.
///
/// - Roots: every tag the plan does not delete (the registry's own tags
///   included) other than cosign-style ones, and the pinned digests; with
///   [`Rules::orphaned_referrers`] off, cosign-style tags too.
/// - A cosign-style tag whose subject no root reaches is deleted with it
///   ([`Rule::OrphanedReferrer`]); one whose subject is kept stays.
/// - No manifest a root reaches is deleted. Where deleting a tag would
///   take such a manifest with it (its last tag, on a provider whose tag
///   is the image), the tag stays too.
/// - A deleted manifest takes along what it alone reached: an index's
///   children ([`Rule::ChildOfDeleted`]) and, with
///   [`Rules::orphaned_referrers`], a subject's referrers
///   ([`Rule::OrphanedReferrer`]), where manifests are deleted by digest.
/// - Manifests are ordered parents before children and subjects before
///   their referrers.
fn judge_graph(
    decided: Decided,
    index: &Index,
    graph: &RepoGraph,
    rules: &Rules,
    fate: ManifestFate,
) -> Judged {
    let deleted_tags: BTreeSet<String> =
        decided.tags.iter().filter_map(|d| d.tag.clone()).collect();
    let mut all_tags: BTreeMap<&str, &str> = graph
        .tags
        .iter()
        .map(|(t, d)| (t.as_str(), d.as_str()))
        .collect();
    for t in index.tagged.values() {
        all_tags.entry(t.tag.as_str()).or_insert(t.digest.as_str());
    }
    let is_root = |tag: &str| {
        !deleted_tags.contains(tag) && (!rules.orphaned_referrers || tag_subject(tag).is_none())
    };
    let kept_tags: BTreeMap<String, String> = all_tags
        .iter()
        .filter(|(t, _)| is_root(t))
        .map(|(t, d)| (t.to_string(), d.to_string()))
        .collect();
    let roots = kept_tags
        .values()
        .map(String::as_str)
        .chain(rules.pins.iter().map(String::as_str));
    let reachable = graph.reachable(roots);

    let repository = graph.repository.as_str();
    let mut tags = decided.tags;
    // Cosign-style tags of subjects no root reaches.
    if rules.orphaned_referrers {
        for t in index.tagged.values() {
            let Some(subject) = tag_subject(&t.tag) else {
                continue;
            };
            if !reachable.contains(&subject) && !deleted_tags.contains(&t.tag) {
                tags.push(Deletion {
                    repository: repository.to_string(),
                    tag: Some(t.tag.clone()),
                    digest: t.digest.clone(),
                    rule: Rule::OrphanedReferrer,
                    parent: Some(subject),
                    freed_bytes: Some(0),
                });
            }
        }
        tags.sort_by(|a, b| a.tag.cmp(&b.tag));
    }
    // A tag whose deletion takes a reachable manifest along stays.
    if fate == ManifestFate::GoesWithLastTag {
        let gone: BTreeSet<&str> = tags.iter().filter_map(|d| d.tag.as_deref()).collect();
        let emptied_reachable: BTreeSet<String> = index
            .tags_of
            .iter()
            .filter(|(d, ts)| {
                reachable.contains(*d) && ts.iter().all(|t| gone.contains(t.as_str()))
            })
            .map(|(d, _)| d.clone())
            .collect();
        tags.retain(|d| !emptied_reachable.contains(&d.digest));
    }
    let tag_deleted: BTreeSet<String> = tags.iter().filter_map(|d| d.tag.clone()).collect();
    // The credit of bytes to a tag assumed its manifest goes; keep it true.
    for d in &mut tags {
        if reachable.contains(&d.digest) {
            d.freed_bytes = Some(0);
        }
    }

    let mut manifests: BTreeMap<String, Deletion> = decided
        .manifests
        .into_iter()
        .filter(|d| !reachable.contains(&d.digest))
        .map(|d| (d.digest.clone(), d))
        .collect();
    // A manifest emptied only by the orphaned cosign tags.
    if fate == ManifestFate::DeletedByPlan {
        for (digest, ts) in &index.tags_of {
            if !manifests.contains_key(digest)
                && !reachable.contains(digest)
                && !index.protected.contains(digest)
                && ts.iter().all(|t| tag_deleted.contains(t))
            {
                // Emptied by orphaned cosign-style tags: it goes with
                // their subject.
                let subject = ts.iter().find_map(|t| tag_subject(t));
                manifests.insert(
                    digest.clone(),
                    Deletion {
                        repository: repository.to_string(),
                        tag: None,
                        digest: digest.clone(),
                        rule: if subject.is_some() {
                            Rule::OrphanedReferrer
                        } else {
                            Rule::Untagged
                        },
                        parent: subject,
                        freed_bytes: index.sizes.get(digest).copied().flatten(),
                    },
                );
            }
        }
    }
    // What a deleted manifest alone reached goes with it.
    if fate == ManifestFate::DeletedByPlan {
        let mut stack: Vec<String> = manifests.keys().cloned().collect();
        while let Some(parent) = stack.pop() {
            let Some(node) = graph.nodes.get(&parent) else {
                continue;
            };
            let children = node
                .children
                .iter()
                .map(|c| (c.digest.clone(), Rule::ChildOfDeleted));
            let referrers = node
                .referrers
                .iter()
                .filter(|_| rules.orphaned_referrers)
                .map(|r| (r.clone(), Rule::OrphanedReferrer));
            for (digest, rule) in children.chain(referrers).collect::<Vec<_>>() {
                let tagged_kept = index
                    .tags_of
                    .get(&digest)
                    .is_some_and(|ts| ts.iter().any(|t| !tag_deleted.contains(t)));
                if reachable.contains(&digest) || tagged_kept || manifests.contains_key(&digest) {
                    continue;
                }
                let freed = index
                    .sizes
                    .get(&digest)
                    .copied()
                    .flatten()
                    .or_else(|| graph.nodes.get(&digest).map(|n| n.size + n.blob_bytes));
                manifests.insert(
                    digest.clone(),
                    Deletion {
                        repository: repository.to_string(),
                        tag: None,
                        digest: digest.clone(),
                        rule,
                        parent: Some(parent.clone()),
                        freed_bytes: freed,
                    },
                );
                stack.push(digest);
            }
        }
    }
    let ordered = order_parents_first(manifests, graph);
    Judged {
        tags,
        manifests: ordered,
        kept: KeptGraph {
            name: graph.name.clone(),
            tags: kept_tags,
            reachable,
        },
    }
}

/// Deletions ordered so that no deleted manifest lists (or is the subject
/// of) one deleted before it: by depth among the deleted, then digest.
fn order_parents_first(manifests: BTreeMap<String, Deletion>, graph: &RepoGraph) -> Vec<Deletion> {
    // Parents of each deleted manifest, among the deleted.
    let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for digest in manifests.keys() {
        if let Some(node) = graph.nodes.get(digest) {
            for c in &node.children {
                if manifests.contains_key(&c.digest) {
                    parents.entry(c.digest.as_str()).or_default().push(digest);
                }
            }
            for r in &node.referrers {
                if manifests.contains_key(r) {
                    parents.entry(r.as_str()).or_default().push(digest);
                }
            }
        }
    }
    fn depth<'a>(
        d: &'a str,
        parents: &BTreeMap<&'a str, Vec<&'a str>>,
        memo: &mut BTreeMap<&'a str, usize>,
        on_path: &mut BTreeSet<&'a str>,
    ) -> usize {
        if let Some(&v) = memo.get(d) {
            return v;
        }
        if !on_path.insert(d) {
            return 0;
        }
        let v = parents
            .get(d)
            .map(|ps| {
                ps.iter()
                    .map(|p| depth(p, parents, memo, on_path) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        on_path.remove(d);
        memo.insert(d, v);
        v
    }
    let mut memo = BTreeMap::new();
    let mut keyed: Vec<(usize, Deletion)> = Vec::with_capacity(manifests.len());
    let depths: Vec<(String, usize)> = manifests
        .keys()
        .map(|d| {
            (
                d.clone(),
                depth(d, &parents, &mut memo, &mut BTreeSet::new()),
            )
        })
        .collect();
    let mut manifests = manifests;
    for (d, level) in depths {
        if let Some(del) = manifests.remove(&d) {
            keyed.push((level, del));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.digest.cmp(&b.1.digest)));
    keyed.into_iter().map(|(_, d)| d).collect()
}
