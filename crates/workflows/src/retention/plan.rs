//! The planner: [`plan`] lists a registry through a view, and the pure
//! [`plan_listing`] turns what was listed into a [`Plan`] in three named
//! steps, per repository:
//!
//! 1. `index`: tag → manifest (the first listing of a tag wins), and per
//!    digest its size, its tags, whether a protected tag holds it, and the
//!    manifests that were untagged already;
//! 2. `rank`: the candidate tags, newest first;
//! 3. `decide`: which candidates the rules delete, which manifests that
//!    leaves without tags, and what each deletion frees.
//!
//! Nothing here calls a provider but [`plan`]'s listing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;

use super::rules::{Rule, Rules};
use super::text::when;
use crate::view::{Image, Registry, RegistryView, TagDeletion};
use crate::{Capability, Result};

/// One deletion: a tag (`tag: Some`) or a manifest (`tag: None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deletion {
    /// The repository.
    pub repository: String,
    /// The tag to delete, or `None` to delete the manifest.
    pub tag: Option<String>,
    /// The manifest digest (the tag's, or the one to delete).
    pub digest: String,
    /// The rule that chose it.
    pub rule: Rule,
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
        match self.freed_bytes {
            Some(0) => Ok(()),
            Some(b) => write!(f, ", frees {b} bytes"),
            None => write!(f, ", frees an unknown number of bytes"),
        }
    }
}

/// A plan's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
}

/// What [`apply`](super::apply) would delete, and why. Deletes nothing by itself; holds
/// no credentials (its JSON and text are safe to print).
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
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
    /// Tag deletions (by repository, then tag), then manifest deletions
    /// (by repository, then digest).
    pub deletions: Vec<Deletion>,
    /// Counts.
    pub totals: Totals,
}

impl Plan {
    /// Whether there is nothing to delete.
    pub fn is_empty(&self) -> bool {
        self.deletions.is_empty()
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
        for d in &self.deletions {
            writeln!(f, "  delete {d}")?;
        }
        Ok(())
    }
}

/// Lists `registry`'s images through `view` and plans what `rules` delete
/// at `now` ([`plan_listing`] on what was listed). Deletes nothing. The
/// same images and rules give the same plan.
pub async fn plan(
    view: &dyn RegistryView,
    registry: &Registry,
    rules: &Rules,
    now: DateTime<Utc>,
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
    for name in names {
        let images: Vec<Image> = view.images(registry, &name).try_collect().await?;
        repositories.push((name, images));
    }
    Ok(plan_listing(
        Listing {
            provider: view.provider().to_string(),
            registry: registry.clone(),
            fate: ManifestFate::of(view),
            repositories,
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
    for (name, images) in repositories {
        let index = index(images, rules);
        let ranked = rank(&index, rules);
        let decided = decide(&name, &index, &ranked, rules, cutoff, listing.fate);
        totals.tags_seen += index.tagged.len();
        totals.tags_kept += index.tagged.len() - decided.tags.len();
        tags.extend(decided.tags);
        manifests.extend(decided.manifests);
    }
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
        provider: listing.provider,
        registry: listing.registry,
        now,
        cutoff,
        rules: rules.clone(),
        deletions,
        totals,
    }
}

/// What becomes of a manifest whose every tag a plan deletes, on one
/// provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
/// time descending, ties by tag ascending).
fn rank<'i>(index: &'i Index, rules: &Rules) -> Vec<&'i Tagged> {
    let mut candidates: Vec<&Tagged> = index
        .tagged
        .values()
        .filter(|t| rules.is_candidate(&t.tag))
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
                freed_bytes: size(digest),
            });
        }
    }
    manifests.sort_by(|a, b| a.digest.cmp(&b.digest));
    Decided { tags, manifests }
}
