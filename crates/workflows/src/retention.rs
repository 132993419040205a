//! Retention: rules turned into a deterministic [`Plan`] that deletes
//! nothing, and an [`apply`] that carries a plan out and reports exactly
//! what was and was not done.
//!
//! # How a tag is judged
//!
//! Per repository (only those matching [`Rules::repositories`], when it is
//! not empty):
//!
//! 1. A tag matching a [`protect`](Rules::protect) pattern is kept, and so
//!    is every manifest a protected tag points to: another tag on that
//!    manifest may still be deleted, the manifest never is.
//! 2. The other tags are *candidates* when they match an
//!    [`include`](Rules::include) pattern (any tag, when `include` is empty)
//!    and no [`exclude`](Rules::exclude) pattern. Tags that are not
//!    candidates are kept.
//! 3. Candidates are ranked newest first (by `updated_at`; a tag whose time
//!    the provider does not give ranks as newest, ties go by tag name in
//!    ascending order). With [`keep_newest`](Rules::keep_newest) = N, the
//!    first N candidates are kept. N counts candidates only: protected and
//!    excluded tags are kept on top of them.
//! 4. A candidate is deleted when every age/count rule that is set says so:
//!    - only `keep_newest`: it is beyond the newest N ([`Rule::KeepNewest`]);
//!    - only `older_than`: it was updated before `now - older_than`
//!      ([`Rule::OlderThan`]; a tag of unknown age is never older);
//!    - both: it is beyond the newest N **and** older than the cutoff
//!      ([`Rule::KeepNewestAndOlderThan`]): `keep_newest` is a floor that
//!      age never goes below;
//!    - neither: nothing is deleted by age or count.
//!
//! Manifests (when the view can delete manifests,
//! [`Capability::DeleteManifest`]): a manifest whose every tag this plan
//! deletes is deleted after its tags ([`Rule::Untagged`]); a manifest that
//! was untagged already is deleted when [`Rules::delete_untagged`] is on,
//! `older_than` is set and it is older than the cutoff
//! ([`Rule::UntaggedOlderThan`]). When the view cannot delete manifests,
//! the plan deletes tags only and the garbage collection frees what they
//! leave untagged. Where deleting a tag removes the manifest with its last
//! tag ([`TagDeletion::RemovesManifestWithLastTag`]: a Buildkite package
//! version is the image), the plan deletes the tags and no manifest left
//! without them, so every plan applies to completion.
//!
//! # Checked deletes
//!
//! A plan is a picture of the registry at one moment; [`apply`] acts on
//! what that picture showed or not at all. Right before each deletion it
//! re-reads, through the provider's API, what it would delete
//! ([`RegistryView::tag_digest`], [`RegistryView::manifest_tags`]):
//!
//! - a tag is deleted only while it still names the planned digest (a tag
//!   pushed again since the plan is skipped, [`Change::TagMoved`]);
//! - a manifest is deleted only while it exists and has no tag (a tag
//!   moved onto it since the plan, a rollback of `latest` say, skips it,
//!   [`Change::ManifestTagged`]);
//! - what is gone already is skipped ([`Change::TagGone`],
//!   [`Change::ManifestGone`]), and so is a delete answered 404.
//!
//! Skips are reported in [`ApplyReport::changed`] and do not stop the run
//! or make it incomplete. What remains is the window of one request between
//! the re-read and the delete: no registry API offers a conditional delete.
//!
//! # Order and bytes
//!
//! A plan lists tag deletions first (by repository, then tag), then
//! manifest deletions (by repository, then digest): the order [`apply`]
//! follows. A manifest deletion carries the bytes it frees (its size, when
//! the provider says); a tag deletion frees nothing by itself (`Some(0)`),
//! except where manifests cannot be deleted: there the first deleted tag
//! of a manifest left without tags carries its size. A manifest's size
//! counts layers it may share with images that stay, so the plan's bytes
//! are an upper bound of what the garbage collection frees.
//!
//! ```no_run
//! # async fn demo(view: &dyn regkit_workflows::view::RegistryView) -> regkit_workflows::Result<()> {
//! use std::time::Duration;
//! use regkit_workflows::retention::{self, ApplyOptions, Rules};
//!
//! let registry = view.registries().await?.remove(0);
//! let rules = Rules::new()
//!     .keep_newest(10)
//!     .older_than(Duration::from_secs(30 * 86_400))
//!     .exclude(r"^keep-")?;
//! let plan = retention::plan(view, &registry, &rules, chrono::Utc::now()).await?;
//! println!("{plan}");
//! let report = retention::apply(view, &plan, ApplyOptions::default()).await?;
//! assert!(report.is_complete());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use regex::Regex;
use serde::{Serialize, Serializer};

use crate::gc::GcWaiter;
use crate::view::{GcKind, GcStatus, Image, Registry, RegistryView, TagDeletion};
use crate::{Capability, Error, Result};

/// The tags protected by [`Rules::new`]: `latest`.
pub const PROTECT_LATEST: &str = r"^latest$";
/// The tags protected by [`Rules::new`]: semantic-version releases
/// (`1.2.3`, `v1.2.3`; not pre-releases such as `v1.2.3-rc1`).
pub const PROTECT_SEMVER: &str = r"^v?\d+\.\d+\.\d+$";

/// What to keep and what to delete. See the [module documentation](self)
/// for how the rules combine.
#[derive(Clone, Debug, Serialize)]
pub struct Rules {
    /// Keep the newest N candidate tags of each repository.
    pub keep_newest: Option<usize>,
    /// Delete candidates updated longer ago than this.
    #[serde(serialize_with = "ser_secs")]
    pub older_than: Option<Duration>,
    /// A tag is a candidate only if it matches one of these (any tag, when
    /// empty). Patterns are unanchored: write `^…$` to match a whole tag.
    #[serde(serialize_with = "ser_patterns")]
    pub include: Vec<Regex>,
    /// A tag matching one of these is never a candidate.
    #[serde(serialize_with = "ser_patterns")]
    pub exclude: Vec<Regex>,
    /// A tag matching one of these is kept, and so is its manifest.
    #[serde(serialize_with = "ser_patterns")]
    pub protect: Vec<Regex>,
    /// Only repositories matching one of these are planned (all, when
    /// empty).
    #[serde(serialize_with = "ser_patterns")]
    pub repositories: Vec<Regex>,
    /// Also delete manifests that were untagged already and are older than
    /// the `older_than` cutoff (needs `older_than`).
    pub delete_untagged: bool,
}

fn ser_patterns<S: Serializer>(patterns: &[Regex], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(patterns.iter().map(Regex::as_str))
}

fn ser_secs<S: Serializer>(d: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

fn pattern(p: &str) -> Result<Regex> {
    Regex::new(p).map_err(|e| Error::InvalidInput(format!("invalid pattern {p:?}: {e}")))
}

impl Default for Rules {
    /// [`Rules::new`].
    fn default() -> Self {
        Rules::new()
    }
}

impl Rules {
    /// Rules that delete nothing yet and protect `latest` and semantic
    /// version releases ([`PROTECT_LATEST`], [`PROTECT_SEMVER`]), with
    /// [`delete_untagged`](Self::delete_untagged) on. Add `keep_newest`
    /// and/or `older_than` to delete.
    pub fn new() -> Self {
        Rules {
            protect: Self::default_protect(),
            ..Self::unprotected()
        }
    }

    /// Rules that delete nothing yet and protect nothing.
    pub fn unprotected() -> Self {
        Rules {
            keep_newest: None,
            older_than: None,
            include: Vec::new(),
            exclude: Vec::new(),
            protect: Vec::new(),
            repositories: Vec::new(),
            delete_untagged: true,
        }
    }

    /// The patterns [`Rules::new`] protects.
    pub fn default_protect() -> Vec<Regex> {
        [PROTECT_LATEST, PROTECT_SEMVER]
            .into_iter()
            .filter_map(|p| Regex::new(p).ok())
            .collect()
    }

    /// Keeps the newest `n` candidates of each repository.
    pub fn keep_newest(mut self, n: usize) -> Self {
        self.keep_newest = Some(n);
        self
    }

    /// Deletes candidates older than `age`.
    pub fn older_than(mut self, age: Duration) -> Self {
        self.older_than = Some(age);
        self
    }

    /// Adds an include pattern.
    pub fn include(mut self, p: &str) -> Result<Self> {
        self.include.push(pattern(p)?);
        Ok(self)
    }

    /// Adds an exclude pattern.
    pub fn exclude(mut self, p: &str) -> Result<Self> {
        self.exclude.push(pattern(p)?);
        Ok(self)
    }

    /// Adds a protect pattern.
    pub fn protect(mut self, p: &str) -> Result<Self> {
        self.protect.push(pattern(p)?);
        Ok(self)
    }

    /// Adds a repository pattern.
    pub fn repository(mut self, p: &str) -> Result<Self> {
        self.repositories.push(pattern(p)?);
        Ok(self)
    }

    /// Sets [`delete_untagged`](Self::delete_untagged).
    pub fn delete_untagged(mut self, on: bool) -> Self {
        self.delete_untagged = on;
        self
    }

    /// Whether `tag` is protected.
    pub fn is_protected(&self, tag: &str) -> bool {
        self.protect.iter().any(|p| p.is_match(tag))
    }

    /// Whether `tag` is a candidate for deletion (included, not excluded,
    /// not protected).
    pub fn is_candidate(&self, tag: &str) -> bool {
        !self.is_protected(tag)
            && (self.include.is_empty() || self.include.iter().any(|p| p.is_match(tag)))
            && !self.exclude.iter().any(|p| p.is_match(tag))
    }

    /// Whether `repository` is planned.
    pub fn covers_repository(&self, repository: &str) -> bool {
        self.repositories.is_empty() || self.repositories.iter().any(|p| p.is_match(repository))
    }

    /// The cutoff of `older_than` at `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.older_than.map(|d| {
            chrono::TimeDelta::from_std(d)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        })
    }
}

impl fmt::Display for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = self.keep_newest {
            parts.push(format!("keep the newest {n} per repository"));
        }
        if let Some(d) = self.older_than {
            parts.push(format!("older than {}", age(d)));
        }
        let list = |name: &str, ps: &[Regex]| {
            (!ps.is_empty()).then(|| {
                let ps: Vec<&str> = ps.iter().map(Regex::as_str).collect();
                format!("{name} {}", ps.join(" "))
            })
        };
        parts.extend(list("include", &self.include));
        parts.extend(list("exclude", &self.exclude));
        parts.extend(list("protect", &self.protect));
        parts.extend(list("repositories", &self.repositories));
        if self.delete_untagged && self.older_than.is_some() {
            parts.push("untagged manifests older than the cutoff".into());
        }
        if parts.is_empty() {
            f.write_str("(no rules)")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// Which rule chose a deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
#[non_exhaustive]
pub enum Rule {
    /// The tag is beyond the newest `n` candidates of its repository.
    KeepNewest {
        /// How many were kept.
        n: usize,
    },
    /// The tag was updated before `cutoff`.
    OlderThan {
        /// `now - older_than`.
        cutoff: DateTime<Utc>,
    },
    /// The tag is beyond the newest `n` and was updated before `cutoff`.
    KeepNewestAndOlderThan {
        /// How many were kept.
        n: usize,
        /// `now - older_than`.
        cutoff: DateTime<Utc>,
    },
    /// The manifest loses its every tag in this plan.
    Untagged,
    /// The manifest was untagged already and is older than `cutoff`.
    UntaggedOlderThan {
        /// `now - older_than`.
        cutoff: DateTime<Utc>,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::KeepNewest { n } => write!(f, "beyond the newest {n}"),
            Rule::OlderThan { cutoff } => write!(f, "older than {}", when(cutoff)),
            Rule::KeepNewestAndOlderThan { n, cutoff } => {
                write!(f, "beyond the newest {n} and older than {}", when(cutoff))
            }
            Rule::Untagged => f.write_str("every tag deleted"),
            Rule::UntaggedOlderThan { cutoff } => {
                write!(f, "untagged, older than {}", when(cutoff))
            }
        }
    }
}

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

/// What [`apply`] would delete, and why. Deletes nothing by itself; holds
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
/// at `now`. Deletes nothing. The same images and rules give the same plan.
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
    let cutoff = rules.cutoff(now);
    let mut names: Vec<String> = view
        .repositories(registry)
        .map_ok(|r| r.name)
        .try_collect()
        .await?;
    names.retain(|n| rules.covers_repository(n));
    names.sort();
    names.dedup();

    let fate = ManifestFate::of(view);
    let mut totals = Totals {
        repositories: names.len(),
        ..Totals::default()
    };
    let mut tags = Vec::new();
    let mut manifests = Vec::new();
    for name in &names {
        let images: Vec<Image> = view.images(registry, name).try_collect().await?;
        let repo = plan_repository(name, images, rules, cutoff, fate);
        totals.tags_seen += repo.tags_seen;
        totals.tags_kept += repo.tags_seen - repo.tags.len();
        tags.extend(repo.tags);
        manifests.extend(repo.manifests);
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
    Ok(Plan {
        provider: view.provider().to_string(),
        registry: registry.clone(),
        now,
        cutoff,
        rules: rules.clone(),
        deletions,
        totals,
    })
}

/// What becomes of a manifest whose every tag a plan deletes, on the
/// view's provider.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ManifestFate {
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
    fn of(view: &dyn RegistryView) -> Self {
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

struct RepoPlan {
    tags_seen: usize,
    tags: Vec<Deletion>,
    manifests: Vec<Deletion>,
}

struct Tagged {
    tag: String,
    digest: String,
    updated_at: Option<DateTime<Utc>>,
}

fn plan_repository(
    repository: &str,
    images: Vec<Image>,
    rules: &Rules,
    cutoff: Option<DateTime<Utc>>,
    fate: ManifestFate,
) -> RepoPlan {
    // Tag → image (the first listing of a tag wins), and per digest its
    // size, newest time and tags.
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
    let tags_of: BTreeMap<&str, Vec<&str>> = tagged.values().fold(BTreeMap::new(), |mut m, t| {
        m.entry(t.digest.as_str()).or_default().push(t.tag.as_str());
        m
    });
    let protected: BTreeSet<&str> = tagged
        .values()
        .filter(|t| rules.is_protected(&t.tag))
        .map(|t| t.digest.as_str())
        .collect();

    // Candidates, newest first: unknown times first, then by time
    // descending, ties by tag ascending.
    let mut candidates: Vec<&Tagged> = tagged
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

    let mut deleted: BTreeMap<&str, Rule> = BTreeMap::new();
    for (rank, t) in candidates.iter().enumerate() {
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

    // Manifests left without tags (never a protected one).
    let emptied: BTreeSet<&str> = tags_of
        .iter()
        .filter(|(digest, tags)| {
            !protected.contains(*digest) && tags.iter().all(|t| deleted.contains_key(t))
        })
        .map(|(digest, _)| *digest)
        .collect();

    let size = |digest: &str| sizes.get(digest).copied().flatten();
    let mut credited: BTreeSet<&str> = BTreeSet::new();
    let tags: Vec<Deletion> = deleted
        .iter()
        .filter_map(|(tag, rule)| {
            let t = tagged.get(*tag)?;
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
        for digest in &emptied {
            manifests.push(Deletion {
                repository: repository.to_string(),
                tag: None,
                digest: digest.to_string(),
                rule: Rule::Untagged,
                freed_bytes: size(digest),
            });
        }
    }
    // Manifests that were untagged already, wherever they can be deleted
    // by digest.
    if fate != ManifestFate::LeftForGc {
        if let (true, Some(cutoff)) = (rules.delete_untagged, cutoff) {
            for (digest, at) in &untagged {
                if tags_of.contains_key(digest.as_str()) {
                    continue;
                }
                if at.is_some_and(|at| at < cutoff) {
                    manifests.push(Deletion {
                        repository: repository.to_string(),
                        tag: None,
                        digest: digest.clone(),
                        rule: Rule::UntaggedOlderThan { cutoff },
                        freed_bytes: size(digest),
                    });
                }
            }
        }
        manifests.sort_by(|a, b| a.digest.cmp(&b.digest));
    }
    RepoPlan {
        tags_seen: tagged.len(),
        tags,
        manifests,
    }
}

/// How [`apply`] ends.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// After every deletion succeeded, run this garbage collection through
    /// this waiter.
    pub gc: Option<(GcKind, GcWaiter)>,
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
/// tags were deleted before it). What changed is skipped and reported in
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
    let mut report = ApplyReport {
        gc_requested: options.gc.is_some(),
        ..ApplyReport::default()
    };
    let mut rest = plan.deletions.iter();
    for d in rest.by_ref() {
        match delete_checked(view, &plan.registry, d).await {
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
async fn delete_checked(
    view: &dyn RegistryView,
    registry: &Registry,
    d: &Deletion,
) -> Result<Option<Change>> {
    let (deleted, gone) = match &d.tag {
        Some(tag) => {
            match view.tag_digest(registry, &d.repository, tag).await? {
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

/// A time as people read it: to the second, in UTC.
fn when(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A duration in the largest whole unit that divides it (`30d`, `12h`,
/// `45m`, else seconds).
fn age(d: Duration) -> String {
    let secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}
