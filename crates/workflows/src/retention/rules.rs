//! What to keep and what to delete: [`Rules`], and the [`Rule`] that
//! chose each deletion.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::text::{age, when};
use crate::{Error, Result};

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
    /// Manifests kept whatever the other rules say, with everything they
    /// reach (digests the user pins).
    pub pins: Vec<String>,
    /// Where the image graph is read: a referrer (signature, SBOM,
    /// attestation) whose subject this plan deletes goes with it, as
    /// ECR's lifecycle does (on by default).
    pub orphaned_referrers: bool,
}

/// [`Rules`] as a plan file keeps them (patterns as text).
#[derive(Deserialize)]
struct RulesFile {
    keep_newest: Option<usize>,
    older_than: Option<u64>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    protect: Vec<String>,
    #[serde(default)]
    repositories: Vec<String>,
    delete_untagged: bool,
    #[serde(default)]
    pins: Vec<String>,
    #[serde(default = "yes")]
    orphaned_referrers: bool,
}

fn yes() -> bool {
    true
}

impl<'de> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let f = RulesFile::deserialize(d)?;
        let patterns = |ps: Vec<String>| -> std::result::Result<Vec<Regex>, D::Error> {
            ps.iter()
                .map(|p| pattern(p).map_err(serde::de::Error::custom))
                .collect()
        };
        Ok(Rules {
            keep_newest: f.keep_newest,
            older_than: f.older_than.map(Duration::from_secs),
            include: patterns(f.include)?,
            exclude: patterns(f.exclude)?,
            protect: patterns(f.protect)?,
            repositories: patterns(f.repositories)?,
            delete_untagged: f.delete_untagged,
            pins: f.pins,
            orphaned_referrers: f.orphaned_referrers,
        })
    }
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
            pins: Vec::new(),
            orphaned_referrers: true,
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

    /// Pins manifest `digest` (`sha256:…`): it, and everything it reaches,
    /// is kept.
    pub fn pin(mut self, digest: &str) -> Result<Self> {
        let valid = digest.split_once(':').is_some_and(|(a, h)| {
            !a.is_empty() && !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !valid {
            return Err(Error::InvalidInput(format!(
                "{digest:?} is not a digest (sha256:<hex>)"
            )));
        }
        self.pins.push(digest.to_string());
        Ok(self)
    }

    /// Sets [`orphaned_referrers`](Self::orphaned_referrers).
    pub fn orphaned_referrers(mut self, on: bool) -> Self {
        self.orphaned_referrers = on;
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
        if !self.pins.is_empty() {
            parts.push(format!("pin {}", self.pins.join(" ")));
        }
        if !self.orphaned_referrers {
            parts.push("keep orphaned referrers".into());
        }
        if parts.is_empty() {
            f.write_str("(no rules)")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// Which rule chose a deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The manifest is listed by an index this plan deletes
    /// ([`Deletion::parent`]), and no kept root reaches it.
    ChildOfDeleted,
    /// The manifest (or cosign-style tag) refers to a subject this plan
    /// deletes ([`Deletion::parent`]), and no kept root reaches it.
    OrphanedReferrer,
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
            Rule::ChildOfDeleted => f.write_str("listed only by a deleted index"),
            Rule::OrphanedReferrer => f.write_str("refers to a deleted subject"),
        }
    }
}
